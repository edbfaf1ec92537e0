/* Our sender keys (own-sender-keys.h). */
#include <gst/sframe/keys/own-sender-keys.h>

#include <gst/sframe/core/key.h>
#include <gst/sframe/keys/received-keys.h>

#include <algorithm>

namespace sframe {
namespace room {

const OwnKey &
OwnSenderKeys::make_pending (SecureBytes material, uint32_t index, const char * reason, int64_t retire_at_ms,
    uint32_t min_generation)
{
  uint32_t generation = current_.valid ? std::max (current_.generation, pending_.generation) + 1 : 0;
  generation = std::max (generation, min_generation);
  if (pending_.valid)
    retiring_.add (pending_.key_id, retire_at_ms);
  pending_.valid = true;
  pending_.generation = generation;
  pending_.key_id = sender_key_id (index, generation);
  pending_.key = std::move (material);
  reason_ = reason;
  return pending_;
}

void
OwnSenderKeys::switch_by (int64_t at_ms)
{
  if (switch_at_ms_ == 0)
    switch_at_ms_ = at_ms;
}

bool
OwnSenderKeys::switch_to_pending (int64_t retire_at_ms)
{
  if (!pending_.valid)
    return false;
  if (current_.valid)
    retiring_.add (current_.key_id, retire_at_ms);
  current_ = std::move (pending_);
  pending_ = OwnKey ();
  switch_at_ms_ = 0;
  return true;
}

bool
OwnSenderKeys::ratchet (CipherSuite suite, uint32_t index, int64_t retire_at_ms)
{
  if (!current_.valid || pending_.valid)
    return false;
  SecureBytes next;
  if (ratchet_base_key (suite, current_.key.view (), &next) != Status::ok)
    return false;
  retiring_.add (current_.key_id, retire_at_ms);
  current_.generation++;
  current_.key_id = sender_key_id (index, current_.generation);
  current_.key = std::move (next);
  return true;
}

std::vector<uint64_t>
OwnSenderKeys::drop_all ()
{
  std::vector<uint64_t> all;
  if (current_.valid)
    all.push_back (current_.key_id);
  if (pending_.valid)
    all.push_back (pending_.key_id);
  for (uint64_t key_id : retiring_.take_all ())
    all.push_back (key_id);
  current_ = OwnKey ();
  pending_ = OwnKey ();
  return all;
}

}  // namespace room
}  // namespace sframe
