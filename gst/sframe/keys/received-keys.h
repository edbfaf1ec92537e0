/* The sender key we hold from one peer (the newest it sent, or our ratchet
 * of it at a join) and the keys it replaced, kept for a grace period so
 * that frames in flight still decrypt. The provider installs and removes
 * keys in the key store as ReceivedKeys says. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/keys/retiring-keys.h>

#include <cstdint>
#include <vector>

namespace sframe {
namespace room {

/* A sender's key id: its roster index, then the generation's low byte. */
inline uint64_t
sender_key_id (uint32_t index, uint32_t generation)
{
  return (static_cast<uint64_t> (index) << 8) | (generation & 0xff);
}

struct ReceivedKey {
  uint64_t epoch = 0;        /* the roster epoch it covers: sent for, or ratcheted at */
  uint32_t generation = 0;
  uint64_t key_id = 0;
  SecureBytes key;
};

class ReceivedKeys {
public:
  enum class Offer {
    repeat,      /* the key we hold, again */
    installed,   /* now current: install it */
    older,       /* an older generation than ours: ignored */
  };

  /* A key the peer sent for roster `epoch`. The key it replaces retires
   * at `retire_at_ms`. */
  Offer offer (uint64_t epoch, uint32_t generation, uint64_t key_id, ByteView secret, int64_t retire_at_ms);
  /* A join at `epoch`, where the peer (at `index`) ratchets its key: we
   * ratchet ours too, unless it already covers the join (a key sent at
   * that epoch overtook the roster change; a second ratchet would leave
   * us a generation ahead of the peer for good). True if the current key
   * changed: install it. */
  bool ratchet_for_join (CipherSuite suite, uint64_t epoch, uint32_t index, int64_t retire_at_ms);
  /* The peer's session ended or rests: its key retires. */
  void forget (int64_t retire_at_ms);

  /* Retired keys whose grace ended, no longer kept: remove them. */
  std::vector<uint64_t> expire (int64_t now_ms);
  int64_t next_expiry_ms () const { return retiring_.next_ms (); }
  /* Every key held, current and retired, no longer kept. */
  std::vector<uint64_t> drop_all ();

  bool has () const { return has_; }
  const ReceivedKey & current () const { return current_; }
  uint32_t repeats () const { return repeats_; }
  /* We hold a key of this epoch or later. */
  bool covers (uint64_t epoch) const { return has_ && current_.epoch >= epoch; }

private:
  void retire_current (int64_t retire_at_ms);

  bool has_ = false;
  ReceivedKey current_;
  uint32_t repeats_ = 0;                 /* of current_ since it came */
  RetiringKeys retiring_;
};

}  // namespace room
}  // namespace sframe
