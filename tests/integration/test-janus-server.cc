/* The Janus the room tests use, against what they rely on: it starts from
 * its generated configuration on loopback with only the VideoRoom plugin
 * and the WebSocket transport, creates rooms that require end-to-end
 * encryption, survives a kill and a restart on the same port, and leaves
 * no process behind. Spoken to with the library's Janus client
 * (janus-client.h), which these tests also hold to its promises: replies
 * matched to requests, sessions kept alive, a lost or hung server
 * reported. */
#include "janus-connection.h"
#include "janus-server.h"


#include <glib.h>
#include <libsoup/soup.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace sframe_test;

class JanusServerTest : public ::testing::Test {
protected:
  void SetUp () override
  {
    if (sframe_test::find_janus ().empty ())
      GTEST_SKIP () << "janus is not installed (.ci/install-deps installs it)";
    std::string error;
    ASSERT_TRUE (janus_.start (&error)) << error;
  }
  JanusServer janus_;
};

TEST_F (JanusServerTest, OffersOnlyTheVideoRoomOverWebSocketsOnLoopback)
{
  JanusConnection c (janus_.ws_url ());
  ASSERT_TRUE (c.connected ()) << c.error () << "\n" << janus_.log ();
  janus::Reply info = c.request ([] (const std::string & t) { return janus::info (t); });
  ASSERT_EQ (info.kind, janus::Kind::server_info) << janus_.log ();
  EXPECT_EQ (info.plugins, std::vector<std::string> {janus::kVideoRoomPlugin});
  EXPECT_EQ (info.transports, std::vector<std::string> {"janus.transport.websockets"});
  /* The enforce list is applied (janus-server.h says what it cannot do). */
  EXPECT_NE (janus_.log ().find ("Adding 'lo' to the ICE enforce list"), std::string::npos) << janus_.log ();
}

TEST_F (JanusServerTest, RoomsRequireEndToEndEncryptionAndTheAdminKey)
{
  JanusConnection c (janus_.ws_url ());
  ASSERT_TRUE (c.connected ()) << c.error ();
  Handle h = attach_videoroom (c);
  ASSERT_NE (h.handle, 0) << janus_.log ();

  /* Without the admin key, no room. */
  janus::videoroom::RoomOptions options;
  options.room = 4242;
  janus::Reply refused = videoroom (c, h, janus::videoroom::create_room (options));
  ASSERT_TRUE (refused.has_videoroom) << janus_.log ();
  EXPECT_NE (refused.videoroom.error_code, 0) << "a room was created without the admin key";

  options.admin_key = JanusServer::kAdminKey;
  janus::Reply created = videoroom (c, h, janus::videoroom::create_room (options));
  ASSERT_TRUE (created.has_videoroom);
  ASSERT_EQ (created.videoroom.videoroom, "created") << created.videoroom.error;

  janus::Reply listed = videoroom (c, h, janus::videoroom::list_rooms ());
  ASSERT_TRUE (listed.has_videoroom);
  bool found = false;
  for (const auto & room : listed.videoroom.rooms) {
    if (room.room == 4242) {
      found = true;
      EXPECT_TRUE (room.require_e2ee);
    }
  }
  EXPECT_TRUE (found) << "room 4242 is not listed";
}

TEST_F (JanusServerTest, ComesBackOnTheSamePortAfterAKill)
{
  int port = janus_.ws_port ();
  janus_.stop (true);
  EXPECT_FALSE (janus_.running ());
  {
    JanusConnection gone (janus_.ws_url ());
    EXPECT_FALSE (gone.connected ()) << "something still answers on the port of a killed Janus";
  }
  std::string error;
  ASSERT_TRUE (janus_.restart (&error)) << error;
  EXPECT_EQ (janus_.ws_port (), port);
  JanusConnection c (janus_.ws_url ());
  ASSERT_TRUE (c.connected ()) << c.error ();
  EXPECT_NE (attach_videoroom (c).handle, 0);
}

TEST (JanusServerLifetime, LeavesNoProcessBehind)
{
  if (sframe_test::find_janus ().empty ())
    GTEST_SKIP () << "janus is not installed";
  int port = 0;
  {
    JanusServer janus;
    std::string error;
    ASSERT_TRUE (janus.start (&error)) << error;
    port = janus.ws_port ();
    ASSERT_TRUE (sframe_test::accepts_connections (port));
  }
  EXPECT_FALSE (sframe_test::accepts_connections (port)) << "Janus still listens after its JanusServer went";
}

/* Janus forgets a silent session; the client's keepalives keep its own. */
TEST (JanusClient, KeepsItsSessionAlive)
{
  if (sframe_test::find_janus ().empty ())
    GTEST_SKIP () << "janus is not installed";
  JanusServer janus;
  janus.set_session_timeout (2);
  std::string error;
  ASSERT_TRUE (janus.start (&error)) << error;
  JanusConnection kept (janus.ws_url ()), silent (janus.ws_url ());
  ASSERT_TRUE (kept.connected () && silent.connected ());
  Handle a = attach_videoroom (kept), b = attach_videoroom (silent);
  ASSERT_NE (a.handle, 0u);
  ASSERT_NE (b.handle, 0u);
  kept.client ().keep_alive (a.session, 500);
  /* Janus checks sessions every 2 s: 6 s is past the timeout for sure. */
  kept.run_for (6000);
  silent.run_for (100);

  janus::Reply still = kept.request ([&] (const std::string & t) {
    return janus::attach (a.session, janus::kVideoRoomPlugin, t);
  });
  EXPECT_EQ (still.kind, janus::Kind::success) << still.error;
  janus::Reply gone = silent.request ([&] (const std::string & t) {
    return janus::attach (b.session, janus::kVideoRoomPlugin, t);
  });
  EXPECT_EQ (gone.kind, janus::Kind::error) << "a silent session outlived its timeout";
  bool told = false;
  for (const auto & e : silent.events ())
    told = told || (e.kind == janus::Kind::timeout && e.session == b.session);
  EXPECT_TRUE (told) << "no timeout event for the silent session";
  EXPECT_GE (kept.client ().stats ().sent, 10u) << "keepalives were not sent";
  EXPECT_EQ (kept.client ().stats ().malformed, 0u);
}

/* A killed Janus: pending requests fail at once and the loss is told
 * once; nothing is sent on a dead connection. */
TEST_F (JanusServerTest, ALostServerIsReportedOnce)
{
  JanusConnection c (janus_.ws_url ());
  ASSERT_TRUE (c.connected ());
  Handle h = attach_videoroom (c);
  ASSERT_NE (h.handle, 0u);
  janus::Reply pending;
  bool answered = false;
  janus_.pause ();
  c.client ().request ([&] (const std::string & t) { return janus::keepalive (h.session, t); },
      [&] (const janus::Reply & r) {
        pending = r;
        answered = true;
      });
  janus_.stop (true);
  c.run_until ([&] { return answered && !c.closed ().empty (); });
  EXPECT_TRUE (answered);
  EXPECT_EQ (pending.kind, janus::Kind::timeout);
  EXPECT_EQ (c.closed ().size (), 1u);
  EXPECT_FALSE (c.connected ());
  janus::Reply after = c.request ([] (const std::string & t) { return janus::create_session (t); });
  EXPECT_EQ (after.kind, janus::Kind::timeout);
  EXPECT_EQ (after.error, "not connected to Janus");
}

TEST (JanusClient, RefusesWhatIsNotAWebSocketServer)
{
  int port = sframe_test::free_tcp_port ();
  JanusConnection nobody ("ws://127.0.0.1:" + std::to_string (port));
  EXPECT_FALSE (nobody.connected ());
  EXPECT_NE (nobody.error ().find ("cannot reach Janus"), std::string::npos) << nobody.error ();
}

/* A main context of the test's own, thread-default while it lives. */
struct ThreadContext {
  GMainContext *context = g_main_context_new ();
  ThreadContext () { g_main_context_push_thread_default (context); }
  ~ThreadContext ()
  {
    g_main_context_pop_thread_default (context);
    g_main_context_unref (context);
  }
};

/* A WebSocket server on loopback that says what a test tells it to: for
 * what the real Janus never sends. */
class FakeJanus {
public:
  FakeJanus ()
  {
    server_ = soup_server_new (nullptr, nullptr);
    const char *protocols[] = {"janus-protocol", nullptr};
    soup_server_add_websocket_handler (server_, nullptr, nullptr, const_cast<char **> (protocols), on_socket, this,
        nullptr);
    GError *error = nullptr;
    soup_server_listen_local (server_, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
    g_clear_error (&error);
    GSList *uris = soup_server_get_uris (server_);
    if (uris)
      port_ = g_uri_get_port (static_cast<GUri *> (uris->data));
    g_slist_free_full (uris, reinterpret_cast<GDestroyNotify> (g_uri_unref));
  }
  ~FakeJanus ()
  {
    if (socket_)
      g_object_unref (socket_);
    g_object_unref (server_);
  }
  std::string url () const { return "ws://127.0.0.1:" + std::to_string (port_); }
  bool has_client () const { return socket_ != nullptr; }
  void say (const std::string & text) { soup_websocket_connection_send_text (socket_, text.c_str ()); }
  void say_binary (const std::string & bytes)
  {
    soup_websocket_connection_send_binary (socket_, bytes.data (), bytes.size ());
  }
  const std::vector<std::string> & heard () const { return heard_; }

private:
  static void on_socket (SoupServer *, SoupServerMessage *, const char *, SoupWebsocketConnection * ws, gpointer data)
  {
    auto *self = static_cast<FakeJanus *> (data);
    self->socket_ = SOUP_WEBSOCKET_CONNECTION (g_object_ref (ws));
    g_signal_connect (ws, "message", G_CALLBACK (on_message), self);
  }
  static void on_message (SoupWebsocketConnection *, gint, GBytes * message, gpointer data)
  {
    gsize size = 0;
    const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
    static_cast<FakeJanus *> (data)->heard_.emplace_back (text, size);
  }

  SoupServer *server_ = nullptr;
  SoupWebsocketConnection *socket_ = nullptr;
  int port_ = 0;
  std::vector<std::string> heard_;
};

/* The transaction of the last request the fake heard. */
std::string
last_transaction (const FakeJanus & fake)
{
  std::string text = fake.heard ().empty () ? "" : fake.heard ().back ();
  size_t at = text.find ("\"transaction\":\"");
  if (at == std::string::npos)
    return {};
  at += 15;
  return text.substr (at, text.find ('"', at) - at);
}

TEST (JanusClient, DropsAndCountsWhatDoesNotParse)
{
  ThreadContext shared;   /* the fake and the client run on it */
  {
    FakeJanus fake;
    ASSERT_NE (fake.url (), "ws://127.0.0.1:0");
    JanusConnection conn (fake.url ());
    ASSERT_TRUE (conn.connected ()) << conn.error ();
    conn.run_until ([&] { return fake.has_client (); });
    ASSERT_TRUE (fake.has_client ());

    int replies = 0;
    janus::Reply reply;
    conn.client ().request ([] (const std::string & t) { return janus::create_session (t); },
        [&] (const janus::Reply & r) {
          reply = r;
          replies++;
        });
    conn.run_until ([&] { return !fake.heard ().empty (); });
    std::string t = last_transaction (fake);
    ASSERT_FALSE (t.empty ()) << (fake.heard ().empty () ? "" : fake.heard ().back ());
    fake.say ("not json");
    fake.say (R"({"janus":"success","transaction":")" + t + R"(","data":{"id":"not a number"}})");
    fake.say (R"({"janus":"party","transaction":")" + t + "\"}");
    fake.say_binary ("\x01\x02");
    fake.say (R"({"janus":"ack","transaction":")" + t + "\"}");
    fake.say (R"({"janus":"event","sender":9,"plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","room":1}}})");
    fake.say (R"({"janus":"success","transaction":")" + t + R"(","data":{"id":77}})");
    fake.say (R"({"janus":"success","transaction":")" + t + R"(","data":{"id":78}})");
    conn.run_until ([&] { return conn.client ().stats ().received >= 8; });

    EXPECT_EQ (replies, 1) << "the request was answered more or less than once";
    EXPECT_EQ (reply.kind, janus::Kind::success);
    EXPECT_EQ (reply.id, 77u) << "a malformed or ack message answered the request";
    EXPECT_EQ (conn.client ().stats ().malformed, 4u);
    /* The event, and the second answer to a transaction already answered. */
    ASSERT_EQ (conn.events ().size (), 2u);
    EXPECT_EQ (conn.events ()[0].sender, 9u);
    EXPECT_EQ (conn.events ()[1].id, 78u);
  }
}

/* A server that takes requests and never answers (a hung Janus): the
 * request gets its timeout reply, counted, exactly once; an answer that
 * comes after that goes to the event handler, not to the request. */
TEST (JanusClient, AHungServerTimesRequestsOutOnce)
{
  ThreadContext shared;
  {
    FakeJanus fake;
    JanusConnection conn (fake.url ());
    ASSERT_TRUE (conn.connected ()) << conn.error ();
    conn.run_until ([&] { return fake.has_client (); });
    int replies = 0;
    janus::Reply reply;
    conn.client ().request ([] (const std::string & t) { return janus::create_session (t); },
        [&] (const janus::Reply & r) {
          reply = r;
          replies++;
        }, 300);
    conn.run_until ([&] { return replies > 0; }, 5);
    EXPECT_EQ (replies, 1);
    EXPECT_EQ (reply.kind, janus::Kind::timeout);
    EXPECT_EQ (reply.error, "Janus did not answer in time");
    EXPECT_EQ (conn.client ().stats ().timeouts, 1u);

    std::string t = last_transaction (fake);
    ASSERT_FALSE (t.empty ());
    fake.say (R"({"janus":"success","transaction":")" + t + R"(","data":{"id":5}})");
    conn.run_until ([&] { return !conn.events ().empty (); }, 5);
    EXPECT_EQ (replies, 1) << "a late answer reached a request that had timed out";
    ASSERT_EQ (conn.events ().size (), 1u);
    EXPECT_EQ (conn.events ()[0].id, 5u);
  }
}

}  // namespace
