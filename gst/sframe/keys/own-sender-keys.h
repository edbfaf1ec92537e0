/* Our sender keys: the one we encrypt with, a fresh one sent to the room
 * and awaiting acks before we switch to it, and the replaced ones until
 * their grace ends. The provider draws the material, sends keys, and
 * tells the key store; OwnSenderKeys keeps which key is which. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/keys/retiring-keys.h>

#include <cstdint>
#include <vector>

namespace sframe {
namespace room {

struct OwnKey {
  bool valid = false;
  uint32_t generation = 0;
  uint64_t key_id = 0;
  SecureBytes key;
};

class OwnSenderKeys {
public:
  const OwnKey & current () const { return current_; }
  const OwnKey & pending () const { return pending_; }
  /* The key whose acks we wait for: the pending one, else the current. */
  const OwnKey & awaited () const { return pending_.valid ? pending_ : current_; }
  const char *pending_reason () const { return reason_; }
  /* When the pending key becomes current even without every ack; 0: not set. */
  int64_t switch_at_ms () const { return switch_at_ms_; }

  /* A fresh key from `material`, at our roster `index`, for `reason`: the
   * next generation after any we used (at least `min_generation`),
   * pending. A pending key it replaces retires at `retire_at_ms`. */
  const OwnKey & make_pending (SecureBytes material, uint32_t index, const char * reason, int64_t retire_at_ms,
      uint32_t min_generation = 0);
  /* The first call since the last switch sets the switch time. */
  void switch_by (int64_t at_ms);
  /* The pending key becomes current; the current retires at
   * `retire_at_ms`. False if none was pending. */
  bool switch_to_pending (int64_t retire_at_ms);
  /* A join: the current key is ratcheted (one-way), the old one retires.
   * False if we have none, or a fresh one is pending: that one must become
   * current first (everyone ratchets the newest key they hold of ours, and
   * the ratchet would take the pending key's generation). */
  bool ratchet (CipherSuite suite, uint32_t index, int64_t retire_at_ms);

  std::vector<uint64_t> expire (int64_t now_ms) { return retiring_.expire (now_ms); }
  int64_t next_expiry_ms () const { return retiring_.next_ms (); }
  /* Every key, current, pending and retired, no longer kept. */
  std::vector<uint64_t> drop_all ();

private:
  OwnKey current_;
  OwnKey pending_;
  const char *reason_ = "";
  int64_t switch_at_ms_ = 0;
  RetiringKeys retiring_;
};

}  // namespace room
}  // namespace sframe
