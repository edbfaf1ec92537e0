/* The NATS bus against real nats-server processes on 127.0.0.1: one
 * server; a three-node cluster (publisher and subscriber on different
 * nodes, and a client that fails over between nodes); a broker restart on
 * the same port (publishes during the outage are buffered and delivered,
 * the state handler sees false then true); TLS and passwords; a NATS
 * credentials file against a server in operator mode. Skipped (77) when
 * nats-server is not installed. */
#include "nats-jwt.h"
#include "nats-server.h"

#include <gst/sframe/bus/bus.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using sframe::Bus;
using sframe::BusSubscription;
using sframe::ByteView;
using sframe::Status;
using sframe_test::NatsServers;
using sframe_test::TestOperator;
using sframe_test::ServerSecurity;
using sframe_test::TestPki;

namespace {

/* Generous: only reached when something is broken. */
constexpr auto kDeadline = std::chrono::seconds (20);

ByteView
view (const std::string & s)
{
  return {reinterpret_cast<const uint8_t *> (s.data ()), s.size ()};
}

std::unique_ptr<Bus>
open (const std::string & uri)
{
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus (uri, &bus);
  EXPECT_TRUE (r.ok () && bus) << uri << ": " << r.message;
  return bus;
}

/* What a subscription received ("subject=payload"), in order. */
class Inbox {
public:
  Bus::Handler handler ()
  {
    return [this] (const std::string & subject, ByteView payload) {
      std::lock_guard<std::mutex> lock (lock_);
      items_.push_back (subject + "=" + std::string (reinterpret_cast<const char *> (payload.data), payload.size));
      changed_.notify_all ();
    };
  }

  std::vector<std::string> items () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return items_;
  }

  bool contains (const std::string & item) const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return std::find (items_.begin (), items_.end (), item) != items_.end ();
  }

  bool wait_for (const std::function<bool (const std::vector<std::string> &)> & done,
      std::chrono::milliseconds timeout = kDeadline)
  {
    std::unique_lock<std::mutex> lock (lock_);
    return changed_.wait_for (lock, timeout, [&] { return done (items_); });
  }

  bool wait_for_count (size_t count)
  {
    return wait_for ([count] (const std::vector<std::string> & items) { return items.size () >= count; });
  }

  bool wait_for_item (const std::string & item, std::chrono::milliseconds timeout = kDeadline)
  {
    return wait_for ([&] (const std::vector<std::string> & items) {
      return std::find (items.begin (), items.end (), item) != items.end ();
    }, timeout);
  }

private:
  mutable std::mutex lock_;
  std::condition_variable changed_;
  std::vector<std::string> items_;
};

/* The connection states a bus reported, in order. */
class StateLog {
public:
  Bus::StateHandler handler ()
  {
    return [this] (bool connected) {
      std::lock_guard<std::mutex> lock (lock_);
      states_.push_back (connected);
      changed_.notify_all ();
    };
  }

  std::vector<bool> states () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return states_;
  }

  bool wait_for_last (bool connected)
  {
    std::unique_lock<std::mutex> lock (lock_);
    return changed_.wait_for (lock, kDeadline, [&] { return !states_.empty () && states_.back () == connected; });
  }

private:
  mutable std::mutex lock_;
  std::condition_variable changed_;
  std::vector<bool> states_;
};

/* Interest on one node of a cluster reaches the others shortly after the
 * subscription: publish probes until one arrives. */
bool
probe_until_received (Bus & publisher, const std::string & subject, Inbox & inbox)
{
  auto deadline = std::chrono::steady_clock::now () + kDeadline;
  for (int i = 0; std::chrono::steady_clock::now () < deadline; i++) {
    std::string probe = "probe-" + std::to_string (i);
    if (publisher.publish (subject, view (probe)) != Status::ok)
      return false;
    if (inbox.wait_for_item (subject + "=" + probe, std::chrono::milliseconds (200)))
      return true;
  }
  return false;
}

std::vector<std::string>
without_probes (const std::vector<std::string> & items)
{
  std::vector<std::string> out;
  for (const auto & item : items) {
    if (item.find ("=probe-") == std::string::npos)
      out.push_back (item);
  }
  return out;
}

/* A bus hears its own message through the server: it is connected, and
 * may subscribe and publish. */
void
expect_round_trip (Bus & bus)
{
  Inbox inbox;
  auto sub = bus.subscribe ("sframe.t.round-trip", inbox.handler ());
  ASSERT_TRUE (sub);
  ASSERT_EQ (bus.publish ("sframe.t.round-trip", view ("there and back")), Status::ok);
  EXPECT_TRUE (inbox.wait_for_count (1));
  EXPECT_TRUE (inbox.contains ("sframe.t.round-trip=there and back"));
}

class BusNats : public ::testing::Test {
protected:
  NatsServers servers;
};

}  // namespace

TEST_F (BusNats, SingleServerPublishSubscribe)
{
  std::string error;
  ASSERT_TRUE (servers.start (1, &error)) << error;
  auto publisher = open (servers.url (0));
  auto subscriber = open (servers.url (0));
  ASSERT_TRUE (publisher && subscriber);
  EXPECT_EQ (publisher->describe (), servers.url (0));

  Inbox room, other;
  auto sub = subscriber->subscribe ("sframe.room-1.hello", room.handler ());
  auto sub_other = subscriber->subscribe ("sframe.room-1", other.handler ());
  ASSERT_TRUE (sub && sub_other);

  /* subscribe () returns once the server has the interest. */
  std::vector<std::string> expected;
  for (int i = 0; i < 200; i++) {
    std::string payload = "m" + std::to_string (i);
    ASSERT_EQ (publisher->publish ("sframe.room-1.hello", view (payload)), Status::ok);
    expected.push_back ("sframe.room-1.hello=" + payload);
  }
  /* Binary payload, zero bytes included, arrives byte for byte. */
  const std::string binary ("\x00\x01\xff\x00z", 5);
  ASSERT_EQ (publisher->publish ("sframe.room-1.hello", view (binary)), Status::ok);
  expected.push_back ("sframe.room-1.hello=" + binary);
  ASSERT_TRUE (room.wait_for_count (expected.size ()));
  EXPECT_EQ (room.items (), expected);

  /* Exact subjects: nothing reached the parent subject. */
  ASSERT_EQ (publisher->publish ("sframe.room-1", view ("parent")), Status::ok);
  ASSERT_TRUE (other.wait_for_count (1));
  EXPECT_EQ (other.items (), std::vector<std::string> ({"sframe.room-1=parent"}));
  EXPECT_EQ (room.items ().size (), expected.size ());

  /* A bus hears what it publishes itself. */
  Inbox echo;
  auto own = publisher->subscribe ("sframe.echo", echo.handler ());
  ASSERT_EQ (publisher->publish ("sframe.echo", view ("me")), Status::ok);
  ASSERT_TRUE (echo.wait_for_count (1));

  /* Bad subjects never reach the wire. */
  EXPECT_EQ (publisher->publish ("sframe.*", view ("x")), Status::invalid_argument);
  EXPECT_EQ (publisher->publish ("sframe..x", view ("x")), Status::invalid_argument);
  EXPECT_EQ (subscriber->subscribe ("sframe.>", room.handler ()), nullptr);
}

TEST_F (BusNats, UnsubscribeStopsDelivery)
{
  std::string error;
  ASSERT_TRUE (servers.start (1, &error)) << error;
  auto bus = open (servers.url (0));
  ASSERT_TRUE (bus);

  /* The handler is running when the destructor is called from another
   * thread: the destructor returns only after the handler did. */
  std::mutex lock;
  std::condition_variable cond;
  bool entered = false, release = false;
  std::atomic<bool> inside {false};
  std::atomic<int> calls {0};
  auto sub = bus->subscribe ("t.block", [&] (const std::string &, ByteView) {
    calls++;
    inside = true;
    std::unique_lock<std::mutex> l (lock);
    entered = true;
    cond.notify_all ();
    cond.wait_for (l, kDeadline, [&] { return release; });
    inside = false;
  });
  ASSERT_EQ (bus->publish ("t.block", view ("1")), Status::ok);
  ASSERT_EQ (bus->publish ("t.block", view ("2")), Status::ok);
  {
    std::unique_lock<std::mutex> l (lock);
    ASSERT_TRUE (cond.wait_for (l, kDeadline, [&] { return entered; }));
  }
  std::atomic<bool> destroyed {false};
  std::thread destroyer ([&] {
    sub.reset ();
    EXPECT_FALSE (inside.load ());
    destroyed = true;
  });
  std::this_thread::sleep_for (std::chrono::milliseconds (100));
  EXPECT_FALSE (destroyed.load ());
  {
    std::lock_guard<std::mutex> l (lock);
    release = true;
    cond.notify_all ();
  }
  destroyer.join ();
  EXPECT_TRUE (destroyed.load ());

  /* From inside its own handler: no deadlock, no further call. */
  std::unique_ptr<BusSubscription> self;
  std::atomic<int> self_calls {0};
  self = bus->subscribe ("t.self", [&] (const std::string &, ByteView) {
    self_calls++;
    self.reset ();
  });
  Inbox marker;
  auto marker_sub = bus->subscribe ("t.marker", marker.handler ());
  for (int i = 0; i < 5; i++)
    ASSERT_EQ (bus->publish ("t.self", view ("x")), Status::ok);
  ASSERT_EQ (bus->publish ("t.block", view ("3")), Status::ok);
  /* A round trip through the server after everything above. */
  ASSERT_EQ (bus->publish ("t.marker", view ("end")), Status::ok);
  ASSERT_TRUE (marker.wait_for_count (1));
  std::this_thread::sleep_for (std::chrono::milliseconds (100));
  EXPECT_EQ (self_calls.load (), 1);
  EXPECT_EQ (calls.load (), 1);
}

TEST_F (BusNats, OpenFailsClearlyWithoutAServer)
{
  int port = sframe_test::free_tcp_port ();
  ASSERT_GT (port, 0);
  std::string url = "nats://127.0.0.1:" + std::to_string (port);
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus (url, &bus);
  EXPECT_EQ (r.status, sframe::Status::bus_unavailable);
  EXPECT_EQ (bus, nullptr);
  EXPECT_NE (r.message.find (url), std::string::npos) << r.message;

  /* Credentials never appear in messages or in describe (). */
  std::string secret_url = "nats://alice:s3cret@127.0.0.1:" + std::to_string (port);
  r = sframe::open_bus (secret_url, &bus);
  EXPECT_EQ (bus, nullptr);
  EXPECT_EQ (r.message.find ("s3cret"), std::string::npos) << r.message;
  EXPECT_NE (r.message.find (url), std::string::npos) << r.message;
}

TEST_F (BusNats, ClusterCarriesAcrossNodes)
{
  std::string error;
  ASSERT_TRUE (servers.start (3, &error)) << error;
  auto on_a = open (servers.url (0));
  auto on_c = open (servers.url (2));
  ASSERT_TRUE (on_a && on_c);

  Inbox inbox;
  auto sub = on_a->subscribe ("sframe.room.key", inbox.handler ());
  ASSERT_TRUE (sub);
  ASSERT_TRUE (probe_until_received (*on_c, "sframe.room.key", inbox)) << servers.log (0);

  std::vector<std::string> expected;
  for (int i = 0; i < 100; i++) {
    std::string payload = "k" + std::to_string (i);
    ASSERT_EQ (on_c->publish ("sframe.room.key", view (payload)), Status::ok);
    expected.push_back ("sframe.room.key=" + payload);
  }
  ASSERT_TRUE (inbox.wait_for ([&] (const std::vector<std::string> & items) {
    return without_probes (items).size () >= expected.size ();
  }));
  EXPECT_EQ (without_probes (inbox.items ()), expected);

  /* The list form names the whole cluster. */
  auto anywhere = open (servers.urls ());
  ASSERT_TRUE (anywhere);
  EXPECT_EQ (anywhere->describe (), servers.urls ());
  Inbox second;
  auto sub2 = anywhere->subscribe ("sframe.room.roster", second.handler ());
  ASSERT_TRUE (probe_until_received (*on_a, "sframe.room.roster", second));
}

TEST_F (BusNats, ClusterClientFailsOver)
{
  std::string error;
  ASSERT_TRUE (servers.start (3, &error)) << error;
  /* A client that knows nodes 0 and 2; an observer on node 1. Stopping
   * node 0 and then node 2 takes its server away once at least. */
  auto client = open (servers.url (0) + "," + servers.url (2));
  auto observer = open (servers.url (1));
  ASSERT_TRUE (client && observer);
  StateLog states;
  client->set_state_handler (states.handler ());
  Inbox seen_by_observer, seen_by_client;
  auto obs_sub = observer->subscribe ("fo.up", seen_by_observer.handler ());
  auto client_sub = client->subscribe ("fo.down", seen_by_client.handler ());

  ASSERT_TRUE (probe_until_received (*client, "fo.up", seen_by_observer));
  for (size_t node : {size_t (0), size_t (2)}) {
    servers.stop (node);
    ASSERT_TRUE (probe_until_received (*client, "fo.up", seen_by_observer)) << "node " << node << " stopped";
    ASSERT_TRUE (probe_until_received (*observer, "fo.down", seen_by_client)) << "node " << node << " stopped";
    ASSERT_TRUE (servers.restart (node, &error)) << error;
    ASSERT_TRUE (servers.wait_for_routes (kDeadline, &error)) << error;
  }
  /* The reconnection is reported on a libnats thread, maybe just after the
   * probes went through. */
  ASSERT_TRUE (states.wait_for_last (true));
  std::vector<bool> seen = states.states ();
  ASSERT_GE (seen.size (), 2u);
  /* Alternating, starting with the loss, ending connected. */
  for (size_t i = 0; i < seen.size (); i++)
    EXPECT_EQ (seen[i], i % 2 == 1) << "state " << i;
  EXPECT_TRUE (seen.back ());
}

TEST_F (BusNats, BrokerRestartBuffersAndRecovers)
{
  std::string error;
  ASSERT_TRUE (servers.start (1, &error)) << error;
  auto bus = open (servers.url (0));
  auto other = open (servers.url (0));
  ASSERT_TRUE (bus && other);
  StateLog states, other_states;
  bus->set_state_handler (states.handler ());
  other->set_state_handler (other_states.handler ());

  Inbox own, remote;
  auto own_sub = bus->subscribe ("r.msg", own.handler ());
  auto remote_sub = other->subscribe ("r.msg", remote.handler ());
  ASSERT_EQ (bus->publish ("r.msg", view ("before")), Status::ok);
  ASSERT_TRUE (own.wait_for_item ("r.msg=before"));
  ASSERT_TRUE (remote.wait_for_item ("r.msg=before"));

  servers.stop (0);
  ASSERT_TRUE (states.wait_for_last (false));
  ASSERT_TRUE (other_states.wait_for_last (false));

  /* During the outage publish is accepted (buffered), without blocking
   * until the server is back. */
  for (int i = 0; i < 3; i++)
    ASSERT_EQ (bus->publish ("r.msg", view ("during-" + std::to_string (i))), Status::ok);

  ASSERT_TRUE (servers.restart (0, &error)) << error;
  ASSERT_TRUE (states.wait_for_last (true));
  ASSERT_TRUE (other_states.wait_for_last (true));

  /* The bus's own subscription was renewed before its buffer was sent, so
   * it gets the buffered messages, in order. */
  ASSERT_TRUE (own.wait_for_count (4)) << servers.log (0);
  EXPECT_EQ (own.items (), std::vector<std::string> ({"r.msg=before", "r.msg=during-0", "r.msg=during-1",
      "r.msg=during-2"}));

  /* And later messages reach everyone again (the other connection renews
   * its interest on its own schedule: probe). */
  ASSERT_EQ (bus->publish ("r.msg", view ("after")), Status::ok);
  ASSERT_TRUE (own.wait_for_item ("r.msg=after"));
  ASSERT_TRUE (probe_until_received (*bus, "r.msg", remote));

  EXPECT_EQ (states.states (), std::vector<bool> ({false, true}));
  EXPECT_EQ (other_states.states (), std::vector<bool> ({false, true}));
}

TEST_F (BusNats, StateHandlerCanBeReplacedAndCleared)
{
  std::string error;
  ASSERT_TRUE (servers.start (1, &error)) << error;
  auto bus = open (servers.url (0));
  ASSERT_TRUE (bus);
  StateLog first, second;
  bus->set_state_handler (first.handler ());
  bus->set_state_handler (second.handler ());
  servers.stop (0);
  ASSERT_TRUE (second.wait_for_last (false));
  bus->set_state_handler (nullptr);
  ASSERT_TRUE (servers.restart (0, &error)) << error;
  /* Reconnected (a round trip works), but nobody was told. */
  Inbox inbox;
  auto sub = bus->subscribe ("s.x", inbox.handler ());
  ASSERT_TRUE (probe_until_received (*bus, "s.x", inbox));
  EXPECT_TRUE (first.states ().empty ());
  EXPECT_EQ (second.states (), std::vector<bool> ({false}));
}

int
main (int argc, char **argv)
{
  ::testing::InitGoogleTest (&argc, argv);
  if (sframe_test::find_nats_server ().empty ()) {
    std::printf ("SKIP: nats-server is not installed (Debian: apt install nats-server)\n");
    return 77;
  }
  return RUN_ALL_TESTS ();
}

/* ---- TLS and authorization ---------------------------------------------
 * A server the test secured with a certificate of its own CA (openssl) and
 * a user and password: clients that trust that CA and log in connect and
 * carry messages; one without credentials, one that trusts another CA or
 * none, and one without the client certificate a verifying server wants
 * are refused with errors that say why and never show the password. */
class BusNatsSecured : public BusNats {
protected:
  void SetUp () override
  {
    BusNats::SetUp ();
    std::string error;
    ASSERT_TRUE (pki.make (&error)) << error;
  }

  void start (bool verify_clients)
  {
    ServerSecurity security = sframe_test::tls_and_password (pki, "member", "pa55-word");
    security.client_ca = verify_clients ? pki.ca () : "";
    servers.secure (security);
    std::string error;
    ASSERT_TRUE (servers.start (1, &error)) << error;
    port = std::to_string (servers.client_port (0));
  }

  /* Opens with `security`; expects failure and returns the error. */
  std::string refused (const std::string & uri, const sframe::BusSecurity & security)
  {
    std::unique_ptr<sframe::Bus> bus;
    std::string error = sframe::open_bus (uri, security, &bus).message;
    EXPECT_EQ (bus, nullptr) << uri;
    EXPECT_EQ (error.find ("pa55-word"), std::string::npos) << error;
    EXPECT_EQ (error.find ("wrong-word"), std::string::npos) << error;
    return error;
  }

  TestPki pki;
  std::string port;
};

TEST_F (BusNatsSecured, TrustedCaAndPasswordConnect)
{
  start (false);
  sframe::BusSecurity trusted;
  trusted.tls_ca_file = pki.ca ();
  for (const char *host : { "127.0.0.1", "localhost" }) {
    for (const char *scheme : { "tls://", "nats://" }) {   /* a CA file alone requires TLS */
      std::string uri = std::string (scheme) + "member:pa55-word@" + host + ":" + port;
      std::unique_ptr<sframe::Bus> bus;
      sframe::Result r = sframe::open_bus (uri, trusted, &bus);
      ASSERT_TRUE (r.ok () && bus) << uri << ": " << r.message;
      EXPECT_EQ (bus->describe ().find ("pa55-word"), std::string::npos);
      expect_round_trip (*bus);
    }
  }
}

TEST_F (BusNatsSecured, MissingOrWrongCredentialsAreRefused)
{
  start (false);
  sframe::BusSecurity trusted;
  trusted.tls_ca_file = pki.ca ();
  for (const std::string & uri : { "tls://127.0.0.1:" + port, "tls://member:wrong-word@127.0.0.1:" + port }) {
    std::string error = refused (uri, trusted);
    EXPECT_NE (error.find ("refused this client's credentials"), std::string::npos) << error;
  }
}

TEST_F (BusNatsSecured, ServerOfAnotherCaIsRefused)
{
  start (false);
  sframe::BusSecurity untrusting;
  untrusting.tls_ca_file = pki.other_ca ();
  std::string error = refused ("tls://member:pa55-word@127.0.0.1:" + port, untrusting);
  EXPECT_NE (error.find ("TLS failed"), std::string::npos) << error;
  /* And with no CA at all: the system's CAs did not sign it either. */
  error = refused ("tls://member:pa55-word@127.0.0.1:" + port, {});
  EXPECT_NE (error.find ("TLS"), std::string::npos) << error;
}

/* libnats turns to TLS when the server requires it; without the CA that
 * signed the server's certificate, that fails, and the error says where
 * to look. */
TEST_F (BusNatsSecured, PlainClientWithoutTheCaIsRefused)
{
  start (false);
  std::string error = refused ("nats://member:pa55-word@127.0.0.1:" + port, {});
  EXPECT_NE (error.find ("TLS failed"), std::string::npos) << error;
  EXPECT_NE (error.find ("tls-ca-file"), std::string::npos) << error;
}

TEST_F (BusNatsSecured, ServerThatVerifiesClientsWantsTheirCertificate)
{
  start (true);
  sframe::BusSecurity with_cert;
  with_cert.tls_ca_file = pki.ca ();
  with_cert.tls_cert_file = pki.client_cert ();
  with_cert.tls_key_file = pki.client_key ();
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus ("tls://member:pa55-word@127.0.0.1:" + port, with_cert, &bus);
  ASSERT_TRUE (r.ok () && bus) << r.message;
  expect_round_trip (*bus);

  sframe::BusSecurity without_cert;
  without_cert.tls_ca_file = pki.ca ();
  std::string error = refused ("tls://member:pa55-word@127.0.0.1:" + port, without_cert);
  EXPECT_FALSE (error.empty ());
  /* Half a client certificate is a configuration error, said at once. */
  sframe::BusSecurity half = without_cert;
  half.tls_cert_file = pki.client_cert ();
  error = refused ("tls://member:pa55-word@127.0.0.1:" + port, half);
  EXPECT_NE (error.find ("both its certificate file and its key file"), std::string::npos) << error;
}

TEST (BusSecurity, LocalBusRefusesTlsSettings)
{
  sframe::BusSecurity security;
  security.tls_ca_file = "/nonexistent/ca.pem";
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus ("local://x", security, &bus);
  EXPECT_EQ (r.status, sframe::Status::invalid_argument);
  EXPECT_EQ (bus, nullptr);
  EXPECT_NE (r.message.find ("apply to nats:// and tls://"), std::string::npos) << r.message;
}

/* ---- NATS credentials in operator mode ---------------------------------
 * A server that trusts an operator the test made (nats-jwt.h) and knows
 * one account of it: a user of that account connects with its credentials
 * file and carries messages; a client without credentials, a user of an
 * account the server does not know, and the right JWT with another key's
 * seed are refused, with errors that say so and never show a seed. */
class BusNatsCreds : public BusNats {
protected:
  void SetUp () override
  {
    BusNats::SetUp ();
    std::string error;
    ASSERT_TRUE (identities.make (&error)) << error;
    ServerSecurity security;
    security.config_file = identities.server_config ();
    servers.secure (security);
    ASSERT_TRUE (servers.start (1, &error)) << error;
  }

  static sframe::BusSecurity with_creds (const std::string & file)
  {
    sframe::BusSecurity security;
    security.credentials_file = file;
    return security;
  }

  /* Opens with `security`; expects the server's refusal and returns the
   * error, any seed in it masked (so that printing it leaks none). */
  std::string refused (const sframe::BusSecurity & security)
  {
    std::unique_ptr<sframe::Bus> bus;
    std::string error = sframe::open_bus (servers.url (0), security, &bus).message;
    EXPECT_EQ (bus, nullptr);
    for (const auto & seed : identities.seeds ()) {
      size_t at = error.find (seed);
      EXPECT_EQ (at, std::string::npos) << "the error shows an nkey seed";
      for (; at != std::string::npos; at = error.find (seed))
        error.replace (at, seed.size (), "<SEED>");
    }
    return error;
  }

  TestOperator identities;
};

TEST_F (BusNatsCreds, UserOfTheTrustedAccountConnects)
{
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result r = sframe::open_bus (servers.url (0), with_creds (identities.user_creds ()), &bus);
  ASSERT_TRUE (r.ok () && bus) << r.message << "\n" << servers.log (0);
  EXPECT_EQ (bus->describe (), servers.url (0));
  expect_round_trip (*bus);
}

TEST_F (BusNatsCreds, MissingCredentialsAreRefused)
{
  std::string error = refused ({});
  EXPECT_NE (error.find ("refused this client's credentials"), std::string::npos) << error;
}

TEST_F (BusNatsCreds, UserOfAnUnknownAccountIsRefused)
{
  std::string error = refused (with_creds (identities.stranger_creds ()));
  EXPECT_NE (error.find ("refused this client's credentials"), std::string::npos) << error;
}

TEST_F (BusNatsCreds, SeedThatIsNotTheUsersIsRefused)
{
  std::string error = refused (with_creds (identities.mismatched_creds ()));
  EXPECT_NE (error.find ("refused this client's credentials"), std::string::npos) << error;
}
