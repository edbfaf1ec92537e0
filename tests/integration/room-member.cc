/* room-member: one member of an SFrame room, as one process, for the NATS
 * room tests (test-room-nats.cc). It runs a pipeline of
 *
 *   keymanager room=R bus=URI identity=... token-file=... authority=...
 *   appsrc ! sframeenc room=R mode=frame ! appsink      (what it sends)
 *   appsrc ! sframedec room=R mode=frame ! appsink      (what it receives)
 *
 * Every --interval ms it encrypts the frame "<name>:<seq>:<padding>" and
 * publishes the ciphertext on --media-subject, a NATS subject standing in
 * for the SFU (never one of the key bus subjects). It feeds every other
 * member's ciphertext from that subject into sframedec and checks every
 * plaintext that comes out: the format, the padding (a function of name and
 * seq), that the name is a member some roster named, and that no frame comes
 * out twice. The media envelope is <name length><name><ciphertext>: the
 * sender's name is in clear, as an SSRC is for an SFU.
 *
 * It prints one JSON object per line on stdout (flushed): "started",
 * "roster", "key-rotated", "refused", "left", "warning", "error",
 * "mismatch", a "progress" line every second (per-sender decrypted counts,
 * sframedec/sframeenc/keymanager counters, the current roster) and
 * "stopped" with the final counters. It stops after --duration seconds, or,
 * without one, when its stdin closes; also on SIGTERM/SIGINT. Exit status:
 * 0 on a clean stop, 1 on a pipeline error, 2 on bad arguments.
 *
 * Example:
 *   room-member --room board --bus nats://127.0.0.1:4222 --identity alice.key \
 *       --token-file alice.jwt --authority org.pub --name alice \
 *       --media-subject media.board --duration 10
 */
#include <gst/sframe/bus/bus.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <glib-unix.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

constexpr const char *kMediaCaps = "application/x-room-test-frame";
constexpr size_t kMaxMismatchReports = 10;

struct Options {
  std::string room;
  std::string bus;
  std::string media_bus;   /* default: bus */
  sframe::BusSecurity security;   /* of both buses */
  std::string identity;
  std::string token_file;
  std::string authority;
  std::string name;
  std::string media_subject;
  int duration_s = 0;      /* 0: until stdin closes */
  int interval_ms = 20;
  int discovery_ms = 300;
  int heartbeat_ms = 300;
  int liveness_ms = 8000;
  int switch_ms = 1000;
  int grace_ms = 2000;
};

/* ------------------------------------------------------------------------
 * JSON output: one object per line, flushed, from any thread. */

std::mutex print_lock;

std::string
json_string (const std::string & s)
{
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          g_snprintf (buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char> (c);
        }
    }
  }
  return out + "\"";
}

/* Builds {"event":NAME, ...} field by field. */
class Line {
public:
  explicit Line (const char *event) { text_ = "{\"event\":" + json_string (event); }

  Line & str (const char *key, const std::string & value) { return raw (key, json_string (value)); }
  Line & num (const char *key, uint64_t value) { return raw (key, std::to_string (value)); }
  Line & boolean (const char *key, bool value) { return raw (key, value ? "true" : "false"); }
  Line & raw (const char *key, const std::string & json)
  {
    text_ += "," + json_string (key) + ":" + json;
    return *this;
  }

  void print () const
  {
    std::lock_guard<std::mutex> lock (print_lock);
    fputs ((text_ + "}\n").c_str (), stdout);
    fflush (stdout);
  }

private:
  std::string text_;
};

std::string
json_names (const std::vector<std::string> & names)
{
  std::string out = "[";
  for (size_t i = 0; i < names.size (); i++)
    out += (i ? "," : "") + json_string (names[i]);
  return out + "]";
}

/* The uint64 fields of a stats structure as a JSON object. */
std::string
json_counters (const GstStructure * s)
{
  std::string out = "{";
  if (s) {
    bool first = true;
    for (int i = 0; i < gst_structure_n_fields (s); i++) {
      const char *field = gst_structure_nth_field_name (s, i);
      guint64 value = 0;
      if (!gst_structure_get_uint64 (s, field, &value))
        continue;
      out += (first ? "" : ",") + json_string (field) + ":" + std::to_string (value);
      first = false;
    }
  }
  return out + "}";
}

/* ------------------------------------------------------------------------
 * Frames: "<name>:<seq>:<padding>", the padding a function of both. */

uint32_t
name_hash (const std::string & name)
{
  uint32_t h = 2166136261u;   /* FNV-1a */
  for (unsigned char c : name)
    h = (h ^ c) * 16777619u;
  return h;
}

std::string
padding_for (const std::string & name, uint64_t seq)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  uint32_t h = name_hash (name);
  size_t length = 32 + (h + seq * 7) % 97;
  std::string out (length, ' ');
  for (size_t i = 0; i < length; i++)
    out[i] = alphabet[(h + seq * 31 + i * 17) % 36];
  return out;
}

std::string
frame_for (const std::string & name, uint64_t seq)
{
  return name + ":" + std::to_string (seq) + ":" + padding_for (name, seq);
}

/* Splits a plaintext into name and seq; false unless it is exactly
 * frame_for (name, seq). */
bool
parse_frame (const std::string & text, std::string * name, uint64_t * seq)
{
  size_t first = text.find (':');
  if (first == std::string::npos || first == 0)
    return false;
  size_t second = text.find (':', first + 1);
  if (second == std::string::npos || second == first + 1 || second - first - 1 > 19)
    return false;
  uint64_t value = 0;
  for (size_t i = first + 1; i < second; i++) {
    if (text[i] < '0' || text[i] > '9')
      return false;
    value = value * 10 + static_cast<uint64_t> (text[i] - '0');
  }
  *name = text.substr (0, first);
  *seq = value;
  return text == frame_for (*name, value);
}

/* ------------------------------------------------------------------------
 * The member */

struct SenderCount {
  uint64_t frames = 0;
  uint64_t last_seq = 0;
  std::set<uint64_t> seen;
};

struct Member {
  Options options;
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *km = nullptr;
  GstElement *enc = nullptr;
  GstElement *dec = nullptr;
  GstElement *enc_src = nullptr;
  GstElement *dec_src = nullptr;
  std::unique_ptr<sframe::Bus> media_bus;
  std::unique_ptr<sframe::BusSubscription> media_subscription;
  gint64 started_us = 0;
  bool failed = false;

  uint64_t next_seq = 0;           /* frames made (main thread only) */

  /* Written by the streaming and transport threads. */
  std::mutex lock;
  uint64_t published = 0;          /* ciphertexts published */
  uint64_t last_published_seq = 0;
  uint64_t publish_failures = 0;
  uint64_t media_received = 0;     /* other members' ciphertexts */
  uint64_t bad_envelopes = 0;
  uint64_t mismatches = 0;
  uint64_t duplicates = 0;
  std::set<std::string> known_names;   /* every name a roster showed */
  std::map<std::string, SenderCount> decrypted;
};

void
report_mismatch (Member * m, const std::string & detail)
{
  /* Under m->lock. */
  m->mismatches++;
  if (m->mismatches <= kMaxMismatchReports)
    Line ("mismatch").str ("detail", detail).print ();
}

/* Members' display names in a roster structure (sframe-roster, or the
 * keymanager `roster` property). */
std::vector<std::string>
roster_names (const GstStructure * roster, const char *field = "members")
{
  std::vector<std::string> names;
  const GValue *list = gst_structure_get_value (roster, field);
  if (!list || !GST_VALUE_HOLDS_LIST (list))
    return names;
  for (guint i = 0; i < gst_value_list_get_size (list); i++) {
    const GValue *item = gst_value_list_get_value (list, i);
    if (!GST_VALUE_HOLDS_STRUCTURE (item))
      continue;
    const char *name = gst_structure_get_string (gst_value_get_structure (item), "display-name");
    names.push_back (name ? name : "");
  }
  return names;
}

/* --- Sending ------------------------------------------------------------ */

gboolean
push_next_frame (gpointer data)
{
  auto m = static_cast<Member *> (data);
  uint64_t seq = ++m->next_seq;
  std::string text = frame_for (m->options.name, seq);
  GstBuffer *buf = gst_buffer_new_memdup (text.data (), text.size ());
  /* The frame's seq travels in its offset, so the published ciphertext can
   * say which frame it was (sframeenc drops frames while it has no key). */
  GST_BUFFER_OFFSET (buf) = seq;
  gst_app_src_push_buffer (GST_APP_SRC (m->enc_src), buf);
  return G_SOURCE_CONTINUE;
}

GstFlowReturn
on_ciphertext (GstAppSink * sink, gpointer data)
{
  auto m = static_cast<Member *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    const std::string & name = m->options.name;
    std::vector<uint8_t> envelope;
    envelope.reserve (1 + name.size () + map.size);
    envelope.push_back (static_cast<uint8_t> (name.size ()));
    envelope.insert (envelope.end (), name.begin (), name.end ());
    envelope.insert (envelope.end (), map.data, map.data + map.size);
    gst_buffer_unmap (buf, &map);
    auto status = m->media_bus->publish (m->options.media_subject, {envelope.data (), envelope.size ()});
    std::lock_guard<std::mutex> lock (m->lock);
    if (status == sframe::Status::ok) {
      m->published++;
      if (GST_BUFFER_OFFSET_IS_VALID (buf) && GST_BUFFER_OFFSET (buf) > m->last_published_seq)
        m->last_published_seq = GST_BUFFER_OFFSET (buf);
    } else {
      m->publish_failures++;
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* --- Receiving ---------------------------------------------------------- */

/* On a NATS transport thread: must return quickly. */
void
on_media (Member * m, sframe::ByteView payload)
{
  if (payload.size < 1 || payload.size < 1u + payload.data[0]) {
    std::lock_guard<std::mutex> lock (m->lock);
    m->bad_envelopes++;
    return;
  }
  size_t name_length = payload.data[0];
  std::string sender (reinterpret_cast<const char *> (payload.data + 1), name_length);
  if (sender == m->options.name)
    return;   /* our own frame, echoed by the subject */
  {
    std::lock_guard<std::mutex> lock (m->lock);
    m->media_received++;
  }
  const uint8_t *ct = payload.data + 1 + name_length;
  size_t ct_size = payload.size - 1 - name_length;
  gst_app_src_push_buffer (GST_APP_SRC (m->dec_src), gst_buffer_new_memdup (ct, ct_size));
}

GstFlowReturn
on_plaintext (GstAppSink * sink, gpointer data)
{
  auto m = static_cast<Member *> (data);
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    std::string text (reinterpret_cast<const char *> (map.data), map.size);
    gst_buffer_unmap (buf, &map);
    std::string name;
    uint64_t seq = 0;
    std::lock_guard<std::mutex> lock (m->lock);
    if (!parse_frame (text, &name, &seq)) {
      report_mismatch (m, "malformed plaintext of " + std::to_string (text.size ()) + " bytes: " +
          text.substr (0, 40));
    } else if (name == m->options.name) {
      report_mismatch (m, "our own frame " + std::to_string (seq) + " came out of the decrypter");
    } else if (!m->known_names.count (name)) {
      report_mismatch (m, "frame " + std::to_string (seq) + " from " + name + ", never in a roster");
    } else {
      SenderCount & count = m->decrypted[name];
      if (!count.seen.insert (seq).second) {
        m->duplicates++;
        report_mismatch (m, "frame " + std::to_string (seq) + " from " + name + " decrypted twice");
      } else {
        count.frames++;
        count.last_seq = std::max (count.last_seq, seq);
      }
    }
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* --- Reporting ---------------------------------------------------------- */

GstStructure *
stats_of (GstElement * element)
{
  GstStructure *stats = nullptr;
  g_object_get (element, "stats", &stats, nullptr);
  return stats;
}

/* Everything a progress (or the final) line says. */
Line
progress_line (Member * m, const char *event)
{
  Line line (event);
  line.str ("name", m->options.name).num ("t-ms", (g_get_monotonic_time () - m->started_us) / 1000);

  GstStructure *dec = stats_of (m->dec);
  GstStructure *enc = stats_of (m->enc);
  GstStructure *km = stats_of (m->km);
  guint64 epoch = 0;
  gchar *code = nullptr;
  GstStructure *roster = nullptr;
  g_object_get (m->km, "epoch", &epoch, "security-code", &code, "roster", &roster, nullptr);
  std::vector<std::string> members = roster ? roster_names (roster) : std::vector<std::string> ();

  {
    std::lock_guard<std::mutex> lock (m->lock);
    std::string counts = "{", last = "{";
    bool first = true;
    for (const auto & d : m->decrypted) {
      counts += (first ? "" : ",") + json_string (d.first) + ":" + std::to_string (d.second.frames);
      last += (first ? "" : ",") + json_string (d.first) + ":" + std::to_string (d.second.last_seq);
      first = false;
    }
    line.num ("made", m->next_seq).num ("published", m->published)
        .num ("last-published-seq", m->last_published_seq).num ("publish-failures", m->publish_failures)
        .num ("media-received", m->media_received).num ("bad-envelopes", m->bad_envelopes)
        .raw ("decrypted", counts + "}").raw ("last-seq", last + "}")
        .num ("mismatches", m->mismatches).num ("duplicates", m->duplicates);
  }
  gboolean connected = FALSE;
  if (km)
    gst_structure_get_boolean (km, "bus-connected", &connected);
  line.num ("epoch", epoch).num ("members", members.size ()).raw ("names", json_names (members))
      .str ("security-code", code ? code : "").boolean ("bus-connected", connected)
      .raw ("dec", json_counters (dec)).raw ("enc", json_counters (enc)).raw ("km", json_counters (km));
  g_free (code);
  for (GstStructure *s : {dec, enc, km, roster}) {
    if (s)
      gst_structure_free (s);
  }
  return line;
}

gboolean
print_progress (gpointer data)
{
  progress_line (static_cast<Member *> (data), "progress").print ();
  return G_SOURCE_CONTINUE;
}

/* In the thread that posts (the keymanager's worker): the names of a roster
 * are known before any key of its members can be installed, so a frame
 * never decrypts under a name the decrypter has not learned yet. */
GstBusSyncReply
learn_roster (GstBus *, GstMessage * message, gpointer data)
{
  auto m = static_cast<Member *> (data);
  const GstStructure *s = gst_message_get_structure (message);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name (s, "sframe-roster")) {
    std::lock_guard<std::mutex> lock (m->lock);
    for (const auto & name : roster_names (s))
      m->known_names.insert (name);
  }
  return GST_BUS_PASS;
}

void
report_element_message (const GstStructure * s)
{
  const char *type = gst_structure_get_name (s);
  auto get = [s] (const char *field) {
    const char *value = gst_structure_get_string (s, field);
    return std::string (value ? value : "");
  };
  if (g_str_equal (type, "sframe-roster")) {
    guint64 epoch = 0;
    gst_structure_get_uint64 (s, "epoch", &epoch);
    auto members = roster_names (s);
    Line ("roster").num ("epoch", epoch).num ("members", members.size ()).raw ("names", json_names (members))
        .num ("lobby", roster_names (s, "lobby").size ()).str ("security-code", get ("security-code"))
        .str ("committer", get ("committer")).print ();
  } else if (g_str_equal (type, "sframe-key-rotated")) {
    guint64 key_id = 0;
    gst_structure_get_uint64 (s, "key-id", &key_id);
    Line ("key-rotated").num ("key-id", key_id).str ("reason", get ("reason")).print ();
  } else if (g_str_equal (type, "sframe-member-refused")) {
    Line ("refused").str ("who", get ("who")).str ("reason", get ("reason")).str ("detail", get ("detail"))
        .print ();
  } else if (g_str_equal (type, "sframe-left")) {
    Line ("left").str ("reason", get ("reason")).print ();
  }
}

gboolean
on_bus_message (GstBus *, GstMessage * message, gpointer data)
{
  auto m = static_cast<Member *> (data);
  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (message);
      if (s)
        report_element_message (s);
      break;
    }
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ERROR: {
      GError *error = nullptr;
      gchar *debug = nullptr;
      bool fatal = GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR;
      if (fatal)
        gst_message_parse_error (message, &error, &debug);
      else
        gst_message_parse_warning (message, &error, &debug);
      Line (fatal ? "error" : "warning").str ("source", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)))
          .str ("message", error ? error->message : "").str ("debug", debug ? debug : "").print ();
      g_clear_error (&error);
      g_free (debug);
      if (fatal) {
        m->failed = true;
        g_main_loop_quit (m->loop);
      }
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (static_cast<Member *> (data)->loop);
  return G_SOURCE_REMOVE;
}

gboolean
on_stdin (gint fd, GIOCondition, gpointer data)
{
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n > 0)
    return G_SOURCE_CONTINUE;   /* input is ignored; only its end matters */
  g_main_loop_quit (static_cast<Member *> (data)->loop);
  return G_SOURCE_REMOVE;
}

/* --- Setting up --------------------------------------------------------- */

GstElement *
add (Member * m, const char *factory, const char *name)
{
  GstElement *e = gst_element_factory_make (factory, name);
  if (!e) {
    Line ("error").str ("source", "room-member").str ("message", std::string ("no element ") + factory).print ();
    return nullptr;
  }
  gst_bin_add (GST_BIN (m->pipeline), e);
  return e;
}

bool
build_pipeline (Member * m)
{
  const Options & o = m->options;
  m->pipeline = gst_pipeline_new ("member");
  m->km = add (m, "keymanager", "km");
  m->enc_src = add (m, "appsrc", "enc_src");
  m->enc = add (m, "sframeenc", "enc");
  GstElement *enc_sink = add (m, "appsink", "enc_sink");
  m->dec_src = add (m, "appsrc", "dec_src");
  m->dec = add (m, "sframedec", "dec");
  GstElement *dec_sink = add (m, "appsink", "dec_sink");
  if (!m->km || !m->enc_src || !m->enc || !enc_sink || !m->dec_src || !m->dec || !dec_sink)
    return false;

  g_object_set (m->km, "room", o.room.c_str (), "bus", o.bus.c_str (), "identity", o.identity.c_str (),
      "token-file", o.token_file.c_str (), "authority", o.authority.c_str (),
      "discovery-timeout", static_cast<guint> (o.discovery_ms),
      "heartbeat-interval", static_cast<guint> (o.heartbeat_ms),
      "liveness-timeout", static_cast<guint> (o.liveness_ms),
      "switch-timeout", static_cast<guint> (o.switch_ms),
      "grace-period", static_cast<guint> (o.grace_ms), nullptr);
  auto set_if = [&] (const char *property, const std::string & value) {
    if (!value.empty ())
      g_object_set (m->km, property, value.c_str (), nullptr);
  };
  set_if ("tls-ca-file", o.security.tls_ca_file);
  set_if ("tls-cert-file", o.security.tls_cert_file);
  set_if ("tls-key-file", o.security.tls_key_file);
  set_if ("nats-credentials", o.security.credentials_file);
  for (GstElement *e : {m->enc, m->dec})
    gst_util_set_object_arg (G_OBJECT (e), "mode", "frame");
  g_object_set (m->enc, "room", o.room.c_str (), nullptr);
  g_object_set (m->dec, "room", o.room.c_str (), nullptr);

  GstCaps *media = gst_caps_from_string (kMediaCaps);
  GstCaps *sframe = gst_caps_new_simple ("application/x-sframe", "original-caps", G_TYPE_STRING, kMediaCaps,
      nullptr);
  for (GstElement *src : {m->enc_src, m->dec_src}) {
    g_object_set (src, "is-live", TRUE, "do-timestamp", TRUE, "format", GST_FORMAT_TIME,
        "caps", src == m->enc_src ? media : sframe, nullptr);
  }
  gst_caps_unref (media);
  gst_caps_unref (sframe);

  GstAppSinkCallbacks enc_callbacks = {};
  enc_callbacks.new_sample = on_ciphertext;
  gst_app_sink_set_callbacks (GST_APP_SINK (enc_sink), &enc_callbacks, m, nullptr);
  GstAppSinkCallbacks dec_callbacks = {};
  dec_callbacks.new_sample = on_plaintext;
  gst_app_sink_set_callbacks (GST_APP_SINK (dec_sink), &dec_callbacks, m, nullptr);
  for (GstElement *sink : {enc_sink, dec_sink})
    g_object_set (sink, "sync", FALSE, "async", FALSE, nullptr);

  return gst_element_link_many (m->enc_src, m->enc, enc_sink, nullptr) &&
      gst_element_link_many (m->dec_src, m->dec, dec_sink, nullptr);
}

bool
open_media (Member * m)
{
  sframe::Result opened = sframe::open_bus (m->options.media_bus, m->options.security, &m->media_bus);
  if (!opened.ok ()) {
    Line ("error").str ("source", "media").str ("message", "cannot open the media bus: " + opened.message).print ();
    return false;
  }
  m->media_subscription = m->media_bus->subscribe (m->options.media_subject,
      [m] (const std::string &, sframe::ByteView payload) { on_media (m, payload); });
  if (!m->media_subscription) {
    Line ("error").str ("source", "media").str ("message", "cannot subscribe to the media subject").print ();
    return false;
  }
  return true;
}

bool
parse_options (int argc, char **argv, Options * o)
{
  gchar *room = nullptr, *bus = nullptr, *media_bus = nullptr, *identity = nullptr, *token_file = nullptr,
      *authority = nullptr, *name = nullptr, *media_subject = nullptr, *tls_ca = nullptr, *tls_cert = nullptr,
      *tls_key = nullptr, *creds = nullptr;
  GOptionEntry entries[] = {
    {"room", 0, 0, G_OPTION_ARG_STRING, &room, "Room name", "ROOM"},
    {"bus", 0, 0, G_OPTION_ARG_STRING, &bus, "Key bus URI (nats://HOST:PORT[,...])", "URI"},
    {"media-bus", 0, 0, G_OPTION_ARG_STRING, &media_bus, "Media bus URI (default: --bus)", "URI"},
    {"identity", 0, 0, G_OPTION_ARG_FILENAME, &identity, "Device private key file", "FILE"},
    {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "Join token file", "FILE"},
    {"authority", 0, 0, G_OPTION_ARG_FILENAME, &authority, "Room authority public key file", "FILE"},
    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "This member's name (its token's display name)", "NAME"},
    {"media-subject", 0, 0, G_OPTION_ARG_STRING, &media_subject, "NATS subject standing in for the SFU", "SUBJECT"},
    {"tls-ca-file", 0, 0, G_OPTION_ARG_FILENAME, &tls_ca, "CA of the NATS server's certificate", "FILE"},
    {"tls-cert-file", 0, 0, G_OPTION_ARG_FILENAME, &tls_cert, "Client certificate", "FILE"},
    {"tls-key-file", 0, 0, G_OPTION_ARG_FILENAME, &tls_key, "Client certificate key", "FILE"},
    {"nats-credentials", 0, 0, G_OPTION_ARG_FILENAME, &creds, "NATS credentials file", "FILE"},
    {"duration", 0, 0, G_OPTION_ARG_INT, &o->duration_s, "Seconds to run (0: until stdin closes)", "S"},
    {"interval", 0, 0, G_OPTION_ARG_INT, &o->interval_ms, "Milliseconds between frames", "MS"},
    {"discovery-timeout", 0, 0, G_OPTION_ARG_INT, &o->discovery_ms, "keymanager discovery-timeout", "MS"},
    {"heartbeat-interval", 0, 0, G_OPTION_ARG_INT, &o->heartbeat_ms, "keymanager heartbeat-interval", "MS"},
    {"liveness-timeout", 0, 0, G_OPTION_ARG_INT, &o->liveness_ms, "keymanager liveness-timeout", "MS"},
    {"switch-timeout", 0, 0, G_OPTION_ARG_INT, &o->switch_ms, "keymanager switch-timeout", "MS"},
    {"grace-period", 0, 0, G_OPTION_ARG_INT, &o->grace_ms, "keymanager grace-period", "MS"},
    {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  GOptionContext *context = g_option_context_new ("- one member of an SFrame room, for tests");
  g_option_context_add_main_entries (context, entries, nullptr);
  g_option_context_add_group (context, gst_init_get_option_group ());
  GError *error = nullptr;
  bool ok = g_option_context_parse (context, &argc, &argv, &error);
  g_option_context_free (context);
  if (!ok) {
    g_printerr ("room-member: %s\n", error->message);
    g_clear_error (&error);
  }
  auto take = [] (gchar * value, std::string * out) {
    if (value)
      *out = value;
    g_free (value);
  };
  take (room, &o->room);
  take (bus, &o->bus);
  take (media_bus, &o->media_bus);
  take (identity, &o->identity);
  take (token_file, &o->token_file);
  take (authority, &o->authority);
  take (name, &o->name);
  take (media_subject, &o->media_subject);
  take (tls_ca, &o->security.tls_ca_file);
  take (tls_cert, &o->security.tls_cert_file);
  take (tls_key, &o->security.tls_key_file);
  take (creds, &o->security.credentials_file);
  if (!ok)
    return false;
  if (o->media_bus.empty ())
    o->media_bus = o->bus;
  for (const auto & required : {o->room, o->bus, o->identity, o->token_file, o->authority, o->name,
           o->media_subject}) {
    if (required.empty ()) {
      g_printerr ("room-member: --room, --bus, --identity, --token-file, --authority, --name and "
          "--media-subject are required\n");
      return false;
    }
  }
  if (o->name.size () > 255 || o->name.find (':') != std::string::npos) {
    g_printerr ("room-member: --name must be 1 to 255 bytes without ':'\n");
    return false;
  }
  if (!sframe::is_subject (o->media_subject) || o->media_subject.rfind ("sframe.", 0) == 0) {
    g_printerr ("room-member: --media-subject must be a plain NATS subject outside the key bus (sframe.*)\n");
    return false;
  }
  if (o->interval_ms < 1 || o->duration_s < 0) {
    g_printerr ("room-member: --interval must be positive and --duration not negative\n");
    return false;
  }
  return true;
}

void
shut_down (Member * m)
{
  /* No more incoming media, then the pipeline (keymanager leaves the room),
   * then the media connection its sink published on. */
  m->media_subscription.reset ();
  if (m->pipeline) {
    gst_element_set_state (m->pipeline, GST_STATE_NULL);
    gst_object_unref (m->pipeline);
    m->pipeline = nullptr;
  }
  m->media_bus.reset ();
}

}  // namespace

int
main (int argc, char **argv)
{
  Options options;
  gst_init (&argc, &argv);
  if (!parse_options (argc, argv, &options))
    return 2;

  Member member;
  Member *m = &member;
  m->options = options;
  m->started_us = g_get_monotonic_time ();
  m->loop = g_main_loop_new (nullptr, FALSE);

  if (!build_pipeline (m)) {
    shut_down (m);
    return 1;
  }
  GstBus *bus = gst_pipeline_get_bus (GST_PIPELINE (m->pipeline));
  gst_bus_set_sync_handler (bus, learn_roster, m, nullptr);
  gst_bus_add_watch (bus, on_bus_message, m);

  Line ("started").str ("name", options.name).num ("pid", static_cast<uint64_t> (getpid ()))
      .str ("room", options.room).print ();
  /* Media is opened once the pipeline runs, so nothing is pushed into an
   * appsrc that has not started. */
  bool playing = gst_element_set_state (m->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  if (!playing || !open_media (m)) {
    GstMessage *error = playing ? nullptr : gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (error) {
      on_bus_message (bus, error, m);   /* says why */
      gst_message_unref (error);
    } else if (!playing) {
      Line ("error").str ("source", "room-member").str ("message", "the pipeline did not start").print ();
    }
    gst_bus_remove_watch (bus);
    gst_bus_set_sync_handler (bus, nullptr, nullptr, nullptr);
    gst_object_unref (bus);
    shut_down (m);
    return 1;
  }

  guint frames = g_timeout_add (static_cast<guint> (options.interval_ms), push_next_frame, m);
  guint progress = g_timeout_add (1000, print_progress, m);
  guint stdin_watch = 0, timer = 0;
  if (options.duration_s > 0)
    timer = g_timeout_add_seconds (static_cast<guint> (options.duration_s), quit_loop, m);
  else
    stdin_watch = g_unix_fd_add (STDIN_FILENO, static_cast<GIOCondition> (G_IO_IN | G_IO_HUP | G_IO_ERR),
        on_stdin, m);
  guint term = g_unix_signal_add (SIGTERM, quit_loop, m);
  guint interrupt = g_unix_signal_add (SIGINT, quit_loop, m);

  g_main_loop_run (m->loop);

  /* Some removed themselves when they fired. */
  for (guint id : {frames, progress, stdin_watch, timer, term, interrupt}) {
    GSource *source = id ? g_main_context_find_source_by_id (nullptr, id) : nullptr;
    if (source)
      g_source_destroy (source);
  }
  /* The final counters, while the elements still hold them. */
  progress_line (m, "stopped").boolean ("failed", m->failed).print ();
  gst_bus_remove_watch (bus);
  gst_bus_set_sync_handler (bus, nullptr, nullptr, nullptr);
  gst_object_unref (bus);
  shut_down (m);
  g_main_loop_unref (m->loop);
  return m->failed ? 1 : 0;
}
