/* The in-process bus ("local://NAME"): publish order, routing by exact
 * subject, the malicious-bus hooks (interceptor, hold and release, inject,
 * log), flush, and the guarantees of ending a subscription, from outside
 * and from inside handlers. Every test uses hub names of its own. */
#include <gst/sframe/bus/bus-local.h>
#include <gst/sframe/bus/bus.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

using sframe::Bus;
using sframe::BusSubscription;
using sframe::ByteView;
using sframe::Status;
namespace localbus = sframe::localbus;
using localbus::Message;
using localbus::Verdict;

namespace {

/* Generous: only reached when something is broken. */
constexpr auto kDeadline = std::chrono::seconds (10);

ByteView
view (const std::string & s)
{
  return {reinterpret_cast<const uint8_t *> (s.data ()), s.size ()};
}

std::string
text (ByteView v)
{
  return std::string (reinterpret_cast<const char *> (v.data), v.size);
}

std::string
text (const std::vector<uint8_t> & v)
{
  return std::string (v.begin (), v.end ());
}

std::unique_ptr<Bus>
open (const std::string & name)
{
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus ("local://" + name, &bus);
  EXPECT_TRUE (r.ok () && bus) << r.message;
  return bus;
}

/* What a subscription received, in order. */
class Inbox {
public:
  Bus::Handler handler ()
  {
    return [this] (const std::string & subject, ByteView payload) {
      std::lock_guard<std::mutex> lock (lock_);
      items_.push_back (subject + "=" + text (payload));
      changed_.notify_all ();
    };
  }

  std::vector<std::string> items () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return items_;
  }

  bool wait_for (size_t count)
  {
    std::unique_lock<std::mutex> lock (lock_);
    return changed_.wait_for (lock, kDeadline, [&] { return items_.size () >= count; });
  }

private:
  mutable std::mutex lock_;
  std::condition_variable changed_;
  std::vector<std::string> items_;
};

/* A one-shot signal between threads. */
class Latch {
public:
  void open ()
  {
    std::lock_guard<std::mutex> lock (lock_);
    open_ = true;
    cond_.notify_all ();
  }

  bool wait ()
  {
    std::unique_lock<std::mutex> lock (lock_);
    return cond_.wait_for (lock, kDeadline, [this] { return open_; });
  }

private:
  std::mutex lock_;
  std::condition_variable cond_;
  bool open_ = false;
};

void
publish (Bus & bus, const std::string & subject, const std::string & payload)
{
  ASSERT_EQ (bus.publish (subject, view (payload)), Status::ok);
}

}  // namespace

TEST (BusNames, SubjectTokensAndSubjects)
{
  EXPECT_TRUE (sframe::is_subject_token ("room-1_A"));
  EXPECT_TRUE (sframe::is_subject_token (std::string (64, 'x')));
  EXPECT_FALSE (sframe::is_subject_token (std::string (65, 'x')));
  EXPECT_FALSE (sframe::is_subject_token (""));
  for (const char *bad : {"a.b", "*", ">", "a b", "a\nb", "é"})
    EXPECT_FALSE (sframe::is_subject_token (bad)) << bad;

  EXPECT_TRUE (sframe::is_subject ("sframe.room-1.hello"));
  EXPECT_TRUE (sframe::is_subject ("a"));
  EXPECT_TRUE (sframe::is_subject ("a." + std::string (64, 'x') + ".b"));
  EXPECT_FALSE (sframe::is_subject ("a." + std::string (65, 'x') + ".b"));
  for (const char *bad : {"", ".a", "a.", "a..b", "a.*", "a.>", "a.b c", "a/b"})
    EXPECT_FALSE (sframe::is_subject (bad)) << bad;
  std::string many = "a";
  for (int i = 0; i < 16; i++)
    many += ".a";
  EXPECT_FALSE (sframe::is_subject (many));
}

TEST (BusOpen, RefusesBadUris)
{
  for (const char *uri : {"", "local://", "local://a/b", "local://has space", "http://example.org", "nats:/x",
           "nats://", "nats://host:4222,", "bogus"}) {
    std::unique_ptr<sframe::Bus> bus;
    sframe::Result r = sframe::open_bus (uri, &bus);
    EXPECT_EQ (r.status, sframe::Status::invalid_argument) << uri;
    EXPECT_EQ (bus, nullptr) << uri;
    EXPECT_FALSE (r.message.empty ()) << uri;
  }
  /* Well formed, but no node answers. */
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus ("nats://a:1,tls://b:2", &bus);
  EXPECT_EQ (r.status, sframe::Status::bus_unavailable) << r.message;
  EXPECT_EQ (bus, nullptr);
  r = sframe::open_bus ("ftp://user:secret@host/x", &bus);
  EXPECT_EQ (bus, nullptr);
  EXPECT_NE (r.message.find ("ftp://"), std::string::npos) << r.message;
  EXPECT_EQ (r.message.find ("secret"), std::string::npos) << r.message;
  /* A null output is refused, not dereferenced. */
  EXPECT_EQ (sframe::open_bus ("local://x", nullptr).status, sframe::Status::invalid_argument);
}

TEST (BusOpen, DescribesItself)
{
  auto bus = open ("describe-me");
  ASSERT_TRUE (bus);
  EXPECT_EQ (bus->describe (), "local://describe-me");
}

TEST (LocalBus, DeliversInPublishOrder)
{
  auto a = open ("order");
  auto b = open ("order");
  Inbox inbox;
  auto sub = b->subscribe ("room.x", inbox.handler ());
  ASSERT_TRUE (sub);
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; i++) {
    /* Two publishers on one hub: the hub's order is the publish order. */
    Bus & from = i % 3 ? *a : *b;
    publish (from, "room.x", std::to_string (i));
    expected.push_back ("room.x=" + std::to_string (i));
  }
  localbus::hub ("order")->flush ();
  EXPECT_EQ (inbox.items (), expected);
}

TEST (LocalBus, EverySubscriberGetsEveryMessage)
{
  auto bus = open ("two-subscribers");
  Inbox first, second;
  auto s1 = bus->subscribe ("t", first.handler ());
  auto s2 = bus->subscribe ("t", second.handler ());
  publish (*bus, "t", "one");
  publish (*bus, "t", "two");
  auto hub = localbus::hub ("two-subscribers");
  hub->flush ();
  std::vector<std::string> expected = {"t=one", "t=two"};
  EXPECT_EQ (first.items (), expected);
  EXPECT_EQ (second.items (), expected);
  EXPECT_EQ (hub->delivered (), 4u);
}

TEST (LocalBus, RoutesByExactSubject)
{
  auto bus = open ("routing");
  Inbox ab, a, abc;
  auto s1 = bus->subscribe ("a.b", ab.handler ());
  auto s2 = bus->subscribe ("a", a.handler ());
  auto s3 = bus->subscribe ("a.b.c", abc.handler ());
  for (const char *subject : {"a.b", "a", "a.b.c", "a.bc", "b", "A.b"})
    publish (*bus, subject, subject);
  localbus::hub ("routing")->flush ();
  EXPECT_EQ (ab.items (), std::vector<std::string> ({"a.b=a.b"}));
  EXPECT_EQ (a.items (), std::vector<std::string> ({"a=a"}));
  EXPECT_EQ (abc.items (), std::vector<std::string> ({"a.b.c=a.b.c"}));
}

TEST (LocalBus, RefusesBadSubjectsAndHandlers)
{
  auto bus = open ("refusals");
  EXPECT_EQ (bus->publish ("a..b", view ("x")), Status::invalid_argument);
  EXPECT_EQ (bus->publish ("a.*", view ("x")), Status::invalid_argument);
  EXPECT_EQ (bus->publish ("a", ByteView (nullptr, 3)), Status::invalid_argument);
  EXPECT_EQ (bus->subscribe ("a.>", [] (const std::string &, ByteView) {}), nullptr);
  EXPECT_EQ (bus->subscribe ("a", nullptr), nullptr);
  EXPECT_EQ (bus->publish ("a", ByteView ()), Status::ok);
}

TEST (LocalBus, PublishCopiesThePayload)
{
  auto bus = open ("copy");
  auto hub = localbus::hub ("copy");
  /* Held, so the payload is only read after publish returned. */
  hub->set_interceptor ([] (Message &) { return Verdict::hold; });
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  std::string payload = "original";
  publish (*bus, "t", payload);
  std::memset (&payload[0], 'X', payload.size ());
  hub->flush ();
  ASSERT_EQ (hub->held_count (), 1u);
  hub->release_held ();
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=original"}));
}

TEST (LocalBus, EmptyPayloadArrivesEmpty)
{
  auto bus = open ("empty-payload");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  publish (*bus, "t", "");
  localbus::hub ("empty-payload")->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t="}));
}

TEST (LocalHub, InterceptorModifiesAndDrops)
{
  auto bus = open ("intercept");
  auto hub = localbus::hub ("intercept");
  Inbox original, redirected;
  auto s1 = bus->subscribe ("orig", original.handler ());
  auto s2 = bus->subscribe ("other", redirected.handler ());
  /* Stateful: the interceptor is one object, never copied. */
  hub->set_interceptor ([n = 0] (Message & m) mutable {
    n++;
    if (n == 1) {
      m.payload[0] ^= 0x20;  /* tamper */
      return Verdict::deliver;
    }
    if (n == 2)
      return Verdict::drop;
    if (n == 3) {
      m.subject = "other";  /* misroute */
      return Verdict::deliver;
    }
    return Verdict::deliver;
  });
  for (const char *p : {"abc", "dropped", "moved", "plain"})
    publish (*bus, "orig", p);
  hub->flush ();
  EXPECT_EQ (original.items (), std::vector<std::string> ({"orig=Abc", "orig=plain"}));
  EXPECT_EQ (redirected.items (), std::vector<std::string> ({"other=moved"}));

  hub->set_interceptor (nullptr);
  publish (*bus, "orig", "free");
  hub->flush ();
  EXPECT_EQ (original.items ().back (), "orig=free");
}

TEST (LocalHub, HoldAndReleaseInOrder)
{
  auto bus = open ("hold");
  auto hub = localbus::hub ("hold");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  hub->set_interceptor ([] (Message & m) { return text (m.payload) == "pass" ? Verdict::deliver : Verdict::hold; });
  for (const char *p : {"h0", "h1", "pass", "h2"})
    publish (*bus, "t", p);
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=pass"}));
  EXPECT_EQ (hub->held_count (), 3u);

  /* Released messages bypass the interceptor (which would hold them again). */
  hub->release_held ();
  hub->flush ();
  EXPECT_EQ (hub->held_count (), 0u);
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=pass", "t=h0", "t=h1", "t=h2"}));
}

TEST (LocalHub, ReleaseHeldReordersReplaysAndKeepsTheRest)
{
  auto bus = open ("reorder");
  auto hub = localbus::hub ("reorder");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  hub->set_interceptor ([] (Message &) { return Verdict::hold; });
  for (const char *p : {"m0", "m1", "m2", "m3"})
    publish (*bus, "t", p);
  hub->flush ();
  ASSERT_EQ (hub->held_count (), 4u);

  /* m2, then m0 twice (a replay); 99 is ignored; m1 and m3 stay held. */
  hub->release_held ({2, 0, 99, 0});
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=m2", "t=m0", "t=m0"}));
  EXPECT_EQ (hub->held_count (), 2u);

  /* The rest kept their order: index 1 is now m3. */
  hub->release_held ({1, 0});
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=m2", "t=m0", "t=m0", "t=m3", "t=m1"}));
  EXPECT_EQ (hub->held_count (), 0u);
}

TEST (LocalHub, ReleasedMessagesFollowWhatIsQueued)
{
  auto bus = open ("release-after-queue");
  auto hub = localbus::hub ("release-after-queue");
  Inbox inbox;
  Latch entered, go;
  std::atomic<bool> first {true};
  auto sub = bus->subscribe ("t", [&] (const std::string & s, ByteView p) {
    if (first.exchange (false)) {
      entered.open ();
      go.wait ();
    }
    inbox.handler () (s, p);
  });
  hub->set_interceptor ([] (Message & m) { return text (m.payload) == "held" ? Verdict::hold : Verdict::deliver; });
  publish (*bus, "t", "held");
  publish (*bus, "t", "first");
  ASSERT_TRUE (entered.wait ());  /* the dispatch thread is inside "first" */
  publish (*bus, "t", "queued");
  hub->release_held ();
  go.open ();
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=first", "t=queued", "t=held"}));
}

TEST (LocalHub, InjectBypassesTheInterceptorAndTheLog)
{
  auto bus = open ("inject");
  auto hub = localbus::hub ("inject");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  hub->set_logging (true);
  hub->set_interceptor ([] (Message &) { return Verdict::drop; });
  publish (*bus, "t", "dropped");
  hub->inject ({"t", {'f', 'o', 'r', 'g', 'e', 'd'}});
  hub->inject ({"t", {'f', 'o', 'r', 'g', 'e', 'd'}});
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=forged", "t=forged"}));
  auto log = hub->log ();
  ASSERT_EQ (log.size (), 1u);
  EXPECT_EQ (text (log[0].payload), "dropped");
}

TEST (LocalHub, LogsPublishedMessagesBeforeInterception)
{
  auto bus = open ("log");
  auto hub = localbus::hub ("log");
  publish (*bus, "t", "before-logging");
  hub->set_logging (true);
  hub->set_interceptor ([] (Message & m) {
    m.payload.assign ({'x'});
    return Verdict::deliver;
  });
  publish (*bus, "t.a", "one");
  publish (*bus, "t.b", "two");
  hub->flush ();
  hub->set_logging (false);
  publish (*bus, "t", "after-logging");
  hub->flush ();
  auto log = hub->log ();
  ASSERT_EQ (log.size (), 2u);
  EXPECT_EQ (log[0].subject, "t.a");
  EXPECT_EQ (text (log[0].payload), "one");
  EXPECT_EQ (log[1].subject, "t.b");
  EXPECT_EQ (text (log[1].payload), "two");
}

TEST (LocalHub, FlushWaitsForTheRunningHandler)
{
  auto bus = open ("flush");
  auto hub = localbus::hub ("flush");
  std::atomic<int> finished {0};
  auto sub = bus->subscribe ("t", [&] (const std::string &, ByteView) {
    std::this_thread::sleep_for (std::chrono::milliseconds (20));
    finished++;
  });
  for (int i = 0; i < 5; i++)
    publish (*bus, "t", "x");
  hub->flush ();
  EXPECT_EQ (finished.load (), 5);
  EXPECT_EQ (hub->delivered (), 5u);
}

TEST (LocalHub, PublishAndFlushFromInsideAHandler)
{
  auto bus = open ("reentrant");
  auto hub = localbus::hub ("reentrant");
  Inbox replies;
  auto reply_sub = bus->subscribe ("reply", replies.handler ());
  auto request_sub = bus->subscribe ("request", [&] (const std::string &, ByteView payload) {
    /* Queued behind this call: no re-entry, no deadlock. */
    EXPECT_EQ (bus->publish ("reply", payload), Status::ok);
    hub->flush ();  /* returns at once on the dispatch thread */
  });
  publish (*bus, "request", "ping");
  ASSERT_TRUE (replies.wait_for (1));
  EXPECT_EQ (replies.items (), std::vector<std::string> ({"reply=ping"}));
}

TEST (LocalHub, SameNameSameHubWhileHeld)
{
  auto a = open ("lifetime");
  auto hub1 = localbus::hub ("lifetime");
  auto b = open ("lifetime");
  EXPECT_EQ (localbus::hub ("lifetime"), hub1);

  /* Other names are other hubs. */
  auto other = open ("lifetime-other");
  Inbox inbox;
  auto sub = other->subscribe ("t", inbox.handler ());
  publish (*a, "t", "not for you");
  hub1->flush ();
  localbus::hub ("lifetime-other")->flush ();
  EXPECT_TRUE (inbox.items ().empty ());

  hub1->set_logging (true);
  publish (*a, "t", "logged");
  hub1->flush ();
  EXPECT_EQ (hub1->log ().size (), 1u);
  std::weak_ptr<localbus::Hub> weak = hub1;
  hub1.reset ();
  a.reset ();
  EXPECT_FALSE (weak.expired ());  /* b still holds it */
  b.reset ();
  EXPECT_TRUE (weak.expired ());

  /* A fresh hub: no log, no state of the old one. */
  auto c = open ("lifetime");
  auto hub2 = localbus::hub ("lifetime");
  EXPECT_TRUE (hub2->log ().empty ());
  EXPECT_EQ (hub2->delivered (), 0u);
}

TEST (LocalHub, SubscriptionOutlivesItsBus)
{
  auto bus = open ("outlive");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  std::weak_ptr<localbus::Hub> weak = localbus::hub ("outlive");
  bus.reset ();
  EXPECT_FALSE (weak.expired ());  /* the subscription holds the hub */
  auto again = open ("outlive");
  publish (*again, "t", "still here");
  localbus::hub ("outlive")->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=still here"}));
  again.reset ();
  sub.reset ();
  EXPECT_TRUE (weak.expired ());
}

TEST (LocalUnsubscribe, NothingAfterTheDestructor)
{
  auto bus = open ("unsub-basic");
  auto hub = localbus::hub ("unsub-basic");
  Inbox inbox;
  auto sub = bus->subscribe ("t", inbox.handler ());
  publish (*bus, "t", "1");
  hub->flush ();
  sub.reset ();
  publish (*bus, "t", "2");
  hub->flush ();
  EXPECT_EQ (inbox.items (), std::vector<std::string> ({"t=1"}));
}

TEST (LocalUnsubscribe, WaitsForTheRunningHandler)
{
  auto bus = open ("unsub-wait");
  auto hub = localbus::hub ("unsub-wait");
  Latch entered, release;
  std::atomic<bool> inside {false};
  std::atomic<int> calls {0};
  auto sub = bus->subscribe ("t", [&] (const std::string &, ByteView) {
    calls++;
    inside = true;
    entered.open ();
    release.wait ();
    inside = false;
  });
  publish (*bus, "t", "1");
  publish (*bus, "t", "2");  /* queued: must never reach the handler */
  ASSERT_TRUE (entered.wait ());

  std::atomic<bool> destroyed {false};
  std::thread destroyer ([&] {
    sub.reset ();
    /* The handler had returned before the destructor did. */
    EXPECT_FALSE (inside.load ());
    destroyed = true;
  });
  /* Some time for a destructor that would not wait to return early. */
  std::this_thread::sleep_for (std::chrono::milliseconds (100));
  EXPECT_FALSE (destroyed.load ());
  release.open ();
  destroyer.join ();
  EXPECT_TRUE (destroyed.load ());
  hub->flush ();
  EXPECT_EQ (calls.load (), 1);
}

TEST (LocalUnsubscribe, FromInsideAnotherHandler)
{
  auto bus = open ("unsub-other");
  auto hub = localbus::hub ("unsub-other");
  std::unique_ptr<BusSubscription> victim;
  std::atomic<int> victim_calls {0};
  /* Subscribed first, so it runs first for each message. */
  auto killer = bus->subscribe ("t", [&] (const std::string &, ByteView payload) {
    if (text (payload) == "kill")
      victim.reset ();
  });
  victim = bus->subscribe ("t", [&] (const std::string &, ByteView) { victim_calls++; });
  publish (*bus, "t", "hello");
  publish (*bus, "t", "kill");  /* the victim is next in line for this one: skipped */
  publish (*bus, "t", "after");
  hub->flush ();
  EXPECT_EQ (victim_calls.load (), 1);
  EXPECT_EQ (victim, nullptr);
}

TEST (LocalUnsubscribe, FromInsideItsOwnHandler)
{
  auto bus = open ("unsub-self");
  auto hub = localbus::hub ("unsub-self");
  std::unique_ptr<BusSubscription> self;
  std::atomic<int> calls {0};
  std::string seen;
  self = bus->subscribe ("t", [&, keep = std::make_shared<std::string> ("captured")] (const std::string &,
      ByteView payload) {
    calls++;
    self.reset ();
    /* The call goes on safely: its captures are still alive. */
    seen = *keep + ":" + text (payload);
  });
  publish (*bus, "t", "1");
  publish (*bus, "t", "2");
  hub->flush ();
  EXPECT_EQ (calls.load (), 1);
  EXPECT_EQ (seen, "captured:1");
}

TEST (LocalUnsubscribe, LastOwnerGoneFromInsideAHandler)
{
  /* The handler drops the last bus and subscription of its hub: the hub
   * is destroyed on its own dispatch thread, which must not join itself. */
  auto bus = open ("unsub-last");
  std::weak_ptr<localbus::Hub> weak = localbus::hub ("unsub-last");
  std::unique_ptr<BusSubscription> sub;
  Latch done;
  sub = bus->subscribe ("t", [&] (const std::string &, ByteView) {
    sub.reset ();
    bus.reset ();
    done.open ();
  });
  ASSERT_EQ (bus->publish ("t", view ("bye")), Status::ok);
  ASSERT_TRUE (done.wait ());
  /* The hub goes as soon as the handler's call unwinds. */
  for (int i = 0; i < 1000 && !weak.expired (); i++)
    std::this_thread::sleep_for (std::chrono::milliseconds (10));
  EXPECT_TRUE (weak.expired ());
  auto fresh = open ("unsub-last");
  EXPECT_EQ (localbus::hub ("unsub-last")->delivered (), 0u);
}

TEST (LocalUnsubscribe, ConcurrentChurn)
{
  /* Subscriptions come and go on several threads while messages flow; each
   * handler checks that its subscription is still alive when it runs. */
  auto bus = open ("churn");
  auto hub = localbus::hub ("churn");
  std::atomic<bool> stop {false};
  std::atomic<int> violations {0};
  std::thread publisher ([&] {
    while (!stop) {
      bus->publish ("t", view ("x"));
      std::this_thread::sleep_for (std::chrono::microseconds (20));
    }
  });
  std::vector<std::thread> churners;
  for (int t = 0; t < 3; t++) {
    churners.emplace_back ([&] {
      for (int i = 0; i < 200; i++) {
        auto alive = std::make_shared<std::atomic<bool>> (true);
        auto sub = bus->subscribe ("t", [alive, &violations] (const std::string &, ByteView) {
          if (!alive->load ())
            violations++;
        });
        std::this_thread::yield ();
        sub.reset ();
        alive->store (false);
      }
    });
  }
  for (auto & c : churners)
    c.join ();
  stop = true;
  publisher.join ();
  hub->flush ();
  EXPECT_EQ (violations.load (), 0);
}

/* ---- delivery rounds: one wake per round, not per message ---- */

TEST (DeliveryRound, OutsideARoundAWakeRunsAtOnce)
{
  int woken = 0;
  sframe::DeliveryRound::wake_later ([&] { woken++; });
  EXPECT_EQ (woken, 1);
}

TEST (DeliveryRound, WakesWaitForTheEndOfTheInnermostRound)
{
  std::vector<std::string> order;
  {
    sframe::DeliveryRound outer;
    sframe::DeliveryRound::wake_later ([&] { order.push_back ("outer"); });
    {
      sframe::DeliveryRound inner;
      sframe::DeliveryRound::wake_later ([&] { order.push_back ("inner 1"); });
      sframe::DeliveryRound::wake_later ([&] { throw std::runtime_error ("dropped"); });
      sframe::DeliveryRound::wake_later ([&] { order.push_back ("inner 2"); });
      EXPECT_TRUE (order.empty ());
    }
    EXPECT_EQ (order, std::vector<std::string> ({"inner 1", "inner 2"}));
    outer.finish ();
    EXPECT_EQ (order, std::vector<std::string> ({"inner 1", "inner 2", "outer"}));
    sframe::DeliveryRound::wake_later ([&] { order.push_back ("after finish"); });
  }
  EXPECT_EQ (order.back (), "after finish");
}

/* Ten messages queued together are delivered in one round: a wake a
 * handler defers runs after the tenth, not after the first. */
TEST (LocalHub, HandlersWakeAfterTheRoundNotAfterEachMessage)
{
  auto bus = open ("rounds");
  auto hub = localbus::hub ("rounds");
  std::mutex lock;
  size_t delivered = 0;
  std::vector<size_t> seen_at_wake;
  Latch woken;
  auto sub = bus->subscribe ("t", [&] (const std::string &, ByteView) {
    bool first;
    {
      std::lock_guard<std::mutex> guard (lock);
      first = delivered++ == 0;
    }
    if (first) {
      sframe::DeliveryRound::wake_later ([&] {
        std::lock_guard<std::mutex> guard (lock);
        seen_at_wake.push_back (delivered);
        woken.open ();
      });
    }
  });
  hub->set_interceptor ([] (Message &) { return Verdict::hold; });
  for (int i = 0; i < 10; i++)
    publish (*bus, "t", "m" + std::to_string (i));
  hub->flush ();
  ASSERT_EQ (hub->held_count (), 10u);
  hub->release_held ();
  ASSERT_TRUE (woken.wait ());
  hub->flush ();
  std::lock_guard<std::mutex> guard (lock);
  EXPECT_EQ (seen_at_wake, std::vector<size_t> ({10u}));
}
