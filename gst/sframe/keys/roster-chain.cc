/* The roster chain (roster-chain.h): parsing rosters, relating a change
 * or a snapshot to ours, and applying it. */
#include <gst/sframe/keys/roster-chain.h>

#include <gst/sframe/keys/room-messages.h>
#include <gst/sframe/keys/room-wire.h>

#include <algorithm>
#include <iterator>
#include <vector>

namespace sframe {
namespace room {

using json = nlohmann::json;

namespace {

/* Join epochs remembered: a key more joins behind than this is far older
 * than any still in flight. */
constexpr size_t kJoinEpochsKept = 16;

/* [[fingerprint, index, hello hash], ...] into parsed->members and ->hashes. */
bool
parse_members (const json & list, uint64_t next_index, ParsedRoster * parsed)
{
  if (!list.is_array ())
    return false;
  std::set<uint64_t> indexes;
  for (const auto & m : list) {
    if (!m.is_array () || m.size () != 3 || !m[0].is_string () || !m[1].is_number_unsigned () || !m[2].is_string ())
      return false;
    std::string fp = m[0].get<std::string> ();
    uint64_t index = m[1].get<uint64_t> ();
    if (!wire::is_fingerprint (fp) || index == 0 || index >= next_index || index > 0xffffff ||
        !indexes.insert (index).second || parsed->members.count (fp))
      return false;
    parsed->members[fp] = static_cast<uint32_t> (index);
    parsed->hashes[fp] = m[2].get<std::string> ();
  }
  return true;
}

}  // namespace

/* Fingerprints in `from` but not in `without`: both are sorted by
 * fingerprint, so one walk over both, not a lookup per member. */
std::set<std::string>
members_missing (const std::map<std::string, uint32_t> & from, const std::map<std::string, uint32_t> & without)
{
  std::set<std::string> out;
  auto by_fingerprint = [] (const auto & a, const auto & b) { return a.first < b.first; };
  std::vector<std::pair<std::string, uint32_t>> only;
  std::set_difference (from.begin (), from.end (), without.begin (), without.end (), std::back_inserter (only),
      by_fingerprint);
  for (auto & member : only)
    out.insert (out.end (), std::move (member.first));
  return out;
}

json
member_list (const std::map<std::string, uint32_t> & members, const std::map<std::string, std::string> & hashes)
{
  json list = json::array ();
  for (const auto & member : members)
    list.push_back ({ member.first, member.second, hashes.at (member.first) });
  return list;
}

/* A `roster` message's change (`added`, `removed`), or a welcome's
 * snapshot (`members`). */
bool
parse_roster (const json & payload, bool snapshot, ParsedRoster * parsed)
{
  parsed->snapshot = snapshot;
  if (!payload.is_object () || !json_u64 (payload, "epoch", &parsed->epoch) ||
      !json_u64 (payload, "next", &parsed->next_index) || !json_string (payload, "prev", &parsed->prev) ||
      !json_string (payload, "hash", &parsed->hash) || !json_string (payload, "change", &parsed->change))
    return false;
  /* Revocations: in a snapshot every one so far, in a change the new. */
  auto revoked = payload.find ("revoked");
  if (revoked != payload.end ()) {
    if (!revoked->is_array ())
      return false;
    for (const auto & fp : *revoked)
      if (!fp.is_string () || !wire::is_fingerprint (fp.get<std::string> ()) ||
          !parsed->revoked.insert (fp.get<std::string> ()).second)
        return false;
  }
  if (snapshot) {
    auto members = payload.find ("members");
    return members != payload.end () && parse_members (*members, parsed->next_index, parsed) &&
        !parsed->members.empty ();
  }
  auto added = payload.find ("added");
  auto removed = payload.find ("removed");
  if (added == payload.end () || removed == payload.end () || !removed->is_array () ||
      !parse_members (*added, parsed->next_index, parsed))
    return false;
  for (const auto & fp : *removed) {
    if (!fp.is_string () || !wire::is_fingerprint (fp.get<std::string> ()) ||
        !parsed->removed.insert (fp.get<std::string> ()).second)
      return false;
  }
  auto left = payload.find ("left");
  if (left != payload.end ()) {
    if (!left->is_array ())
      return false;
    for (const auto & fp : *left)
      if (!fp.is_string () || !parsed->removed.count (fp.get<std::string> ()) ||
          !parsed->left.insert (fp.get<std::string> ()).second)
        return false;
  }
  return !parsed->members.empty () || !parsed->removed.empty () || !parsed->revoked.empty ();
}

/* A change to our roster removes only members of it and adds only others,
 * and keeps no member it (or our roster) lists as revoked. */
bool
RosterChain::change_applies (const ParsedRoster & change) const
{
  for (const auto & fp : change.removed)
    if (!roster_.members.count (fp))
      return false;
  for (const auto & member : change.members)
    if (roster_.members.count (member.first) || roster_.revoked.count (member.first))
      return false;
  for (const auto & fp : change.revoked)
    if (roster_.members.count (fp) && !change.removed.count (fp))
      return false;
  return true;
}

/* The state hash our roster would have after `next`: a snapshot's own
 * members, or the members we keep and the added ones of a change, merged
 * in fingerprint order without a copy. */
std::string
RosterChain::state_hash_after (const ParsedRoster & next) const
{
  wire::StateHash hash (next.epoch, next.next_index, next.prev,
      (next.snapshot ? 0 : roster_.members.size ()) + next.members.size ());
  static const std::map<std::string, uint32_t> kNone;
  const auto & base = next.snapshot ? kNone : roster_.members;
  auto kept = base.begin ();
  auto added = next.members.begin ();
  while (kept != base.end () || added != next.members.end ()) {
    if (kept == base.end () || (added != next.members.end () && added->first < kept->first)) {
      hash.member (added->first, added->second, next.hashes.at (added->first));
      ++added;
      continue;
    }
    if (!next.removed.count (kept->first))
      hash.member (kept->first, kept->second, roster_.hashes.at (kept->first));
    ++kept;
  }
  if (next.snapshot) {
    for (const auto & fp : next.revoked)
      hash.revoked (fp);
  } else {
    std::set<std::string> revoked = roster_.revoked;
    revoked.insert (next.revoked.begin (), next.revoked.end ());
    for (const auto & fp : revoked)
      hash.revoked (fp);
  }
  return hash.hex ();
}

/* Our roster whole, for a welcome: the joiner checks its state hash. Its
 * `change` is the last one, so that a member resynchronising past a
 * revocation learns that the removed device was revoked. */
json
RosterChain::snapshot () const
{
  json snapshot = { { "epoch", roster_.epoch }, { "next", roster_.next_index }, { "prev", roster_.prev },
    { "hash", roster_.hash }, { "change", roster_.change }, { "members", member_list (roster_.members, roster_.hashes) } };
  if (!roster_.revoked.empty ())
    snapshot["revoked"] = roster_.revoked;
  return snapshot;
}

std::vector<uint64_t>
RosterChain::joins_after (uint64_t epoch) const
{
  auto first = std::upper_bound (join_epochs_.begin (), join_epochs_.end (), epoch);
  return std::vector<uint64_t> (first, join_epochs_.end ());
}

RosterDiff
RosterChain::apply (ParsedRoster next)
{
  RosterDiff diff;
  if (next.snapshot) {
    diff.removed = members_missing (roster_.members, next.members);
    diff.joined = members_missing (next.members, roster_.members);
    roster_.members = std::move (next.members);
    roster_.hashes = std::move (next.hashes);
    roster_.revoked = std::move (next.revoked);
  } else {
    roster_.revoked.insert (next.revoked.begin (), next.revoked.end ());
    diff.removed = std::move (next.removed);
    for (const auto & fp : diff.removed) {
      roster_.members.erase (fp);
      roster_.hashes.erase (fp);
    }
    for (auto & member : next.members) {
      diff.joined.insert (diff.joined.end (), member.first);
      roster_.hashes[member.first] = std::move (next.hashes.at (member.first));
      roster_.members.insert (std::move (member));
    }
  }
  if (!diff.joined.empty ()) {
    join_epochs_.push_back (next.epoch);
    if (join_epochs_.size () > kJoinEpochsKept)
      join_epochs_.pop_front ();
  }
  roster_.epoch = next.epoch;
  roster_.prev = std::move (next.prev);
  roster_.change = std::move (next.change);
  roster_.hash = std::move (next.hash);
  roster_.next_index = static_cast<uint32_t> (next.next_index);
  return diff;
}

}  // namespace room
}  // namespace sframe
