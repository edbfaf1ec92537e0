/* The Janus the room tests use, against what they rely on: it starts from
 * its generated configuration on loopback with only the VideoRoom plugin
 * and the WebSocket transport, creates rooms that require end-to-end
 * encryption, survives a kill and a restart on the same port, and leaves
 * no process behind. Spoken to over libsoup 3's WebSocket client with
 * json-glib, as the room elements will. */
#include "janus-server.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>

namespace {

using sframe_test::JanusServer;

/* A blocking Janus API connection for the test: one request, one reply. */
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

  /* Sends `request` (a JSON object without transaction) and returns the
   * reply with the same transaction that is not an "ack", or null. */
  JsonObject *request (const std::string & request_json)
  {
    std::string transaction = "t" + std::to_string (++transactions_);
    std::string text = request_json.substr (0, request_json.rfind ('}')) + ", \"transaction\": \"" + transaction + "\"}";
    soup_websocket_connection_send_text (ws_, text.c_str ());
    JsonObject *found = nullptr;
    run_until ([&] {
      while (!replies_.empty () && !found) {
        JsonObject *o = json_node_get_object (replies_.front ());
        bool mine = json_object_has_member (o, "transaction") &&
            transaction == json_object_get_string_member (o, "transaction") &&
            std::string (json_object_get_string_member (o, "janus")) != "ack";
        if (mine)
          found = json_object_ref (o);
        json_node_unref (replies_.front ());
        replies_.erase (replies_.begin ());
      }
      return found != nullptr;
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
    if (type != SOUP_WEBSOCKET_DATA_TEXT)
      return;
    gsize size = 0;
    const char *text = static_cast<const char *> (g_bytes_get_data (message, &size));
    JsonNode *node = json_from_string (std::string (text, size).c_str (), nullptr);
    if (node && JSON_NODE_HOLDS_OBJECT (node))
      self->replies_.push_back (node);
    else if (node)
      json_node_unref (node);
  }

  GMainContext *context_ = nullptr;
  SoupSession *session_ = nullptr;
  SoupWebsocketConnection *ws_ = nullptr;
  std::string error_;
  std::vector<JsonNode *> replies_;
  int transactions_ = 0;
};

using ObjectPtr = std::unique_ptr<JsonObject, decltype (&json_object_unref)>;

ObjectPtr
ask (JanusConnection & c, const std::string & request)
{
  return ObjectPtr (c.request (request), json_object_unref);
}

std::string
janus_of (const ObjectPtr & reply)
{
  return reply && json_object_has_member (reply.get (), "janus") ?
      json_object_get_string_member (reply.get (), "janus") : "(no reply)";
}

/* The VideoRoom reply inside a plugin reply ("plugindata"."data"). */
JsonObject *
plugin_data (const ObjectPtr & reply)
{
  if (!reply || !json_object_has_member (reply.get (), "plugindata"))
    return nullptr;
  JsonObject *pd = json_object_get_object_member (reply.get (), "plugindata");
  return pd && json_object_has_member (pd, "data") ? json_object_get_object_member (pd, "data") : nullptr;
}

bool
has_string (JsonObject * object, const char *member, const char *wanted)
{
  if (!object || !json_object_has_member (object, member))
    return false;
  JsonNode *node = json_object_get_member (object, member);
  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_object_has_member (json_node_get_object (node), wanted);
  return false;
}

/* A session with the VideoRoom plugin attached; 0s on failure. */
struct Handle {
  gint64 session = 0;
  gint64 handle = 0;
};

Handle
attach_videoroom (JanusConnection & c)
{
  Handle h;
  ObjectPtr created = ask (c, "{\"janus\": \"create\"}");
  if (janus_of (created) != "success")
    return h;
  h.session = json_object_get_int_member (json_object_get_object_member (created.get (), "data"), "id");
  ObjectPtr attached = ask (c, "{\"janus\": \"attach\", \"plugin\": \"janus.plugin.videoroom\", \"session_id\": " +
      std::to_string (h.session) + "}");
  if (janus_of (attached) == "success")
    h.handle = json_object_get_int_member (json_object_get_object_member (attached.get (), "data"), "id");
  return h;
}

ObjectPtr
videoroom (JanusConnection & c, const Handle & h, const std::string & body)
{
  return ask (c, "{\"janus\": \"message\", \"session_id\": " + std::to_string (h.session) +
      ", \"handle_id\": " + std::to_string (h.handle) + ", \"body\": " + body + "}");
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
  ObjectPtr info = ask (c, "{\"janus\": \"info\"}");
  ASSERT_EQ (janus_of (info), "server_info") << janus_.log ();
  EXPECT_TRUE (has_string (info.get (), "plugins", "janus.plugin.videoroom"));
  EXPECT_FALSE (has_string (info.get (), "plugins", "janus.plugin.echotest"));
  EXPECT_FALSE (has_string (info.get (), "plugins", "janus.plugin.streaming"));
  EXPECT_TRUE (has_string (info.get (), "transports", "janus.transport.websockets"));
  EXPECT_FALSE (has_string (info.get (), "transports", "janus.transport.http"));
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
  ObjectPtr refused = videoroom (c, h, "{\"request\": \"create\", \"room\": 4242, \"require_e2ee\": true}");
  JsonObject *data = plugin_data (refused);
  ASSERT_NE (data, nullptr) << janus_.log ();
  EXPECT_TRUE (json_object_has_member (data, "error_code")) << "a room was created without the admin key";

  std::string create = std::string ("{\"request\": \"create\", \"room\": 4242, \"require_e2ee\": true, ") +
      "\"publishers\": 6, \"admin_key\": \"" + JanusServer::kAdminKey + "\"}";
  ObjectPtr created = videoroom (c, h, create);
  data = plugin_data (created);
  ASSERT_NE (data, nullptr);
  ASSERT_STREQ (json_object_get_string_member (data, "videoroom"), "created")
      << (json_object_has_member (data, "error") ? json_object_get_string_member (data, "error") : "");

  ObjectPtr listed = videoroom (c, h, "{\"request\": \"list\"}");
  data = plugin_data (listed);
  ASSERT_NE (data, nullptr);
  JsonArray *rooms = json_object_get_array_member (data, "list");
  bool found = false;
  for (guint i = 0; rooms && i < json_array_get_length (rooms); i++) {
    JsonObject *room = json_array_get_object_element (rooms, i);
    if (json_object_get_int_member (room, "room") != 4242)
      continue;
    found = true;
    ASSERT_TRUE (json_object_has_member (room, "require_e2ee"));
    EXPECT_TRUE (json_object_get_boolean_member (room, "require_e2ee"));
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
