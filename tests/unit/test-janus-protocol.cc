/* The Janus API's typed messages: requests are valid JSON with the fields
 * Janus reads (names that need escaping included), replies as Janus 1.1.2
 * sends them parse into the right fields, and anything else is refused
 * with a reason, never a crash, whatever the bytes. */
#include <gst/sframe/janus/janus-protocol.h>

#include <json-glib/json-glib.h>

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace janus = sframe::janus;
using sframe::Status;

namespace {

/* A request parsed back, to check what Janus would read. */
class Parsed {
public:
  explicit Parsed (const std::string & text) : parser_ (json_parser_new (), g_object_unref)
  {
    ok_ = json_parser_load_from_data (parser_.get (), text.c_str (), -1, nullptr) &&
        JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser_.get ()));
  }
  bool ok () const { return ok_; }
  JsonObject *root () const { return json_node_get_object (json_parser_get_root (parser_.get ())); }
  JsonObject *object (const char *name) const { return json_object_get_object_member (root (), name); }
  std::string str (JsonObject * o, const char *name) const { return json_object_get_string_member (o, name); }

private:
  std::unique_ptr<JsonParser, decltype (&g_object_unref)> parser_;
  bool ok_ = false;
};

janus::Reply
must_parse (const std::string & text)
{
  janus::Reply r;
  sframe::Result result = janus::parse (text, &r);
  EXPECT_TRUE (result.ok ()) << result.message << "\n" << text;
  return r;
}

TEST (JanusRequests, CarryTheFieldsJanusReads)
{
  Parsed attach (janus::attach (1234567890123, janus::kVideoRoomPlugin, "t1"));
  ASSERT_TRUE (attach.ok ());
  EXPECT_EQ (attach.str (attach.root (), "janus"), "attach");
  EXPECT_EQ (attach.str (attach.root (), "transaction"), "t1");
  EXPECT_EQ (attach.str (attach.root (), "plugin"), "janus.plugin.videoroom");
  EXPECT_EQ (json_object_get_int_member (attach.root (), "session_id"), 1234567890123);

  janus::Jsep offer {"offer", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", true};
  Parsed msg (janus::message (1, 2, janus::videoroom::configure (true, false), &offer, "t2"));
  ASSERT_TRUE (msg.ok ());
  EXPECT_EQ (json_object_get_int_member (msg.root (), "handle_id"), 2);
  EXPECT_EQ (msg.str (msg.object ("body"), "request"), "configure");
  EXPECT_TRUE (json_object_get_boolean_member (msg.object ("body"), "audio"));
  EXPECT_FALSE (json_object_get_boolean_member (msg.object ("body"), "video"));
  EXPECT_EQ (msg.str (msg.object ("jsep"), "sdp"), offer.sdp);
  EXPECT_TRUE (json_object_get_boolean_member (msg.object ("jsep"), "e2ee"));

  Parsed no_jsep (janus::message (1, 2, janus::videoroom::leave (), nullptr, "t3"));
  ASSERT_TRUE (no_jsep.ok ());
  EXPECT_FALSE (json_object_has_member (no_jsep.root (), "jsep"));
}

TEST (JanusRequests, EscapeWhatTheyCarry)
{
  std::string display = "Ada \"the\" Lovelace\\\n\x01 \xc3\xa9";
  Parsed join (janus::videoroom::join_publisher (42, display));
  ASSERT_TRUE (join.ok ());
  EXPECT_EQ (join.str (join.root (), "display"), display);
  EXPECT_EQ (join.str (join.root (), "ptype"), "publisher");
}

TEST (JanusRequests, RoomsAreCreatedRequiringEndToEndEncryption)
{
  janus::videoroom::RoomOptions options;
  options.room = 77;
  options.admin_key = "k";
  options.record = true;
  options.rec_dir = "/tmp/x";
  Parsed create (janus::videoroom::create_room (options));
  ASSERT_TRUE (create.ok ());
  EXPECT_TRUE (json_object_get_boolean_member (create.root (), "require_e2ee"));
  EXPECT_TRUE (json_object_get_boolean_member (create.root (), "record"));
  EXPECT_EQ (create.str (create.root (), "rec_dir"), "/tmp/x");
  EXPECT_EQ (create.str (create.root (), "admin_key"), "k");

  Parsed sub (janus::videoroom::join_subscriber (77, {5, 6}));
  ASSERT_TRUE (sub.ok ());
  JsonArray *streams = json_object_get_array_member (sub.root (), "streams");
  ASSERT_EQ (json_array_get_length (streams), 2u);
  EXPECT_EQ (json_object_get_int_member (json_array_get_object_element (streams, 1), "feed"), 6);

  Parsed end (janus::trickle (1, 2, 0, "", "t"));
  ASSERT_TRUE (end.ok ());
  EXPECT_TRUE (json_object_get_boolean_member (end.object ("candidate"), "completed"));
  Parsed one (janus::trickle (1, 2, 1, "candidate:1 1 UDP 1 127.0.0.1 5000 typ host", "t"));
  EXPECT_EQ (json_object_get_int_member (one.object ("candidate"), "sdpMLineIndex"), 1);
}

TEST (JanusReplies, ParseWhatJanusSends)
{
  janus::Reply created = must_parse (R"({"janus":"success","transaction":"t1","data":{"id":8474382938222}})");
  EXPECT_EQ (created.kind, janus::Kind::success);
  EXPECT_EQ (created.transaction, "t1");
  EXPECT_EQ (created.id, 8474382938222u);

  janus::Reply joined = must_parse (R"({"janus":"event","session_id":1,"transaction":"t4","sender":2,
      "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined","room":4242,
      "description":"Room","id":991,"private_id":5,"publishers":[{"id":7,"display":"bob","streams":[
      {"type":"video","mindex":0,"mid":"0","codec":"vp8"},{"type":"audio","mindex":1,"mid":"1","codec":"opus"}]}]}}})");
  ASSERT_TRUE (joined.has_videoroom);
  EXPECT_EQ (joined.sender, 2u);
  EXPECT_EQ (joined.videoroom.videoroom, "joined");
  EXPECT_EQ (joined.videoroom.room, 4242u);
  EXPECT_EQ (joined.videoroom.id, 991u);
  ASSERT_EQ (joined.videoroom.publishers.size (), 1u);
  EXPECT_EQ (joined.videoroom.publishers[0].display, "bob");
  ASSERT_EQ (joined.videoroom.publishers[0].streams.size (), 2u);
  EXPECT_EQ (joined.videoroom.publishers[0].streams[1].codec, "opus");

  janus::Reply answer = must_parse (R"({"janus":"event","sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"event","room":4242,"configured":"ok"}},"jsep":{"type":"answer","sdp":"v=0\r\n","e2ee":true}})");
  EXPECT_TRUE (answer.videoroom.configured);
  ASSERT_TRUE (answer.has_jsep);
  EXPECT_EQ (answer.jsep.type, "answer");
  EXPECT_TRUE (answer.jsep.e2ee);

  janus::Reply gone = must_parse (R"({"janus":"event","sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"event","room":4242,"unpublished":7}}})");
  EXPECT_EQ (gone.videoroom.unpublished, 7u);
  janus::Reply self = must_parse (R"({"janus":"event","sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"event","room":4242,"leaving":"ok"}}})");
  EXPECT_EQ (self.videoroom.leaving, 0u);

  janus::Reply refused = must_parse (R"({"janus":"event","sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"event","error_code":428,"error":"Room requires E2EE"}}})");
  EXPECT_EQ (refused.videoroom.error_code, 428);

  janus::Reply error = must_parse (R"({"janus":"error","transaction":"t","error":{"code":458,"reason":"No such session"}})");
  EXPECT_EQ (error.kind, janus::Kind::error);
  EXPECT_EQ (error.error_code, 458);
  EXPECT_EQ (error.error, "No such session");

  janus::Reply media = must_parse (R"({"janus":"media","session_id":1,"sender":2,"type":"video","receiving":true})");
  EXPECT_EQ (media.kind, janus::Kind::media);
  EXPECT_TRUE (media.media_receiving);
  EXPECT_EQ (media.media_type, "video");
}

TEST (JanusReplies, ReadServerInfoAndRoomLists)
{
  janus::Reply info = must_parse (R"({"janus":"server_info","transaction":"t","name":"Janus","version":1102,
      "plugins":{"janus.plugin.videoroom":{"name":"JANUS VideoRoom plugin"}},
      "transports":{"janus.transport.websockets":{"name":"JANUS WebSockets transport plugin"}}})");
  EXPECT_EQ (info.kind, janus::Kind::server_info);
  EXPECT_EQ (info.plugins, std::vector<std::string> {janus::kVideoRoomPlugin});
  EXPECT_EQ (info.transports, std::vector<std::string> {"janus.transport.websockets"});

  janus::Reply list = must_parse (R"({"janus":"success","sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"success","list":[{"room":1,"require_e2ee":false,"num_participants":0},
      {"room":4242,"description":"x","require_e2ee":true,"num_participants":3}]}}})");
  ASSERT_EQ (list.videoroom.rooms.size (), 2u);
  EXPECT_FALSE (list.videoroom.rooms[0].require_e2ee);
  EXPECT_EQ (list.videoroom.rooms[1].room, 4242u);
  EXPECT_TRUE (list.videoroom.rooms[1].require_e2ee);
  EXPECT_EQ (list.videoroom.rooms[1].participants, 3);

  janus::Reply r;
  EXPECT_FALSE (janus::parse (R"({"janus":"server_info","plugins":[]})", &r).ok ());
  EXPECT_FALSE (janus::parse (R"({"janus":"success","plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"list":[{"room":1,"require_e2ee":"yes"}]}}})", &r).ok ());
}

TEST (JanusReplies, RefuseWhatTheApiDoesNotSay)
{
  const char *bad[] = {
    "", "not json", "[1,2]", "42", "{}", R"({"janus":7})", R"({"janus":"party"})",
    R"({"janus":"success","data":{"id":"8"}})", R"({"janus":"success","data":{"id":-1}})",
    R"({"janus":"success","data":[]})", R"({"janus":"event","sender":"x"})",
    R"({"janus":"event","plugindata":{"plugin":"janus.plugin.videoroom","data":{"publishers":{}}}})",
    R"({"janus":"event","plugindata":{"plugin":"janus.plugin.videoroom","data":{"publishers":[1]}}})",
    R"({"janus":"event","plugindata":{"plugin":"janus.plugin.videoroom","data":{"room":"4242"}}})",
    R"({"janus":"event","jsep":{"type":"offer","sdp":5}})", R"({"janus":"error","error":{"code":"x"}})",
  };
  for (const char *text : bad) {
    janus::Reply r;
    sframe::Result result = janus::parse (text, &r);
    EXPECT_EQ (result.status, Status::malformed_frame) << text;
    EXPECT_FALSE (result.message.empty ()) << text;
  }
}

TEST (JanusReplies, BoundWhatTheyRead)
{
  std::string many = R"({"janus":"event","plugindata":{"plugin":"janus.plugin.videoroom","data":{"publishers":[)";
  for (size_t i = 0; i <= janus::kMaxPublishers; i++)
    many += (i ? ",{\"id\":" : "{\"id\":") + std::to_string (i + 1) + "}";
  many += "]}}}";
  janus::Reply r;
  EXPECT_EQ (janus::parse (many, &r).status, Status::malformed_frame) << "more publishers than kMaxPublishers";

  std::string huge = R"({"janus":"event","x":")" + std::string (janus::kMaxMessageSize, 'a') + "\"}";
  EXPECT_EQ (janus::parse (huge, &r).status, Status::malformed_frame);
}

TEST (JanusReplies, SurviveMutatedMessages)
{
  const std::string seed = R"({"janus":"event","session_id":1,"sender":2,"plugindata":{"plugin":"janus.plugin.videoroom",
      "data":{"videoroom":"joined","room":4242,"id":991,"publishers":[{"id":7,"display":"bob","streams":[
      {"type":"video","mid":"0","codec":"vp8"}]}]}},"jsep":{"type":"offer","sdp":"v=0"}})";
  std::mt19937 rng (9605);
  size_t accepted = 0;
  for (int i = 0; i < 20000; i++) {
    std::string text = seed;
    for (int edits = 1 + static_cast<int> (rng () % 4); edits > 0; edits--) {
      size_t at = rng () % text.size ();
      switch (rng () % 3) {
        case 0: text[at] = static_cast<char> (rng ()); break;
        case 1: text.erase (at, 1 + rng () % 8); break;
        default: text.insert (at, 1, "{}[]\",:0-9a"[rng () % 11]); break;
      }
      if (text.empty ())
        text = "{";
    }
    janus::Reply r;
    sframe::Result result = janus::parse (text, &r);
    if (result.ok ())
      accepted++;
    else
      EXPECT_EQ (result.status, Status::malformed_frame);
  }
  /* Some mutations still read as a valid message; most do not. */
  EXPECT_LT (accepted, 20000u);
}

}  // namespace
