/* KeyDelivery alone: who still lacks our key, and when it is resent. */
#include <gst/sframe/keys/key-delivery.h>

#include <gtest/gtest.h>

using sframe::room::KeyDelivery;

namespace {
constexpr int64_t kResend = 1000;
}  // namespace

TEST (KeyDelivery, CompleteOnceEveryAwaitedMemberAcked)
{
  KeyDelivery delivery (kResend);
  delivery.await ("bob");
  delivery.await ("carol");
  delivery.sent (0);
  EXPECT_FALSE (delivery.acked ("dave", 10)) << "not awaited";
  EXPECT_TRUE (delivery.acked ("bob", 10));
  EXPECT_FALSE (delivery.acked ("bob", 11)) << "once";
  EXPECT_FALSE (delivery.complete ());
  EXPECT_TRUE (delivery.acked ("carol", 20));
  EXPECT_TRUE (delivery.complete ());
}

TEST (KeyDelivery, ResendsBackOffToEightResendPeriods)
{
  KeyDelivery delivery (kResend);
  delivery.await ("bob");
  delivery.sent (0);
  EXPECT_EQ (delivery.resend_due_ms (), kResend);
  std::vector<int64_t> gaps;
  int64_t now = delivery.resend_due_ms ();
  for (int i = 0; i < 5; i++) {
    delivery.resent (now);
    gaps.push_back (delivery.resend_due_ms () - now);
    now = delivery.resend_due_ms ();
  }
  EXPECT_EQ (gaps, (std::vector<int64_t>{ 2 * kResend, 4 * kResend, 8 * kResend, 8 * kResend, 8 * kResend }));
  EXPECT_EQ (delivery.resends (), 5u);
  delivery.sent (now);
  EXPECT_EQ (delivery.resends (), 0u) << "a new key starts over";
}

/* A room that took 3 s to ack a key without loss gets 6 s before the next
 * key's first resend; a fast room one resend period; never over 8. */
TEST (KeyDelivery, TheFirstResendWaitsTwiceTheLastCleanRound)
{
  KeyDelivery delivery (kResend);
  delivery.await ("bob");
  delivery.sent (0);
  delivery.acked ("bob", 3000);
  delivery.await ("bob");
  delivery.sent (10000);
  EXPECT_EQ (delivery.resend_due_ms (), 10000 + 6000);
  delivery.all_acked (10100);
  delivery.await ("bob");
  delivery.sent (20000);
  EXPECT_EQ (delivery.resend_due_ms (), 20000 + kResend) << "100 ms round: at least one resend period";

  delivery.acked ("bob", 80000);   /* a 60 s round */
  delivery.await ("bob");
  delivery.sent (90000);
  EXPECT_EQ (delivery.resend_due_ms (), 90000 + 8 * kResend);
}

TEST (KeyDelivery, ARoundWithResendsDoesNotSetTheWait)
{
  KeyDelivery delivery (kResend);
  delivery.await ("bob");
  delivery.sent (0);
  delivery.resent (1000);
  delivery.acked ("bob", 30000);   /* lost, not slow */
  delivery.await ("bob");
  delivery.sent (40000);
  EXPECT_EQ (delivery.resend_due_ms (), 40000 + kResend);
}

TEST (KeyDelivery, AcksStillComingHoldResendsBack)
{
  KeyDelivery delivery (kResend);
  delivery.await ("bob");
  delivery.await ("carol");
  delivery.sent (0);
  delivery.acked ("bob", 900);
  EXPECT_TRUE (delivery.acks_flowing (1000));
  EXPECT_EQ (delivery.acks_quiet_ms (), 1900);
  EXPECT_FALSE (delivery.acks_flowing (1900));
}

TEST (KeyDelivery, TheCommitterNarrowsWhoIsAwaited)
{
  KeyDelivery delivery (kResend);
  for (const char *m : { "bob", "carol", "dave" })
    delivery.await (m);
  delivery.sent (0);
  delivery.keep_only ({ "carol" });
  EXPECT_FALSE (delivery.awaits ("bob"));
  EXPECT_TRUE (delivery.awaits ("carol"));
  delivery.forget ("carol");
  EXPECT_TRUE (delivery.complete ());
}
