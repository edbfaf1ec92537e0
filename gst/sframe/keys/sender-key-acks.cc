/* A rotation's acks, through the committer (docs/key-protocol.md, "Acks of
 * a rotation"): the provider's side. HeldReport and AckTally
 * (ack-tally.h) keep the state and decide; this file feeds them what
 * arrives and sends what they return. Anything that does not fit this path
 * (a repeated key, a key of a join or a sync, no committer) is acked
 * directly, so loss recovery stays per pair: a resent key is always acked
 * at once. */
#include <gst/sframe/keys/sender-key-provider.h>

#include <algorithm>

namespace sframe {
namespace room {

/* Only the fresh keys of a removal are acked through the committer. */
bool
SenderKeyProvider::ack_through_committer (const wire::ChannelMessage & key) const
{
  if (!is_removal_reason (key.reason))
    return false;
  if (key.epoch < roster_.epoch)
    return false;
  const std::string & committer = expected_committer ();
  if (committer.empty ())
    return false;
  if (committer == self_fp_)
    return true;
  auto peer = peers_.find (committer);
  return peer != peers_.end () && !peer->second.gone;
}

void
SenderKeyProvider::defer_ack (Peer & from, const wire::ChannelMessage & key, const Now & now)
{
  if (held_report_.defer (from.info.index, key.key_id, key.epoch, now.ms))
    send_held_report (now);
}

/* A removal was applied: every remaining sender will send a fresh key. */
void
SenderKeyProvider::expect_fresh_keys (const Now & now)
{
  ack_tally_.forget_older_rotations ();
  std::vector<uint32_t> senders;
  if (may_subscribe (self_info_)) {
    for (const auto & member : roster_.members) {
      if (member.first == self_fp_)
        continue;
      const Peer & peer = peers_.at (member.first);
      if (may_publish (peer.info) && !peer.keys.covers (roster_.epoch))
        senders.push_back (member.second);
    }
  }
  /* Keys that came before the roster: report them if they were all. */
  if (held_report_.expect_fresh (roster_.epoch, std::move (senders)))
    send_held_report (now);
}

void
SenderKeyProvider::send_held_report (const Now & now)
{
  wire::ChannelMessage held;
  held.type = wire::ChannelMessage::Type::held;
  held.epoch = roster_.epoch;
  held.held = held_report_.take ();
  if (held.held.empty ())
    return;
  const std::string & committer = expected_committer ();
  if (committer == self_fp_) {
    answer_senders (ack_tally_.note_held (own_index (), held.epoch, held.held, now.ms), now);
    return;
  }
  auto peer = peers_.find (committer);
  if (peer == peers_.end () || peer->second.gone)
    return; /* the senders resend, and those keys are acked directly */
  send_channel (peer->second, held, false);
}

void
SenderKeyProvider::on_held (Peer & from, const wire::ChannelMessage & message, const Now & now)
{
  if (!am_committer () || !from.in_roster || !may_subscribe (from.info) || message.epoch + 1 < roster_.epoch) {
    stats_.messages_rejected++;
    return;
  }
  answer_senders (ack_tally_.note_held (from.info.index, message.epoch, message.held, now.ms), now);
}

/* The tally's roster: the bitmaps' order and who may hold and send keys. */
std::vector<TallyMember>
SenderKeyProvider::tally_members () const
{
  std::vector<TallyMember> members;
  members.reserve (roster_.members.size ());
  for (const auto & member : roster_.members) {
    const MemberInfo *info = member_at (member.second);
    members.push_back ({ member.second, info && may_subscribe (*info), info && may_publish (*info) });
  }
  return members;
}

/* Tells each sender that everyone holds its key (`lacking` empty) or who
 * lacks it, on our channel to it: one sealed message to the one member it
 * concerns. */
void
SenderKeyProvider::answer_senders (std::vector<AckTally::Answer> answers, const Now & now)
{
  for (auto & answer : answers) {
    if (!answer.lacking.empty ())
      stats_.missing_announced++;
    if (answer.sender == own_index ()) {
      if (answer.lacking.empty ())
        everyone_holds (answer.key_id, now);
      else
        narrow_awaited (answer.key_id, answer.lacking, now);
      continue;
    }
    const MemberInfo *info = member_at (answer.sender);
    auto peer = info ? peers_.find (info->fingerprint) : peers_.end ();
    if (peer == peers_.end () || peer->second.gone)
      continue;
    wire::ChannelMessage acked;
    acked.type = wire::ChannelMessage::Type::acked;
    acked.epoch = roster_.epoch;
    acked.key_id = answer.key_id;
    acked.lacking = std::move (answer.lacking);
    send_channel (peer->second, acked, false);
  }
}

void
SenderKeyProvider::on_acked (Peer & from, const wire::ChannelMessage & message, const Now & now)
{
  if (phase_ != Phase::member || !from.in_roster || from.info.fingerprint != expected_committer ()) {
    stats_.messages_rejected++;
    return;
  }
  /* Who lacks what is a bitmap over the committer's roster: read against
   * ours only when it is the same one. */
  if (message.lacking.empty ())
    everyone_holds (message.key_id, now);
  else if (message.epoch == roster_.epoch)
    narrow_awaited (message.key_id, message.lacking, now);
}

/* The committer says who still lacks our key: everyone else has it, so
 * a resend goes to those only. */
void
SenderKeyProvider::narrow_awaited (uint64_t key_id, const std::vector<uint8_t> & lacking, const Now & now)
{
  const OwnKey & key = own_keys_.awaited ();
  if (!key.valid || delivery_.complete () || lacking.size () != roster_bitmap_size (roster_.members.size ()))
    return;
  /* A key id names the key the committer tallied: another of ours (an
   * older one) says nothing of this one. 0: none of ours was reported. */
  if (key_id != 0 && key_id != key.key_id)
    return;
  std::set<std::string> still_awaited;
  size_t position = 0;
  for (const auto & member : roster_.members) {
    if (roster_bit (lacking, position) && delivery_.awaits (member.first))
      still_awaited.insert (member.first);
    position++;
  }
  delivery_.keep_only (std::move (still_awaited));
  committer_answered_ = true;
  if (delivery_.complete () && own_keys_.pending ().valid)
    switch_own_key (now);
}

/* Our fresh key's acks come through the committer, which has not said
 * anything of it yet: a resend to the whole room now would most likely
 * repeat what is merely late. Past blind_resend_ms () the committer may be
 * gone (not heard from for two heartbeats): resend to everyone not yet
 * known to hold it. */
int64_t
SenderKeyProvider::blind_resend_ms () const
{
  return delivery_.sent_ms () + config_.timing.switch_timeout_ms + 2 * config_.timing.resend_ms;
}

bool
SenderKeyProvider::awaits_committer (const Now & now) const
{
  if (!own_key_tallied_ || committer_answered_)
    return false;
  if (now.ms < blind_resend_ms ())
    return true;
  /* Later, only while the committer is still heard from: it names who
   * lacks our key once the room's reports stop. */
  auto committer = peers_.find (expected_committer ());
  return committer != peers_.end () && now.ms - committer->second.last_heard_ms < 2 * config_.timing.heartbeat_ms;
}

/* As if every awaited member had acked `key_id`. */
void
SenderKeyProvider::everyone_holds (uint64_t key_id, const Now & now)
{
  bool pending = own_keys_.pending ().valid && own_keys_.pending ().key_id == key_id;
  if (!pending && !(own_keys_.current ().valid && own_keys_.current ().key_id == key_id))
    return;
  for (const auto & fp : delivery_.awaited ()) {
    auto peer = peers_.find (fp);
    if (peer != peers_.end ())
      peer->second.channels.acked (key_id);
  }
  delivery_.all_acked (now.ms);
  if (pending)
    switch_own_key (now);
}

/* Every piece of the committer-acked path, as at the start. */
void
SenderKeyProvider::reset_acks ()
{
  held_report_.reset ();
  ack_tally_.reset ();
  own_key_tallied_ = false;
  committer_answered_ = false;
}

void
SenderKeyProvider::tick_acks (const Now & now)
{
  if (now.ms >= held_report_.due_ms ())
    send_held_report (now);
  answer_senders (ack_tally_.tick (now.ms, am_committer ()), now);
}

int64_t
SenderKeyProvider::next_ack_deadline () const
{
  return std::min (held_report_.due_ms (), ack_tally_.due_ms ());
}

} // namespace room
} // namespace sframe
