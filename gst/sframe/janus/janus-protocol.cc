#include <gst/sframe/janus/janus-protocol.h>

#include <json-glib/json-glib.h>

#include <memory>

namespace sframe {
namespace janus {

namespace {

/* ---- Building --------------------------------------------------------- */

using BuilderPtr = std::unique_ptr<JsonBuilder, decltype (&g_object_unref)>;

/* Builds one JSON object: members are added in order. */
class Object {
public:
  Object () : b_ (json_builder_new (), g_object_unref) { json_builder_begin_object (b_.get ()); }

  Object & str (const char *name, const std::string & value)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_add_string_value (b_.get (), value.c_str ());
    return *this;
  }
  Object & id (const char *name, uint64_t value)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_add_int_value (b_.get (), static_cast<gint64> (value));
    return *this;
  }
  Object & num (const char *name, int64_t value)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_add_int_value (b_.get (), value);
    return *this;
  }
  Object & flag (const char *name, bool value)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_add_boolean_value (b_.get (), value);
    return *this;
  }
  /* `json` is an object built by another Object (trusted text). */
  Object & raw (const char *name, const std::string & json)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_add_value (b_.get (), json_from_string (json.c_str (), nullptr));
    return *this;
  }
  Object & ids (const char *name, const std::vector<uint64_t> & values, const char *member)
  {
    json_builder_set_member_name (b_.get (), name);
    json_builder_begin_array (b_.get ());
    for (uint64_t v : values) {
      json_builder_begin_object (b_.get ());
      json_builder_set_member_name (b_.get (), member);
      json_builder_add_int_value (b_.get (), static_cast<gint64> (v));
      json_builder_end_object (b_.get ());
    }
    json_builder_end_array (b_.get ());
    return *this;
  }
  std::string text ()
  {
    json_builder_end_object (b_.get ());
    JsonNode *root = json_builder_get_root (b_.get ());
    char *s = json_to_string (root, FALSE);
    std::string out (s);
    g_free (s);
    json_node_unref (root);
    return out;
  }

private:
  BuilderPtr b_;
};

Object
request (const char *janus, const std::string & transaction)
{
  Object o;
  o.str ("janus", janus).str ("transaction", transaction);
  return o;
}

/* ---- Parsing ---------------------------------------------------------- */

JsonNode *
member (JsonObject * o, const char *name)
{
  return o && json_object_has_member (o, name) ? json_object_get_member (o, name) : nullptr;
}

bool
holds (JsonNode * n, GType type)
{
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

/* Absent is fine (the value is left alone); present of the wrong type is
 * not. */
bool
read_string (JsonObject * o, const char *name, std::string * out)
{
  JsonNode *n = member (o, name);
  if (!n)
    return true;
  if (!holds (n, G_TYPE_STRING))
    return false;
  *out = json_node_get_string (n);
  return true;
}

bool
read_id (JsonObject * o, const char *name, uint64_t * out)
{
  JsonNode *n = member (o, name);
  if (!n)
    return true;
  if (!holds (n, G_TYPE_INT64) || json_node_get_int (n) < 0)
    return false;
  *out = static_cast<uint64_t> (json_node_get_int (n));
  return true;
}

bool
read_int (JsonObject * o, const char *name, int * out)
{
  JsonNode *n = member (o, name);
  if (!n)
    return true;
  if (!holds (n, G_TYPE_INT64))
    return false;
  *out = static_cast<int> (json_node_get_int (n));
  return true;
}

bool
read_bool (JsonObject * o, const char *name, bool * out)
{
  JsonNode *n = member (o, name);
  if (!n)
    return true;
  if (!holds (n, G_TYPE_BOOLEAN))
    return false;
  *out = json_node_get_boolean (n);
  return true;
}

JsonObject *
object_member (JsonObject * o, const char *name, bool * ok)
{
  JsonNode *n = member (o, name);
  if (!n)
    return nullptr;
  if (!JSON_NODE_HOLDS_OBJECT (n)) {
    *ok = false;
    return nullptr;
  }
  return json_node_get_object (n);
}

/* An array of objects no longer than `max`; null when absent. */
JsonArray *
object_array (JsonObject * o, const char *name, size_t max, bool * ok)
{
  JsonNode *n = member (o, name);
  if (!n)
    return nullptr;
  if (!JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (json_node_get_array (n)) > max) {
    *ok = false;
    return nullptr;
  }
  JsonArray *a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++) {
    if (!JSON_NODE_HOLDS_OBJECT (json_array_get_element (a, i))) {
      *ok = false;
      return nullptr;
    }
  }
  return a;
}

bool
read_stream (JsonObject * o, Stream * s)
{
  return read_string (o, "type", &s->type) && read_string (o, "mid", &s->mid) &&
      read_string (o, "codec", &s->codec) && read_id (o, "feed_id", &s->feed) &&
      read_bool (o, "disabled", &s->disabled);
}

bool
read_streams (JsonObject * o, std::vector<Stream> * out)
{
  bool ok = true;
  JsonArray *a = object_array (o, "streams", kMaxStreams * kMaxPublishers, &ok);
  for (guint i = 0; ok && a && i < json_array_get_length (a); i++) {
    Stream s;
    ok = read_stream (json_array_get_object_element (a, i), &s);
    out->push_back (std::move (s));
  }
  return ok;
}

bool
read_publishers (JsonObject * o, const char *name, std::vector<Publisher> * out)
{
  bool ok = true;
  JsonArray *a = object_array (o, name, kMaxPublishers, &ok);
  for (guint i = 0; ok && a && i < json_array_get_length (a); i++) {
    JsonObject *p = json_array_get_object_element (a, i);
    Publisher pub;
    ok = read_id (p, "id", &pub.id) && read_string (p, "display", &pub.display) && read_streams (p, &pub.streams) &&
        pub.streams.size () <= kMaxStreams;
    out->push_back (std::move (pub));
  }
  return ok;
}

bool
read_rooms (JsonObject * d, std::vector<RoomInfo> * out)
{
  bool ok = true;
  JsonArray *a = object_array (d, "list", kMaxRooms, &ok);
  for (guint i = 0; ok && a && i < json_array_get_length (a); i++) {
    JsonObject *o = json_array_get_object_element (a, i);
    RoomInfo room;
    ok = read_id (o, "room", &room.room) && read_bool (o, "require_e2ee", &room.require_e2ee) &&
        read_int (o, "num_participants", &room.participants);
    out->push_back (room);
  }
  return ok;
}

/* "unpublished" and "leaving" name a publisher by id, or say "ok" when
 * they are about ourselves (left at 0). */
bool
read_departure (JsonObject * d, const char *name, uint64_t * id)
{
  JsonNode *n = member (d, name);
  if (n && holds (n, G_TYPE_STRING))
    return true;
  return read_id (d, name, id);
}

bool
read_videoroom (JsonObject * d, VideoRoomData * v)
{
  std::string configured;
  bool ok = read_string (d, "videoroom", &v->videoroom) && read_id (d, "room", &v->room) &&
      read_id (d, "id", &v->id) && read_publishers (d, "publishers", &v->publishers) &&
      read_publishers (d, "participants", &v->publishers) && read_streams (d, &v->streams) &&
      read_int (d, "error_code", &v->error_code) && read_string (d, "error", &v->error) &&
      read_string (d, "configured", &configured);
  ok = ok && read_rooms (d, &v->rooms) && read_departure (d, "unpublished", &v->unpublished) && read_departure (d, "leaving", &v->leaving);
  v->configured = configured == "ok";
  return ok;
}

struct KindName {
  Kind kind;
  const char *name;
};
constexpr KindName kKinds[] = {
  {Kind::success, "success"}, {Kind::error, "error"}, {Kind::ack, "ack"}, {Kind::event, "event"},
  {Kind::webrtcup, "webrtcup"}, {Kind::media, "media"}, {Kind::hangup, "hangup"}, {Kind::slowlink, "slowlink"},
  {Kind::detached, "detached"}, {Kind::timeout, "timeout"}, {Kind::trickle, "trickle"},
  {Kind::server_info, "server_info"},
};

/* The member names of an object member (server_info's plugins and
 * transports), at most kMaxModules. */
bool
read_names (JsonObject * o, const char *name, std::vector<std::string> * out)
{
  bool ok = true;
  JsonObject *modules = object_member (o, name, &ok);
  if (!ok || !modules)
    return ok;
  if (json_object_get_size (modules) > kMaxModules)
    return false;
  GList *names = json_object_get_members (modules);
  for (GList *l = names; l; l = l->next)
    out->emplace_back (static_cast<const char *> (l->data));
  g_list_free (names);
  return true;
}

Result
refuse (const std::string & why)
{
  return {Status::malformed_frame, "Janus sent " + why};
}

Result
read_reply (JsonObject * o, Reply * r)
{
  std::string kind;
  if (!read_string (o, "janus", &kind) || kind.empty ())
    return refuse ("a message without a \"janus\" kind");
  bool known = false;
  for (const auto & k : kKinds) {
    if (kind == k.name) {
      r->kind = k.kind;
      known = true;
    }
  }
  if (!known)
    return refuse ("a message of unknown kind '" + kind.substr (0, 32) + "'");
  bool ok = read_string (o, "transaction", &r->transaction) && read_id (o, "session_id", &r->session) &&
      read_id (o, "sender", &r->sender) && read_string (o, "type", &r->media_type) &&
      read_bool (o, "receiving", &r->media_receiving);
  JsonObject *data = object_member (o, "data", &ok);
  if (ok && data)
    ok = read_id (data, "id", &r->id);
  JsonObject *error = object_member (o, "error", &ok);
  if (ok && error)
    ok = read_int (error, "code", &r->error_code) && read_string (error, "reason", &r->error);
  JsonObject *plugindata = object_member (o, "plugindata", &ok);
  if (ok && plugindata) {
    ok = read_string (plugindata, "plugin", &r->plugin);
    JsonObject *pd = object_member (plugindata, "data", &ok);
    if (ok && pd && r->plugin == kVideoRoomPlugin) {
      r->has_videoroom = true;
      ok = read_videoroom (pd, &r->videoroom);
    }
  }
  if (ok && r->kind == Kind::server_info)
    ok = read_names (o, "plugins", &r->plugins) && read_names (o, "transports", &r->transports);
  JsonObject *jsep = object_member (o, "jsep", &ok);
  if (ok && jsep) {
    r->has_jsep = true;
    ok = read_string (jsep, "type", &r->jsep.type) && read_string (jsep, "sdp", &r->jsep.sdp) &&
        read_bool (jsep, "e2ee", &r->jsep.e2ee);
  }
  return ok ? Result () : refuse ("a '" + kind + "' message with a field of the wrong type");
}

}  // namespace

const char *
kind_name (Kind kind)
{
  for (const auto & k : kKinds) {
    if (k.kind == kind)
      return k.name;
  }
  return "unknown";
}

std::string
info (const std::string & transaction)
{
  return request ("info", transaction).text ();
}

std::string
create_session (const std::string & transaction)
{
  return request ("create", transaction).text ();
}

std::string
attach (uint64_t session, const std::string & plugin, const std::string & transaction)
{
  return request ("attach", transaction).id ("session_id", session).str ("plugin", plugin).text ();
}

std::string
keepalive (uint64_t session, const std::string & transaction)
{
  return request ("keepalive", transaction).id ("session_id", session).text ();
}

std::string
destroy_session (uint64_t session, const std::string & transaction)
{
  return request ("destroy", transaction).id ("session_id", session).text ();
}

std::string
message (uint64_t session, uint64_t handle, const std::string & body, const Jsep * jsep,
    const std::string & transaction)
{
  Object o = request ("message", transaction);
  o.id ("session_id", session).id ("handle_id", handle).raw ("body", body);
  if (jsep) {
    Object j;
    j.str ("type", jsep->type).str ("sdp", jsep->sdp);
    if (jsep->e2ee)
      j.flag ("e2ee", true);
    o.raw ("jsep", j.text ());
  }
  return o.text ();
}

std::string
trickle (uint64_t session, uint64_t handle, unsigned mline_index, const std::string & candidate,
    const std::string & transaction)
{
  Object c;
  if (candidate.empty ())
    c.flag ("completed", true);
  else
    c.str ("candidate", candidate).num ("sdpMLineIndex", mline_index);
  return request ("trickle", transaction).id ("session_id", session).id ("handle_id", handle)
      .raw ("candidate", c.text ()).text ();
}

namespace videoroom {

std::string
create_room (const RoomOptions & options)
{
  Object o;
  o.str ("request", "create").id ("room", options.room).flag ("require_e2ee", options.require_e2ee)
      .num ("publishers", options.publishers).flag ("record", options.record);
  if (!options.admin_key.empty ())
    o.str ("admin_key", options.admin_key);
  if (!options.rec_dir.empty ())
    o.str ("rec_dir", options.rec_dir);
  if (!options.videocodec.empty ())
    o.str ("videocodec", options.videocodec);
  if (!options.audiocodec.empty ())
    o.str ("audiocodec", options.audiocodec);
  return o.text ();
}

std::string
join_publisher (uint64_t room, const std::string & display)
{
  return Object ().str ("request", "join").str ("ptype", "publisher").id ("room", room).str ("display", display)
      .text ();
}

std::string
configure (bool audio, bool video)
{
  return Object ().str ("request", "configure").flag ("audio", audio).flag ("video", video).text ();
}

std::string
join_subscriber (uint64_t room, const std::vector<uint64_t> & feeds)
{
  return Object ().str ("request", "join").str ("ptype", "subscriber").id ("room", room)
      .ids ("streams", feeds, "feed").text ();
}

std::string
start ()
{
  return Object ().str ("request", "start").text ();
}

std::string
leave ()
{
  return Object ().str ("request", "leave").text ();
}

std::string
list_rooms ()
{
  return Object ().str ("request", "list").text ();
}

std::string
list_participants (uint64_t room)
{
  return Object ().str ("request", "listparticipants").id ("room", room).text ();
}

}  // namespace videoroom

Result
parse (const std::string & text, Reply * reply)
{
  if (text.size () > kMaxMessageSize)
    return refuse ("a message of " + std::to_string (text.size ()) + " bytes");
  std::unique_ptr<JsonParser, decltype (&g_object_unref)> parser (json_parser_new (), g_object_unref);
  GError *error = nullptr;
  if (!json_parser_load_from_data (parser.get (), text.data (), static_cast<gssize> (text.size ()), &error)) {
    std::string why = error ? error->message : "unknown";
    g_clear_error (&error);
    return refuse ("text that is not JSON (" + why + ")");
  }
  JsonNode *root = json_parser_get_root (parser.get ());
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    return refuse ("JSON that is not an object");
  Reply r;
  Result result = read_reply (json_node_get_object (root), &r);
  if (result.ok ())
    *reply = std::move (r);
  return result;
}

}  // namespace janus
}  // namespace sframe
