/* The delivery of our newest sender key: who has not acked it yet, and
 * when to resend it to them. The provider sends the key; KeyDelivery
 * keeps the set and the clock. A resend waits as long as the room has
 * shown a key takes to reach everyone, holds off while acks still come
 * in, and backs off: in a busy room a missing ack is far more often late
 * than lost, and every early resend is work for every member. */
#pragma once

#include <cstdint>
#include <set>
#include <string>

namespace sframe {
namespace room {

class KeyDelivery {
public:
  explicit KeyDelivery (int64_t resend_ms) : resend_ms_ (resend_ms) {}

  /* Whoever lacked the last key is no longer awaited. */
  void clear () { awaited_.clear (); }
  void await (const std::string & member) { awaited_.insert (member); }
  /* The key went out now: the first resend is due after twice the last
   * round that needed no resend (at least one resend period, at most 8). */
  void sent (int64_t now_ms);

  /* `member` acked the awaited key: false if it was not awaited. */
  bool acked (const std::string & member, int64_t now_ms);
  /* Every awaited member holds it (the committer's word). */
  void all_acked (int64_t now_ms);
  /* Only these still lack it (the committer's word). */
  void keep_only (std::set<std::string> members) { awaited_.swap (members); }
  /* `member` will never ack (its key or its session is gone). */
  void forget (const std::string & member) { awaited_.erase (member); }

  bool complete () const { return awaited_.empty (); }
  bool awaits (const std::string & member) const { return awaited_.count (member) != 0; }
  const std::set<std::string> & awaited () const { return awaited_; }

  int64_t sent_ms () const { return sent_ms_; }
  int64_t resend_due_ms () const { return resend_due_ms_; }
  uint32_t resends () const { return resends_; }
  /* Acks came within the last resend period: the room is working
   * through the key, not losing it. Resend no earlier than acks_quiet_ms (). */
  bool acks_flowing (int64_t now_ms) const { return now_ms - last_ack_ms_ < resend_ms_; }
  int64_t acks_quiet_ms () const { return last_ack_ms_ + resend_ms_; }
  void postpone_resend (int64_t at_ms) { resend_due_ms_ = at_ms; }
  /* A resend went out now: the next waits 2x, 4x, then 8x a resend period. */
  void resent (int64_t now_ms);

private:
  int64_t resend_ms_;
  std::set<std::string> awaited_;   /* by fingerprint */
  int64_t resend_due_ms_ = 0;
  uint32_t resends_ = 0;            /* of the key now awaited */
  int64_t sent_ms_ = 0;             /* when it went to everyone */
  int64_t last_ack_ms_ = 0;         /* its last new ack */
  int64_t last_round_ms_ = 0;       /* sent -> last ack, of the last key acked without resends */
};

}  // namespace room
}  // namespace sframe
