/* The roster: committed by one member (the committer: the present host with
 * the smallest fingerprint), signed, numbered and chained by hash. Every
 * member checks each change itself: a join needs a hello it verified (and
 * an admit in admission rooms); removals are the committer's word, since a
 * removal can at worst deny service, which the bus can do anyway. */
#include <gst/sframe/sender-key-provider.h>

#include <algorithm>
#include <iterator>

namespace sframe {
namespace room {

namespace {

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

}  // namespace

bool
SenderKeyProvider::parse_members (const json & payload, ParsedRoster * parsed) const
{
  auto members = payload.find ("members");
  if (members == payload.end () || !members->is_array () || !get_u64 (payload, "epoch", &parsed->epoch) ||
      !get_u64 (payload, "next", &parsed->next_index) || !get_string (payload, "prev", &parsed->prev) ||
      !get_string (payload, "change", &parsed->change))
    return false;
  std::set<uint64_t> indexes;
  for (const auto & m : *members) {
    if (!m.is_array () || m.size () != 3 || !m[0].is_string () || !m[1].is_number_unsigned () || !m[2].is_string ())
      return false;
    std::string fp = m[0].get<std::string> ();
    uint64_t index = m[1].get<uint64_t> ();
    if (!wire::is_fingerprint (fp) || index == 0 || index >= parsed->next_index || index > 0xffffff ||
        !indexes.insert (index).second || parsed->members.count (fp))
      return false;
    parsed->members[fp] = static_cast<uint32_t> (index);
    parsed->hashes[fp] = m[2].get<std::string> ();
  }
  return !parsed->members.empty ();
}

bool
SenderKeyProvider::roster_justified (const std::string & committer, const ParsedRoster & next) const
{
  if (!roster_.members.count (committer) || !eligible_committer (committer))
    return false;
  /* Whoever commits instead of an eligible member with a smaller
   * fingerprint says that member is gone, and must remove it. */
  for (const auto & member : roster_.members)
    if (member.first < committer && eligible_committer (member.first) && next.members.count (member.first))
      return false;
  if (next.next_index < roster_.next_index)
    return false;
  for (const auto & member : next.members) {
    const std::string & fp = member.first;
    const std::string & hash = next.hashes.at (fp);
    auto old = roster_.members.find (fp);
    if (old != roster_.members.end ()) {
      if (old->second != member.second || roster_.hashes.at (fp) != hash)
        return false;
      continue;
    }
    if (fp == self_fp_) {
      if (hash != own_hello_hash_)
        return false;
      continue;
    }
    auto peer = peers_.find (fp);
    if (peer == peers_.end () || peer->second.hello_hash != hash || !joining_allowed (peer->second) ||
        member.second < roster_.next_index)
      return false;
  }
  return true;
}

void
SenderKeyProvider::on_roster (Peer & from, const json & payload, const wire::Envelope & envelope, const Now & now)
{
  ParsedRoster next;
  if (!parse_members (payload, &next)) {
    stats_.messages_rejected++;
    return;
  }
  if (phase_ != Phase::member || next.epoch <= roster_.epoch)
    return;   /* a joiner waits for its welcome; older epochs are done */
  if (next.epoch > roster_.epoch + 1 || next.prev != roster_.hash) {
    request_sync (now);
    return;
  }
  next.committer = from.info.fingerprint;
  next.envelope = text_for_envelope (envelope);
  next.hash = wire::sha256_hex (text_view (envelope.payload));
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
  std::set<std::string> removed = members_missing (roster_.members, next.members);
  std::set<std::string> joined = members_missing (next.members, roster_.members);

  roster_.epoch = next.epoch;
  roster_.hash = std::move (next.hash);
  roster_.committer = std::move (next.committer);
  roster_.members = std::move (next.members);
  roster_.hashes = std::move (next.hashes);
  roster_.next_index = static_cast<uint32_t> (next.next_index);
  roster_.envelope = std::move (next.envelope);
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
  (void) now;
  json welcome = base_payload ("welcome");
  welcome["to"] = to;
  welcome["roster"] = roster_.envelope;
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
  std::string to, roster_text;
  auto hellos = payload.find ("hellos");
  if (!get_string (payload, "to", &to) || to != self_fp_ || !get_string (payload, "roster", &roster_text) ||
      hellos == payload.end () || !hellos->is_array ()) {
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

  wire::Envelope roster_envelope;
  Peer *committer = nullptr;
  if (!wire::parse_envelope (text_view (roster_text), &roster_envelope) ||
      roster_envelope.kind != wire::Envelope::Kind::signed_message) {
    stats_.messages_rejected++;
    return;
  }
  json roster_payload = json::parse (roster_envelope.payload, nullptr, false);
  ParsedRoster next;
  std::string type, from;
  if (roster_payload.is_discarded () || !roster_payload.is_object () || !get_string (roster_payload, "type", &type) ||
      type != "roster" || !get_string (roster_payload, "from", &from) || !peers_.count (from) ||
      !parse_members (roster_payload, &next)) {
    stats_.messages_rejected++;
    return;
  }
  committer = &peers_.at (from);
  if (!verify_signature_for (ByteView (committer->device_key), "message", text_view (roster_envelope.payload),
          ByteView (roster_envelope.signature)) ||
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
  next.envelope = roster_text;
  next.hash = wire::sha256_hex (text_view (roster_envelope.payload));
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
  json list = json::array ();
  for (const auto & member : members) {
    std::string hash = member.first == self_fp_ ? own_hello_hash_ : peers_.at (member.first).hello_hash;
    list.push_back ({ member.first, member.second, hash });
  }
  json payload = base_payload ("roster");
  payload["epoch"] = roster_.epoch + 1;
  payload["prev"] = roster_.hash;
  payload["next"] = next_index;
  payload["members"] = list;
  payload["change"] = change;
  payload["who"] = who;
  std::string text = payload.dump ();
  auto bytes = wire::make_signed (config_.identity, text);
  if (bytes.empty ())
    return;
  stats_.messages_sent++;
  stats_.bytes_sent += bytes.size ();
  out_->publish (subject_all_, bytes);

  wire::Envelope envelope;
  ParsedRoster next;
  if (!wire::parse_envelope (ByteView (bytes), &envelope) || !parse_members (payload, &next))
    return;
  next.committer = self_fp_;
  next.envelope.assign (bytes.begin (), bytes.end ());
  next.hash = wire::sha256_hex (text_view (text));
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
    return;
  }
  /* A new committer has heard nobody's pings yet: judge liveness from now. */
  if (committer_since_ms_ < 0)
    committer_since_ms_ = now.ms;
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
    publish_roster (members, roster_.next_index, change, removed, now);
    return;   /* one change per epoch: joins follow on the next tick */
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
    forget_committer ();
    committer = expected_committer ();
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
  RosterView view;
  view.epoch = roster_.epoch;
  view.committer = expected_committer ();
  std::vector<std::string> fps;
  for (const auto & member : roster_.members) {
    const MemberInfo *info = info_of (member.first);
    if (!info)
      continue;
    MemberInfo copy = *info;
    copy.index = member.second;
    view.members.push_back (copy);
    fps.push_back (member.first);
  }
  for (const auto & peer : peers_)
    if (!roster_.members.count (peer.first) && config_.require_admission && !joining_allowed (peer.second) &&
        !revoked_.count (peer.first) && !peer.second.gone)
      view.lobby.push_back (peer.second.info);
  std::sort (view.lobby.begin (), view.lobby.end (),
      [] (const MemberInfo & a, const MemberInfo & b) { return a.fingerprint < b.fingerprint; });
  if (view.epoch)
    view.security_code = security_code (fps);
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
