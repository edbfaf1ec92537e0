/* Sender keys (RFC 9605 section 5.1): ours and the ones we received.
 * Join: everyone ratchets (one-way) every sender's newest key; senders send
 * the ratcheted key to the joiner only. Leave, revoke, rotate: each sender
 * makes a fresh key, sends it to the remaining members, and switches when
 * all acked or after the switch timeout. Replaced keys stay installed for
 * the grace period, then are erased. */
#include <gst/sframe/keys/sender-key-provider.h>

#include <gst/sframe/core/crypto/crypto.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

constexpr size_t kBaseKeySize = 32;
/* Fresh channels one resend round may open (the rest reuse theirs). */
constexpr size_t kMaxFreshPerResend = 8;
/* Ack channels re-opened for repeated keys, per resend period. */
constexpr uint32_t kMaxReopensPerResend = 8;
constexpr int64_t kRetireScanGapMs = 100;
constexpr uint32_t kPublishGrants = token::kGrantPublishAudio | token::kGrantPublishVideo | token::kGrantPublishScreen;

}  // namespace

bool
SenderKeyProvider::may_publish (const MemberInfo & info) const
{
  return (info.grants & kPublishGrants) != 0;
}

bool
SenderKeyProvider::may_subscribe (const MemberInfo & info) const
{
  return (info.grants & token::kGrantSubscribe) != 0;
}

uint64_t
SenderKeyProvider::key_id_for (uint32_t index, uint32_t generation) const
{
  return sender_key_id (index, generation);
}

uint32_t
SenderKeyProvider::own_index () const
{
  auto it = roster_.members.find (self_fp_);
  return it == roster_.members.end () ? 0 : it->second;
}

void
SenderKeyProvider::send_key (Peer & peer, const OwnKey & key, const char * reason, bool fresh_channel)
{
  if (!key.valid || !may_subscribe (peer.info))
    return;
  wire::ChannelMessage message;
  message.type = wire::ChannelMessage::Type::key;
  message.epoch = roster_.epoch;
  message.generation = key.generation;
  message.key_id = key.key_id;
  message.reason = reason;
  message.secret = key.key.view ();
  send_channel (peer, message, fresh_channel);
  peer.channels.sent_key (key.key_id);
}

void
SenderKeyProvider::make_own_key (const char * reason, const Now & now, uint32_t min_generation)
{
  self_info_.grants = self_claims_.grants;
  if (!may_publish (self_info_))
    return;
  SecureBytes material (kBaseKeySize);
  if (!crypto::random_secret_bytes (material.data (), material.size ()))
    return;
  if (own_keys_.pending ().valid)
    expire_no_later_than (retire_at (now));
  const OwnKey & fresh =
      own_keys_.make_pending (std::move (material), own_index (), reason, retire_at (now), min_generation);
  out_->install_own_key (fresh.key_id, fresh.key);
  if (!own_keys_.current ().valid) {
    /* Nobody can hold an older key of ours: start sending at once. */
    switch_own_key (now);
    send_to_all_members (own_keys_.current (), reason, now);
    return;
  }
  send_to_all_members (fresh, reason, now);
  own_keys_.switch_by (now.ms + config_.timing.switch_timeout_ms);
  if (delivery_.complete ())
    switch_own_key (now);
}

/* `key` to every other member with the subscribe grant, each awaited. */
void
SenderKeyProvider::send_to_all_members (const OwnKey & key, const char * reason, const Now & now)
{
  delivery_.clear ();
  /* The receivers ack these through the committer (sender-key-acks.cc). */
  own_key_tallied_ = is_removal_reason (reason) && !expected_committer ().empty ();
  committer_answered_ = false;
  for (const auto & member : roster_.members) {
    if (member.first == self_fp_ || !may_subscribe (peers_.at (member.first).info))
      continue;
    delivery_.await (member.first);
    send_key (peers_.at (member.first), key, reason, false);
  }
  delivery_.sent (now.ms);
}

void
SenderKeyProvider::switch_own_key (const Now & now)
{
  bool replaces = own_keys_.current ().valid;
  if (!own_keys_.switch_to_pending (retire_at (now)))
    return;
  if (replaces)
    expire_no_later_than (retire_at (now));
  out_->set_sender_key (own_keys_.current ().key_id);
  stats_.rotations++;
  out_->key_rotated (own_keys_.current ().key_id, own_keys_.pending_reason ());
}

void
SenderKeyProvider::ratchet_own_key (const std::set<std::string> & joined, const Now & now)
{
  if (!own_keys_.current ().valid)
    return;
  /* A fresh key still waiting for acks becomes current first, so that
   * everyone ratchets the same key: the newest they hold of ours. */
  switch_own_key (now);
  if (!own_keys_.ratchet (config_.suite, own_index (), retire_at (now)))
    return;
  expire_no_later_than (retire_at (now));
  const OwnKey & key = own_keys_.current ();
  out_->install_own_key (key.key_id, key.key);
  out_->set_sender_key (key.key_id);
  stats_.rotations++;
  out_->key_rotated (key.key_id, "join");
  own_key_tallied_ = false;   /* joiners ack directly */
  for (const auto & fp : joined) {
    if (fp == self_fp_ || !peers_.count (fp) || !may_subscribe (peers_.at (fp).info))
      continue;
    delivery_.await (fp);   /* resent until acknowledged */
    send_key (peers_.at (fp), key, "join", false);
  }
  delivery_.sent (now.ms);
}

/* A key retired now (ours or a peer's) is erased after the grace period. */
int64_t
SenderKeyProvider::retire_at (const Now & now) const
{
  return now.ms + config_.timing.grace_ms;
}

/* A replaced key is due for removal at `at_ms`: the next scan is no later. */
void
SenderKeyProvider::expire_no_later_than (int64_t at_ms)
{
  next_retire_ms_ = std::min (next_retire_ms_, at_ms);
}

void
SenderKeyProvider::on_key (Peer & from, const wire::ChannelMessage & message, const Now & now)
{
  uint64_t generation = message.generation, key_id = message.key_id;
  ByteView secret = message.secret;
  if (!from.in_roster || key_id != key_id_for (from.info.index, message.generation) || secret.size < 16 ||
      secret.size > 64) {
    stats_.messages_rejected++;
    return;
  }
  /* Permissions enforced by keys: no publish grant, no key installed. */
  if (!may_publish (from.info)) {
    stats_.messages_rejected++;
    return;
  }
  wire::ChannelMessage ack;
  ack.type = wire::ChannelMessage::Type::ack;
  ack.key_id = key_id;
  int64_t retire_at = now.ms + config_.timing.switch_timeout_ms + config_.timing.grace_ms;
  auto offered = from.keys.offer (message.epoch, static_cast<uint32_t> (generation), key_id, secret, retire_at);
  bool known = offered == ReceivedKeys::Offer::repeat;
  if (offered == ReceivedKeys::Offer::installed) {
    expire_no_later_than (retire_at);
    out_->install_key (key_id, from.keys.current ().key, from.info);
    ratchet_for_joins_since (from, message.epoch, now);
  }
  if (!known && ack_through_committer (message)) {
    defer_ack (from, message, now);
    return;
  }
  /* A repeat means our ack is late or was lost, perhaps with our
   * channel: re-open it on the first repeat, then on every second. A
   * repeat is always acked here and now, not through the committer: the
   * sender is recovering a loss, and must learn exactly who has the key. */
  held_report_.acked_directly (from.info.index, key_id);
  send_channel (from, ack, known && from.keys.repeats () % 2 == 1 && may_reopen_ack_channel (now));
}

/* At most kMaxReopensPerResend ack channels re-opened per resend period:
 * in a slow room many senders resend at once, and one re-opening each (an
 * X25519 setup and a signature here, a check and a setup at the sender)
 * is what turned a slow rotation at N = 200 into a storm. A lossy bus
 * between a few members never reaches the bound. */
bool
SenderKeyProvider::may_reopen_ack_channel (const Now & now)
{
  if (now.ms - reopen_window_ms_ >= config_.timing.resend_ms) {
    reopen_window_ms_ = now.ms;
    reopens_in_window_ = 0;
  }
  if (reopens_in_window_ >= kMaxReopensPerResend)
    return false;
  reopens_in_window_++;
  return true;
}

void
SenderKeyProvider::on_ack (Peer & from, const wire::ChannelMessage & message, const Now & now)
{
  uint64_t key_id = message.key_id;
  const OwnKey & awaited = own_keys_.awaited ();
  if (awaited.valid && key_id == awaited.key_id)
    delivery_.acked (from.info.fingerprint, now.ms);
  from.channels.acked (key_id);
  /* Everyone has it: switch now rather than at the next tick. */
  if (own_keys_.pending ().valid && delivery_.complete ())
    switch_own_key (now);
}

void
SenderKeyProvider::ratchet_peer_keys (const std::set<std::string> & except, const Now & now)
{
  int64_t erase_at = retire_at (now);
  for (const auto & member : roster_.members) {
    if (member.first == self_fp_ || except.count (member.first))
      continue;
    Peer & peer = peers_.at (member.first);
    if (!may_publish (peer.info) || !peer.keys.ratchet_for_join (config_.suite, roster_.epoch, member.second, erase_at))
      continue;
    expire_no_later_than (erase_at);
    out_->install_key (peer.keys.current ().key_id, peer.keys.current ().key, peer.info);
  }
}

/* A key sent before joins we have applied (the roster changes overtook
 * it): its sender ratchets it at each of them, as we do for the keys we
 * held then. */
void
SenderKeyProvider::ratchet_for_joins_since (Peer & from, uint64_t epoch, const Now & now)
{
  int64_t erase_at = retire_at (now);
  for (uint64_t join : chain_.joins_after (epoch)) {
    if (!from.keys.ratchet_for_join (config_.suite, join, from.info.index, erase_at))
      return;
    expire_no_later_than (erase_at);
    out_->install_key (from.keys.current ().key_id, from.keys.current ().key, from.info);
  }
}

void
SenderKeyProvider::forget_peer_keys (Peer & peer, const Now & now)
{
  int64_t erase_at = retire_at (now);
  if (peer.keys.has ())
    expire_no_later_than (erase_at);
  peer.keys.forget (erase_at);
  delivery_.forget (peer.info.fingerprint);
}

void
SenderKeyProvider::tick_keys (const Now & now)
{
  if (own_keys_.pending ().valid && (delivery_.complete () || now.ms >= own_keys_.switch_at_ms ()))
    switch_own_key (now);
  if (!delivery_.complete () && now.ms >= delivery_.resend_due_ms ())
    resend_unacked_key (now);
  if (now.ms >= next_retire_ms_)
    expire_all_retired (now);
}

void
SenderKeyProvider::resend_unacked_key (const Now & now)
{
  if (delivery_.acks_flowing (now.ms)) {
    /* Acks for this key are still coming in: the room is busy working
     * through the rotation, not losing messages. Resending now would only
     * add load (in a large room on a slow machine that fed on itself), so
     * wait until the acks stop. */
    delivery_.postpone_resend (delivery_.acks_quiet_ms ());
    return;
  }
  if (awaits_committer (now)) {
    delivery_.postpone_resend (std::max (blind_resend_ms (), now.ms + config_.timing.resend_ms / 2));
    return;
  }
  int64_t settle = config_.timing.resend_ms / 2;
  if (held_report_.lacks_fresh_keys () && now.ms - held_report_.last_fresh_key_ms () < settle) {
    /* The same for a rotation's keys, whose acks come later, through the
     * committer: while other members' fresh keys still reach us, the room
     * is working through the rotation. This stops by itself once every
     * key arrived or the rest was lost, so a lossy bus still gets its
     * resends, half a resend period later. */
    delivery_.postpone_resend (held_report_.last_fresh_key_ms () + settle);
    return;
  }
  /* On a channel the peer has shown it reads (it acked a key sent on it),
   * a missing ack is far more often late (a busy room) than lost: resend
   * on that channel, backing off, and open a fresh one only every fourth
   * time. A fresh channel costs an X25519 setup and a signature per peer:
   * opening one on every resend made a loaded room of 100 collapse under
   * its own resends. */
  const OwnKey & key = own_keys_.awaited ();
  size_t fresh_channels = 0;
  for (const auto & fp : delivery_.awaited ()) {
    auto peer = peers_.find (fp);
    if (peer == peers_.end ())
      continue;
    /* The first resend never re-opens: in a slow room every key is late,
     * and a fresh channel for each of N peers (an X25519 setup and a
     * signature here, a check and a setup there) was what turned a slow
     * rotation at N = 200 into seconds of CPU. Later rounds re-open a few
     * at a time. */
    bool proven = peer->second.channels.proven ();
    uint32_t resends = delivery_.resends ();
    bool fresh = resends > 0 && (!proven || resends % 4 == 3) && fresh_channels < kMaxFreshPerResend;
    fresh_channels += fresh ? 1 : 0;
    send_key (peer->second, key, own_keys_.pending_reason (), fresh);
    stats_.key_resends++;
  }
  delivery_.resent (now.ms);
}

void
SenderKeyProvider::expire_all_retired (const Now & now)
{
  for (uint64_t key_id : own_keys_.expire (now.ms))
    out_->remove_key (key_id);
  next_retire_ms_ = own_keys_.next_expiry_ms ();
  for (auto & peer : peers_) {
    for (uint64_t key_id : peer.second.keys.expire (now.ms))
      out_->remove_key (key_id);
    next_retire_ms_ = std::min (next_retire_ms_, peer.second.keys.next_expiry_ms ());
  }
  /* After a rotation every peer's old key falls due at a slightly
   * different time: one scan over all peers per deadline would be
   * quadratic. Keys are erased at most this much after their grace. */
  int64_t gap = std::min<int64_t> (kRetireScanGapMs, config_.timing.grace_ms / 4);
  if (next_retire_ms_ != INT64_MAX)
    next_retire_ms_ = std::max (next_retire_ms_, now.ms + gap);
}

int64_t
SenderKeyProvider::next_key_deadline () const
{
  int64_t next = INT64_MAX;
  if (own_keys_.pending ().valid)
    next = std::min (next, delivery_.complete () ? 0 : own_keys_.switch_at_ms ());
  if (!delivery_.complete ())
    next = std::min (next, delivery_.resend_due_ms ());
  return std::min (next, next_retire_ms_);
}

void
SenderKeyProvider::drop_all_keys ()
{
  for (uint64_t key_id : own_keys_.drop_all ())
    out_->remove_key (key_id);
  for (auto & peer : peers_)
    for (uint64_t key_id : peer.second.keys.drop_all ())
      out_->remove_key (key_id);
  out_->clear_sender_key ();
  delivery_.clear ();
  reset_acks ();
}

}  // namespace room
}  // namespace sframe
