/**
 * SECTION:element-janusroomsrc
 * @title: janusroomsrc
 * @see_also: janusroomsink, sframedec, keymanager
 *
 * Receives everyone else in a Janus VideoRoom (the SFU): it subscribes to
 * each publisher of the room as it comes, through a webrtcbin of its own,
 * and lets go of it when it leaves. The media arrives as SFrame ciphertext
 * that Janus could not read.
 *
 * By default (#GstJanusRoomSrc:decode) it decrypts and decodes every track
 * itself (`depayloader ! sframedec ! decoder`, keys from the room's key
 * store, which the keymanager of #GstJanusRoomSrc:room fills) and outputs
 * one composited video on its `video` pad (a grid that reflows as members
 * come and go) and one mixed audio on its `audio` pad. Each tile is
 * labelled from the signed roster, never from what Janus says: the name of
 * the member who owns the key id the frames are under, or "unverified"
 * when no roster member does, and the state of its decryption (decrypting,
 * waiting for key, failing). Frames whose key is not known yet are held by
 * sframedec briefly, then dropped: never decoded as garbage into the mix.
 *
 * With #GstJanusRoomSrc:decode off it exposes one `src_FEED_N` pad per
 * remote track instead (FEED: the publisher's Janus id), for applications
 * that plug their own chain: the pad carries its RTP caps and a sticky
 * `janus-room-track` event from the moment it is added, so a pad-added
 * handler or a delayed link can choose the chain by encoding; a track pad
 * left unlinked is dropped. The event says who Janus says sends the track
 * (`feed`, `media`) and who the signed roster says does, as a tile's label
 * would: `state` (decrypting, waiting for key, failing, no media),
 * `key-id`, `verified`, and while the track's frames decrypt under a key a
 * roster member owns, the owner's `member-id`, `name` and `fingerprint`.
 * janusroomsrc decrypts a copy of each track for it
 * (#GstJanusRoomSrc:name-senders) and stores the event again, to reach the
 * application before the pad's next buffer, whenever the label changes
 * (looked at every 500 ms). It describes the track, not a packet: the
 * application's own sframedec names the sender of each frame it passes
 * (its `sframe-sender` event).
 *
 * #GstJanusRoomSrc:stats counts publishers, tracks and reconnects, and
 * lists each track (`tiles`: feed, media, label, verified, frames,
 * auth-failures, unknown-key), in both modes.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 keymanager room=standup bus=nats://127.0.0.1:4222 identity=bot.key token-file=bot.jwt authority=authority.pub \
 *   janusroomsrc name=sub room=standup server=ws://127.0.0.1:8188 \
 *   sub.video ! videoconvert ! autovideosink  sub.audio ! audioconvert ! autoaudiosink
 * ]|
 * Shows and plays everyone in the room "standup".
 * |[
 * gst-launch-1.0 keymanager room=standup bus=nats://127.0.0.1:4222 identity=bot.key token-file=bot.jwt authority=authority.pub \
 *   janusroomsrc name=sub decode=false room=standup server=ws://127.0.0.1:8188 \
 *   sub. ! rtpvp8depay ! sframedec room=standup ! vp8dec ! videoconvert ! autovideosink \
 *   sub. ! rtpopusdepay ! sframedec room=standup ! opusdec ! audioconvert ! autoaudiosink
 * ]|
 * Plugs its own chains onto the first VP8 and the first Opus track.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstjanusroomsrc.h"
#include "janus-subscriber.h"
#include "room-layout.h"
#include "../common/janus-room-common.h"
#include "../common/janus-room-id.h"

#include <gst/sframe/gstsframekeystore.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

GST_DEBUG_CATEGORY (gst_janus_room_src_debug);
#define GST_CAT_DEFAULT gst_janus_room_src_debug

enum {
  PROP_0,
  PROP_ROOM,
  PROP_SERVER,
  PROP_JANUS_ROOM,
  PROP_DECODE,
  PROP_NAME_SENDERS,
  PROP_WIDTH,
  PROP_HEIGHT,
  PROP_LOCAL_ADDRESS,
  PROP_STATS,
  PROP_STATS_INTERVAL,
};

namespace {

constexpr unsigned kLabelIntervalMs = 500;

struct Settings {
  std::string room;
  std::string server;
  guint64 janus_room = 0;
  bool decode = true;
  bool name_senders = true;   /* raw mode: decrypt a copy to name the sender */
  int width = 1280;
  int height = 720;
  std::string local_address;
  guint stats_interval = 0;   /* ms between stats messages; 0: none */
};

/* One remote track. */
struct Track {
  uint64_t feed = 0;
  std::string media;                 /* "video" or "audio" */
  std::vector<GstElement *> chain;   /* from the depayloader on (decode) */
  GstElement *decryptor = nullptr;   /* its sframedec */
  GstElement *overlay = nullptr;     /* video: the label */
  GstPad *mixer_pad = nullptr;       /* compositor's or audiomixer's */
  GstPad *ghost = nullptr;           /* raw mode: our src pad */
  DecryptionCounters counters;
  TileLabel label;
  std::atomic<guint64> decoded {0};   /* buffers into the mixer */
};

/* The decode mode's outputs: a compositor over a black background, an
 * audiomixer over silence, so that both pads flow before anyone comes. */
struct Mix {
  GstElement *compositor = nullptr;
  GstElement *audiomixer = nullptr;
};

/* Exists from READY to PAUSED and back. */
struct State {
  /* Shared: who reads it outside the lock keeps it alive (stats read
   * while the element stops). */
  std::shared_ptr<SignallingLoop> loop;
  std::shared_ptr<JanusSubscriber> subscriber;
  GSource *label_timer = nullptr;
  GSource *stats_timer = nullptr;
};

struct Codec {
  const char *encoding;
  const char *depayloader;
  /* What sframedec takes from the depayloader (or null: anything); a
   * parser would rewrite the protected NAL units, so caps choose it. */
  const char *protected_caps;
  const char *parser;    /* after sframedec, or null */
  const char *decoder;
};
constexpr Codec kCodecs[] = {
  {"VP8", "rtpvp8depay", nullptr, nullptr, "vp8dec"},
  {"VP9", "rtpvp9depay", nullptr, nullptr, "vp9dec"},
  {"H264", "rtph264depay", "video/x-h264,stream-format=byte-stream,alignment=au", "h264parse", "avdec_h264"},
  {"H265", "rtph265depay", "video/x-h265,stream-format=byte-stream,alignment=au", "h265parse", "avdec_h265"},
  {"OPUS", "rtpopusdepay", nullptr, nullptr, "opusdec"},
};

const Codec *
find_codec (const gchar * encoding)
{
  for (const auto & c : kCodecs)
    if (encoding && g_ascii_strcasecmp (encoding, c.encoding) == 0)
      return &c;
  return nullptr;
}

}  // namespace

struct _GstJanusRoomSrc {
  GstBin parent;

  struct Private {
    std::mutex lock;
    Settings settings;
    Mix mix;
    std::map<uint64_t, GstElement *> peers;      /* feed → its webrtcbin */
    std::vector<std::unique_ptr<Track>> tracks;
    std::unique_ptr<State> state;
    guint pads_made = 0;
  } *priv;
};

G_DEFINE_TYPE (GstJanusRoomSrc, gst_janus_room_src, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE (janusroomsrc, "janusroomsrc", GST_RANK_NONE, GST_TYPE_JANUS_ROOM_SRC);

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE ("video",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw"));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw"));
static GstStaticPadTemplate track_template = GST_STATIC_PAD_TEMPLATE ("src_%s",
    GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS ("application/x-rtp"));

namespace {

GstElement *
make (const char *factory)
{
  GstElement *e = gst_element_factory_make (factory, nullptr);
  if (!e)
    GST_ERROR ("element %s is missing: install its GStreamer plugin", factory);
  return e;
}

/* A live source into `mixer` that keeps its output flowing. */
void
add_background (GstBin * bin, GstElement * mixer, const char *factory, const char *caps_text)
{
  GstElement *src = make (factory);
  GstElement *filter = make ("capsfilter");
  g_object_set (src, "is-live", TRUE, nullptr);
  if (g_str_equal (factory, "videotestsrc"))
    g_object_set (src, "pattern", 2 /* black */, nullptr);
  else
    g_object_set (src, "wave", 4 /* silence */, nullptr);
  GstCaps *caps = gst_caps_from_string (caps_text);
  g_object_set (filter, "caps", caps, nullptr);
  gst_caps_unref (caps);
  gst_bin_add_many (bin, src, filter, nullptr);
  gst_element_link (src, filter);
  GstPad *out = gst_element_get_static_pad (filter, "src");
  GstPad *in = gst_element_request_pad_simple (mixer, "sink_%u");
  gst_pad_link (out, in);
  gst_object_unref (out);
  gst_object_unref (in);
}

void
add_output (GstElement * element, GstElement * last, GstStaticPadTemplate * templ)
{
  GstPad *target = gst_element_get_static_pad (last, "src");
  GstPad *ghost = gst_ghost_pad_new_from_template (templ->name_template, target,
      gst_static_pad_template_get (templ));
  gst_object_unref (target);
  gst_element_add_pad (element, ghost);
}

void
build_mix (GstJanusRoomSrc * self)
{
  Settings s = self->priv->settings;
  GstBin *bin = GST_BIN (self);
  Mix & mix = self->priv->mix;
  mix.compositor = make ("compositor");
  GstElement *video_caps = make ("capsfilter");
  gchar *caps_text = g_strdup_printf ("video/x-raw,format=I420,width=%d,height=%d,framerate=30/1", s.width,
      s.height);
  GstCaps *caps = gst_caps_from_string (caps_text);
  g_object_set (video_caps, "caps", caps, nullptr);
  gst_caps_unref (caps);
  g_object_set (mix.compositor, "background", 1 /* black */, nullptr);
  gst_bin_add_many (bin, mix.compositor, video_caps, nullptr);
  gst_element_link (mix.compositor, video_caps);
  add_background (bin, mix.compositor, "videotestsrc", caps_text);
  g_free (caps_text);
  add_output (GST_ELEMENT (self), video_caps, &video_template);

  mix.audiomixer = make ("audiomixer");
  GstElement *audio_caps = make ("capsfilter");
  caps = gst_caps_from_string ("audio/x-raw,rate=48000,channels=2");
  g_object_set (audio_caps, "caps", caps, nullptr);
  gst_caps_unref (caps);
  gst_bin_add_many (bin, mix.audiomixer, audio_caps, nullptr);
  gst_element_link (mix.audiomixer, audio_caps);
  add_background (bin, mix.audiomixer, "audiotestsrc", "audio/x-raw,format=S16LE,rate=48000,channels=2");
  add_output (GST_ELEMENT (self), audio_caps, &audio_template);
}

/* Places every video tile; called with the lock held. */
void
reflow (GstJanusRoomSrc * self)
{
  std::vector<Track *> tiles;
  for (auto & t : self->priv->tracks)
    if (t->media == "video" && t->mixer_pad)
      tiles.push_back (t.get ());
  const Settings & s = self->priv->settings;
  for (size_t i = 0; i < tiles.size (); i++) {
    TileRect r = grid_tile (i, tiles.size (), s.width, s.height);
    g_object_set (tiles[i]->mixer_pad, "xpos", r.x, "ypos", r.y, "width", r.width, "height", r.height,
        "zorder", 1u, nullptr);
  }
}

std::string
room_of (GstJanusRoomSrc * self)
{
  std::lock_guard<std::mutex> lock (self->priv->lock);
  return self->priv->settings.room;
}

GstPadProbeReturn
count_decoded (GstPad *, GstPadProbeInfo *, gpointer data)
{
  static_cast<Track *> (data)->decoded++;
  return GST_PAD_PROBE_OK;
}

/* Appends depayloader [! caps] ! sframedec to the track's chain. */
void
add_decryption (GstJanusRoomSrc * self, Track & track, const Codec & codec)
{
  track.chain.push_back (make (codec.depayloader));
  if (codec.protected_caps) {
    GstElement *filter = make ("capsfilter");
    GstCaps *caps = gst_caps_from_string (codec.protected_caps);
    if (filter)
      g_object_set (filter, "caps", caps, nullptr);
    gst_caps_unref (caps);
    track.chain.push_back (filter);
  }
  track.decryptor = make ("sframedec");
  if (track.decryptor)
    g_object_set (track.decryptor, "room", room_of (self).c_str (), nullptr);
  track.chain.push_back (track.decryptor);
}

/* False (and nothing added) if an element of the chain is missing. */
bool
add_chain (GstJanusRoomSrc * self, Track & track)
{
  for (GstElement *e : track.chain)
    if (!e) {
      for (GstElement *made : track.chain)
        if (made)
          gst_object_unref (gst_object_ref_sink (made));
      track.chain.clear ();
      track.decryptor = track.overlay = nullptr;
      return false;
    }
  for (GstElement *e : track.chain)
    gst_bin_add (GST_BIN (self), e);
  for (size_t i = 1; i < track.chain.size (); i++)
    gst_element_link (track.chain[i - 1], track.chain[i]);
  return true;
}

void
link_into_chain (GstJanusRoomSrc * self, GstPad * pad, Track & track)
{
  for (GstElement *e : track.chain)
    gst_element_sync_state_with_parent (e);
  GstPad *in = gst_element_get_static_pad (track.chain.front (), "sink");
  if (gst_pad_link (pad, in) != GST_PAD_LINK_OK)
    GST_WARNING_OBJECT (self, "could not link %" GST_PTR_FORMAT, pad);
  gst_object_unref (in);
}

/* depayloader [! caps] ! sframedec [! parser] ! decoder ! convert
 * [! label] ! queue into the mixer. */
std::unique_ptr<Track>
build_decoding_track (GstJanusRoomSrc * self, GstPad * pad, const Codec & codec, const std::string & media)
{
  auto track = std::make_unique<Track> ();
  track->media = media;
  add_decryption (self, *track, codec);
  if (codec.parser)
    track->chain.push_back (make (codec.parser));
  track->chain.push_back (make (codec.decoder));
  if (media == "video") {
    track->chain.push_back (make ("videoconvert"));
    track->overlay = make ("textoverlay");
    if (track->overlay)
      g_object_set (track->overlay, "text", "waiting for media", "valignment", 2 /* top */, "halignment",
          0 /* left */, "font-desc", "Sans 28", "shaded-background", TRUE, nullptr);
    track->chain.push_back (track->overlay);
  } else {
    track->chain.push_back (make ("audioconvert"));
    track->chain.push_back (make ("audioresample"));
  }
  track->chain.push_back (make ("queue"));
  if (!add_chain (self, *track))
    return nullptr;
  GstPad *decoded = gst_element_get_static_pad (track->chain.back (), "sink");
  gst_pad_add_probe (decoded, GST_PAD_PROBE_TYPE_BUFFER, count_decoded, track.get (), nullptr);
  gst_object_unref (decoded);
  GstElement *mixer = media == "video" ? self->priv->mix.compositor : self->priv->mix.audiomixer;
  track->mixer_pad = gst_element_request_pad_simple (mixer, "sink_%u");
  GstPad *out = gst_element_get_static_pad (track->chain.back (), "src");
  gst_pad_link (out, track->mixer_pad);
  gst_object_unref (out);
  link_into_chain (self, pad, *track);
  return track;
}

/* A track pad answers a caps query with the caps it carries, once known,
 * so that an application (or gst-launch-1.0's delayed linking) can choose
 * a chain by encoding in its pad-added handler. */
gboolean
track_pad_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS) {
    GstCaps *caps = gst_pad_get_current_caps (pad);
    if (caps) {
      GstCaps *filter = nullptr;
      gst_query_parse_caps (query, &filter);
      if (filter) {
        GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
        gst_caps_unref (caps);
        caps = both;
      }
      gst_query_set_caps_result (query, caps);
      gst_caps_unref (caps);
      return TRUE;
    }
  }
  return gst_pad_query_default (pad, parent, query);
}

/* The track pad's janus-room-track event: who Janus says sends the track
 * (feed, media), and who the signed roster says does, from the frames of
 * it that janusroomsrc decrypted: the label's state and key id, and for a
 * verified label the owner's member-id, name and fingerprint (`owner`,
 * the key store's record, or null). */
GstEvent *
track_event (const Track & track, const TileLabel & label, const GstStructure * owner)
{
  GstStructure *info = gst_structure_new ("janus-room-track", "feed", G_TYPE_UINT64, track.feed, "media",
      G_TYPE_STRING, track.media.c_str (), "state", G_TYPE_STRING, tile_state_name (label.state), "verified",
      G_TYPE_BOOLEAN, label.verified && owner, nullptr);
  if (label.key_id != kNoKeyId)
    gst_structure_set (info, "key-id", G_TYPE_UINT64, label.key_id, nullptr);
  if (label.verified && owner) {
    for (const char *field : {"member-id", "name", "fingerprint"})
      if (const gchar *value = gst_structure_get_string (owner, field))
        gst_structure_set (info, field, G_TYPE_STRING, value, nullptr);
  }
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, info);
}

void
store_event (GstPad * pad, GstEvent * event)
{
  gst_pad_store_sticky_event (pad, event);
  gst_event_unref (event);
}

/* The track's sticky events are on its pad before the application sees
 * it: a stream start (replaced by webrtcbin's own when data flows), the
 * RTP caps, and janus-room-track. */
void
store_track_events (const Track & track, GstCaps * caps, guint n)
{
  gchar *stream_id = g_strdup_printf ("janusroomsrc/%" G_GUINT64_FORMAT "/%u", track.feed, n);
  store_event (track.ghost, gst_event_new_stream_start (stream_id));
  g_free (stream_id);
  if (caps && gst_caps_is_fixed (caps))
    store_event (track.ghost, gst_event_new_caps (caps));
  store_event (track.ghost, track_event (track, TileLabel (), nullptr));
}

/* Raw mode with sender checks: tee, its RTP out to the track pad
 * untouched, and a copy through queue ! depayloader [! caps] ! sframedec
 * verify-only=true ! fakesink, whose counters label the track as in decode
 * mode (update_labels ()), leaving the replay window to the application's
 * sframedec. Returns the tee's pad for the track pad, or null. */
GstPad *
add_sender_check (GstJanusRoomSrc * self, GstPad * pad, Track & track, const Codec & codec)
{
  GstElement *tee = make ("tee");
  GstElement *queue = make ("queue");
  if (tee)
    g_object_set (tee, "allow-not-linked", TRUE, nullptr);
  /* Never slows down the track pad: the copy waits in a leaky queue. */
  if (queue)
    g_object_set (queue, "leaky", 2 /* downstream */, "max-size-buffers", 300u, "max-size-bytes", 0u,
        "max-size-time", G_GUINT64_CONSTANT (0), nullptr);
  track.chain = {tee, queue};
  add_decryption (self, track, codec);
  if (track.decryptor)
    g_object_set (track.decryptor, "verify-only", TRUE, nullptr);
  GstElement *sink = make ("fakesink");
  if (sink) {
    g_object_set (sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, nullptr);
    /* Not a sink of the pipeline's: nothing waits for its preroll or EOS. */
    GST_OBJECT_FLAG_UNSET (sink, GST_ELEMENT_FLAG_SINK);
  }
  track.chain.push_back (sink);
  if (!add_chain (self, track))
    return nullptr;
  GstPad *out = gst_element_request_pad_simple (tee, "src_%u");
  link_into_chain (self, pad, track);
  return out;
}

std::unique_ptr<Track>
expose_track (GstJanusRoomSrc * self, GstPad * pad, GstCaps * caps, const Codec * codec, uint64_t feed,
    const std::string & media)
{
  auto track = std::make_unique<Track> ();
  track->feed = feed;
  track->media = media;
  guint n;
  bool check_sender;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    n = self->priv->pads_made++;
    check_sender = self->priv->settings.name_senders;
  }
  GstPad *target = check_sender && codec ? add_sender_check (self, pad, *track, *codec) : nullptr;
  if (check_sender && !target)
    GST_WARNING_OBJECT (self, "publisher %" G_GUINT64_FORMAT ": its %s track is passed on, but no one will "
        "name its sender", feed, media.c_str ());
  if (!target)
    target = GST_PAD (gst_object_ref (pad));
  gchar *name = g_strdup_printf ("src_%" G_GUINT64_FORMAT "_%u", feed, n);
  track->ghost = gst_ghost_pad_new_from_template (name, target, gst_static_pad_template_get (&track_template));
  g_free (name);
  gst_object_unref (target);
  gst_pad_set_active (track->ghost, TRUE);
  /* A track the application links nothing to is dropped: not every
   * application wants every track, and NOT_LINKED would stop the others. */
  gst_pad_add_probe (track->ghost, GstPadProbeType (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
      [] (GstPad * pad, GstPadProbeInfo *, gpointer) {
        return gst_pad_is_linked (pad) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
      }, nullptr, nullptr);
  gst_pad_set_query_function (track->ghost, track_pad_query);
  store_track_events (*track, caps, n);
  gst_element_add_pad (GST_ELEMENT (self), track->ghost);
  return track;
}

void
on_peer_pad (GstElement * webrtc, GstPad * pad, gpointer data)
{
  auto *self = GST_JANUS_ROOM_SRC (data);
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC)
    return;
  uint64_t feed = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (webrtc), "janus-feed"));
  GstCaps *caps = gst_pad_get_current_caps (pad);
  if (!caps)
    caps = gst_pad_query_caps (pad, nullptr);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  std::string media = gst_structure_get_string (s, "media") ? gst_structure_get_string (s, "media") : "";
  const Codec *codec = find_codec (gst_structure_get_string (s, "encoding-name"));
  bool decode;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    decode = self->priv->settings.decode;
  }
  std::unique_ptr<Track> track;
  if (!decode)
    track = expose_track (self, pad, caps, codec, feed, media);
  else if (codec)
    track = build_decoding_track (self, pad, *codec, media);
  else
    GST_WARNING_OBJECT (self, "publisher %" G_GUINT64_FORMAT " sends %" GST_PTR_FORMAT ": no decoder for it",
        feed, caps);
  gst_caps_unref (caps);
  if (!track)
    return;
  track->feed = feed;
  GST_INFO_OBJECT (self, "publisher %" G_GUINT64_FORMAT ": %s track", feed, media.c_str ());
  std::lock_guard<std::mutex> lock (self->priv->lock);
  self->priv->tracks.push_back (std::move (track));
  reflow (self);
}

GstElement *
make_peer (GstJanusRoomSrc * self, uint64_t feed)
{
  GstElement *webrtc = gst_element_factory_make ("webrtcbin", nullptr);
  g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  g_object_set_data (G_OBJECT (webrtc), "janus-feed", GSIZE_TO_POINTER (feed));
  std::string address;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    address = self->priv->settings.local_address;
    self->priv->peers[feed] = webrtc;
  }
  if (!janus_room_restrict_ice (webrtc, address))
    GST_WARNING_OBJECT (self, "ICE refused local address %s", address.c_str ());
  g_signal_connect (webrtc, "pad-added", G_CALLBACK (on_peer_pad), self);
  gst_bin_add (GST_BIN (self), webrtc);
  gst_element_sync_state_with_parent (webrtc);
  return webrtc;
}

void
remove_track (GstJanusRoomSrc * self, Track & track)
{
  if (track.mixer_pad) {
    GstElement *mixer = GST_ELEMENT (gst_pad_get_parent (track.mixer_pad));
    GstPad *out = gst_pad_get_peer (track.mixer_pad);
    if (out) {
      gst_pad_unlink (out, track.mixer_pad);
      gst_object_unref (out);
    }
    gst_element_release_request_pad (mixer, track.mixer_pad);
    gst_object_unref (track.mixer_pad);
    gst_object_unref (mixer);
  }
  for (GstElement *e : track.chain) {
    gst_element_set_locked_state (e, TRUE);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), e);
  }
  if (track.ghost) {
    gst_pad_push_event (track.ghost, gst_event_new_eos ());
    gst_element_remove_pad (GST_ELEMENT (self), track.ghost);
  }
}

void
drop_peer (GstJanusRoomSrc * self, uint64_t feed, GstElement * webrtc)
{
  std::vector<std::unique_ptr<Track>> gone;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    auto & tracks = self->priv->tracks;
    for (auto it = tracks.begin (); it != tracks.end ();) {
      if ((*it)->feed == feed) {
        gone.push_back (std::move (*it));
        it = tracks.erase (it);
      } else {
        ++it;
      }
    }
    self->priv->peers.erase (feed);
  }
  g_signal_handlers_disconnect_by_func (webrtc, (gpointer) on_peer_pad, self);
  gst_element_set_locked_state (webrtc, TRUE);
  gst_element_set_state (webrtc, GST_STATE_NULL);
  for (auto & track : gone)
    remove_track (self, *track);
  gst_bin_remove (GST_BIN (self), webrtc);
  GST_INFO_OBJECT (self, "publisher %" G_GUINT64_FORMAT " is gone", feed);
  std::lock_guard<std::mutex> lock (self->priv->lock);
  reflow (self);
}

/* The publisher ids of the janusroomsink elements of the same Janus room
 * in this pipeline: this member's own media, never subscribed to. */
std::set<uint64_t>
own_publishers (GstJanusRoomSrc * self, uint64_t janus_room)
{
  std::set<uint64_t> ids;
  GstObject *top = GST_OBJECT (gst_object_ref (self));
  while (GstObject *parent = gst_object_get_parent (top)) {
    gst_object_unref (top);
    top = parent;
  }
  if (GST_IS_BIN (top)) {
    GstIterator *it = gst_bin_iterate_recurse (GST_BIN (top));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
      GstElement *e = GST_ELEMENT (g_value_get_object (&item));
      GstElementFactory *f = gst_element_get_factory (e);
      if (f && g_str_equal (GST_OBJECT_NAME (f), "janusroomsink")) {
        guint64 room = 0, id = 0;
        g_object_get (e, "janus-room", &room, "publisher-id", &id, nullptr);
        if (room == janus_room && id)
          ids.insert (id);
      }
      g_value_reset (&item);
    }
    g_value_unset (&item);
    gst_iterator_free (it);
  }
  gst_object_unref (top);
  return ids;
}

DecryptionCounters
read_counters (GstElement * decryptor)
{
  DecryptionCounters c;
  GstStructure *s = nullptr;
  g_object_get (decryptor, "stats", &s, nullptr);
  if (!s)
    return c;
  gst_structure_get (s, "frames", G_TYPE_UINT64, &c.frames, "auth-failures", G_TYPE_UINT64, &c.auth_failures,
      "unknown-key", G_TYPE_UINT64, &c.unknown_key, "last-key-id", G_TYPE_UINT64, &c.last_key_id,
      "decrypted-key-id", G_TYPE_UINT64, &c.decrypted_key_id, nullptr);
  gst_structure_free (s);
  return c;
}

/* Raw mode: a new label goes on the track pad, before its next buffer. */
void
announce_label (Track & track, const TileLabel & label, GstSFrameKeyStore * store)
{
  GstStructure *owner = label.verified && store ? gst_sframe_key_store_get_key_owner (store, label.key_id) :
      nullptr;
  store_event (track.ghost, track_event (track, label, owner));
  if (owner)
    gst_structure_free (owner);
}

/* On the loop, every kLabelIntervalMs: each tile's label from its
 * sframedec's counters and the roster's owner of its key id. */
void
update_labels (GstJanusRoomSrc * self)
{
  std::lock_guard<std::mutex> lock (self->priv->lock);
  for (auto & track : self->priv->tracks) {
    if (!track->decryptor)
      continue;
    GstSFrameKeyStore *store = nullptr;
    g_object_get (track->decryptor, "key-store", &store, nullptr);
    DecryptionCounters now = read_counters (track->decryptor);
    auto owner_of = [store] (uint64_t key_id) -> std::optional<std::string> {
      if (!store)
        return std::nullopt;
      GstStructure *owner = gst_sframe_key_store_get_key_owner (store, key_id);
      if (!owner)
        return std::nullopt;
      const gchar *name = gst_structure_get_string (owner, "name");
      std::string result = name ? name : "";
      gst_structure_free (owner);
      return result;
    };
    TileLabel label = tile_label (track->counters, now, owner_of);
    /* Between frames the state holds; a label changes on evidence. */
    if (label.state == TileState::no_media && track->label.state != TileState::no_media &&
        now.frames == track->counters.frames && now.frames > 0)
      label = track->label;
    track->counters = now;
    if (label.text != track->label.text && track->overlay)
      g_object_set (track->overlay, "text", label.text.c_str (), nullptr);
    if ((label.text != track->label.text || label.key_id != track->label.key_id) && track->ghost)
      announce_label (*track, label, store);
    track->label = label;
    if (store)
      gst_object_unref (store);
  }
}

gboolean
on_label_timer (gpointer data)
{
  update_labels (GST_JANUS_ROOM_SRC (data));
  return G_SOURCE_CONTINUE;
}

GstStructure *make_stats (GstJanusRoomSrc * self);

GstStructure *
make_element_stats (GstElement * element)
{
  return make_stats (GST_JANUS_ROOM_SRC (element));
}

bool
start (GstJanusRoomSrc * self)
{
  Settings settings;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    settings = self->priv->settings;
  }
  if (settings.server.empty () || (settings.room.empty () && !settings.janus_room)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("janusroomsrc needs a server and a room"),
        ("server=\"%s\" room=\"%s\"", settings.server.c_str (), settings.room.c_str ()));
    return false;
  }
  auto state = std::make_unique<State> ();
  state->loop = std::make_shared<SignallingLoop> ("janusroomsrc");
  JanusSubscriberSettings js;
  js.server = settings.server;
  js.room = settings.janus_room ? settings.janus_room : janus_room_id_for (settings.room);
  JanusSubscriber::Hooks hooks;
  hooks.make_peer = [self] (uint64_t feed) { return make_peer (self, feed); };
  hooks.drop_peer = [self] (uint64_t feed, GstElement * webrtc) { drop_peer (self, feed, webrtc); };
  uint64_t room = js.room;
  hooks.own_publishers = [self, room] { return own_publishers (self, room); };
  hooks.has_media = [self] (uint64_t feed) {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    for (auto & t : self->priv->tracks)
      if (t->feed == feed)
        return true;
    return false;
  };
  state->subscriber = std::make_shared<JanusSubscriber> (*state->loop, js, hooks);
  auto subscriber = state->subscriber;
  state->loop->invoke ([subscriber] { subscriber->start (); });
  state->label_timer = g_timeout_source_new (kLabelIntervalMs);
  g_source_set_callback (state->label_timer, on_label_timer, self, nullptr);
  g_source_attach (state->label_timer, state->loop->context ());
  state->stats_timer = janus_room_start_stats_timer (*state->loop, GST_ELEMENT (self), settings.stats_interval,
      make_element_stats);
  std::lock_guard<std::mutex> lock (self->priv->lock);
  self->priv->state = std::move (state);
  return true;
}

void
stop (GstJanusRoomSrc * self)
{
  std::unique_ptr<State> state;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    state = std::move (self->priv->state);
  }
  if (!state)
    return;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  auto subscriber = std::move (state->subscriber);
  state->loop->invoke ([&, subscriber] {
    g_source_destroy (state->label_timer);
    if (state->stats_timer)
      g_source_destroy (state->stats_timer);
    subscriber->stop ([&] {
      std::lock_guard<std::mutex> lock (mutex);
      done = true;
      done_cv.notify_one ();
    });
  });
  {
    std::unique_lock<std::mutex> lock (mutex);
    done_cv.wait_for (lock, std::chrono::seconds (3), [&] { return done; });
  }
  state->loop->invoke_sync ([subscriber = std::move (subscriber)] () mutable { subscriber.reset (); });
  g_source_unref (state->label_timer);
  if (state->stats_timer)
    g_source_unref (state->stats_timer);
}

GstStructure *
make_stats (GstJanusRoomSrc * self)
{
  JanusSubscriberStats s;
  std::shared_ptr<SignallingLoop> loop;   /* outlives the subscriber, which uses it */
  std::shared_ptr<JanusSubscriber> subscriber;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    if (self->priv->state) {
      subscriber = self->priv->state->subscriber;
      loop = self->priv->state->loop;
    }
  }
  if (subscriber && loop->on_loop_thread ())
    s = subscriber->stats ();
  else if (subscriber)
    loop->invoke_sync ([&] { s = subscriber->stats (); });
  GValue tiles = G_VALUE_INIT;
  gst_value_list_init (&tiles, 0);
  guint tracks;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    tracks = self->priv->tracks.size ();
    for (auto & t : self->priv->tracks) {
      GValue v = G_VALUE_INIT;
      g_value_init (&v, GST_TYPE_STRUCTURE);
      GstStructure *tile = gst_structure_new ("tile", "feed", G_TYPE_UINT64, t->feed, "media", G_TYPE_STRING,
          t->media.c_str (), "label", G_TYPE_STRING, t->label.text.c_str (), "verified", G_TYPE_BOOLEAN,
          t->label.verified, "name", G_TYPE_STRING, t->label.name.c_str (), "state", G_TYPE_STRING,
          tile_state_name (t->label.state), "frames", G_TYPE_UINT64, t->counters.frames, "auth-failures",
          G_TYPE_UINT64, t->counters.auth_failures, "unknown-key", G_TYPE_UINT64, t->counters.unknown_key,
          "decoded", G_TYPE_UINT64, t->decoded.load (), nullptr);
      g_value_take_boxed (&v, tile);
      gst_value_list_append_and_take_value (&tiles, &v);
    }
  }
  GstStructure *st = gst_structure_new ("janus-room-src-stats",
      "publishers", G_TYPE_UINT, s.publishers,
      "tracks", G_TYPE_UINT, tracks,
      "subscriptions", G_TYPE_UINT64, s.subscriptions,
      "resubscriptions", G_TYPE_UINT64, s.resubscriptions,
      "connects", G_TYPE_UINT64, s.connects,
      "reconnects", G_TYPE_UINT64, s.reconnects,
      "last-error", G_TYPE_STRING, s.last_error.c_str (),
      "wall-time-ms", G_TYPE_INT64, g_get_real_time () / 1000, nullptr);
  gst_structure_take_value (st, "tiles", &tiles);
  return st;
}

void
remove_mix (GstJanusRoomSrc * self)
{
  for (const char *name : {"video", "audio"}) {
    GstPad *pad = gst_element_get_static_pad (GST_ELEMENT (self), name);
    if (pad) {
      gst_element_remove_pad (GST_ELEMENT (self), pad);
      gst_object_unref (pad);
    }
  }
  GstIterator *it = gst_bin_iterate_elements (GST_BIN (self));
  GValue item = G_VALUE_INIT;
  std::vector<GstElement *> all;
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    all.push_back (GST_ELEMENT (g_value_dup_object (&item)));
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  for (GstElement *e : all) {
    gst_bin_remove (GST_BIN (self), e);
    gst_object_unref (e);
  }
  self->priv->mix = Mix ();
}

}  // namespace

static GstStateChangeReturn
gst_janus_room_src_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_JANUS_ROOM_SRC (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (gst_janus_room_src_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    stop (self);
  /* Live: nothing to preroll, whatever the room holds yet. */
  if (ret != GST_STATE_CHANGE_FAILURE &&
      (transition == GST_STATE_CHANGE_READY_TO_PAUSED || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED))
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

static void
gst_janus_room_src_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_JANUS_ROOM_SRC (object);
  bool remove = false, build = false;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    Settings & s = self->priv->settings;
    const gchar *text = G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : nullptr;
    switch (prop_id) {
      case PROP_ROOM:
        s.room = text ? text : "";
        break;
      case PROP_SERVER:
        s.server = text ? text : "";
        break;
      case PROP_JANUS_ROOM:
        s.janus_room = g_value_get_uint64 (value);
        break;
      case PROP_DECODE: {
        bool decode = g_value_get_boolean (value);
        remove = s.decode && !decode;
        build = !s.decode && decode;
        s.decode = decode;
        break;
      }
      case PROP_NAME_SENDERS:
        s.name_senders = g_value_get_boolean (value);
        break;
      case PROP_WIDTH:
        s.width = g_value_get_int (value);
        break;
      case PROP_HEIGHT:
        s.height = g_value_get_int (value);
        break;
      case PROP_LOCAL_ADDRESS:
        s.local_address = text ? text : "";
        break;
      case PROP_STATS_INTERVAL:
        s.stats_interval = g_value_get_uint (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  }
  if (remove)
    remove_mix (self);
  if (build)
    build_mix (self);
  if (prop_id == PROP_WIDTH || prop_id == PROP_HEIGHT) {
    /* The output size is set on the mix's capsfilter: build it again. */
    bool decode;
    {
      std::lock_guard<std::mutex> lock (self->priv->lock);
      decode = self->priv->settings.decode;
    }
    if (decode) {
      remove_mix (self);
      build_mix (self);
    }
  }
}

static void
gst_janus_room_src_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto *self = GST_JANUS_ROOM_SRC (object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, make_stats (self));
    return;
  }
  std::lock_guard<std::mutex> lock (self->priv->lock);
  const Settings & s = self->priv->settings;
  switch (prop_id) {
    case PROP_ROOM:
      g_value_set_string (value, s.room.c_str ());
      break;
    case PROP_SERVER:
      g_value_set_string (value, s.server.c_str ());
      break;
    case PROP_JANUS_ROOM:
      g_value_set_uint64 (value, s.janus_room ? s.janus_room : janus_room_id_for (s.room));
      break;
    case PROP_DECODE:
      g_value_set_boolean (value, s.decode);
      break;
    case PROP_NAME_SENDERS:
      g_value_set_boolean (value, s.name_senders);
      break;
    case PROP_WIDTH:
      g_value_set_int (value, s.width);
      break;
    case PROP_HEIGHT:
      g_value_set_int (value, s.height);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_string (value, s.local_address.c_str ());
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint (value, s.stats_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
gst_janus_room_src_init (GstJanusRoomSrc * self)
{
  self->priv = new _GstJanusRoomSrc::Private ();
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
  build_mix (self);
}

static void
gst_janus_room_src_finalize (GObject * object)
{
  auto *self = GST_JANUS_ROOM_SRC (object);
  delete self->priv;
  G_OBJECT_CLASS (gst_janus_room_src_parent_class)->finalize (object);
}

static void
gst_janus_room_src_class_init (GstJanusRoomSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_janus_room_src_set_property;
  gobject_class->get_property = gst_janus_room_src_get_property;
  gobject_class->finalize = gst_janus_room_src_finalize;
  element_class->change_state = gst_janus_room_src_change_state;

  auto flags = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property (gobject_class, PROP_ROOM,
      g_param_spec_string ("room", "Room",
          "The room's name, as the keymanager uses it (its key store decrypts every track)", nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_SERVER,
      g_param_spec_string ("server", "Server", "Janus's WebSocket URL (ws:// or wss://)", nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_JANUS_ROOM,
      g_param_spec_uint64 ("janus-room", "Janus room",
          "Janus's numeric room id (0: derived from the room name, as janusroomsink does)", 0, G_MAXUINT64, 0,
          flags));
  g_object_class_install_property (gobject_class, PROP_DECODE,
      g_param_spec_boolean ("decode", "Decode",
          "Decrypt, decode and mix every track onto the video and audio pads; off: one RTP pad per track",
          TRUE, GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_NAME_SENDERS,
      g_param_spec_boolean ("name-senders", "Name senders",
          "With decode off: decrypt a copy of each track to name its sender from the signed roster in the "
          "janus-room-track event on its pad (and count its frames in the stats); off: no key is needed and the "
          "tracks pass untouched", TRUE, flags));
  g_object_class_install_property (gobject_class, PROP_WIDTH,
      g_param_spec_int ("width", "Width", "Width of the composited video", 16, 7680, 1280, flags));
  g_object_class_install_property (gobject_class, PROP_HEIGHT,
      g_param_spec_int ("height", "Height", "Height of the composited video", 16, 4320, 720, flags));
  g_object_class_install_property (gobject_class, PROP_LOCAL_ADDRESS,
      g_param_spec_string ("local-address", "Local address",
          "The only local IP address ICE uses (empty: every interface)", nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Stats interval",
          "Milliseconds between element messages \"janus-room-src-stats\" carrying #GstJanusRoomSrc:stats (0: none)", 0,
          G_MAXUINT, 0, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "publishers, tracks, subscriptions, resubscriptions, connects, reconnects, last-error, wall-time-ms, and tiles (one "
          "structure per track: feed, media, label, verified, name, state, frames, auth-failures, unknown-key, "
          "decoded)",
          GST_TYPE_STRUCTURE, GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &video_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_add_static_pad_template (element_class, &track_template);
  gst_element_class_set_static_metadata (element_class, "Janus room source", "Source/Network/WebRTC",
      "Receives, decrypts and mixes everyone else in a Janus VideoRoom", "gst-sframe");
  GST_DEBUG_CATEGORY_INIT (gst_janus_room_src_debug, "janusroomsrc", 0, "Janus VideoRoom subscriber");
}
