/* The keys held from one peer (received-keys.h). */
#include <gst/sframe/keys/received-keys.h>

#include <gst/sframe/core/key.h>

#include <algorithm>

namespace sframe {
namespace room {

ReceivedKeys::Offer
ReceivedKeys::offer (uint64_t epoch, uint32_t generation, uint64_t key_id, ByteView secret, int64_t retire_at_ms)
{
  bool known = has_ && current_.key_id == key_id && current_.key.equals (secret);
  repeats_ = known ? repeats_ + 1 : 0;
  if (known)
    return Offer::repeat;
  if (has_ && generation < current_.generation)
    return Offer::older;
  if (has_ && current_.key_id != key_id)
    retire_current (retire_at_ms);
  has_ = true;
  current_.epoch = epoch;
  current_.generation = generation;
  current_.key_id = key_id;
  current_.key = SecureBytes (secret);
  retiring_.keep (key_id);
  return Offer::installed;
}

bool
ReceivedKeys::ratchet_for_join (CipherSuite suite, uint64_t epoch, uint32_t index, int64_t retire_at_ms)
{
  if (!has_ || covers (epoch))
    return false;
  SecureBytes next;
  if (ratchet_base_key (suite, current_.key.view (), &next) != Status::ok)
    return false;
  retire_current (retire_at_ms);
  current_.epoch = epoch;
  current_.generation++;
  current_.key_id = sender_key_id (index, current_.generation);
  current_.key = std::move (next);
  retiring_.keep (current_.key_id);
  return true;
}

void
ReceivedKeys::forget (int64_t retire_at_ms)
{
  if (has_)
    retire_current (retire_at_ms);
  has_ = false;
  current_ = ReceivedKey ();
}

void
ReceivedKeys::retire_current (int64_t retire_at_ms)
{
  retiring_.add (current_.key_id, retire_at_ms);
}

std::vector<uint64_t>
ReceivedKeys::expire (int64_t now_ms)
{
  return retiring_.expire (now_ms);
}

std::vector<uint64_t>
ReceivedKeys::drop_all ()
{
  std::vector<uint64_t> all = retiring_.take_all ();
  if (has_)
    all.push_back (current_.key_id);
  has_ = false;
  return all;
}

}  // namespace room
}  // namespace sframe
