/* A room member as an application that plugs its own receive chains:
 * janusroomsrc with decode=false gives one RTP pad per remote track, and
 * this program links each to `depayloader ! [sframedec !] decoder !
 * fakesink`, by the pad's caps. With --plain nothing is encrypted or
 * decrypted (no keymanager, no sframeenc, no sframedec): the same member
 * without E2EE, as the benchmark's baseline.
 *
 *   raw-room-member --room R --server URL --address A
 *       [--bus B --identity F --token-file F --authority F [--no-name-senders] | --plain]
 *       [--width W --height H]
 *
 * --no-name-senders sets janusroomsrc name-senders=false.
 *
 * Every 500 ms it prints one line:
 *   tracks=T decoding=D frames=F
 * (D: tracks that decoded a frame in the last 500 ms; F: frames decoded in
 * all), and one per track from janusroomsrc's stats:
 *   tile feed=FEED media=MEDIA verified=0|1 frames=F unknown-key=U auth-failures=A
 * For each track pad:
 *   track pad=NAME feed=FEED media=MEDIA encoding=ENC
 * from the pad's caps and its sticky janus-room-track event; each time
 * that event arrives in the chain (janusroomsrc names the sender from the
 * roster in it):
 *   member feed=FEED media=MEDIA verified=0|1 name=NAME key-id=K|none state=S
 * and when the chain's own sframedec says who sends it (its sframe-sender
 * event):
 *   sender feed=FEED media=MEDIA verified=0|1 name=NAME key-id=K|none state=
 * Runs until killed. */
#include <gst/gst.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Options {
  std::map<std::string, std::string> values;
  bool plain = false;
  bool name_senders = true;
  std::string get (const std::string & key, const std::string & fallback = "") const
  {
    auto it = values.find (key);
    return it == values.end () ? fallback : it->second;
  }
};

struct Track {
  std::atomic<guint64> frames {0};
  guint64 seen = 0;   /* frames at the last report */
};

struct App {
  Options options;
  GstElement *pipeline = nullptr;
  std::mutex lock;
  std::vector<std::unique_ptr<Track>> tracks;
};

struct Chain {
  const char *encoding;
  const char *depayloader;
  const char *protected_caps;   /* what sframedec takes, or null */
  const char *parser;           /* after sframedec, or null */
  const char *decoder;
};
constexpr Chain kChains[] = {
  {"VP8", "rtpvp8depay", nullptr, nullptr, "vp8dec"},
  {"H264", "rtph264depay", "video/x-h264,stream-format=byte-stream,alignment=au", "h264parse", "avdec_h264"},
  {"OPUS", "rtpopusdepay", nullptr, nullptr, "opusdec"},
};

std::string
sender_line (const Options & o)
{
  std::string room = o.get ("room"), size = "width=" + o.get ("width", "640") + ",height=" + o.get ("height", "360");
  std::string sink = "janusroomsink name=pub room=" + room + " server=" + o.get ("server") +
      " admin-key=gst-sframe-test-admin-key local-address=" + o.get ("address");
  std::string video = " videotestsrc is-live=true pattern=ball ! video/x-raw," + size +
      ",framerate=30/1 ! vp8enc deadline=1 keyframe-max-dist=30 ! ";
  std::string audio = " audiotestsrc is-live=true ! opusenc ! ";
  std::string receiver = " janusroomsrc name=sub decode=false room=" + room + " server=" + o.get ("server") +
      " local-address=" + o.get ("address");
  if (o.plain)
    return sink + video + "rtpvp8pay ! pub." + audio + "rtpopuspay ! pub." + receiver + " name-senders=false";
  if (!o.name_senders)
    receiver += " name-senders=false";
  return "keymanager room=" + room + " bus=" + o.get ("bus") + " identity=" + o.get ("identity") +
      " token-file=" + o.get ("token-file") + " authority=" + o.get ("authority") + " " + sink + video +
      "sframeenc room=" + room + " ! rtpvp8sframepay ! pub." + audio + "sframeenc room=" + room +
      " ! rtpopuspay ! pub." + receiver;
}

GstPadProbeReturn
count_frame (GstPad *, GstPadProbeInfo *, gpointer data)
{
  static_cast<Track *> (data)->frames++;
  return GST_PAD_PROBE_OK;
}

/* The track's janus-room-track event: "feed=FEED media=MEDIA". */
std::string
describe_track (GstPad * pad)
{
  guint64 feed = 0;
  const gchar *media = nullptr;
  GstEvent *event = gst_pad_get_sticky_event (pad, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  const GstStructure *info = event ? gst_event_get_structure (event) : nullptr;
  if (info && gst_structure_has_name (info, "janus-room-track")) {
    gst_structure_get_uint64 (info, "feed", &feed);
    media = gst_structure_get_string (info, "media");
  }
  std::string text = "feed=" + std::to_string (feed) + " media=" + (media ? media : "");
  if (event)
    gst_event_unref (event);
  return text;
}

/* Prints "KIND TRACK verified=0|1 name=NAME" for each event named
 * `event_name` (the probe's data) going by. */
struct SenderProbe {
  std::string kind;
  std::string event_name;
  std::string track;
};

GstPadProbeReturn
print_sender (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto *probe = static_cast<SenderProbe *> (data);
  const GstStructure *s = gst_event_get_structure (GST_PAD_PROBE_INFO_EVENT (info));
  if (s && gst_structure_has_name (s, probe->event_name.c_str ())) {
    gboolean verified = FALSE;
    gst_structure_get_boolean (s, "verified", &verified);
    const gchar *name = gst_structure_get_string (s, "name");
    const gchar *state = gst_structure_get_string (s, "state");
    guint64 key_id = G_MAXUINT64;
    gst_structure_get_uint64 (s, "key-id", &key_id);
    std::printf ("%s %s verified=%d name=%s key-id=%s state=%s\n", probe->kind.c_str (), probe->track.c_str (),
        verified ? 1 : 0, name ? name : "", key_id == G_MAXUINT64 ? "none" : std::to_string (key_id).c_str (),
        state ? state : "");
    std::fflush (stdout);
  }
  return GST_PAD_PROBE_OK;
}

void
add_sender_probe (GstPad * pad, const char *kind, const char *event_name, const std::string & track)
{
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, print_sender,
      new SenderProbe {kind, event_name, track}, [] (gpointer p) { delete static_cast<SenderProbe *> (p); });
}

void
on_track_pad (GstElement *, GstPad * pad, gpointer data)
{
  auto *app = static_cast<App *> (data);
  GstCaps *caps = gst_pad_get_current_caps (pad);
  if (!caps)
    caps = gst_pad_query_caps (pad, nullptr);
  const gchar *encoding = gst_structure_get_string (gst_caps_get_structure (caps, 0), "encoding-name");
  const Chain *chain = nullptr;
  for (const auto & c : kChains)
    if (encoding && g_ascii_strcasecmp (encoding, c.encoding) == 0)
      chain = &c;
  gchar *pad_name = gst_pad_get_name (pad);
  std::string track_text = describe_track (pad);
  std::printf ("track pad=%s %s encoding=%s\n", pad_name, track_text.c_str (), encoding ? encoding : "?");
  std::fflush (stdout);
  g_free (pad_name);
  gst_caps_unref (caps);
  add_sender_probe (pad, "member", "janus-room-track", track_text);
  if (!chain)
    return;
  std::string line = std::string (chain->depayloader) + " ! ";
  if (!app->options.plain) {
    if (chain->protected_caps)
      line += std::string (chain->protected_caps) + " ! ";
    line += "sframedec name=decryptor room=" + app->options.get ("room") + " ! ";
  }
  if (chain->parser)
    line += std::string (chain->parser) + " ! ";
  /* Added while PLAYING: a sink that waited to preroll would hold the
   * whole pipeline in PAUSED while a track gives it nothing (one no key
   * in the room decrypts). */
  line += std::string (chain->decoder) + " ! fakesink sync=true async=false";
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (line.c_str (), TRUE, &error);
  if (!bin) {
    std::fprintf (stderr, "raw-room-member: %s\n", error ? error->message : "cannot build a chain");
    g_clear_error (&error);
    return;
  }
  auto track = std::make_unique<Track> ();
  /* The decoder's output: the sink pad of the chain's only sink. */
  GstIterator *it = gst_bin_iterate_sinks (GST_BIN (bin));
  GValue item = G_VALUE_INIT;
  if (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstPad *decoded = gst_element_get_static_pad (GST_ELEMENT (g_value_get_object (&item)), "sink");
    gst_pad_add_probe (decoded, GST_PAD_PROBE_TYPE_BUFFER, count_frame, track.get (), nullptr);
    gst_object_unref (decoded);
    g_value_unset (&item);
  }
  gst_iterator_free (it);
  if (GstElement *decryptor = gst_bin_get_by_name (GST_BIN (bin), "decryptor")) {
    GstPad *out = gst_element_get_static_pad (decryptor, "src");
    add_sender_probe (out, "sender", "sframe-sender", track_text);
    gst_object_unref (out);
    gst_object_unref (decryptor);
  }
  gst_bin_add (GST_BIN (app->pipeline), bin);
  GstPad *in = gst_element_get_static_pad (bin, "sink");
  gst_pad_link (pad, in);
  gst_object_unref (in);
  gst_element_sync_state_with_parent (bin);
  std::lock_guard<std::mutex> lock (app->lock);
  app->tracks.push_back (std::move (track));
}

/* janusroomsrc's count of each track's frames, by sender. */
void
print_tiles (GstElement * pipeline)
{
  GstElement *sub = gst_bin_get_by_name (GST_BIN (pipeline), "sub");
  GstStructure *stats = nullptr;
  g_object_get (sub, "stats", &stats, nullptr);
  gst_object_unref (sub);
  const GValue *tiles = stats ? gst_structure_get_value (stats, "tiles") : nullptr;
  for (guint i = 0; tiles && i < gst_value_list_get_size (tiles); i++) {
    const GstStructure *t = gst_value_get_structure (gst_value_list_get_value (tiles, i));
    guint64 feed = 0, frames = 0, unknown_key = 0, auth_failures = 0;
    gboolean verified = FALSE;
    gst_structure_get (t, "feed", G_TYPE_UINT64, &feed, "frames", G_TYPE_UINT64, &frames, "unknown-key",
        G_TYPE_UINT64, &unknown_key, "auth-failures", G_TYPE_UINT64, &auth_failures, "verified", G_TYPE_BOOLEAN,
        &verified, nullptr);
    std::printf ("tile feed=%" G_GUINT64_FORMAT " media=%s verified=%d frames=%" G_GUINT64_FORMAT
        " unknown-key=%" G_GUINT64_FORMAT " auth-failures=%" G_GUINT64_FORMAT "\n", feed,
        gst_structure_get_string (t, "media"), verified ? 1 : 0, frames, unknown_key, auth_failures);
  }
  if (stats)
    gst_structure_free (stats);
}

gboolean
report (gpointer data)
{
  auto *app = static_cast<App *> (data);
  std::lock_guard<std::mutex> lock (app->lock);
  guint decoding = 0;
  guint64 frames = 0;
  for (auto & t : app->tracks) {
    guint64 now = t->frames;
    decoding += now > t->seen ? 1 : 0;
    frames += now;
    t->seen = now;
  }
  std::printf ("tracks=%zu decoding=%u frames=%" G_GUINT64_FORMAT "\n", app->tracks.size (), decoding, frames);
  print_tiles (app->pipeline);
  std::fflush (stdout);
  return G_SOURCE_CONTINUE;
}

gboolean
on_bus (GstBus *, GstMessage * message, gpointer loop)
{
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    GError *error = nullptr;
    gst_message_parse_error (message, &error, nullptr);
    std::fprintf (stderr, "raw-room-member: %s: %s\n", GST_OBJECT_NAME (message->src), error->message);
    g_clear_error (&error);
    g_main_loop_quit (static_cast<GMainLoop *> (loop));
  }
  return G_SOURCE_CONTINUE;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  App app;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp (argv[i], "--plain") == 0)
      app.options.plain = true;
    else if (std::strcmp (argv[i], "--no-name-senders") == 0)
      app.options.name_senders = false;
    else if (std::strncmp (argv[i], "--", 2) == 0 && i + 1 < argc)
      app.options.values[argv[i] + 2] = argv[i + 1], i++;
  }
  for (const char *required : {"room", "server", "address"})
    if (app.options.get (required).empty ()) {
      std::fprintf (stderr, "raw-room-member: --%s is required\n", required);
      return 2;
    }
  GError *error = nullptr;
  app.pipeline = gst_parse_launch (sender_line (app.options).c_str (), &error);
  if (!app.pipeline) {
    std::fprintf (stderr, "raw-room-member: %s\n", error ? error->message : "cannot build the pipeline");
    return 1;
  }
  GstElement *sub = gst_bin_get_by_name (GST_BIN (app.pipeline), "sub");
  g_signal_connect (sub, "pad-added", G_CALLBACK (on_track_pad), &app);
  gst_object_unref (sub);
  GMainLoop *loop = g_main_loop_new (nullptr, FALSE);
  GstBus *bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_bus, loop);
  gst_object_unref (bus);
  g_timeout_add (500, report, &app);
  gst_element_set_state (app.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (loop);
  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (loop);
  return 1;
}
