/* The Janus the room tests use, against what they rely on: it starts from
 * its generated configuration on loopback with only the VideoRoom plugin
 * and the WebSocket transport, creates rooms that require end-to-end
 * encryption, survives a kill and a restart on the same port, and leaves
 * no process behind. Spoken to over libsoup 3's WebSocket client with
 * json-glib, as the room elements will. */
#include "janus-server.h"

#include <gst/sframe/janus/janus-protocol.h>

#include <glib.h>
#include <libsoup/soup.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace {

namespace janus = sframe::janus;
using sframe_test::JanusServer;

/* A blocking Janus API connection for the test: one request, one reply,
 * with the library's typed messages (janus-protocol.h). */
class JanusConnection {
public:
  explicit JanusConnection (const std::string & url)
  {
    context_ = g_main_context_new ();
    g_main_context_push_thread_default (context_);
    session_ = soup_session_new ();
    SoupMessage *msg = soup_message_new ("GET", url.c_str ());
    const char *protocols[] = {"janus-protocol", nullptr};
    soup_session_websocket_connect_async (session_, msg, nullptr, const_cast<char **> (protocols), G_PRIORITY_DEFAULT,
        nullptr, on_connected, this);
    g_object_unref (msg);
    run_until ([this] { return ws_ != nullptr || !error_.empty (); });
    if (ws_)
      g_signal_connect (ws_, "message", G_CALLBACK (on_message), this);
  }
  ~JanusConnection ()
  {
    if (ws_) {
      soup_websocket_connection_close (ws_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
      g_object_unref (ws_);
    }
    g_object_unref (session_);
    g_main_context_pop_thread_default (context_);
    g_main_context_unref (context_);
  }

  bool connected () const { return ws_ != nullptr; }
  const std::string & error () const { return error_; }

  /* Sends the request `build` makes for a fresh transaction; returns the
   * reply with that transaction that is not an ack (kind "timeout" when
   * none came). Every message Janus sent must parse. */
  janus::Reply request (const std::function<std::string (const std::string &)> & build)
  {
    std::string transaction = "t" + std::to_string (++transactions_);
    soup_websocket_connection_send_text (ws_, build (transaction).c_str ());
    janus::Reply found;
    found.kind = janus::Kind::timeout;
    run_until ([&] {
      for (; !replies_.empty (); replies_.erase (replies_.begin ())) {
        janus::Reply r;
        sframe::Result parsed = janus::parse (replies_.front (), &r);
        EXPECT_TRUE (parsed.ok ()) << parsed.message;
        if (parsed.ok () && r.transaction == transaction && r.kind != janus::Kind::ack) {
          found = std::move (r);
          replies_.erase (replies_.begin ());
          return true;
        }
      }
      return false;
    });
    return found;
  }

private:
  template <typename Done> void run_until (Done done)
  {
    gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (!done () && g_get_monotonic_time () < deadline)
      g_main_context_iteration (context_, TRUE);
  }
  static void on_connected (GObject * source, GAsyncResult * result, gpointer data)
  {
    auto *self = static_cast<JanusConnection *> (data);
    GError *err = nullptr;
    self->ws_ = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &err);
    if (err) {
      self->error_ = err->message;
      g_error_free (err);
    }
  }
  static void on_message (SoupWebsocketConnection *, gint type, GBytes * message, gpointer data)
  {
    auto *self = static_cast<JanusConnection *> (data);
    gsize size = 0;
    const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
    if (type == SOUP_WEBSOCKET_DATA_TEXT)
      self->replies_.emplace_back (text, size);
  }

  GMainContext *context_ = nullptr;
  SoupSession *session_ = nullptr;
  SoupWebsocketConnection *ws_ = nullptr;
  std::string error_;
  std::vector<std::string> replies_;
  int transactions_ = 0;
};

/* A session with the VideoRoom plugin attached; 0s on failure. */
struct Handle {
  uint64_t session = 0;
  uint64_t handle = 0;
};

Handle
attach_videoroom (JanusConnection & c)
{
  Handle h;
  janus::Reply created = c.request ([] (const std::string & t) { return janus::create_session (t); });
  if (created.kind != janus::Kind::success)
    return h;
  h.session = created.id;
  janus::Reply attached = c.request ([&] (const std::string & t) {
    return janus::attach (h.session, janus::kVideoRoomPlugin, t);
  });
  if (attached.kind == janus::Kind::success)
    h.handle = attached.id;
  return h;
}

janus::Reply
videoroom (JanusConnection & c, const Handle & h, const std::string & body)
{
  return c.request ([&] (const std::string & t) { return janus::message (h.session, h.handle, body, nullptr, t); });
}

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
  /* ICE gathers on loopback alone. */
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

}  // namespace
