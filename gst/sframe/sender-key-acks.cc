/* A rotation's acks, through the committer (docs/key-protocol.md, "Acks of
 * a rotation"). After a leave or revoke every remaining sender sends a
 * fresh key to every other member: N (N - 1) keys. Acking each one back
 * to its sender would double that. Instead a member holds its acks until
 * it has the fresh key of every sender (or no fresh key came for
 * ack_delay_ms), and reports them to the committer in one `held` channel
 * message; the committer tallies the reports and, once every member holds
 * a sender's key, tells that sender so in an `acked` on their channel.
 * Senders switch on it as on the last ack. When keys are still missing
 * somewhere, the committer's `acked` tells a sender who lacks its key, so
 * that it resends to them only, not to the whole room. (It was one signed
 * broadcast: every member checked its signature and parsed all of it, and
 * the bus read who lacked whose key.) Anything that does not fit this path (a repeated
 * key, a key of a join or a sync, no committer) is acked directly, as before,
 * so loss recovery stays per pair: a resent key is always acked at once.
 *
 * What the committer can do with this: claim a key is held when it is
 * not, so that senders switch early and some member misses frames for up
 * to the grace period. The committer is a member already trusted to order
 * the roster; the bus can neither forge nor read `held` and `acked`
 * (sealed pairwise). */
#include <gst/sframe/sender-key-provider.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

/* Tallies kept per member of the roster (a few rotations' worth). */
constexpr size_t kTalliesPerMember = 4;
/* Rounds of `acked` naming who lacks what, per rotation: the first once
 * reports have stopped (missing_quiet_ms), then one every resend period
 * while keys are still missing. */
constexpr uint32_t kMaxMissingAnnouncements = 4;
/* The longest quiet period before who lacks what is named, in resend
 * periods: a key that is really lost is recovered within this. */
constexpr int64_t kMaxMissingQuietFactor = 2;
/* A member reports once no fresh key came for an ack delay, or once it
 * has them all; while they keep coming, at most every this many ack
 * delays. In a large room the keys trickle in over a second or more: a
 * report every ack delay would bury the committer (one `held` per member
 * every 50 ms, each tallied). */
constexpr int64_t kMaxReportHoldFactor = 5;

/* `acked`'s bitmaps: one bit per roster member in fingerprint order,
 * the most significant bit of the first byte first. */
size_t
roster_bitmap_size (size_t members)
{
  return (members + 7) / 8;
}

void
set_roster_bit (std::vector<uint8_t> & bitmap, size_t position)
{
  bitmap[position / 8] |= static_cast<uint8_t> (0x80 >> (position % 8));
}

bool
roster_bit (const std::vector<uint8_t> & bitmap, size_t position)
{
  return (bitmap[position / 8] & (0x80 >> (position % 8))) != 0;
}

} // namespace

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
  if (deferred_acks_.empty ())
    first_deferred_ms_ = now.ms;
  deferred_acks_[from.info.index] = key.key_id;
  last_fresh_key_ms_ = now.ms;
  if (key.epoch >= fresh_epoch_)
    awaiting_fresh_.erase (from.info.index);
  report_due_ms_ = std::min (now.ms + config_.timing.ack_delay_ms,
      first_deferred_ms_ + kMaxReportHoldFactor * config_.timing.ack_delay_ms);
  if (awaiting_fresh_.empty () && key.epoch == fresh_epoch_)
    send_held_report (now);
}

/* A removal was applied: every remaining sender will send a fresh key. */
void
SenderKeyProvider::expect_fresh_keys (const Now & now)
{
  fresh_epoch_ = roster_.epoch;
  awaiting_fresh_.clear ();
  for (auto it = tallies_.begin (); it != tallies_.end ();)
    it = it->second.epoch + 1 < roster_.epoch ? tallies_.erase (it) : std::next (it);
  if (!may_subscribe (self_info_))
    return;
  for (const auto & member : roster_.members) {
    if (member.first == self_fp_)
      continue;
    const Peer & peer = peers_.at (member.first);
    if (may_publish (peer.info) && !(peer.has_key && peer.current.epoch >= fresh_epoch_))
      awaiting_fresh_.insert (member.second);
  }
  /* Keys that came before the roster: report them if they were all. */
  if (awaiting_fresh_.empty () && !deferred_acks_.empty ())
    send_held_report (now);
}

void
SenderKeyProvider::send_held_report (const Now & now)
{
  report_due_ms_ = INT64_MAX;
  if (deferred_acks_.empty ())
    return;
  wire::ChannelMessage held;
  held.type = wire::ChannelMessage::Type::held;
  held.epoch = roster_.epoch;
  for (const auto & ack : deferred_acks_)
    held.held.push_back (ack.second);
  deferred_acks_.clear ();
  const std::string & committer = expected_committer ();
  if (committer == self_fp_) {
    note_held (own_index (), held.epoch, held.held, now);
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
  note_held (from.info.index, message.epoch, message.held, now);
}

void
SenderKeyProvider::note_held (uint32_t holder, uint64_t epoch, const std::vector<uint64_t> & key_ids, const Now & now)
{
  if (epoch > tally_epoch_) {
    missing_sent_ = 0;
    tally_epoch_ = epoch;
  }
  /* Who lacks what is said once reports stop coming (missing_quiet_ms):
   * while they come, a missing key is late, not lost, and naming it would
   * make its sender resend to a room that is merely busy. */
  if (missing_sent_ < kMaxMissingAnnouncements)
    missing_due_ms_ = now.ms + missing_quiet_ms (now);
  const MemberInfo *holder_info = member_at (holder);
  if (!holder_info || !may_subscribe (*holder_info))
    return;
  for (uint64_t key_id : key_ids) {
    /* A key of a member of this roster, not the holder's own. */
    uint32_t sender = static_cast<uint32_t> (key_id >> 8);
    const MemberInfo *sender_info = member_at (sender);
    if (sender == holder || !sender_info)
      continue;
    HeldTally & tally = tallies_[key_id];
    tally.epoch = std::max (tally.epoch, epoch);
    tally.add_holder (holder);
    /* Holders are subscribers of this roster: only once there are as many
     * as could hold it is the full check (one pass over the roster) due. */
    size_t could_hold = subscribers_ - (may_subscribe (*sender_info) ? 1 : 0);
    if (!tally.announced && tally.holders.size () >= could_hold && held_by_everyone (key_id, tally)) {
      tally.announced = true;
      answer_sender (sender, key_id, {}, now);
      /* Every sender's key of this rotation is complete: nobody is
       * missing anything. */
      if (rotation_complete ())
        missing_due_ms_ = INT64_MAX;
    }
  }
  prune_tallies ();
}

/* Reports have stopped once none came for half a resend period, or for
 * as long as the rotation has taken so far if that is longer (at most
 * kMaxMissingQuietFactor resend periods). A room that needed a second to
 * get this far pauses that long between reports without losing anything:
 * 200 members on 2 cores each wait hundreds of milliseconds for a CPU.
 * Naming their late keys as missing started the resend storms. */
int64_t
SenderKeyProvider::missing_quiet_ms (const Now & now) const
{
  int64_t quiet = config_.timing.resend_ms / 2;
  if (removal_committed_ms_ >= 0)
    quiet = std::max (quiet, std::min (now.ms - removal_committed_ms_,
        kMaxMissingQuietFactor * config_.timing.resend_ms));
  return quiet;
}

/* The committer published a removal: a new rotation, whose silence is
 * measured from now. What was still due for the last one (who lacked its
 * keys) must not fire into this one before anyone reported: for a sender
 * none of whose last keys was reported it names every member, with no key
 * id, which the sender takes for its new key and resends it to everyone.
 * At N = 200 in one process those were the storms left after the quiet
 * period above. */
void
SenderKeyProvider::start_tally (const Now & now)
{
  removal_committed_ms_ = now.ms;
  missing_due_ms_ = INT64_MAX;
  missing_sent_ = 0;
}

bool
SenderKeyProvider::rotation_complete () const
{
  size_t complete = 0;
  for (const auto & tally : tallies_)
    complete += tally.second.announced && tally.second.epoch >= roster_.epoch ? 1 : 0;
  return complete >= publishers_;
}

/* Every other member that may subscribe reported holding it. */
bool
SenderKeyProvider::held_by_everyone (uint64_t key_id, const HeldTally & tally) const
{
  uint32_t sender = static_cast<uint32_t> (key_id >> 8);
  for (const auto & member : members_by_index_) {
    if (member.first != sender && may_subscribe (*member.second) && !tally.holds (member.first))
      return false;
  }
  return true;
}

/* Tells `sender` that everyone holds its key (`lacking` empty) or who
 * lacks it, on our channel to it: one sealed message to the one member it
 * concerns. */
void
SenderKeyProvider::answer_sender (uint32_t sender, uint64_t key_id, std::vector<uint8_t> lacking, const Now & now)
{
  if (sender == own_index ()) {
    if (lacking.empty ())
      everyone_holds (key_id, now);
    else
      narrow_awaited (key_id, lacking, now);
    return;
  }
  const MemberInfo *info = member_at (sender);
  auto peer = info ? peers_.find (info->fingerprint) : peers_.end ();
  if (peer == peers_.end () || peer->second.gone)
    return;
  wire::ChannelMessage acked;
  acked.type = wire::ChannelMessage::Type::acked;
  acked.epoch = roster_.epoch;
  acked.key_id = key_id;
  acked.lacking = std::move (lacking);
  send_channel (peer->second, acked, false);
}

/* Each sender whose key of this rotation is not yet held by everyone
 * learns who has not reported it (everyone, if nobody did: its key id is
 * then unknown here, and sent as 0). */
void
SenderKeyProvider::announce_missing (const Now & now)
{
  for (const auto & member : roster_.members) {
    const MemberInfo *info = member_at (member.second);
    if (!info || !may_publish (*info))
      continue;
    uint64_t first = static_cast<uint64_t> (member.second) << 8;
    const HeldTally *tally = nullptr;
    uint64_t key_id = 0;
    for (auto it = tallies_.lower_bound (first); it != tallies_.end () && (it->first >> 8) == member.second; ++it) {
      if (it->second.epoch >= tally_epoch_ && (!tally || it->second.holders.size () > tally->holders.size ())) {
        tally = &it->second;
        key_id = it->first;
      }
    }
    if (tally && tally->announced)
      continue;
    std::vector<uint8_t> lacking = lacking_holders (member.second, tally);
    if (lacking.empty ())
      continue;
    stats_.missing_announced++;
    answer_sender (member.second, key_id, std::move (lacking), now);
  }
}

/* The subscribers of this roster, but `sender`, that `tally` does not
 * list, as a bitmap over the roster in fingerprint order; empty when
 * there are none. */
std::vector<uint8_t>
SenderKeyProvider::lacking_holders (uint32_t sender, const HeldTally * tally) const
{
  std::vector<uint8_t> lacking (roster_bitmap_size (roster_.members.size ()));
  size_t position = 0, named = 0;
  for (const auto & holder : roster_.members) {
    const MemberInfo *holder_info = member_at (holder.second);
    if (holder.second != sender && holder_info && may_subscribe (*holder_info) &&
        !(tally && tally->holds (holder.second))) {
      set_roster_bit (lacking, position);
      named++;
    }
    position++;
  }
  if (!named)
    lacking.clear ();
  return lacking;
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
  const OwnKey & key = pending_own_.valid ? pending_own_ : own_;
  if (!key.valid || awaiting_ack_.empty () || lacking.size () != roster_bitmap_size (roster_.members.size ()))
    return;
  /* A key id names the key the committer tallied: another of ours (an
   * older one) says nothing of this one. 0: none of ours was reported. */
  if (key_id != 0 && key_id != key.key_id)
    return;
  std::set<std::string> still_awaited;
  size_t position = 0;
  for (const auto & member : roster_.members) {
    if (roster_bit (lacking, position) && awaiting_ack_.count (member.first))
      still_awaited.insert (member.first);
    position++;
  }
  awaiting_ack_.swap (still_awaited);
  committer_answered_ = true;
  if (awaiting_ack_.empty () && pending_own_.valid)
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
  return key_sent_ms_ + config_.timing.switch_timeout_ms + 2 * config_.timing.resend_ms;
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
  bool pending = pending_own_.valid && pending_own_.key_id == key_id;
  if (!pending && !(own_.valid && own_.key_id == key_id))
    return;
  for (const auto & fp : awaiting_ack_) {
    auto peer = peers_.find (fp);
    if (peer != peers_.end () && peer->second.out && peer->second.out->last_key_id == key_id)
      peer->second.out->confirmed = true;
  }
  if (!awaiting_ack_.empty () && key_resends_ == 0)
    last_ack_round_ms_ = now.ms - key_sent_ms_;
  awaiting_ack_.clear ();
  if (pending)
    switch_own_key (now);
}

/* Bounded: a member's reports can name any key id of any member. */
void
SenderKeyProvider::prune_tallies ()
{
  size_t limit = kTalliesPerMember * std::max<size_t> (roster_.members.size (), 1);
  while (tallies_.size () > limit) {
    auto oldest = std::min_element (tallies_.begin (), tallies_.end (),
        [] (const auto & a, const auto & b) { return a.second.epoch < b.second.epoch; });
    tallies_.erase (oldest);
  }
}

/* Every piece of the committer-acked path, as at the start. */
void
SenderKeyProvider::reset_acks ()
{
  deferred_acks_.clear ();
  awaiting_fresh_.clear ();
  fresh_epoch_ = 0;
  report_due_ms_ = INT64_MAX;
  first_deferred_ms_ = -1;
  last_fresh_key_ms_ = -1;
  tallies_.clear ();
  tally_epoch_ = 0;
  missing_due_ms_ = INT64_MAX;
  missing_sent_ = 0;
  removal_committed_ms_ = -1;
  own_key_tallied_ = false;
  committer_answered_ = false;
}

void
SenderKeyProvider::tick_acks (const Now & now)
{
  if (now.ms >= report_due_ms_)
    send_held_report (now);
  if (now.ms >= missing_due_ms_) {
    missing_sent_++;
    missing_due_ms_ = missing_sent_ < kMaxMissingAnnouncements ? now.ms + config_.timing.resend_ms : INT64_MAX;
    if (am_committer ())
      announce_missing (now);
  }
}

int64_t
SenderKeyProvider::next_ack_deadline () const
{
  return std::min (report_due_ms_, missing_due_ms_);
}

} // namespace room
} // namespace sframe
