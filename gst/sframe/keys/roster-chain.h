/* The roster chain (docs/key-protocol.md, "The roster"): each roster is
 * numbered, names the hash of the one before, and hashes its own state.
 * RosterChain holds the present roster and knows how a change or a
 * snapshot relates to it; who may commit, and what justifies a member, is
 * the provider's judgement (sender-key-roster.cc). */
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sframe {
namespace room {

struct Roster {
  uint64_t epoch = 0;
  std::string prev;                    /* the previous state hash */
  std::string hash;                    /* this state's (wire::StateHash) */
  std::string change;                  /* the last change: create, join, leave, revoke */
  std::map<std::string, uint32_t> members;   /* fingerprint -> index */
  std::map<std::string, std::string> hashes; /* fingerprint -> hello hash */
  std::set<std::string> revoked;       /* every device revoked in this room so far */
  uint32_t next_index = 1;
};

/* A roster as read from a message, before and after checking: a change to
 * roster epoch - 1 (a `roster` message: who was added and removed), or a
 * snapshot of the whole roster (in a welcome). */
struct ParsedRoster {
  uint64_t epoch = 0;
  uint64_t next_index = 0;
  std::string prev;
  std::string hash;                            /* the state hash it claims */
  std::string change;
  std::string committer;
  bool snapshot = false;
  std::map<std::string, uint32_t> members;     /* snapshot: all; change: the added ones */
  std::map<std::string, std::string> hashes;   /* fingerprint -> hello hash, of the same */
  std::set<std::string> removed;               /* change only */
  std::set<std::string> left;                  /* change only: the removed that said `leave` */
  std::set<std::string> revoked;               /* snapshot: all; change: the newly revoked */
};

/* What applying a roster did. */
struct RosterDiff {
  std::set<std::string> removed;
  std::set<std::string> joined;
};

/* A `roster` message's change (`added`, `removed`, `left`, `revoked`), or a
 * welcome's snapshot (`members`), read from a verified payload: false if
 * any field is missing, of the wrong type, or inconsistent. */
bool parse_roster (const nlohmann::json & payload, bool snapshot, ParsedRoster * parsed);

/* [[fingerprint, index, hello hash], ...] of `members`. */
nlohmann::json member_list (const std::map<std::string, uint32_t> & members,
    const std::map<std::string, std::string> & hashes);

/* Fingerprints in `from` but not in `without`. */
std::set<std::string> members_missing (const std::map<std::string, uint32_t> & from,
    const std::map<std::string, uint32_t> & without);

class RosterChain {
public:
  const Roster & current () const { return roster_; }

  /* `next` is the change that follows ours: the next epoch, after our hash. */
  bool follows (const ParsedRoster & next) const
  {
    return next.epoch == roster_.epoch + 1 && next.prev == roster_.hash;
  }
  /* A change removes only members, adds only others, and keeps no member
   * it (or our roster) lists as revoked. */
  bool change_applies (const ParsedRoster & change) const;
  /* The state hash our roster would have after `next`. */
  std::string state_hash_after (const ParsedRoster & next) const;
  /* Ours whole, for a welcome. */
  nlohmann::json snapshot () const;
  /* The epochs after `epoch`, up to ours, at which members joined (as far
   * as we applied them: a snapshot counts as one), oldest first. */
  std::vector<uint64_t> joins_after (uint64_t epoch) const;

  /* `next` becomes the present roster (checked by the caller). */
  RosterDiff apply (ParsedRoster next);
  /* No roster: back to joining. */
  void clear ()
  {
    roster_ = Roster ();
    join_epochs_.clear ();
  }

private:
  Roster roster_;
  std::deque<uint64_t> join_epochs_;   /* the last few, ascending */
};

}  // namespace room
}  // namespace sframe
