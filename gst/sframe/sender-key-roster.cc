/* The roster: committed by one member (the committer: the present host with
 * the smallest fingerprint), signed, numbered and chained by hash. Every
 * member checks each change itself: a join needs a hello it verified (and
 * an admit in admission rooms); removals are the committer's word, since a
 * removal can at worst deny service, which the bus can do anyway. */
#include <gst/sframe/sender-key-provider.h>

#include <algorithm>
#include <iterator>
#include <memory>

namespace sframe {
namespace room {

namespace {

/* The committer's check for silent members, at most this often. */
constexpr int64_t kMembershipScanMs = 100;

ByteView
text_view (const std::string & text)
{
  return ByteView (reinterpret_cast<const uint8_t *> (text.data ()), text.size ());
}

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

/* The roster's state hash, which every member must reach after a change:
 * SHA-256 over the epoch, the next free index, the previous state hash and
 * every member (fingerprint, index, hello hash) in fingerprint order.
 * Strings are length-prefixed, so the encoding is unambiguous. A change
 * carries the hash it leads to, so members that apply it to the roster
 * they hold converge on the same one without the whole list on the wire. */
class StateHash {
public:
  StateHash (uint64_t epoch, uint64_t next_index, const std::string & prev, size_t members)
  {
    static const char kLabel[] = "gst-sframe/1 roster";
    /* Hashed in one piece: an update per field was most of the cost of
     * this hash, which every member computes at every change. */
    text_.reserve (sizeof kLabel + 3 * 8 + prev.size () + members * (3 * 8 + 2 * 64));
    put (kLabel, sizeof kLabel);
    put_u64 (epoch);
    put_u64 (next_index);
    put_string (prev);
  }

  void member (const std::string & fingerprint, uint32_t index, const std::string & hello_hash)
  {
    put_string (fingerprint);
    put_u64 (index);
    put_string (hello_hash);
  }

  std::string hex () const { return wire::sha256_hex (ByteView (text_)); }

private:
  void put (const void * data, size_t size)
  {
    const uint8_t *bytes = static_cast<const uint8_t *> (data);
    text_.insert (text_.end (), bytes, bytes + size);
  }
  void put_u64 (uint64_t value)
  {
    uint8_t be[8];
    store_be64 (value, be);
    put (be, sizeof be);
  }
  void put_string (const std::string & text)
  {
    put_u64 (text.size ());
    put (text.data (), text.size ());
  }

  std::vector<uint8_t> text_;
};

json
member_list (const std::map<std::string, uint32_t> & members, const std::map<std::string, std::string> & hashes)
{
  json list = json::array ();
  for (const auto & member : members)
    list.push_back ({ member.first, member.second, hashes.at (member.first) });
  return list;
}

}  // namespace

/* [[fingerprint, index, hello hash], ...] into parsed->members and ->hashes. */
bool
SenderKeyProvider::parse_members (const json & list, uint64_t next_index, ParsedRoster * parsed) const
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

/* A `roster` message's change (`added`, `removed`), or a welcome's
 * snapshot (`members`). */
bool
SenderKeyProvider::parse_roster (const json & payload, bool snapshot, ParsedRoster * parsed) const
{
  parsed->snapshot = snapshot;
  if (!payload.is_object () || !get_u64 (payload, "epoch", &parsed->epoch) ||
      !get_u64 (payload, "next", &parsed->next_index) || !get_string (payload, "prev", &parsed->prev) ||
      !get_string (payload, "hash", &parsed->hash) || !get_string (payload, "change", &parsed->change))
    return false;
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
  return !parsed->members.empty () || !parsed->removed.empty ();
}

/* A change to our roster removes only members of it and adds only others. */
bool
SenderKeyProvider::change_applies (const ParsedRoster & change) const
{
  for (const auto & fp : change.removed)
    if (!roster_.members.count (fp))
      return false;
  for (const auto & member : change.members)
    if (roster_.members.count (member.first))
      return false;
  return true;
}

/* The state hash our roster would have after `next`: a snapshot's own
 * members, or the members we keep and the added ones of a change, merged
 * in fingerprint order without a copy. */
std::string
SenderKeyProvider::state_hash_after (const ParsedRoster & next) const
{
  StateHash hash (next.epoch, next.next_index, next.prev,
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
  return hash.hex ();
}

/* Our roster whole, for a welcome: the joiner checks its state hash. Its
 * `change` is the last one, so that a member resynchronising past a
 * revocation learns that the removed device was revoked. */
json
SenderKeyProvider::roster_snapshot () const
{
  return json { { "epoch", roster_.epoch }, { "next", roster_.next_index }, { "prev", roster_.prev },
      { "hash", roster_.hash }, { "change", roster_.change }, { "members", member_list (roster_.members, roster_.hashes) } };
}

/* A change from `committer`: only the added members need checking, the
 * others keep their index and hello by construction. */
bool
SenderKeyProvider::roster_justified (const std::string & committer, const ParsedRoster & next) const
{
  if (!roster_.members.count (committer) || !eligible_committer (committer))
    return false;
  /* Whoever commits instead of an eligible member with a smaller
   * fingerprint says that member is gone, and must remove it. */
  for (const auto & member : roster_.members) {
    if (!(member.first < committer))
      break;   /* sorted by fingerprint */
    if (eligible_committer (member.first) && !next.removed.count (member.first))
      return false;
  }
  if (next.next_index < roster_.next_index)
    return false;
  for (const auto & member : next.members) {
    const std::string & fp = member.first;
    const std::string & hash = next.hashes.at (fp);
    if (member.second < roster_.next_index)
      return false;
    if (fp == self_fp_) {
      if (hash != own_hello_hash_)
        return false;
      continue;
    }
    auto peer = peers_.find (fp);
    if (peer == peers_.end () || peer->second.hello_hash != hash || !joining_allowed (peer->second))
      return false;
  }
  return true;
}

void
SenderKeyProvider::on_roster (Peer & from, const json & payload, const Now & now)
{
  ParsedRoster next;
  if (!parse_roster (payload, false, &next)) {
    stats_.messages_rejected++;
    return;
  }
  if (phase_ != Phase::member || next.epoch <= roster_.epoch)
    return;   /* a joiner waits for its welcome; older epochs are done */
  if (next.epoch > roster_.epoch + 1 || next.prev != roster_.hash) {
    request_sync (now);
    return;
  }
  /* Signed by a member, for our very roster, yet not a change of it or
   * not leading where it says: not ours to repair. */
  if (!change_applies (next) || state_hash_after (next) != next.hash) {
    stats_.messages_rejected++;
    request_sync (now);
    return;
  }
  next.committer = from.info.fingerprint;
  if (!roster_justified (next.committer, next)) {
    /* Maybe a hello or admit is still on its way; retried, then resynced. */
    pending_roster_ = std::make_unique<ParsedRoster> (std::move (next));
    pending_roster_ms_ = now.ms;
    return;
  }
  apply_roster (std::move (next), now);
}

void
SenderKeyProvider::retry_pending_roster (const Now & now)
{
  if (!pending_roster_ || pending_roster_->epoch != roster_.epoch + 1 || pending_roster_->prev != roster_.hash ||
      !roster_justified (pending_roster_->committer, *pending_roster_))
    return;
  ParsedRoster next = std::move (*pending_roster_);
  pending_roster_.reset ();
  apply_roster (std::move (next), now);
}

void
SenderKeyProvider::apply_roster (ParsedRoster next, const Now & now)
{
  bool was_member = phase_ == Phase::member;
  std::set<std::string> removed, joined;
  if (next.snapshot) {
    removed = members_missing (roster_.members, next.members);
    joined = members_missing (next.members, roster_.members);
    roster_.members = std::move (next.members);
    roster_.hashes = std::move (next.hashes);
  } else {
    removed = std::move (next.removed);
    for (const auto & fp : removed) {
      roster_.members.erase (fp);
      roster_.hashes.erase (fp);
    }
    for (auto & member : next.members) {
      joined.insert (joined.end (), member.first);
      roster_.hashes[member.first] = std::move (next.hashes.at (member.first));
      roster_.members.insert (std::move (member));
    }
  }
  roster_.epoch = next.epoch;
  roster_.prev = std::move (next.prev);
  roster_.change = next.change;
  roster_.hash = std::move (next.hash);
  roster_.next_index = static_cast<uint32_t> (next.next_index);
  roster_members_changed ();   /* also each peer's index */
  pending_roster_.reset ();
  self_info_.index = own_index ();

  for (const auto & fp : removed) {
    if (fp == self_fp_)
      continue;
    if (next.change == "revoke")
      revoked_.insert (fp);
    leaving_.erase (fp);
    silent_.erase (fp);
    revoke_requests_.erase (fp);
    if (peers_.count (fp)) {
      forget_peer_keys (peers_.at (fp), now);
      peers_.at (fp).gone = true;
    }
  }
  if (!roster_.members.count (self_fp_)) {
    removed_from_room (next.change == "revoke" ? "revoked" : "removed from the room");
    return;
  }
  if (!was_member) {
    phase_ = Phase::member;
    next_heartbeat_ms_ = now.ms;
    report_roster ();
    make_own_key ("initial", now);
    replay_unattributed (now);
    return;
  }
  report_roster ();
  if (!removed.empty ()) {
    make_own_key (next.change == "revoke" ? "revoke" : "leave", now);
    expect_fresh_keys (now);
  } else if (!joined.empty ()) {
    ratchet_peer_keys (joined, now);
    ratchet_own_key (joined, now);
  }
  replay_unattributed (now);
}

std::vector<std::string>
SenderKeyProvider::member_hellos () const
{
  std::vector<std::string> hellos;
  for (const auto & member : roster_.members) {
    if (member.first == self_fp_)
      hellos.push_back (own_hello_);
    else if (peers_.count (member.first))
      hellos.push_back (peers_.at (member.first).hello);
  }
  return hellos;
}

void
SenderKeyProvider::send_welcome (const std::string & to, const Now & now)
{
  auto peer = peers_.find (to);
  if (peer != peers_.end ())
    peer->second.welcomed_ms = now.ms;
  json welcome = base_payload ("welcome");
  welcome["to"] = to;
  welcome["roster"] = roster_snapshot ();
  welcome["hellos"] = member_hellos ();
  send_signed (wire::subject_to (config_.room, to), welcome);
}

Peer *
SenderKeyProvider::verify_embedded_hello (const std::string & text, const Now & now)
{
  wire::Envelope envelope;
  if (!wire::parse_envelope (text_view (text), &envelope) || envelope.kind != wire::Envelope::Kind::signed_message)
    return nullptr;
  json payload = json::parse (envelope.payload, nullptr, false);
  std::string type, room, from, sid;
  uint64_t seq = 0;
  if (payload.is_discarded () || !payload.is_object () || !get_string (payload, "type", &type) || type != "hello" ||
      !get_string (payload, "room", &room) || room != config_.room || !get_string (payload, "from", &from) ||
      !wire::is_fingerprint (from) || !get_string (payload, "sid", &sid) || !get_u64 (payload, "seq", &seq))
    return nullptr;
  if (from == self_fp_)
    return nullptr;
  return on_hello (envelope.payload, payload, envelope, now, true);
}

void
SenderKeyProvider::on_welcome (const json & payload, const wire::Envelope & envelope, const Now & now)
{
  std::string to;
  auto hellos = payload.find ("hellos");
  if (!get_string (payload, "to", &to) || to != self_fp_ || hellos == payload.end () || !hellos->is_array ()) {
    stats_.messages_rejected++;
    return;
  }
  /* Every member's hello is checked here as if it had just arrived (its
   * token at the time it said hello), so no one is taken on trust. */
  for (const auto & hello : *hellos)
    if (hello.is_string ())
      verify_embedded_hello (hello.get<std::string> (), now);
  Peer *sender = nullptr;
  if (!accept_signed (payload, envelope, now, &sender))
    return;
  /* The snapshot is the sender's word, signed with the welcome; the
   * sender must be a member that could have committed it. */
  ParsedRoster next;
  auto roster = payload.find ("roster");
  const std::string & from = sender->info.fingerprint;
  if (roster == payload.end () || !parse_roster (*roster, true, &next) || state_hash_after (next) != next.hash ||
      next.epoch <= roster_.epoch || !welcome_roster_valid (from, next)) {
    stats_.messages_rejected++;
    return;
  }
  if (phase_ == Phase::member && roster_.members.size () == 1) {
    /* We had opened a room of our own (nobody answered in time): leave it
     * for the established one, as a plain joiner. */
    drop_all_keys ();
    roster_ = Roster ();
    roster_members_changed ();
    phase_ = Phase::joining;
  }
  next.committer = from;
  apply_roster (std::move (next), now);
}

bool
SenderKeyProvider::welcome_roster_valid (const std::string & committer, const ParsedRoster & next) const
{
  /* A joiner cannot replay history: it checks that the roster names it,
   * that it knows every member's verified hello, and that the committer
   * is a member allowed to commit. */
  if (!next.members.count (self_fp_) || next.hashes.at (self_fp_) != own_hello_hash_ ||
      !next.members.count (committer))
    return false;
  for (const auto & member : next.members) {
    if (member.first == self_fp_)
      continue;
    auto peer = peers_.find (member.first);
    if (peer == peers_.end () || peer->second.hello_hash != next.hashes.at (member.first) ||
        revoked_.count (member.first))
      return false;
  }
  const MemberInfo *info = info_of (committer);
  return info && (info->role == token::Role::host || !config_.require_admission);
}

void
SenderKeyProvider::request_sync (const Now & now)
{
  if (last_sync_ms_ >= 0 && now.ms - last_sync_ms_ < config_.timing.resend_ms)
    return;
  last_sync_ms_ = now.ms;
  stats_.resyncs++;
  json sync = base_payload ("sync");
  sync["epoch"] = roster_.epoch;
  send_signed (subject_all_, sync);
}

void
SenderKeyProvider::on_sync (Peer & from, const json & payload, const Now & now)
{
  (void) payload;
  const std::string & fp = from.info.fingerprint;
  if (!roster_.members.count (fp) || phase_ != Phase::member)
    return;
  if (am_committer ())
    send_welcome (fp, now);
  /* It may have missed our keys: send them again on a fresh channel. */
  if (pending_own_.valid)
    send_key (from, pending_own_, "sync", true);
  send_key (from, own_, "sync", !pending_own_.valid);
  stats_.key_resends += pending_own_.valid ? 2 : 1;
}

void
SenderKeyProvider::on_beat (Peer & from, const json & payload, const Now & now)
{
  uint64_t epoch = 0;
  std::string hash;
  if (!get_u64 (payload, "epoch", &epoch) || !get_string (payload, "hash", &hash) || phase_ != Phase::member ||
      from.info.fingerprint != expected_committer ())
    return;
  if (epoch > roster_.epoch || (epoch == roster_.epoch && hash != roster_.hash))
    request_sync (now);
}

void
SenderKeyProvider::publish_roster (std::map<std::string, uint32_t> members, uint32_t next_index, const char * change,
    const std::set<std::string> & who, const Now & now)
{
  /* Only the change goes out: at N = 200 the whole roster was 35 kB that
   * every member parsed at every change (docs/key-protocol.md). */
  ParsedRoster next;
  next.epoch = roster_.epoch + 1;
  next.next_index = next_index;
  next.prev = roster_.hash;
  next.change = change;
  next.committer = self_fp_;
  next.removed = members_missing (roster_.members, members);
  for (const auto & fp : members_missing (members, roster_.members)) {
    next.members[fp] = members.at (fp);
    next.hashes[fp] = fp == self_fp_ ? own_hello_hash_ : peers_.at (fp).hello_hash;
  }
  next.hash = state_hash_after (next);
  json payload = base_payload ("roster");
  payload["epoch"] = next.epoch;
  payload["prev"] = next.prev;
  payload["hash"] = next.hash;
  payload["next"] = next_index;
  payload["added"] = member_list (next.members, next.hashes);
  payload["removed"] = next.removed;
  payload["change"] = change;
  payload["who"] = who;
  auto bytes = wire::make_signed (config_.identity, payload.dump ());
  if (bytes.empty ())
    return;
  stats_.messages_sent++;
  stats_.bytes_sent += bytes.size ();
  out_->publish (subject_all_, bytes);
  apply_roster (std::move (next), now);
  for (const auto & fp : who)
    if (fp != self_fp_ && roster_.members.count (fp))
      send_welcome (fp, now);
}

void
SenderKeyProvider::commit_pending (const Now & now)
{
  if (!am_committer ()) {
    committer_since_ms_ = -1;
    membership_changed_ = true;   /* scan at once should we become committer */
    return;
  }
  /* A new committer has heard nobody's pings yet: judge liveness from now. */
  if (committer_since_ms_ < 0)
    committer_since_ms_ = now.ms;
  /* The scan below walks the whole roster. The committer gets every
   * member's pings and reports, so scanning on each of them was a good
   * part of its time in a rotation at N = 200, and its time is what the
   * room waits for. Joins, leaves and revocations come in signed messages
   * or host actions, which mark the membership changed and are committed
   * at once; silence is checked every kMembershipScanMs. */
  if (!membership_changed_ && now.ms < next_membership_scan_ms_)
    return;
  membership_changed_ = false;
  next_membership_scan_ms_ = now.ms + std::min (kMembershipScanMs, config_.timing.liveness_ms / 4);
  std::map<std::string, uint32_t> members = roster_.members;
  std::set<std::string> removed;
  const char *change = "leave";
  for (const auto & member : roster_.members) {
    const std::string & fp = member.first;
    if (fp == self_fp_)
      continue;
    auto peer = peers_.find (fp);
    bool revoke = revoke_requests_.count (fp) > 0;
    bool gone = leaving_.count (fp) || silent_.count (fp) || peer == peers_.end () ||
        peer->second.hello_hash != roster_.hashes.at (fp) ||
        now.ms - std::max (peer->second.last_heard_ms, committer_since_ms_) > config_.timing.liveness_ms;
    if (revoke)
      change = "revoke";
    if (revoke || gone) {
      removed.insert (fp);
      members.erase (fp);
    }
  }
  if (!removed.empty ()) {
    start_tally (now);
    publish_roster (members, roster_.next_index, change, removed, now);
    membership_changed_ = true;   /* one change per epoch: joins follow on the next call */
    return;
  }
  std::set<std::string> joined;
  for (const auto & peer : peers_) {
    if (members.count (peer.first) || !joining_allowed (peer.second) ||
        now.ms - peer.second.last_heard_ms > config_.timing.liveness_ms)
      continue;
    /* Two lone rooms merge into the one of the smaller fingerprint. */
    if (roster_.members.size () == 1 && peer.first < self_fp_ && may_create_room (peer.second.info))
      continue;
    joined.insert (peer.first);
  }
  uint32_t next_index = roster_.next_index;
  for (const auto & fp : joined)   /* in fingerprint order: peers_ is hashed */
    members[fp] = next_index++;
  if (!joined.empty ())
    publish_roster (members, next_index, "join", joined, now);
}

void
SenderKeyProvider::create_room (const Now & now)
{
  publish_roster ({ { self_fp_, 1 } }, 2, "create", { self_fp_ }, now);
}

bool
SenderKeyProvider::may_create_room (const MemberInfo & info) const
{
  return info.role == token::Role::host || !config_.require_admission;
}

bool
SenderKeyProvider::smaller_eligible_joiner (const Now & now) const
{
  for (const auto & peer : peers_) {
    const MemberInfo & info = peer.second.info;
    if (peer.first < self_fp_ && !peer.second.gone && now.ms - peer.second.last_heard_ms <= config_.timing.liveness_ms &&
        may_create_room (info))
      return true;
  }
  return false;
}

/* Traffic of an existing room means its committer will welcome us soon,
 * so wait longer before opening a room of our own; but only so long:
 * anyone on the bus can send signed traffic we cannot attribute, and an
 * outsider must not be able to keep a room from ever forming. */
int64_t
SenderKeyProvider::creation_wait_ms () const
{
  int64_t discovery = config_.timing.discovery_ms;
  return room_seen_ ? std::max<int64_t> (4 * discovery, 2 * config_.timing.resend_ms) : discovery;
}

void
SenderKeyProvider::tick_membership (const Now & now)
{
  if (phase_ == Phase::joining) {
    if (now.ms >= next_hello_ms_)
      send_hello (now);
    if (may_create_room (self_info_) && now.ms - joined_ms_ >= creation_wait_ms () && !smaller_eligible_joiner (now))
      create_room (now);
    return;
  }
  if (phase_ != Phase::member)
    return;
  /* Alone in a room of our own (nobody answered in time, or our hello was
   * lost): keep saying hello, so an established room can take us in. */
  if (roster_.members.size () == 1 && now.ms >= next_hello_ms_)
    send_hello (now);
  std::string committer = expected_committer ();
  if (committer != self_fp_ && peers_.count (committer) &&
      now.ms - peers_.at (committer).last_heard_ms > config_.timing.liveness_ms) {
    silent_.insert (committer);
    membership_changed_ = true;
    forget_committer ();
    committer = expected_committer ();
    report_roster ();   /* the view names the committer */
  }
  if (now.ms >= next_heartbeat_ms_) {
    next_heartbeat_ms_ = now.ms + config_.timing.heartbeat_ms;
    if (committer == self_fp_) {
      json beat = base_payload ("beat");
      beat["epoch"] = roster_.epoch;
      beat["hash"] = roster_.hash;
      send_signed (subject_all_, beat);
    } else if (peers_.count (committer)) {
      wire::ChannelMessage ping;
      ping.epoch = roster_.epoch;   /* type ping */
      send_channel (peers_.at (committer), ping, false);
    }
  }
  if (pending_roster_ && now.ms - pending_roster_ms_ >= config_.timing.resend_ms) {
    pending_roster_.reset ();
    request_sync (now);
  }
  commit_pending (now);
}

int64_t
SenderKeyProvider::tick (const Now & now)
{
  tick_membership (now);
  if (phase_ == Phase::member) {
    tick_keys (now);
    tick_acks (now);
  }
  int64_t next = now.ms + config_.timing.heartbeat_ms;
  if (phase_ == Phase::joining) {
    next = std::min (next, next_hello_ms_);
    next = std::min (next, joined_ms_ + creation_wait_ms ());
  } else if (phase_ == Phase::member) {
    next = std::min ({ next, next_heartbeat_ms_, next_key_deadline (), next_ack_deadline () });
    if (pending_roster_)
      next = std::min (next, pending_roster_ms_ + config_.timing.resend_ms);
  }
  return std::max (next, now.ms + 1);
}

void
SenderKeyProvider::reconnected (const Now & now)
{
  if (phase_ == Phase::joining)
    send_hello (now);
  else if (phase_ == Phase::member) {
    last_sync_ms_ = -1;
    request_sync (now);
  }
}

void
SenderKeyProvider::leave (const Now & now)
{
  (void) now;
  if (phase_ == Phase::joining || phase_ == Phase::member)
    send_signed (subject_all_, base_payload ("leave"));
  drop_all_keys ();
  phase_ = Phase::left;
}

void
SenderKeyProvider::removed_from_room (const std::string & reason)
{
  drop_all_keys ();
  phase_ = Phase::left;
  out_->left (reason);
}

Status
SenderKeyProvider::host_action (const char * type, const std::string & who, const Now & now)
{
  if (phase_ != Phase::member || self_info_.role != token::Role::host)
    return Status::invalid_argument;
  Peer *peer = find_peer (who);
  if (!peer)
    return Status::invalid_argument;
  bool admit = std::string (type) == "admit";
  membership_changed_ = true;
  /* Admitting a member again would only make everyone verify another
   * signature. */
  if (admit && roster_.members.count (peer->info.fingerprint))
    return Status::ok;
  json action = base_payload (type);
  action["target"] = peer->info.fingerprint;
  send_signed (subject_all_, action);
  if (admit) {
    /* Committed at the next tick, so that a host admitting several
     * joiners at once makes one epoch, not one each. */
    admitted_.insert (peer->info.fingerprint);
  } else {
    revoke_requests_.insert (peer->info.fingerprint);
    if (!roster_.members.count (peer->info.fingerprint))
      revoked_.insert (peer->info.fingerprint);
    commit_pending (now);
  }
  report_roster ();
  return Status::ok;
}

Status
SenderKeyProvider::admit (const std::string & who, const Now & now)
{
  return host_action ("admit", who, now);
}

Status
SenderKeyProvider::revoke (const std::string & who, const Now & now)
{
  return host_action ("revoke", who, now);
}

Status
SenderKeyProvider::rotate (const Now & now)
{
  if (phase_ != Phase::member)
    return Status::invalid_argument;
  make_own_key ("rotate", now);
  return Status::ok;
}

RosterView
SenderKeyProvider::roster () const
{
  /* Every member builds this at every change: at N = 200 in one process
   * that was a tenth of a rotation's CPU. Members come by index (a hash of
   * an integer, not of a fingerprint), in fingerprint order, and the
   * security code reads their fingerprints where they are. */
  RosterView view;
  view.epoch = roster_.epoch;
  view.committer = expected_committer ();
  view.members.reserve (roster_.members.size ());
  std::vector<std::string_view> fps;
  fps.reserve (roster_.members.size ());
  for (const auto & member : roster_.members) {
    const MemberInfo *info = member_at (member.second);
    if (!info)
      continue;
    view.members.push_back (*info);
    view.members.back ().index = member.second;
    fps.push_back (member.first);
  }
  if (config_.require_admission) {
    for (const auto & peer : peers_)
      if (!peer.second.in_roster && !joining_allowed (peer.second) && !revoked_.count (peer.first) &&
          !peer.second.gone)
        view.lobby.push_back (peer.second.info);
  }
  std::sort (view.lobby.begin (), view.lobby.end (),
      [] (const MemberInfo & a, const MemberInfo & b) { return a.fingerprint < b.fingerprint; });
  if (view.epoch)
    view.security_code = security_code_of_sorted (fps);
  return view;
}

void
SenderKeyProvider::report_roster ()
{
  out_->roster_changed (roster ());
}

std::unique_ptr<KeyProvider>
make_sender_key_provider (const Config & config, KeyProviderOutputs * outputs, const Now & now, std::string * error)
{
  std::string ignored;
  if (!error)
    error = &ignored;
  if (!outputs) {
    *error = "no outputs";
    return nullptr;
  }
  auto provider = std::make_unique<SenderKeyProvider> (config, outputs);
  if (!provider->init (now, error))
    return nullptr;
  return provider;
}

}  // namespace room
}  // namespace sframe
