/* Membership: hellos, the committer's signed roster chain, welcomes,
 * resynchronisation and liveness (docs/key-protocol.md). */
#include <gst/sframe/keys/sender-key-provider.h>

#include <gst/sframe/core/base64url.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

constexpr size_t kMaxUnattributed = 4096;
constexpr size_t kMaxRefusalsRemembered = 4096;

ByteView
text_view (const std::string & text)
{
  return ByteView (reinterpret_cast<const uint8_t *> (text.data ()), text.size ());
}

}  // namespace

SenderKeyProvider::SenderKeyProvider (const Config & config, KeyProviderOutputs * outputs)
    : config_ (config), out_ (outputs), unattributed_ (kMaxUnattributed, config.timing.liveness_ms),
      delivery_ (config.timing.resend_ms),
      held_report_ (config.timing.ack_delay_ms), ack_tally_ (config.timing.resend_ms)
{
}

Result
SenderKeyProvider::init (const Now & now)
{
  token::JtiCache cache;
  token::VerifyOptions options { config_.room, now.unix_s, config_.max_token_lifetime_s, config_.clock_skew_s };
  token::VerifyResult result = token::verify (config_.token, ByteView (config_.authority), options, cache);
  if (!result.ok ())
    return {result.status, std::string ("own join token refused: ") + status_name (result.status) + ": " +
        result.message};
  if (result.claims.device_public_key != config_.identity.public_key ())
    return {Status::bad_claim, "own join token was issued for another device key"};
  self_claims_ = result.claims;
  rules_ = { config_.room, config_.authority, config_.max_token_lifetime_s, config_.clock_skew_s };
  self_fp_ = config_.identity.fingerprint ();
  self_info_ = { self_fp_, self_claims_.member_id, self_claims_.display_name, self_claims_.role, self_claims_.grants, 0 };
  subject_all_ = wire::subject_all (config_.room);
  subject_self_ = wire::subject_to (config_.room, self_fp_);
  sid_ = random_id ();
  if (sid_ == 0 || hpke::generate_key_pair (&hpke_) != Status::ok)
    return {Status::crypto_error, "could not generate session keys"};
  return {};
}

std::vector<std::string>
SenderKeyProvider::subjects () const
{
  return { subject_all_, subject_self_ };
}

json
SenderKeyProvider::base_payload (const char * type)
{
  return { { "v", wire::kVersion }, { "type", type }, { "room", config_.room }, { "from", self_fp_ },
    { "sid", wire::u64_hex (sid_) }, { "seq", ++seq_ } };
}

void
SenderKeyProvider::send_signed (const std::string & subject, const json & payload)
{
  auto bytes = wire::make_signed (config_.identity, payload.dump ());
  if (bytes.empty ())
    return;
  stats_.messages_sent++;
  stats_.bytes_sent += bytes.size ();
  out_->publish (subject, bytes);
}

Status
SenderKeyProvider::start (const Now & now)
{
  if (phase_ != Phase::idle)
    return Status::invalid_argument;
  phase_ = Phase::joining;
  joined_ms_ = now.ms;
  json hello = base_payload ("hello");
  hello["token"] = config_.token;
  hello["hpk"] = base64url_encode (ByteView (hpke_.public_key));
  hello["t"] = now.unix_s;
  std::string text = hello.dump ();
  auto bytes = wire::make_signed (config_.identity, text);
  own_hello_.assign (bytes.begin (), bytes.end ());
  own_hello_hash_ = wire::sha256_hex (text_view (text));
  send_hello (now);
  return Status::ok;
}

void
SenderKeyProvider::send_hello (const Now & now)
{
  /* The same signed hello each time: a resend, never a new use of the token. */
  stats_.messages_sent++;
  stats_.bytes_sent += own_hello_.size ();
  out_->publish (subject_all_, std::vector<uint8_t> (own_hello_.begin (), own_hello_.end ()));
  next_hello_ms_ = now.ms + config_.timing.resend_ms;
}

/* A joiner's hello; one that the roster dropped adds a fresh signed
 * message, by which members hear it again (a hello may be a replay). */
void
SenderKeyProvider::say_hello (const Now & now)
{
  send_hello (now);
  if (welcome_floor_ != 0)
    send_signed (subject_all_, base_payload ("here"));
}

void
SenderKeyProvider::receive (const std::string & subject, ByteView payload, const Now & now)
{
  (void) subject;
  if (phase_ == Phase::idle || phase_ == Phase::left)
    return;
  stats_.messages_received++;
  stats_.bytes_received += payload.size;
  /* Parsed into the storage of the last message's envelope: a rotation
   * brings each member 2N of them. Taken, not borrowed, so that a nested
   * call would simply start from an empty one. */
  wire::Envelope envelope;
  std::swap (envelope, spare_envelope_);
  bool parsed = wire::parse_envelope (payload, &envelope);
  if (!parsed)
    stats_.messages_rejected++;
  else if (envelope.kind == wire::Envelope::Kind::channel_message)
    on_channel_message (envelope, now);
  else {
    membership_changed_ = true;   /* hellos, leaves, host actions, rosters */
    on_signed (envelope, now);
  }
  std::swap (envelope, spare_envelope_);
  if (!parsed)
    return;
  /* Joins, leaves and revocations are committed as soon as they are known. */
  commit_pending (now);
}

void
SenderKeyProvider::stash_unattributed (const wire::Envelope & envelope, const Now & now)
{
  if (!unattributed_.stash (envelope, now.ms))
    stats_.messages_rejected++;
}

void
SenderKeyProvider::replay_unattributed (const Now & now)
{
  stats_.messages_rejected += unattributed_.replay (now.ms, [&] (const wire::Envelope & envelope) {
    if (envelope.kind == wire::Envelope::Kind::channel_message)
      on_channel_message (envelope, now);
    else
      on_signed (envelope, now);
  });
  for (auto & peer : peers_)
    if (peer.second.channels.has_early ())
      replay_early (peer.second, now);
}

/* A signed message: verified under the key of the session it names before
 * anything else in it is read (room-messages.h), then dispatched on its
 * verified type. */
void
SenderKeyProvider::on_signed (const wire::Envelope & envelope, const Now & now)
{
  UnverifiedMessage message;
  if (!message.parse (envelope)) {
    stats_.messages_rejected++;
    return;
  }
  if (message.sender () == self_fp_)
    return;   /* our own, echoed by the bus */
  /* Hellos carry the key they are verified with (the token's); a welcome
   * carries the hellos its signer is verified with. */
  if (message.claimed_type () == MessageType::hello) {
    on_hello (envelope, message.sender (), now);
    return;
  }
  if (message.claimed_type () == MessageType::welcome) {
    on_welcome (message, now);
    return;
  }
  if (message.claimed_type () == MessageType::beat && !peers_.count (message.sender ()))
    learn_carried_hello (message, now);
  VerifiedMessage verified;
  Peer *peer = accept_signed (envelope, message, now, &verified);
  if (!peer)
    return;
  switch (verified.type ()) {
    case MessageType::roster:
      on_roster (*peer, verified, now);
      return;
    case MessageType::channel: {
      ChannelSetup setup;
      if (parse_channel_setup (verified, &setup))
        on_channel_setup (*peer, setup, now);
      else
        stats_.messages_rejected++;
      return;
    }
    case MessageType::admit:
    case MessageType::revoke:
      on_host_action (*peer, verified, now);
      return;
    case MessageType::leave:
      on_leave (*peer, now);
      return;
    case MessageType::renew:
      on_renew (*peer, envelope, now);
      return;
    case MessageType::sync:
      on_sync (*peer, now);
      return;
    case MessageType::here:
      return;   /* heard (accept_signed): that is all it is for */
    case MessageType::beat: {
      Beat beat;
      if (parse_beat (verified, &beat))
        on_beat (*peer, beat, now);
      else
        stats_.messages_rejected++;
      return;
    }
    default:
      stats_.messages_rejected++;
  }
}

/* A committer's beat carries its hello, so that rooms which formed apart
 * learn of each other: the hello is judged as any other, and the beat is
 * then verified in the session it names. */
void
SenderKeyProvider::learn_carried_hello (const UnverifiedMessage & message, const Now & now)
{
  std::vector<std::string> hellos = message.carried ("hellos");
  wire::Envelope hello;
  UnverifiedMessage claimed;
  /* Only the beat's own sender's hello: another device's, recorded by the
   * bus, would be judged outside the rules for a hello we hold. */
  if (hellos.size () != 1 || !wire::parse_envelope (text_view (hellos[0]), &hello) ||
      hello.kind != wire::Envelope::Kind::signed_message || !claimed.parse (hello) ||
      claimed.sender () != message.sender ()) {
    stats_.messages_rejected++;
    return;
  }
  on_hello (hello, message.sender (), now);
}

/* The sender's current session, when `message` is signed in it, for our
 * room, and unseen; stashed when the sender is not known yet. */
Peer *
SenderKeyProvider::accept_signed (const wire::Envelope & envelope, UnverifiedMessage & message, const Now & now,
    VerifiedMessage * verified)
{
  auto it = peers_.find (message.sender ());
  if (it == peers_.end ()) {
    if (phase_ == Phase::joining)
      room_seen_ = true;
    stash_unattributed (envelope, now);
    return nullptr;
  }
  Peer & peer = it->second;
  if (message.session () != peer.sid || !message.verify (peer.device_key, config_.room, verified) ||
      !peer.seen.check_and_mark (verified->seq ())) {
    stats_.messages_rejected++;
    return nullptr;
  }
  peer.last_heard_ms = now.ms;
  peer.newest_seq = std::max (peer.newest_seq, verified->seq ());
  if (silent_.count (peer.info.fingerprint)) {
    /* Found silent while we were the one not hearing (away, or cut off):
     * it is not, and stays our committer if it was. */
    silent_.erase (peer.info.fingerprint);
    forget_committer ();
  }
  return &peer;
}

void
SenderKeyProvider::refuse (const std::string & who, Refusal reason, const std::string & detail)
{
  /* Once per device and reason: a resending joiner is one refusal. The
   * set is bounded: names are anyone's to claim. */
  if (refused_reported_.size () >= kMaxRefusalsRemembered)
    refused_reported_.clear ();
  if (!refused_reported_.insert (who + refusal_name (reason)).second)
    return;
  stats_.refused_members++;
  out_->member_refused (who, reason, detail);
}

/* A refusal names the device of an authentic token; without one, only the
 * message's own claim names a device, and the report says so. */
void
SenderKeyProvider::refuse (const std::string & claimed, const CredentialCheck & check)
{
  if (check.outcome != CredentialCheck::Outcome::refused)
    stats_.messages_rejected++;
  else if (!check.device.empty ())
    refuse (check.device, check.refusal, check.detail);
  else
    refuse (claimed, check.refusal, check.detail + " (sender unverified: the name is its own claim)");
}

/* A hello: a device asking to join, or a new session of a known one. */
void
SenderKeyProvider::on_hello (const wire::Envelope & envelope, const std::string & claimed, const Now & now)
{
  /* The same signed text as the hello we hold for its sender: a resend
   * or a replay of what we verified already, told apart by its hash. The
   * sender's name here only finds that record. */
  auto known = peers_.find (claimed);
  if (known != peers_.end () && known->second.hello_hash == wire::sha256_hex (text_view (envelope.payload))) {
    on_repeated_hello (known->second, now);
    return;
  }
  VerifiedHello hello;
  CredentialCheck check = verify_hello (envelope, rules_, now.unix_s, true, &hello);
  if (!check.ok ()) {
    refuse (claimed, check);
    return;
  }
  if (hello.from != claimed) {
    stats_.messages_rejected++;   /* the lookup above used another name */
    return;
  }
  if (revoked_.count (hello.from)) {
    refuse (hello.from, Refusal::revoked, "this device was revoked");
    return;
  }
  if (session_ended (hello.from, hello.sid)) {
    refuse (hello.from, Refusal::session_ended, "this session left the room; a device rejoins in a new session");
    return;
  }
  /* A session says hello once (resends are the same text): another hello
   * in a session we know was signed by someone else holding the device's
   * key, such as a former member re-signing its session with a session key
   * of its own. The one we hold stays. */
  if (known != peers_.end () && known->second.sid == hello.sid) {
    refuse (hello.from, Refusal::hello_conflict, "another hello for a session already known");
    return;
  }
  if (!token_unused (hello.claims, hello.from, hello.sid)) {
    refuse (hello.from, Refusal::token_replayed, "token already used by another session");
    return;
  }
  Peer & peer = adopt_hello (std::move (hello), now);
  if (phase_ == Phase::member && !roster_.members.count (peer.info.fingerprint) && !joining_allowed (peer)) {
    refuse (peer.info.fingerprint, Refusal::not_admitted, "waiting in the lobby for a host to admit it");
    report_roster ();
  }
  replay_unattributed (now);
}

void
SenderKeyProvider::on_repeated_hello (Peer & peer, const Now & now)
{
  if (peer.gone) {
    refuse (peer.info.fingerprint, Refusal::session_ended, "this session left the room");
    return;
  }
  /* A joiner says hello until welcomed: that is how it is heard. A
   * member is heard only through fresh signed or sealed messages, so
   * that the bus cannot keep a silent member alive by replaying its
   * hello. */
  if (!peer.in_roster) {
    if (!peer.dormant)
      peer.last_heard_ms = now.ms;
    return;
  }
  /* Its welcome was lost; but at most one welcome per half resend period,
   * since a welcome is a signature and every member's hello, and the bus
   * may replay a hello as often as it likes. */
  bool welcome_due = peer.welcomed_ms == INT64_MIN || now.ms - peer.welcomed_ms >= config_.timing.resend_ms / 2;
  if (am_committer () && welcome_due)
    send_welcome (peer.info.fingerprint, now);
}

/* A token's jti is bound to the first (device, session) that used it. */
bool
SenderKeyProvider::token_unused (const token::Claims & claims, const std::string & from, uint64_t sid) const
{
  return sessions_.token_unused (claims.jti, from, sid);
}

bool
SenderKeyProvider::token_current (int64_t expires_at_s, const Now & now) const
{
  return now.unix_s < expires_at_s + config_.clock_skew_s;
}

/* Takes a verified hello as the device's current session. */
Peer &
SenderKeyProvider::adopt_hello (VerifiedHello hello, const Now & now)
{
  sessions_.bind_token (hello.claims.jti, hello.from, hello.sid, hello.claims.expires_at, config_.clock_skew_s,
      now.unix_s);
  Peer & peer = peers_[hello.from];
  if (peer.sid != 0 && peer.sid != hello.sid) {
    forget_peer_keys (peer, now);   /* a new session of a known device */
    admitted_.erase (hello.from);   /* an admission is for the session admitted */
  }
  const token::Claims & c = hello.claims;
  peer.info = { hello.from, c.member_id, c.display_name, c.role, c.grants, peer.info.index };
  if (roster_.members.count (hello.from))
    roster_members_changed ();   /* its role may differ in a new token */
  peer.device_key = c.device_public_key;
  peer.token_expires_s = c.expires_at;
  peer.renewal.clear ();
  /* Channels are to a session key: none survives a change of it (a
   * welcome's hello replacing another one of the same session). */
  if (peer.hpke_key != hello.hpke_key) {
    peer.channels.clear ();
  }
  peer.hpke_key = std::move (hello.hpke_key);
  if (peer.sid != hello.sid) {
    peer.room_epoch = 0;
    peer.seen = ReplayWindow ();
    peer.newest_seq = 0;
  }
  peer.newest_seq = std::max (peer.newest_seq, hello.seq);
  peer.sid = hello.sid;
  peer.hello = std::move (hello.text);
  peer.hello_hash = std::move (hello.hash);
  peer.claims = std::move (hello.claims);
  peer.seen.check_and_mark (hello.seq);
  peer.last_heard_ms = now.ms;
  peer.gone = false;
  return peer;
}

/* The session a peer is in, as verify_renewal wants it. */
VerifiedHello
SenderKeyProvider::session_of (const Peer & peer) const
{
  VerifiedHello hello;
  hello.from = peer.info.fingerprint;
  hello.sid = peer.sid;
  hello.claims = peer.claims;
  hello.hash = peer.hello_hash;
  return hello;
}

/* A member's newer token, signed in its session. */
void
SenderKeyProvider::on_renew (Peer & from, const wire::Envelope & envelope, const Now & now)
{
  VerifiedRenewal renewal;
  CredentialCheck check = verify_renewal (envelope, session_of (from), rules_, now.unix_s, &renewal);
  if (check.ok () && !token_unused (renewal.claims, renewal.from, renewal.sid))
    check = CredentialCheck { CredentialCheck::Outcome::refused, Refusal::token_replayed, "renewal reuses a token",
      from.info.fingerprint };
  if (!check.ok ()) {
    refuse (from.info.fingerprint, check);
    return;
  }
  adopt_renewal (from, renewal, now);
}

void
SenderKeyProvider::adopt_renewal (Peer & peer, const VerifiedRenewal & renewal, const Now & now)
{
  sessions_.bind_token (renewal.claims.jti, renewal.from, renewal.sid, renewal.claims.expires_at,
      config_.clock_skew_s, now.unix_s);
  if (renewal.claims.expires_at > peer.token_expires_s) {
    peer.token_expires_s = renewal.claims.expires_at;
    peer.renewal = renewal.text;
  }
}

bool
SenderKeyProvider::joining_allowed (const Peer & peer) const
{
  if (peer.gone || revoked_.count (peer.info.fingerprint) || leaving_.count (peer.info.fingerprint))
    return false;
  return !config_.require_admission || peer.info.role == token::Role::host || admitted_.count (peer.info.fingerprint);
}

void
SenderKeyProvider::on_host_action (Peer & from, const VerifiedMessage & message, const Now & now)
{
  HostAction action;
  if (!parse_host_action (message, &action) || from.info.role != token::Role::host) {
    stats_.messages_rejected++;
    return;
  }
  if (!roster_.members.count (from.info.fingerprint)) {
    /* A joiner (one the roster dropped, say) holds no roster to check the
     * host against, but a host's revocation only makes it stricter. */
    if (phase_ == Phase::joining && message.type () == MessageType::revoke)
      revoked_.insert (action.target);
    else
      stats_.messages_rejected++;
    return;
  }
  const std::string & target = action.target;
  if (message.type () == MessageType::admit) {
    admitted_.insert (target);
    retry_pending_roster (now);
  } else {
    revoke_requests_.insert (target);
    forget_committer ();   /* a revoked committer commits no more */
  }
  report_roster ();
}

void
SenderKeyProvider::on_leave (Peer & from, const Now & now)
{
  leaving_.insert (from.info.fingerprint);
  /* Signed in its session: that session is over, whatever any roster or
   * welcome says later. */
  sessions_.end (from.info.fingerprint, from.sid);
  forget_committer ();
  (void) now;
}

void
SenderKeyProvider::roster_members_changed ()
{
  forget_committer ();
  hosts_in_roster_ = false;
  members_by_index_.clear ();
  for (auto & peer : peers_)
    peer.second.in_roster = false;
  for (const auto & member : roster_.members) {
    auto peer = peers_.find (member.first);
    if (peer != peers_.end ()) {
      peer->second.in_roster = true;
      peer->second.info.index = member.second;
    }
    const MemberInfo *info = info_of (member.first);
    if (!info)
      continue;
    members_by_index_[member.second] = info;
    hosts_in_roster_ = hosts_in_roster_ || info->role == token::Role::host;
  }
  ack_tally_.set_roster (roster_.epoch, tally_members ());
}

const std::string &
SenderKeyProvider::inbox_of (Peer & peer)
{
  if (peer.subject.empty ())
    peer.subject = wire::subject_to (config_.room, peer.info.fingerprint);
  return peer.subject;
}

const MemberInfo *
SenderKeyProvider::info_of (const std::string & fp) const
{
  if (fp == self_fp_)
    return &self_info_;
  auto peer = peers_.find (fp);
  return peer == peers_.end () ? nullptr : &peer->second.info;
}

const MemberInfo *
SenderKeyProvider::member_at (uint32_t index) const
{
  auto member = members_by_index_.find (index);
  return member == members_by_index_.end () ? nullptr : member->second;
}

bool
SenderKeyProvider::eligible_committer (const std::string & fp) const
{
  const MemberInfo *info = info_of (fp);
  if (!info)
    return false;
  if (info->role == token::Role::host)
    return true;
  return !config_.require_admission && !hosts_in_roster_;
}

const std::string &
SenderKeyProvider::expected_committer () const
{
  if (committer_known_)
    return committer_;
  committer_.clear ();
  for (const auto & member : roster_.members) {   /* ordered by fingerprint */
    if (eligible_committer (member.first) && !leaving_.count (member.first) && !silent_.count (member.first) &&
        !revoke_requests_.count (member.first)) {
      committer_ = member.first;
      break;
    }
  }
  committer_known_ = true;
  return committer_;
}

bool
SenderKeyProvider::am_committer () const
{
  return phase_ == Phase::member && expected_committer () == self_fp_;
}

Peer *
SenderKeyProvider::find_peer (const std::string & who)
{
  Peer *found = nullptr;
  for (auto & peer : peers_) {
    const std::string & fp = peer.first;
    bool match = fp == who || peer.second.info.member_id == who || (who.size () >= 16 && fp.compare (0, who.size (), who) == 0);
    if (match) {
      if (found)
        return nullptr;   /* ambiguous */
      found = &peer.second;
    }
  }
  return found;
}

}  // namespace room
}  // namespace sframe
