/* The roster: committed by one member (the committer: the present host with
 * the smallest fingerprint), signed, numbered and chained by hash. Every
 * member checks each change itself: a join needs a hello it verified (and
 * an admit in admission rooms); removals are the committer's word, since a
 * removal can at worst deny service, which the bus can do anyway. */
#include <gst/sframe/keys/sender-key-provider.h>

#include <algorithm>
#include <iterator>
#include <memory>

namespace sframe {
namespace room {

namespace {

/* The committer's check for silent members, at most this often. */
constexpr int64_t kMembershipScanMs = 100;

}  // namespace

/* A change from `committer`: only the added members need checking, the
 * others keep their index and hello by construction. */
bool
SenderKeyProvider::roster_justified (const std::string & committer, const ParsedRoster & next, const Now & now) const
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
    if (peer == peers_.end () || peer->second.hello_hash != hash || !joining_allowed (peer->second) ||
        next.revoked.count (fp) || !credential_current (peer->second, now))
      return false;
  }
  return true;
}

void
SenderKeyProvider::on_roster (Peer & from, const VerifiedMessage & message, const Now & now)
{
  ParsedRoster next;
  if (!parse_roster (message.body (), false, &next)) {
    stats_.messages_rejected++;
    return;
  }
  if (phase_ != Phase::member || next.epoch <= roster_.epoch)
    return;   /* a joiner waits for its welcome; older epochs are done */
  if (!chain_.follows (next)) {
    request_sync (now);
    return;
  }
  /* Signed by a member, for our very roster, yet not a change of it or
   * not leading where it says: not ours to repair. */
  if (!chain_.change_applies (next) || chain_.state_hash_after (next) != next.hash) {
    stats_.messages_rejected++;
    request_sync (now);
    return;
  }
  next.committer = from.info.fingerprint;
  if (!roster_justified (next.committer, next, now)) {
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
  if (!pending_roster_ || !chain_.follows (*pending_roster_) ||
      !roster_justified (pending_roster_->committer, *pending_roster_, now))
    return;
  ParsedRoster next = std::move (*pending_roster_);
  pending_roster_.reset ();
  apply_roster (std::move (next), now);
}

void
SenderKeyProvider::apply_roster (ParsedRoster next, const Now & now)
{
  bool was_member = phase_ == Phase::member;
  const uint64_t epochs_passed = next.epoch - roster_.epoch;
  /* Members that applied each change ratcheted our newest key at most once
   * per epoch: a fresh key past a jump must be of a later generation. */
  const uint32_t past_their_ratchets =
      own_keys_.awaited ().generation + static_cast<uint32_t> (std::min<uint64_t> (epochs_passed, 1u << 16)) + 1;
  const std::set<std::string> left = std::move (next.left);
  const bool revocation = next.change == "revoke";
  const RosterDiff diff = chain_.apply (std::move (next));
  const std::set<std::string> & removed = diff.removed;
  const std::set<std::string> & joined = diff.joined;
  roster_members_changed ();   /* also each peer's index */
  pending_roster_.reset ();
  self_info_.index = own_index ();
  /* Revocations are the roster's: whoever joins later enforces them. */
  for (const auto & fp : roster_.revoked) {
    revoked_.insert (fp);
    revoke_requests_.erase (fp);
  }
  for (const auto & fp : joined) {
    auto peer = peers_.find (fp);
    if (peer != peers_.end ()) {
      peer->second.roster_sid = peer->second.sid;
      peer->second.dormant = false;
    }
  }
  for (const auto & fp : removed) {
    if (fp == self_fp_)
      continue;
    auto peer = peers_.find (fp);
    /* A session that said `leave` (to the committer, or to us), that was
     * revoked, that a newer session of its device replaced, or that a
     * welcome names as departed, ends; any other removed session rests
     * (silence: it may be alive, and come back). */
    bool departed = left.count (fp) || leaving_.count (fp) || roster_.revoked.count (fp) ||
        (peer != peers_.end () &&
            (peer->second.sid != peer->second.roster_sid || session_ended (fp, peer->second.roster_sid)));
    leaving_.erase (fp);
    silent_.erase (fp);
    revoke_requests_.erase (fp);
    if (departed)
      admitted_.erase (fp);   /* an admission is for the session that was admitted */
    if (peer == peers_.end ())
      continue;
    if (departed)
      end_session (peer->second, now);
    else
      rest_session (peer->second, now);
  }
  if (!roster_.members.count (self_fp_)) {
    if (roster_.revoked.count (self_fp_))
      removed_from_room ("revoked");
    else if (left.count (self_fp_))
      removed_from_room ("removed from the room");
    else
      rejoin (now);
    return;
  }
  if (!was_member) {
    phase_ = Phase::member;
    welcome_floor_ = 0;
    next_heartbeat_ms_ = now.ms;
    report_roster ();
    make_own_key ("initial", now);
    replay_unattributed (now);
    return;
  }
  report_roster ();
  /* A welcome that jumps past joins: the others ratcheted our key once
   * per join, we can ratchet it only once; a fresh key, past their
   * ratchets, brings them back to ours. */
  bool jumped_joins = epochs_passed > 1 && !joined.empty ();
  if (!removed.empty ()) {
    /* Our current key goes on until the fresh one takes over, and must not
     * be one a joiner could read earlier frames with (a sync answer sends
     * it). */
    if (!joined.empty ())
      ratchet_own_key (joined, now);
    make_own_key (revocation ? "revoke" : "leave", now, jumped_joins ? past_their_ratchets : 0);
    expect_fresh_keys (now);
  } else if (!joined.empty ()) {
    ratchet_peer_keys (joined, now);
    ratchet_own_key (joined, now);
    if (jumped_joins)
      make_own_key ("join", now, past_their_ratchets);
  }
  replay_unattributed (now);
}

/* The session of `peer` that the roster held left it: that session never
 * comes back (its hello, even re-signed, is refused). */
void
SenderKeyProvider::end_session (Peer & peer, const Now & now)
{
  sessions_.end (peer.info.fingerprint, peer.roster_sid);
  if (peer.sid == peer.roster_sid) {
    forget_peer_keys (peer, now);
    peer.gone = true;
    sessions_.add_departed (peer.hello, peer.renewal, peer.token_expires_s);
  }
  peer.roster_sid = 0;
}

/* The roster dropped `peer` without its leaving: it keeps its session and
 * may join again, but is heard again only through a fresh signed message
 * (a replayed hello must not bring it back). */
void
SenderKeyProvider::rest_session (Peer & peer, const Now & now)
{
  if (peer.sid == peer.roster_sid) {
    forget_peer_keys (peer, now);
    peer.dormant = true;
    peer.last_heard_ms = INT64_MIN / 2;
  }
  peer.roster_sid = 0;
}

/* The committer dropped us without our leaving (it stopped hearing us):
 * we join again in the same session, as a joiner. Our hello alone would
 * not be heard (see rest_session), so each hello goes with a fresh signed
 * message. */
void
SenderKeyProvider::rejoin (const Now & now)
{
  forget_room ();
  joined_ms_ = now.ms;
  report_roster ();
  /* Only a welcome that answers one of our `here`s: the first is next. */
  welcome_floor_ = seq_ + 1;
  say_hello (now);
}

/* Back to joining: no keys, no roster, and nothing judged within the room
 * (whom we found silent, a change waiting for its evidence). */
void
SenderKeyProvider::forget_room ()
{
  drop_all_keys ();
  chain_.clear ();
  silent_.clear ();
  pending_roster_.reset ();
  roster_members_changed ();
  phase_ = Phase::joining;
}

/* A welcome's departed sessions: each hello (and renewal) verified on its
 * own; their sessions end here too, and their tokens are used. */
void
SenderKeyProvider::adopt_departed (const VerifiedMessage & welcome, const Now & now)
{
  std::vector<std::string> renewals = welcome.strings ("departed_renewals");
  for (const auto & text : welcome.strings ("departed")) {
    VerifiedHello hello;
    if (!verify_hello_text (text, rules_, now.unix_s, false, &hello).ok () || hello.from == self_fp_)
      continue;
    std::string departed_renewal;
    int64_t expires_s = hello.claims.expires_at;
    sessions_.bind_token (hello.claims.jti, hello.from, hello.sid, hello.claims.expires_at, config_.clock_skew_s,
        now.unix_s);
    sessions_.end (hello.from, hello.sid);
    for (const auto & renewal_text : renewals) {
      VerifiedRenewal renewal;
      if (verify_renewal_text (renewal_text, hello, rules_, now.unix_s, &renewal).ok ()) {
        sessions_.bind_token (renewal.claims.jti, renewal.from, renewal.sid, renewal.claims.expires_at,
            config_.clock_skew_s, now.unix_s);
        departed_renewal = renewal_text;
        expires_s = std::max (expires_s, renewal.claims.expires_at);
      }
    }
    sessions_.add_departed (text, std::move (departed_renewal), expires_s);
  }
}

std::vector<std::string>
SenderKeyProvider::member_renewals () const
{
  std::vector<std::string> renewals;
  for (const auto & member : roster_.members) {
    const std::string & text = member.first == self_fp_ ? own_renewal_ : peers_.at (member.first).renewal;
    if (!text.empty ())
      renewals.push_back (text);
  }
  return renewals;
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
  welcome["answers"] = peer != peers_.end () ? peer->second.newest_seq : 0;
  welcome["roster"] = chain_.snapshot ();
  welcome["hellos"] = member_hellos ();
  std::vector<std::string> renewals = member_renewals ();
  if (!renewals.empty ())
    welcome["renewals"] = renewals;
  std::vector<std::string> departed = sessions_.departed_texts (false, now.unix_s, config_.clock_skew_s);
  if (!departed.empty ()) {
    welcome["departed"] = departed;
    welcome["departed_renewals"] = sessions_.departed_texts (true, now.unix_s, config_.clock_skew_s);
  }
  send_signed (wire::subject_to (config_.room, to), welcome);
}

/* A welcome: the whole roster, signed by its committer, with every
 * member's hello and renewal. Adopted by a joiner (or a member alone in a
 * room of its own), or by a member resynchronising from the committer its
 * own roster names; in both cases only once every entry is justified by
 * evidence this member verifies itself, at its own clock. Nothing in it
 * is adopted before all of it is checked. */
void
SenderKeyProvider::on_welcome (UnverifiedMessage & message, const Now & now)
{
  if (phase_ != Phase::joining && phase_ != Phase::member) {
    stats_.messages_rejected++;
    return;
  }
  const std::string signer = message.sender ();
  /* From our own committer, the state of our room; from anyone else, the
   * invitation of another room, judged as a joiner would judge it. */
  bool resync = phase_ == Phase::member && roster_.members.size () > 1 && signer == expected_committer ();
  bool other_room = phase_ == Phase::member && !resync;
  CarriedCredentials carried = verify_carried (message, now);
  VerifiedMessage verified;
  ParsedRoster next;
  if (!verify_welcome (message, signer, resync, carried, &verified, &next) ||
      (resync && next.epoch <= roster_.epoch) || !welcome_justified (signer, next, carried, now)) {
    stats_.messages_rejected++;
    return;
  }
  if (other_room) {
    /* welcome_justified found the signer's hello among those carried. */
    RoomRank theirs { carried.hellos.at (signer).claims.role == token::Role::host, next.epoch, signer };
    if (!theirs.outranks (own_room_rank ())) {
      stats_.messages_rejected++;
      return;
    }
    /* Our room formed apart from this one, which outranks it: leave ours
     * for it, as a plain joiner. */
    forget_room ();
  }
  adopt_welcome (signer, verified, carried, std::move (next), now);
}

/* Every hello and renewal a welcome carries, each verified on its own;
 * none adopted. */
CarriedCredentials
SenderKeyProvider::verify_carried (const UnverifiedMessage & message, const Now & now) const
{
  CarriedCredentials carried;
  for (const auto & text : message.carried ("hellos")) {
    VerifiedHello hello;
    if (verify_hello_text (text, rules_, now.unix_s, false, &hello).ok ())
      carried.hellos[hello.from] = std::move (hello);
  }
  for (const auto & text : message.carried ("renewals")) {
    for (const auto & hello : carried.hellos) {
      VerifiedRenewal renewal;
      if (verify_renewal_text (text, hello.second, rules_, now.unix_s, &renewal).ok ()) {
        carried.renewals[hello.first] = std::move (renewal);
        break;
      }
    }
  }
  return carried;
}

/* The welcome is signed by the session of `signer` that its carried hello
 * (or, for our own committer, the one we hold) names, is to us, is not a
 * replay, answers our newest `here` if we rejoin, and carries a snapshot
 * whose state hash is right. Only then is its snapshot read into `next`. */
bool
SenderKeyProvider::verify_welcome (UnverifiedMessage & message, const std::string & signer, bool resync,
    const CarriedCredentials & carried, VerifiedMessage * verified, ParsedRoster * next) const
{
  const std::vector<uint8_t> *signer_key = nullptr;
  uint64_t signer_sid = 0;
  auto hello = carried.hellos.find (signer);
  auto peer = peers_.find (signer);
  if (hello != carried.hellos.end ()) {
    signer_key = &hello->second.claims.device_public_key;
    signer_sid = hello->second.sid;
  } else if (resync && peer != peers_.end ()) {
    signer_key = &peer->second.device_key;
    signer_sid = peer->second.sid;
  }
  Welcome welcome;
  if (!signer_key || message.session () != signer_sid || !message.verify (*signer_key, config_.room, verified) ||
      !parse_welcome (*verified, &welcome) || welcome.to != self_fp_ ||
      (!resync && welcome.answers < welcome_floor_) ||
      (peer != peers_.end () && peer->second.sid == signer_sid && !peer->second.seen.would_accept (verified->seq ())))
    return false;
  /* Signed by the device it names: from here on its word. */
  return parse_roster (*welcome.roster, true, next) && chain_.state_hash_after (*next) == next->hash;
}

/* A welcome we accept: its members' hellos and renewals, its departed
 * sessions, then its roster. */
void
SenderKeyProvider::adopt_welcome (const std::string & signer, const VerifiedMessage & verified,
    const CarriedCredentials & carried, ParsedRoster next, const Now & now)
{
  for (const auto & member : next.members) {
    if (member.first == self_fp_)
      continue;
    auto peer = peers_.find (member.first);
    if (peer == peers_.end () || peer->second.hello_hash != next.hashes.at (member.first))
      adopt_hello (carried.hellos.at (member.first), now);
    auto renewal = carried.renewals.find (member.first);
    if (renewal != carried.renewals.end ())
      adopt_renewal (peers_.at (member.first), renewal->second, now);
  }
  peers_.at (signer).seen.check_and_mark (verified.seq ());
  adopt_departed (verified, now);
  next.committer = signer;
  apply_roster (std::move (next), now);
}

/* The snapshot names us with our own hello, was signed by one of its
 * members that may commit (a host, or anyone where admission is not
 * required: the committer that added us may have handed over to a host
 * that joined with us), and every other member in it is justified: a
 * hello we verified, with a token (or a renewal of it) valid at our
 * clock, whose jti no other session used, of a session that never left
 * our roster, of a device neither we nor the snapshot know as revoked.
 * In an admission room the signer is a host, whose word the admissions
 * are. */
bool
SenderKeyProvider::welcome_justified (const std::string & signer, const ParsedRoster & next,
    const CarriedCredentials & carried, const Now & now) const
{
  const auto & hellos = carried.hellos;
  const auto & renewals = carried.renewals;
  auto signer_hello = hellos.find (signer);
  bool signer_may_commit = signer_hello != hellos.end () &&
      (signer_hello->second.claims.role == token::Role::host || !config_.require_admission);
  if (!next.members.count (self_fp_) || next.hashes.at (self_fp_) != own_hello_hash_ || next.revoked.count (self_fp_) ||
      !next.members.count (signer) || !signer_may_commit)
    return false;
  for (const auto & member : next.members) {
    const std::string & fp = member.first;
    if (fp == self_fp_)
      continue;
    auto hello = hellos.find (fp);
    if (hello == hellos.end () || hello->second.hash != next.hashes.at (fp) || revoked_.count (fp) ||
        next.revoked.count (fp) || !token_unused (hello->second.claims, fp, hello->second.sid))
      return false;
    auto renewal = renewals.find (fp);
    int64_t expires = renewal == renewals.end () ? hello->second.claims.expires_at : renewal->second.claims.expires_at;
    bool issued = hello->second.claims.issued_at - config_.clock_skew_s <= now.unix_s;
    if (!issued || !token_current (expires, now) ||
        (renewal != renewals.end () && !token_unused (renewal->second.claims, fp, hello->second.sid)))
      return false;
    if (session_ended (fp, hello->second.sid))
      return false;
  }
  return true;
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
SenderKeyProvider::on_sync (Peer & from, const Now & now)
{
  const std::string & fp = from.info.fingerprint;
  if (!roster_.members.count (fp) || phase_ != Phase::member)
    return;
  if (am_committer ())
    send_welcome (fp, now);
  /* It may have missed our keys: send them again on a fresh channel. */
  bool pending = own_keys_.pending ().valid;
  if (pending)
    send_key (from, own_keys_.pending (), "sync", true);
  send_key (from, own_keys_.current (), "sync", !pending);
  stats_.key_resends += pending ? 2 : 1;
}

void
SenderKeyProvider::on_beat (Peer & from, const Beat & beat, const Now & now)
{
  if (!from.in_roster) {
    /* It commits a room of its own. One that outranks ours takes us in
     * once its committer has our hello (and we adopt its welcome). */
    from.room_epoch = beat.epoch;
    from.room_beat_ms = now.ms;
    if (phase_ == Phase::member && joins_the_others_room (from, now) && now.ms >= next_hello_ms_)
      send_hello (now);
    return;
  }
  if (phase_ != Phase::member || from.info.fingerprint != expected_committer ())
    return;
  if (beat.epoch > roster_.epoch || (beat.epoch == roster_.epoch && beat.hash != roster_.hash))
    request_sync (now);
}

void
SenderKeyProvider::publish_roster (std::map<std::string, uint32_t> members, uint32_t next_index, const char * change,
    const std::set<std::string> & who, std::set<std::string> revoked, const Now & now)
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
  next.revoked = std::move (revoked);
  for (const auto & fp : members_missing (members, roster_.members)) {
    next.members[fp] = members.at (fp);
    next.hashes[fp] = fp == self_fp_ ? own_hello_hash_ : peers_.at (fp).hello_hash;
  }
  next.hash = chain_.state_hash_after (next);
  json payload = base_payload ("roster");
  payload["epoch"] = next.epoch;
  payload["prev"] = next.prev;
  payload["hash"] = next.hash;
  payload["next"] = next_index;
  payload["added"] = member_list (next.members, next.hashes);
  payload["removed"] = next.removed;
  for (const auto & fp : next.removed)
    if (leaving_.count (fp))
      next.left.insert (fp);
  if (!next.left.empty ())
    payload["left"] = next.left;
  if (!next.revoked.empty ())
    payload["revoked"] = next.revoked;
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
    /* Membership lasts as long as a valid token: joiners could not
     * verify one whose token expired. */
    bool gone = leaving_.count (fp) || silent_.count (fp) || peer == peers_.end () ||
        peer->second.hello_hash != roster_.hashes.at (fp) || !credential_current (peer->second, now) ||
        now.ms - std::max (peer->second.last_heard_ms, committer_since_ms_) > config_.timing.liveness_ms;
    if (revoke)
      change = "revoke";
    if (revoke || gone) {
      removed.insert (fp);
      members.erase (fp);
    }
  }
  /* Revocations a host asked for, of members or of devices outside. */
  std::set<std::string> revoked;
  for (const auto & fp : revoke_requests_)
    if (!roster_.revoked.count (fp))
      revoked.insert (fp);
  if (!removed.empty () || !revoked.empty ()) {
    if (!revoked.empty ())
      change = "revoke";
    if (!removed.empty ())
      ack_tally_.start_rotation (now.ms);
    publish_roster (members, roster_.next_index, change, removed, std::move (revoked), now);
    membership_changed_ = true;   /* one change per epoch: joins follow on the next call */
    return;
  }
  std::set<std::string> joined;
  for (auto & peer : peers_) {
    if (members.count (peer.first) || !joining_allowed (peer.second) ||
        now.ms - peer.second.last_heard_ms > config_.timing.liveness_ms)
      continue;
    if (!credential_current (peer.second, now)) {
      refuse (peer.first, Refusal::token_expired, "its token expired while it waited");
      continue;
    }
    if (joins_the_others_room (peer.second, now))
      continue;
    joined.insert (peer.first);
  }
  uint32_t next_index = roster_.next_index;
  for (const auto & fp : joined)   /* in fingerprint order: peers_ is hashed */
    members[fp] = next_index++;
  if (!joined.empty ())
    publish_roster (members, next_index, "join", joined, {}, now);
}

RoomRank
SenderKeyProvider::own_room_rank () const
{
  const std::string & committer = expected_committer ();
  const MemberInfo *info = info_of (committer);
  return { info && info->role == token::Role::host, roster_.epoch, committer };
}

/* `peer` commits a room of its own that outranks ours: its room will take
 * us in (we adopt its welcome), so ours does not take it in. */
bool
SenderKeyProvider::joins_the_others_room (const Peer & peer, const Now & now) const
{
  if (!beats_another_room (peer, now))
    return false;
  return RoomRank { peer.info.role == token::Role::host, peer.room_epoch, peer.info.fingerprint }.outranks (
      own_room_rank ());
}

/* A room whose committer we verified beats: it will take us in, however
 * long its committer takes (at N = 200 it is busy), and a room of our own
 * would only have to merge into it. An outsider cannot hold us back this
 * way: a beat counts only with a hello whose token we verified. */
bool
SenderKeyProvider::other_room_beating (const Now & now) const
{
  for (const auto & peer : peers_)
    if (beats_another_room (peer.second, now))
      return true;
  return false;
}

bool
SenderKeyProvider::beats_another_room (const Peer & peer, const Now & now) const
{
  return !peer.in_roster && !peer.gone && peer.room_beat_ms != INT64_MIN &&
      now.ms - peer.room_beat_ms <= config_.timing.liveness_ms;
}

void
SenderKeyProvider::create_room (const Now & now)
{
  publish_roster ({ { self_fp_, 1 } }, 2, "create", { self_fp_ }, {}, now);
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
  /* One the roster dropped knows the room is there: it gives the room's
   * beat (and a welcome) a liveness timeout before it starts one. */
  if (welcome_floor_ != 0)
    return std::max<int64_t> (config_.timing.liveness_ms, 4 * discovery);
  return room_seen_ ? std::max<int64_t> (4 * discovery, 2 * config_.timing.resend_ms) : discovery;
}

void
SenderKeyProvider::tick_membership (const Now & now)
{
  if (phase_ == Phase::joining) {
    if (now.ms >= next_hello_ms_)
      say_hello (now);
    if (may_create_room (self_info_) && now.ms - joined_ms_ >= creation_wait_ms () &&
        !smaller_eligible_joiner (now) && !other_room_beating (now))
      create_room (now);
    return;
  }
  if (phase_ != Phase::member)
    return;
  if (now.unix_s >= self_claims_.expires_at) {
    /* Soon nobody may hold us in their roster (they allow the clock skew
     * past expiry): leave first, and say so. */
    send_signed (subject_all_, base_payload ("leave"));
    removed_from_room ("token expired");
    return;
  }
  /* Alone in a room of our own (nobody answered in time, or our hello was
   * lost): keep saying hello, so an established room can take us in. */
  if (roster_.members.size () == 1 && now.ms >= next_hello_ms_)
    send_hello (now);
  std::string committer = expected_committer ();
  if (committer != self_fp_ && peers_.count (committer) &&
      (now.ms - peers_.at (committer).last_heard_ms > config_.timing.liveness_ms ||
          !credential_current (peers_.at (committer), now))) {
    silent_.insert (committer);
    membership_changed_ = true;
    forget_committer ();
    committer = expected_committer ();
    report_roster ();   /* the view names the committer */
  }
  if (now.ms >= next_heartbeat_ms_) {
    next_heartbeat_ms_ = now.ms + config_.timing.heartbeat_ms;
    if (own_renewal_resends_ > 0) {
      own_renewal_resends_--;
      send_renewal ();
    }
    if (committer == self_fp_) {
      json beat = base_payload ("beat");
      beat["epoch"] = roster_.epoch;
      beat["hash"] = roster_.hash;
      beat["hellos"] = { own_hello_ };
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
    forget_committer ();
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

Status
SenderKeyProvider::renew_token (const std::string & token, const Now & now)
{
  token::JtiCache cache;
  token::VerifyOptions options { config_.room, now.unix_s, config_.max_token_lifetime_s, config_.clock_skew_s };
  token::VerifyResult result = token::verify (token, ByteView (config_.authority), options, cache);
  const token::Claims & was = self_claims_;
  if (!result.ok () || result.claims.device_public_key != was.device_public_key ||
      result.claims.member_id != was.member_id || result.claims.display_name != was.display_name ||
      result.claims.role != was.role || result.claims.grants != was.grants)
    return Status::invalid_argument;
  if (result.claims.jti == was.jti)
    return Status::ok;
  config_.token = token;
  self_claims_ = result.claims;
  if (phase_ == Phase::joining) {
    /* Not welcomed yet: say hello again with the new token, in a new
     * session (a session has exactly one hello). */
    uint64_t sid = random_id ();
    hpke::KeyPair session;
    if (sid == 0 || hpke::generate_key_pair (&session) != Status::ok)
      return Status::crypto_error;
    sid_ = sid;
    hpke_ = std::move (session);
    phase_ = Phase::idle;
    return start (now);
  }
  if (phase_ == Phase::member) {
    send_renewal ();
    own_renewal_resends_ = 2;   /* with the next two heartbeats, in case one is lost */
  }
  return Status::ok;
}

/* Our newest token, signed in our session, naming our hello. */
void
SenderKeyProvider::send_renewal ()
{
  json renew = base_payload ("renew");
  renew["token"] = config_.token;
  renew["hello"] = own_hello_hash_;
  auto bytes = wire::make_signed (config_.identity, renew.dump ());
  if (bytes.empty ())
    return;
  own_renewal_.assign (bytes.begin (), bytes.end ());
  stats_.messages_sent++;
  stats_.bytes_sent += bytes.size ();
  out_->publish (subject_all_, bytes);
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

Result
make_sender_key_provider (const Config & config, KeyProviderOutputs * outputs, const Now & now,
    std::unique_ptr<KeyProvider> * provider)
{
  if (!outputs || !provider)
    return {Status::invalid_argument, "no outputs"};
  auto made = std::make_unique<SenderKeyProvider> (config, outputs);
  Result r = made->init (now);
  if (r.ok ())
    *provider = std::move (made);
  return r;
}

}  // namespace room
}  // namespace sframe
