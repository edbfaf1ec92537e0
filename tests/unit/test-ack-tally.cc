/* HeldReport and AckTally alone: when a member reports the fresh keys it
 * holds, and what the committer tells each sender. */
#include <gst/sframe/keys/ack-tally.h>

#include <gtest/gtest.h>

using sframe::room::AckTally;
using sframe::room::HeldReport;
using sframe::room::roster_bit;
using sframe::room::roster_bitmap_size;
using sframe::room::TallyMember;

namespace {

constexpr int64_t kAckDelay = 50;
constexpr int64_t kResend = 1000;

uint64_t
key_of (uint32_t sender, uint32_t generation)
{
  return (static_cast<uint64_t> (sender) << 8) | generation;
}

/* Four members at roster indexes 1..4 who all send and receive. */
std::vector<TallyMember>
four_members ()
{
  return { { 1, true, true }, { 2, true, true }, { 3, true, true }, { 4, true, true } };
}

}  // namespace

/* ---- HeldReport ---- */

TEST (HeldReport, ReportsOnceTheLastExpectedFreshKeyArrives)
{
  HeldReport report (kAckDelay);
  EXPECT_FALSE (report.expect_fresh (7, { 2, 3 }));
  EXPECT_TRUE (report.lacks_fresh_keys ());
  EXPECT_FALSE (report.defer (2, key_of (2, 1), 7, 100));
  EXPECT_EQ (report.due_ms (), 100 + kAckDelay) << "the rest may still come";
  EXPECT_TRUE (report.defer (3, key_of (3, 1), 7, 110)) << "the last one: report now";
  EXPECT_FALSE (report.lacks_fresh_keys ());
  std::vector<uint64_t> held = report.take ();
  std::sort (held.begin (), held.end ());
  EXPECT_EQ (held, (std::vector<uint64_t>{ key_of (2, 1), key_of (3, 1) }));
  EXPECT_EQ (report.due_ms (), INT64_MAX);
  EXPECT_TRUE (report.take ().empty ()) << "a report is taken once";
}

TEST (HeldReport, KeysBeforeTheirRosterAreReportedWhenItComes)
{
  HeldReport report (kAckDelay);
  /* Sent for epoch 7, while we are still at 6. */
  EXPECT_FALSE (report.defer (2, key_of (2, 1), 7, 100));
  EXPECT_TRUE (report.expect_fresh (7, {})) << "none lacking, one held back";
  EXPECT_FALSE (HeldReport (kAckDelay).expect_fresh (7, {})) << "nothing to report";
}

TEST (HeldReport, TricklingKeysHoldTheReportAtMostFiveAckDelays)
{
  HeldReport report (kAckDelay);
  report.expect_fresh (3, { 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
  int64_t now = 1000;
  for (uint32_t sender = 1; sender <= 10; sender++, now += kAckDelay / 2)
    report.defer (sender, key_of (sender, 1), 3, now);
  EXPECT_EQ (report.due_ms (), 1000 + 5 * kAckDelay);
}

TEST (HeldReport, AKeyOfAnOlderRemovalDoesNotCountAsFresh)
{
  HeldReport report (kAckDelay);
  report.expect_fresh (9, { 2 });
  EXPECT_FALSE (report.defer (2, key_of (2, 1), 8, 100));
  EXPECT_TRUE (report.lacks_fresh_keys ());
}

TEST (HeldReport, AnAckSentDirectlyLeavesTheReport)
{
  HeldReport report (kAckDelay);
  report.expect_fresh (4, { 2, 3 });
  report.defer (2, key_of (2, 1), 4, 100);
  report.defer (3, key_of (3, 1), 4, 100);
  report.acked_directly (2, key_of (2, 0));   /* another key of 2: stays */
  report.acked_directly (3, key_of (3, 1));
  EXPECT_EQ (report.take (), (std::vector<uint64_t>{ key_of (2, 1) }));
}

/* ---- AckTally ---- */

TEST (AckTally, ASenderIsAnsweredOnceEveryOtherMemberHoldsItsKey)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.start_rotation (0);
  uint64_t key = key_of (1, 2);
  EXPECT_TRUE (tally.note_held (2, 5, { key }, 10).empty ());
  EXPECT_TRUE (tally.note_held (3, 5, { key }, 20).empty ());
  EXPECT_TRUE (tally.note_held (1, 5, { key }, 25).empty ()) << "its own key: not a holder";
  auto answers = tally.note_held (4, 5, { key }, 30);
  ASSERT_EQ (answers.size (), 1u);
  EXPECT_EQ (answers[0].sender, 1u);
  EXPECT_EQ (answers[0].key_id, key);
  EXPECT_TRUE (answers[0].lacking.empty ());
  EXPECT_TRUE (tally.note_held (4, 5, { key }, 40).empty ()) << "answered once";
}

TEST (AckTally, OnlySubscribersHoldAndOnlyMembersAreTallied)
{
  AckTally tally (kResend);
  /* 3 sends only: its reports do not count, and nobody waits for it. */
  tally.set_roster (2, { { 1, true, true }, { 2, true, false }, { 3, false, true } });
  uint64_t key = key_of (1, 0);
  EXPECT_TRUE (tally.note_held (3, 2, { key }, 10).empty ());
  EXPECT_TRUE (tally.note_held (9, 2, { key }, 10).empty ()) << "not a member";
  EXPECT_TRUE (tally.note_held (2, 2, { key_of (9, 0) }, 10).empty ()) << "a key of no member";
  auto answers = tally.note_held (2, 2, { key }, 20);
  ASSERT_EQ (answers.size (), 1u);
  EXPECT_EQ (answers[0].sender, 1u);
}

TEST (AckTally, WhoLacksWhatIsNamedOnlyOnceReportsStop)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.start_rotation (0);
  uint64_t key = key_of (1, 2);
  tally.note_held (2, 5, { key }, 100);
  EXPECT_EQ (tally.due_ms (), 100 + kResend / 2) << "the rotation is young: half a resend period";
  EXPECT_TRUE (tally.tick (100 + kResend / 2 - 1, true).empty ());
  auto answers = tally.tick (100 + kResend / 2, true);
  /* Sender 1: 3 and 4 lack its key. Senders 2..4: nobody reported theirs. */
  ASSERT_EQ (answers.size (), 4u);
  EXPECT_EQ (answers[0].sender, 1u);
  EXPECT_EQ (answers[0].key_id, key);
  ASSERT_EQ (answers[0].lacking.size (), roster_bitmap_size (4));
  EXPECT_FALSE (roster_bit (answers[0].lacking, 0));
  EXPECT_FALSE (roster_bit (answers[0].lacking, 1));
  EXPECT_TRUE (roster_bit (answers[0].lacking, 2));
  EXPECT_TRUE (roster_bit (answers[0].lacking, 3));
  EXPECT_EQ (answers[1].key_id, 0u) << "none of its keys reported";
  EXPECT_TRUE (roster_bit (answers[1].lacking, 0));
  EXPECT_FALSE (roster_bit (answers[1].lacking, 1)) << "never itself";
}

TEST (AckTally, ALongRotationWaitsLongerBeforeNamingWhoLacks)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.start_rotation (0);
  tally.note_held (2, 5, { key_of (1, 2) }, 1500);
  EXPECT_EQ (tally.due_ms (), 1500 + 1500) << "as long as it took so far";
  tally.note_held (3, 5, { key_of (1, 2) }, 5000);
  EXPECT_EQ (tally.due_ms (), 5000 + 2 * kResend) << "at most two resend periods";
}

TEST (AckTally, AtMostFourAnnouncementsPerRotation)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.start_rotation (0);
  tally.note_held (2, 5, { key_of (1, 2) }, 0);
  int64_t now = 0;
  int rounds = 0;
  while (tally.due_ms () != INT64_MAX && rounds < 100) {
    now = tally.due_ms ();
    EXPECT_FALSE (tally.tick (now, true).empty ());
    rounds++;
  }
  EXPECT_EQ (rounds, 4);
  tally.note_held (3, 5, { key_of (1, 2) }, now + 1);
  EXPECT_EQ (tally.due_ms (), INT64_MAX) << "spent for this rotation";
  tally.note_held (3, 6, { key_of (1, 3) }, now + 2);
  EXPECT_NE (tally.due_ms (), INT64_MAX) << "a new rotation announces again";
}

TEST (AckTally, ANewRotationCancelsWhatWasDueForTheLast)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.note_held (2, 5, { key_of (1, 2) }, 0);
  ASSERT_NE (tally.due_ms (), INT64_MAX);
  tally.start_rotation (10);
  EXPECT_EQ (tally.due_ms (), INT64_MAX);
  EXPECT_TRUE (tally.tick (100000, true).empty ());
}

TEST (AckTally, AMemberThatIsNotCommittingNamesNobody)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  tally.note_held (2, 5, { key_of (1, 2) }, 0);
  EXPECT_TRUE (tally.tick (tally.due_ms (), false).empty ());
}

TEST (AckTally, TheRotationIsCompleteWhenEveryPublisherWasAnswered)
{
  AckTally tally (kResend);
  tally.set_roster (5, { { 1, true, true }, { 2, true, true }, { 3, true, false } });
  tally.start_rotation (0);
  tally.note_held (2, 5, { key_of (1, 1) }, 10);
  tally.note_held (3, 5, { key_of (1, 1), key_of (2, 1) }, 20);
  EXPECT_FALSE (tally.rotation_complete ());
  EXPECT_NE (tally.due_ms (), INT64_MAX);
  tally.note_held (1, 5, { key_of (2, 1) }, 30);
  EXPECT_TRUE (tally.rotation_complete ());
  EXPECT_EQ (tally.due_ms (), INT64_MAX) << "nothing is missing: nothing to name";
}

/* A member's report can name any key id: what the committer keeps stays
 * bounded by the roster, and a flood does not stop a real key's answer. */
TEST (AckTally, AFloodOfKeyIdsDoesNotCrowdOutTheRotation)
{
  AckTally tally (kResend);
  tally.set_roster (5, four_members ());
  std::vector<uint64_t> flood;
  for (uint32_t generation = 0; generation < 250; generation++)
    for (uint32_t sender = 1; sender <= 4; sender++)
      flood.push_back (key_of (sender, generation));
  tally.note_held (2, 4, flood, 0);
  uint64_t key = key_of (1, 251);
  tally.note_held (2, 5, { key }, 10);
  tally.note_held (3, 5, { key }, 10);
  auto answers = tally.note_held (4, 5, { key }, 10);
  ASSERT_EQ (answers.size (), 1u);
  EXPECT_EQ (answers[0].key_id, key);
}
