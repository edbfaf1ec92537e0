/* The two halves of a rotation's acks (ack-tally.h). After a leave or
 * revoke every remaining sender sends a fresh key to every other member:
 * N (N - 1) keys. Acking each one to its sender would double that; each
 * member instead reports what it holds to the committer in one message,
 * and the committer answers each sender once.
 *
 * What the committer can do with this: claim a key is held when it is
 * not, so that senders switch early and some member misses frames for up
 * to the grace period. The committer is a member already trusted to order
 * the roster; the bus can neither forge nor read `held` and `acked`
 * (sealed pairwise). */
#include <gst/sframe/keys/ack-tally.h>

#include <algorithm>

namespace sframe {
namespace room {

namespace {

/* A member reports once no fresh key came for an ack delay, or once it
 * has them all; while they keep coming, at most every this many ack
 * delays: keys that trickle in over a second would otherwise bring the
 * committer one report per member every ack delay, each tallied. */
constexpr int64_t kMaxReportHoldFactor = 5;
/* Tallies kept per member of the roster (a few rotations' worth). */
constexpr size_t kTalliesPerMember = 4;
/* Answers naming who lacks what, per rotation: the first once reports
 * have stopped (quiet_ms), then one every resend period while keys are
 * still missing. */
constexpr uint32_t kMaxMissingAnnouncements = 4;
/* The longest quiet period before who lacks what is named, in resend
 * periods: a key that is really lost is recovered within this. */
constexpr int64_t kMaxMissingQuietFactor = 2;

void
set_roster_bit (std::vector<uint8_t> & bitmap, size_t position)
{
  bitmap[position / 8] |= static_cast<uint8_t> (0x80 >> (position % 8));
}

}  // namespace

size_t
roster_bitmap_size (size_t members)
{
  return (members + 7) / 8;
}

bool
roster_bit (const std::vector<uint8_t> & bitmap, size_t position)
{
  return (bitmap[position / 8] & (0x80 >> (position % 8))) != 0;
}

/* ---- HeldReport ---- */

bool
HeldReport::expect_fresh (uint64_t epoch, std::vector<uint32_t> senders)
{
  fresh_epoch_ = epoch;
  awaiting_fresh_.clear ();
  awaiting_fresh_.insert (senders.begin (), senders.end ());
  return awaiting_fresh_.empty () && !deferred_.empty ();
}

bool
HeldReport::defer (uint32_t sender, uint64_t key_id, uint64_t key_epoch, int64_t now_ms)
{
  if (deferred_.empty ())
    first_deferred_ms_ = now_ms;
  deferred_[sender] = key_id;
  last_fresh_key_ms_ = now_ms;
  if (key_epoch >= fresh_epoch_)
    awaiting_fresh_.erase (sender);
  due_ms_ = std::min (now_ms + ack_delay_ms_, first_deferred_ms_ + kMaxReportHoldFactor * ack_delay_ms_);
  return awaiting_fresh_.empty () && key_epoch == fresh_epoch_;
}

void
HeldReport::acked_directly (uint32_t sender, uint64_t key_id)
{
  auto deferred = deferred_.find (sender);
  if (deferred != deferred_.end () && deferred->second == key_id)
    deferred_.erase (deferred);
}

std::vector<uint64_t>
HeldReport::take ()
{
  due_ms_ = INT64_MAX;
  std::vector<uint64_t> key_ids;
  key_ids.reserve (deferred_.size ());
  for (const auto & ack : deferred_)
    key_ids.push_back (ack.second);
  deferred_.clear ();
  return key_ids;
}

void
HeldReport::reset ()
{
  deferred_.clear ();
  awaiting_fresh_.clear ();
  fresh_epoch_ = 0;
  due_ms_ = INT64_MAX;
  first_deferred_ms_ = -1;
  last_fresh_key_ms_ = -1;
}

/* ---- AckTally ---- */

void
AckTally::Holders::add (uint32_t holder)
{
  auto at = std::lower_bound (indexes.begin (), indexes.end (), holder);
  if (at == indexes.end () || *at != holder)
    indexes.insert (at, holder);
}

bool
AckTally::Holders::has (uint32_t holder) const
{
  return std::binary_search (indexes.begin (), indexes.end (), holder);
}

void
AckTally::set_roster (uint64_t epoch, std::vector<TallyMember> members)
{
  roster_epoch_ = epoch;
  members_ = std::move (members);
  position_.clear ();
  subscribers_ = publishers_ = 0;
  for (size_t i = 0; i < members_.size (); i++) {
    position_[members_[i].index] = i;
    subscribers_ += members_[i].subscribes ? 1 : 0;
    publishers_ += members_[i].publishes ? 1 : 0;
  }
}

const TallyMember *
AckTally::member (uint32_t index) const
{
  auto at = position_.find (index);
  return at == position_.end () ? nullptr : &members_[at->second];
}

void
AckTally::forget_older_rotations ()
{
  for (auto it = tallies_.begin (); it != tallies_.end ();)
    it = it->second.epoch + 1 < roster_epoch_ ? tallies_.erase (it) : std::next (it);
}

/* What was still due for the last rotation (who lacked its keys) must not
 * fire into this one before anyone reported: for a sender none of whose
 * last keys was reported it names every member, with no key id, which the
 * sender takes for its new key and resends it to everyone. */
void
AckTally::start_rotation (int64_t now_ms)
{
  rotation_started_ms_ = now_ms;
  missing_due_ms_ = INT64_MAX;
  missing_sent_ = 0;
}

std::vector<AckTally::Answer>
AckTally::note_held (uint32_t holder, uint64_t epoch, const std::vector<uint64_t> & key_ids, int64_t now_ms)
{
  std::vector<Answer> answers;
  if (epoch > tally_epoch_) {
    missing_sent_ = 0;
    tally_epoch_ = epoch;
  }
  /* Who lacks what is said once reports stop coming: while they come, a
   * missing key is late, not lost, and naming it would make its sender
   * resend to a room that is merely busy. */
  if (missing_sent_ < kMaxMissingAnnouncements)
    missing_due_ms_ = now_ms + quiet_ms (now_ms);
  const TallyMember *holder_member = member (holder);
  if (!holder_member || !holder_member->subscribes)
    return answers;
  for (uint64_t key_id : key_ids) {
    /* A key of a member of this roster, not the holder's own. */
    uint32_t sender = static_cast<uint32_t> (key_id >> 8);
    const TallyMember *sender_member = member (sender);
    if (sender == holder || !sender_member)
      continue;
    Holders & holders = tallies_[key_id];
    holders.epoch = std::max (holders.epoch, epoch);
    holders.add (holder);
    /* Only once there are as many holders as could hold it is the full
     * check (one pass over the roster) due. */
    size_t could_hold = subscribers_ - (sender_member->subscribes ? 1 : 0);
    if (!holders.announced && holders.indexes.size () >= could_hold && held_by_everyone (sender, holders)) {
      holders.announced = true;
      answers.push_back ({ sender, key_id, {} });
      if (rotation_complete ())
        missing_due_ms_ = INT64_MAX;   /* nobody is missing anything */
    }
  }
  prune ();
  return answers;
}

/* Reports have stopped once none came for half a resend period, or for as
 * long as the rotation has taken so far if that is longer (at most
 * kMaxMissingQuietFactor resend periods): a busy room pauses that long
 * between reports without losing anything, and naming its late keys as
 * missing would have their senders resend to everyone. */
int64_t
AckTally::quiet_ms (int64_t now_ms) const
{
  int64_t quiet = resend_ms_ / 2;
  if (rotation_started_ms_ >= 0)
    quiet = std::max (quiet, std::min (now_ms - rotation_started_ms_, kMaxMissingQuietFactor * resend_ms_));
  return quiet;
}

bool
AckTally::rotation_complete () const
{
  size_t complete = 0;
  for (const auto & tally : tallies_)
    complete += tally.second.announced && tally.second.epoch >= roster_epoch_ ? 1 : 0;
  return complete >= publishers_;
}

/* Every other member that may subscribe reported holding it. */
bool
AckTally::held_by_everyone (uint32_t sender, const Holders & holders) const
{
  for (const auto & m : members_) {
    if (m.index != sender && m.subscribes && !holders.has (m.index))
      return false;
  }
  return true;
}

/* The subscribers but `sender` that `holders` does not list, as a roster
 * bitmap; empty when there are none. */
std::vector<uint8_t>
AckTally::lacking_holders (uint32_t sender, const Holders * holders) const
{
  std::vector<uint8_t> lacking (roster_bitmap_size (members_.size ()));
  size_t named = 0;
  for (size_t position = 0; position < members_.size (); position++) {
    const TallyMember & m = members_[position];
    if (m.index != sender && m.subscribes && !(holders && holders->has (m.index))) {
      set_roster_bit (lacking, position);
      named++;
    }
  }
  if (!named)
    lacking.clear ();
  return lacking;
}

/* Each sender whose key of this rotation not every member holds yet, with
 * who has not reported it (everyone, if nobody did: its key id is then
 * unknown here, and sent as 0). */
std::vector<AckTally::Answer>
AckTally::announce_missing () const
{
  std::vector<Answer> answers;
  for (const auto & m : members_) {
    if (!m.publishes)
      continue;
    uint64_t first = static_cast<uint64_t> (m.index) << 8;
    const Holders *best = nullptr;
    uint64_t key_id = 0;
    for (auto it = tallies_.lower_bound (first); it != tallies_.end () && (it->first >> 8) == m.index; ++it) {
      if (it->second.epoch >= tally_epoch_ && (!best || it->second.indexes.size () > best->indexes.size ())) {
        best = &it->second;
        key_id = it->first;
      }
    }
    if (best && best->announced)
      continue;
    std::vector<uint8_t> lacking = lacking_holders (m.index, best);
    if (!lacking.empty ())
      answers.push_back ({ m.index, key_id, std::move (lacking) });
  }
  return answers;
}

std::vector<AckTally::Answer>
AckTally::tick (int64_t now_ms, bool committing)
{
  if (now_ms < missing_due_ms_)
    return {};
  missing_sent_++;
  missing_due_ms_ = missing_sent_ < kMaxMissingAnnouncements ? now_ms + resend_ms_ : INT64_MAX;
  return committing ? announce_missing () : std::vector<Answer> ();
}

/* Bounded: a member's reports can name any key id of any member. */
void
AckTally::prune ()
{
  size_t limit = kTalliesPerMember * std::max<size_t> (members_.size (), 1);
  while (tallies_.size () > limit) {
    auto oldest = std::min_element (tallies_.begin (), tallies_.end (),
        [] (const auto & a, const auto & b) { return a.second.epoch < b.second.epoch; });
    tallies_.erase (oldest);
  }
}

void
AckTally::reset ()
{
  tallies_.clear ();
  tally_epoch_ = 0;
  missing_due_ms_ = INT64_MAX;
  missing_sent_ = 0;
  rotation_started_ms_ = -1;
}

}  // namespace room
}  // namespace sframe
