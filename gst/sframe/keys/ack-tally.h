/* A rotation's acks, through the committer (docs/key-protocol.md, "Acks of
 * a rotation"): the two halves, each owning its state and sending nothing.
 * The provider feeds them what arrives and sends what they return.
 *
 * HeldReport (every member): holds back its acks of a removal's fresh keys
 * and says when to report them to the committer in one `held` message.
 * AckTally (the committer): tallies the reports, and answers each sender
 * once every member holds its key, or, when reports have stopped, with who
 * still lacks it. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sframe {
namespace room {

/* `acked`'s bitmaps: one bit per roster member in fingerprint order, the
 * most significant bit of the first byte first. */
size_t roster_bitmap_size (size_t members);
bool roster_bit (const std::vector<uint8_t> & bitmap, size_t position);

class HeldReport {
public:
  explicit HeldReport (int64_t ack_delay_ms) : ack_delay_ms_ (ack_delay_ms) {}

  /* A removal at `epoch` was applied: a fresh key is due from each of
   * `senders` (roster indexes of the publishers whose key of this epoch we
   * lack). True if the report is due now: keys that came before the
   * roster were all of them. */
  bool expect_fresh (uint64_t epoch, std::vector<uint32_t> senders);
  /* A fresh key of a removal, sent at `key_epoch`: its ack waits for the
   * report. True if the report is due now (it was the last one). */
  bool defer (uint32_t sender, uint64_t key_id, uint64_t key_epoch, int64_t now_ms);
  /* The ack of `key_id` went to its sender directly (a repeat). */
  void acked_directly (uint32_t sender, uint64_t key_id);
  /* The key ids to report, emptied; the report is no longer due. */
  std::vector<uint64_t> take ();

  int64_t due_ms () const { return due_ms_; }
  bool lacks_fresh_keys () const { return !awaiting_fresh_.empty (); }
  int64_t last_fresh_key_ms () const { return last_fresh_key_ms_; }
  void reset ();

private:
  int64_t ack_delay_ms_;
  /* By the sender's roster index (unique, never reused): touched for every
   * fresh key, and an index hashes for free, a fingerprint not. */
  std::unordered_map<uint32_t, uint64_t> deferred_;   /* sender -> key id */
  std::unordered_set<uint32_t> awaiting_fresh_;       /* senders whose fresh key we lack */
  uint64_t fresh_epoch_ = 0;                          /* the removal we expect them for */
  int64_t due_ms_ = INT64_MAX;
  int64_t first_deferred_ms_ = -1;                    /* the oldest ack in deferred_ */
  int64_t last_fresh_key_ms_ = -1;
};

/* A roster member as the tally sees it. */
struct TallyMember {
  uint32_t index = 0;
  bool subscribes = false;
  bool publishes = false;
};

class AckTally {
public:
  /* To `sender`: every member holds `key_id` (`lacking` empty), or who
   * lacks it, as a roster bitmap. key_id 0: none of its keys was reported. */
  struct Answer {
    uint32_t sender = 0;
    uint64_t key_id = 0;
    std::vector<uint8_t> lacking;
  };

  explicit AckTally (int64_t resend_ms) : resend_ms_ (resend_ms) {}

  /* The roster at `epoch`, in fingerprint order (the bitmaps' order). */
  void set_roster (uint64_t epoch, std::vector<TallyMember> members);
  /* A removal was applied: tallies of two epochs back are done. */
  void forget_older_rotations ();
  /* We published a removal: a new rotation, whose quiet is timed from now. */
  void start_rotation (int64_t now_ms);
  /* `holder` reports holding `key_ids`, at its `epoch`. */
  std::vector<Answer> note_held (uint32_t holder, uint64_t epoch, const std::vector<uint64_t> & key_ids,
      int64_t now_ms);
  /* Who lacks what, once reports have stopped, if `committing`. */
  std::vector<Answer> tick (int64_t now_ms, bool committing);

  int64_t due_ms () const { return missing_due_ms_; }
  bool rotation_complete () const;
  void reset ();

private:
  /* One key's holders, by roster index, sorted: a flat set, since the
   * committer adds about N x N holders per rotation and a tree allocated a
   * node for each. */
  struct Holders {
    uint64_t epoch = 0;
    std::vector<uint32_t> indexes;
    bool announced = false;

    void add (uint32_t holder);
    bool has (uint32_t holder) const;
  };

  const TallyMember *member (uint32_t index) const;
  bool held_by_everyone (uint32_t sender, const Holders & holders) const;
  std::vector<uint8_t> lacking_holders (uint32_t sender, const Holders * holders) const;
  std::vector<Answer> announce_missing () const;
  int64_t quiet_ms (int64_t now_ms) const;
  void prune ();

  int64_t resend_ms_;
  uint64_t roster_epoch_ = 0;
  std::vector<TallyMember> members_;                 /* fingerprint order */
  std::unordered_map<uint32_t, size_t> position_;    /* index -> place in members_ */
  size_t subscribers_ = 0;
  size_t publishers_ = 0;

  std::map<uint64_t, Holders> tallies_;     /* by key id */
  uint64_t tally_epoch_ = 0;                /* the rotation being tallied */
  int64_t missing_due_ms_ = INT64_MAX;      /* next answer naming who lacks what */
  int64_t rotation_started_ms_ = -1;        /* we published the last removal then */
  uint32_t missing_sent_ = 0;               /* ... answers of this rotation */
};

}  // namespace room
}  // namespace sframe
