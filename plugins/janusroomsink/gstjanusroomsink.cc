/**
 * SECTION:element-janusroomsink
 * @title: janusroomsink
 * @see_also: janusroomsrc, sframeenc, keymanager
 *
 * Publishes a member's media to a Janus VideoRoom (the SFU) through a
 * webrtcbin of its own. Each request pad takes the RTP of one
 * `sframeenc ! payloader` chain, audio or video; the media is already
 * SFrame ciphertext, and the room is created, joined and configured as
 * end-to-end encrypted (`require_e2ee`, `"e2ee": true`), so Janus forwards
 * what it cannot read. The element joins when it goes to PAUSED, offers
 * once every pad has caps, and starts over (new session, new offer) when
 * the connection, the session or ICE is lost; it leaves the room at EOS and
 * on the way to READY.
 *
 * The Janus room id is derived from #GstJanusRoomSink:room (the name the
 * keymanager and sframeenc elements use) unless #GstJanusRoomSink:janus-room
 * sets it. #GstJanusRoomSink:stats counts sessions, reconnects and offers.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 keymanager room=standup bus=nats://127.0.0.1:4222 identity=alice.key token-file=alice.jwt authority=authority.pub \
 *   janusroomsink name=pub room=standup server=ws://127.0.0.1:8188 \
 *   videotestsrc is-live=true ! vp8enc deadline=1 ! sframeenc room=standup ! rtpvp8sframepay ! pub. \
 *   audiotestsrc is-live=true ! opusenc ! sframeenc room=standup ! rtpopuspay ! pub.
 * ]|
 * Publishes an encrypted test pattern and tone to the room "standup".
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstjanusroomsink.h"
#include "janus-publisher.h"
#include "../common/janus-room-common.h"
#include "../common/janus-room-id.h"

#include <gst/rtp/rtp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

GST_DEBUG_CATEGORY (gst_janus_room_sink_debug);
#define GST_CAT_DEFAULT gst_janus_room_sink_debug

enum {
  PROP_0,
  PROP_ROOM,
  PROP_SERVER,
  PROP_JANUS_ROOM,
  PROP_DISPLAY,
  PROP_ADMIN_KEY,
  PROP_LOCAL_ADDRESS,
  PROP_STATS,
  PROP_STATS_INTERVAL,
  PROP_PUBLISHER_ID,
};

namespace {

/* The first payload type handed out; each pad gets its own, so that the
 * bundled m-lines never share one. */
constexpr int kFirstPayloadType = 96;

struct Settings {
  std::string room;
  std::string server;
  guint64 janus_room = 0;
  std::string display;
  std::string admin_key;
  std::string local_address;
  guint stats_interval = 0;   /* ms between stats messages; 0: none */
};

/* One request pad: ghost pad → capsfilter (sets the payload type) → the
 * current webrtcbin's sink pad, when there is one. */
struct Input {
  GstPad *ghost = nullptr;
  GstElement *filter = nullptr;
  GstCaps *caps = nullptr;    /* what the payloader settled on */
  bool eos = false;
  guint64 packets = 0;        /* sent to Janus */
  guint64 frames = 0;         /* of them, the last packet of a frame (marker) */
  guint64 key_frame_requests = 0;  /* from Janus (PLI/FIR), passed upstream */

  ~Input ()
  {
    if (filter)
      gst_object_unref (filter);
    if (caps)
      gst_caps_unref (caps);
  }
};

/* Exists from PAUSED to READY. */
struct State {
  /* Shared: who reads it outside the lock keeps it alive (stats read
   * while the element stops). */
  std::shared_ptr<SignallingLoop> loop;
  std::shared_ptr<JanusPublisher> publisher;
  GSource *stats_timer = nullptr;
};

}  // namespace

struct _GstJanusRoomSink {
  GstBin parent;

  struct Private {
    std::mutex lock;
    Settings settings;
    std::vector<std::unique_ptr<Input>> inputs;
    std::unique_ptr<State> state;
    bool eos_posted = false;
  } *priv;
};

G_DEFINE_TYPE (GstJanusRoomSink, gst_janus_room_sink, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE (janusroomsink, "janusroomsink", GST_RANK_NONE, GST_TYPE_JANUS_ROOM_SINK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink_%u",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("application/x-rtp"));

namespace {

Input *
find_input (GstJanusRoomSink * self, GstPad * filter_src)
{
  for (auto & input : self->priv->inputs) {
    GstPad *pad = gst_element_get_static_pad (input->filter, "src");
    gst_object_unref (pad);
    if (pad == filter_src)
      return input.get ();
  }
  return nullptr;
}

bool
every_input_has_caps (GstJanusRoomSink * self)
{
  auto & inputs = self->priv->inputs;
  if (inputs.empty ())
    return false;
  for (auto & input : inputs)
    if (!input->caps)
      return false;
  return true;
}

bool
every_input_ended (GstJanusRoomSink * self)
{
  auto & inputs = self->priv->inputs;
  if (inputs.empty ())
    return false;
  for (auto & input : inputs)
    if (!input->eos)
      return false;
  return true;
}

void
post_eos_once (GstJanusRoomSink * self)
{
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    if (self->priv->eos_posted)
      return;
    self->priv->eos_posted = true;
  }
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_eos (GST_OBJECT (self)));
}

void
on_all_inputs_ended (GstJanusRoomSink * self)
{
  std::shared_ptr<SignallingLoop> loop;   /* outlives the publisher, which uses it */
  std::shared_ptr<JanusPublisher> publisher;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    if (self->priv->state) {
      publisher = self->priv->state->publisher;
      loop = self->priv->state->loop;
    }
  }
  if (!publisher) {
    post_eos_once (self);
    return;
  }
  gst_object_ref (self);
  loop->invoke ([self, publisher] {
    publisher->leave ([self] {
      GST_INFO_OBJECT (self, "left the Janus room at EOS");
      post_eos_once (self);
      gst_object_unref (self);
    });
  });
}

bool
ends_frame (GstBuffer * packet)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (!gst_rtp_buffer_map (packet, GST_MAP_READ, &rtp))
    return false;
  bool marker = gst_rtp_buffer_get_marker (&rtp);
  gst_rtp_buffer_unmap (&rtp);
  return marker;
}

void
count_sent (GstJanusRoomSink * self, GstPad * pad, GstPadProbeInfo * info)
{
  guint64 packets = 0, frames = 0;
  auto count = [&] (GstBuffer * b) {
    packets++;
    frames += ends_frame (b) ? 1 : 0;
  };
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    count (GST_PAD_PROBE_INFO_BUFFER (info));
  } else {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      count (gst_buffer_list_get (list, i));
  }
  std::lock_guard<std::mutex> lock (self->priv->lock);
  if (Input *input = find_input (self, pad)) {
    input->packets += packets;
    input->frames += frames;
  }
}

/* A receiver (through Janus) asked for a key frame: RTCP PLI or FIR,
 * which rtpsession turns into this event towards the encoder. */
GstPadProbeReturn
on_upstream_event (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto *self = GST_JANUS_ROOM_SINK (data);
  if (gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info))) {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    if (Input *input = find_input (self, pad))
      input->key_frame_requests++;
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
on_filter_output (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto *self = GST_JANUS_ROOM_SINK (data);
  if (info->type & (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)) {
    /* No peer yet (or between two): the packets have nowhere to go. */
    if (!gst_pad_is_linked (pad))
      return GST_PAD_PROBE_DROP;
    count_sent (self, pad, info);
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    bool ready = false;
    std::shared_ptr<SignallingLoop> loop;   /* outlives the publisher, which uses it */
    std::shared_ptr<JanusPublisher> publisher;
    {
      std::lock_guard<std::mutex> lock (self->priv->lock);
      Input *input = find_input (self, pad);
      if (input) {
        gst_caps_replace (&input->caps, caps);
        ready = every_input_has_caps (self);
      }
      if (self->priv->state) {
        publisher = self->priv->state->publisher;
        loop = self->priv->state->loop;
      }
    }
    if (ready && publisher)
      loop->invoke ([publisher] { publisher->inputs_ready (); });
  } else if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    bool ended;
    {
      std::lock_guard<std::mutex> lock (self->priv->lock);
      Input *input = find_input (self, pad);
      if (input)
        input->eos = true;
      ended = every_input_ended (self);
    }
    GST_DEBUG_OBJECT (self, "EOS on %" GST_PTR_FORMAT "%s", pad, ended ? ", the last input" : "");
    if (ended)
      on_all_inputs_ended (self);
    /* webrtcbin's own EOS is not the room's: ours is posted above. */
    return gst_pad_is_linked (pad) ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

/* On the signalling loop: a new webrtcbin, every input linked to it. */
GstElement *
make_peer (GstJanusRoomSink * self)
{
  std::vector<std::pair<GstElement *, GstCaps *>> links;
  std::string local_address;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    if (!every_input_has_caps (self))
      return nullptr;
    for (auto & input : self->priv->inputs)
      links.emplace_back (input->filter, gst_caps_ref (input->caps));
    local_address = self->priv->settings.local_address;
  }
  GstElement *webrtc = gst_element_factory_make ("webrtcbin", nullptr);
  g_object_set (webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  if (!janus_room_restrict_ice (webrtc, local_address))
    GST_WARNING_OBJECT (self, "ICE refused local address %s", local_address.c_str ());
  gst_bin_add (GST_BIN (self), webrtc);
  std::vector<std::pair<GstPad *, GstPad *>> pending;
  for (auto & [filter, caps] : links) {
    GstPad *sink = gst_element_request_pad_simple (webrtc, "sink_%u");
    GstWebRTCRTPTransceiver *transceiver = nullptr;
    g_object_get (sink, "transceiver", &transceiver, nullptr);
    if (transceiver) {
      g_object_set (transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, "codec-preferences",
          caps, nullptr);
      gst_object_unref (transceiver);
    }
    pending.emplace_back (gst_element_get_static_pad (filter, "src"), sink);
    gst_caps_unref (caps);
  }
  /* Running before it is linked: a packet pushed into a pad of a
   * webrtcbin still in NULL comes back FLUSHING and stops its source. */
  gst_element_sync_state_with_parent (webrtc);
  for (auto & [src, sink] : pending) {
    if (gst_pad_link (src, sink) != GST_PAD_LINK_OK)
      GST_ERROR_OBJECT (self, "could not link %" GST_PTR_FORMAT " to webrtcbin", src);
    gst_object_unref (src);
    gst_object_unref (sink);
  }
  return webrtc;
}

/* Unlinks `src` between two buffers: a buffer pushed into a webrtcbin
 * pad that is going away would come back FLUSHING and stop the whole
 * upstream branch for good. */
void
unlink_when_idle (GstPad * src)
{
  struct Done {
    std::mutex mutex;
    std::condition_variable cv;
    bool unlinked = false;
  };
  auto done = std::make_shared<Done> ();
  gst_pad_add_probe (src, GST_PAD_PROBE_TYPE_IDLE,
      [] (GstPad * pad, GstPadProbeInfo *, gpointer data) -> GstPadProbeReturn {
        GstPad *peer = gst_pad_get_peer (pad);
        if (peer) {
          gst_pad_unlink (pad, peer);
          gst_object_unref (peer);
        }
        auto & d = *static_cast<std::shared_ptr<Done> *> (data);
        std::lock_guard<std::mutex> lock (d->mutex);
        d->unlinked = true;
        d->cv.notify_one ();
        return GST_PAD_PROBE_REMOVE;
      },
      new std::shared_ptr<Done> (done), [] (gpointer data) { delete static_cast<std::shared_ptr<Done> *> (data); });
  std::unique_lock<std::mutex> lock (done->mutex);
  if (!done->cv.wait_for (lock, std::chrono::seconds (2), [&] { return done->unlinked; }))
    GST_WARNING_OBJECT (src, "still busy after 2 s: unlinking anyway");
  lock.unlock ();
  GstPad *peer = gst_pad_get_peer (src);
  if (peer) {
    gst_pad_unlink (src, peer);
    gst_object_unref (peer);
  }
}

/* On the signalling loop. */
void
drop_peer (GstJanusRoomSink * self, GstElement * webrtc)
{
  GstIterator *it = gst_element_iterate_sink_pads (webrtc);
  GValue item = G_VALUE_INIT;
  std::vector<GstPad *> pads;
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    pads.push_back (GST_PAD (g_value_dup_object (&item)));
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  for (GstPad *sink : pads) {
    GstPad *src = gst_pad_get_peer (sink);
    if (src) {
      unlink_when_idle (src);
      gst_object_unref (src);
    }
    gst_element_release_request_pad (webrtc, sink);
    gst_object_unref (sink);
  }
  gst_element_set_locked_state (webrtc, TRUE);
  gst_element_set_state (webrtc, GST_STATE_NULL);
  gst_bin_remove (GST_BIN (self), webrtc);
  /* GstBin unsets the flag with its last sink child; the pipeline must
   * still wait for this element's EOS. */
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}

JanusPublisherSettings
publisher_settings (const Settings & s)
{
  JanusPublisherSettings p;
  p.server = s.server;
  p.room = s.janus_room ? s.janus_room : janus_room_id_for (s.room);
  p.display = s.display;
  p.admin_key = s.admin_key;
  return p;
}

GstStructure *make_stats (GstJanusRoomSink * self);

GstStructure *
make_element_stats (GstElement * element)
{
  return make_stats (GST_JANUS_ROOM_SINK (element));
}

bool
start (GstJanusRoomSink * self)
{
  Settings settings;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    settings = self->priv->settings;
    self->priv->eos_posted = false;
    for (auto & input : self->priv->inputs)
      input->eos = false;
  }
  if (settings.server.empty () || (settings.room.empty () && !settings.janus_room)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("janusroomsink needs a server and a room"),
        ("server=\"%s\" room=\"%s\"", settings.server.c_str (), settings.room.c_str ()));
    return false;
  }
  auto state = std::make_unique<State> ();
  state->loop = std::make_shared<SignallingLoop> ("janusroomsink");
  JanusPublisher::Hooks hooks;
  hooks.make_peer = [self] { return make_peer (self); };
  hooks.drop_peer = [self] (GstElement * webrtc) { drop_peer (self, webrtc); };
  hooks.fatal = [self] (const std::string & why) {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED, ("Janus refused to publish"), ("%s", why.c_str ()));
  };
  state->publisher = std::make_shared<JanusPublisher> (*state->loop, publisher_settings (settings), hooks);
  bool ready;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    ready = every_input_has_caps (self);
  }
  auto publisher = state->publisher;
  state->loop->invoke ([publisher, ready] {
    publisher->start ();
    if (ready)
      publisher->inputs_ready ();
  });
  state->stats_timer = janus_room_start_stats_timer (*state->loop, GST_ELEMENT (self), settings.stats_interval,
      make_element_stats);
  std::lock_guard<std::mutex> lock (self->priv->lock);
  self->priv->state = std::move (state);
  return true;
}

void
stop (GstJanusRoomSink * self)
{
  std::unique_ptr<State> state;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    state = std::move (self->priv->state);
  }
  if (!state)
    return;
  /* Leave (Janus answers within a second or is given up on), then drop
   * the publisher on its own thread. */
  std::mutex mutex;
  std::condition_variable left_cv;
  bool left = false;
  auto publisher = std::move (state->publisher);
  state->loop->invoke ([&, publisher] () mutable {
    if (state->stats_timer)
      g_source_destroy (state->stats_timer);
    publisher->leave ([&] {
      std::lock_guard<std::mutex> lock (mutex);
      left = true;
      left_cv.notify_one ();
    });
  });
  {
    std::unique_lock<std::mutex> lock (mutex);
    left_cv.wait_for (lock, std::chrono::seconds (3), [&] { return left; });
  }
  state->loop->invoke_sync ([publisher = std::move (publisher)] () mutable { publisher.reset (); });
  if (state->stats_timer)
    g_source_unref (state->stats_timer);
}

GstStructure *
make_stats (GstJanusRoomSink * self)
{
  JanusPublisherStats s;
  guint inputs;
  std::shared_ptr<SignallingLoop> loop;
  std::shared_ptr<JanusPublisher> publisher;
  GValue list = G_VALUE_INIT;
  gst_value_list_init (&list, 0);
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    inputs = self->priv->inputs.size ();
    for (auto & input : self->priv->inputs) {
      const gchar *media = nullptr;
      if (input->caps)
        media = gst_structure_get_string (gst_caps_get_structure (input->caps, 0), "media");
      GValue v = G_VALUE_INIT;
      g_value_init (&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed (&v, gst_structure_new ("input", "media", G_TYPE_STRING, media ? media : "",
              "packets", G_TYPE_UINT64, input->packets, "frames", G_TYPE_UINT64, input->frames,
              "key-frame-requests", G_TYPE_UINT64, input->key_frame_requests, nullptr));
      gst_value_list_append_and_take_value (&list, &v);
    }
    if (self->priv->state) {
      loop = self->priv->state->loop;
      publisher = self->priv->state->publisher;
    }
  }
  if (publisher && loop->on_loop_thread ())
    s = publisher->stats ();
  else if (publisher)
    loop->invoke_sync ([&] { s = publisher->stats (); });
  GstStructure *stats = gst_structure_new ("janus-room-sink-stats",
      "inputs", G_TYPE_UINT, inputs,
      "publisher-id", G_TYPE_UINT64, s.publisher_id,
      "connects", G_TYPE_UINT64, s.connects,
      "reconnects", G_TYPE_UINT64, s.reconnects,
      "offers", G_TYPE_UINT64, s.offers,
      "candidates", G_TYPE_UINT64, s.candidates,
      "publishing", G_TYPE_BOOLEAN, s.publishing,
      "last-error", G_TYPE_STRING, s.last_error.c_str (),
      "wall-time-ms", G_TYPE_INT64, g_get_real_time () / 1000, nullptr);
  gst_structure_take_value (stats, "input-counters", &list);
  return stats;
}

}  // namespace

static GstPad *
gst_janus_room_sink_request_new_pad (GstElement * element, GstPadTemplate * templ, const gchar *, const GstCaps *)
{
  auto *self = GST_JANUS_ROOM_SINK (element);
  auto input = std::make_unique<Input> ();
  guint index;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    index = self->priv->inputs.size ();
  }
  gchar *name = g_strdup_printf ("sink_%u", index);
  input->filter = gst_element_factory_make ("capsfilter", nullptr);
  GstCaps *pt = gst_caps_new_simple ("application/x-rtp", "payload", G_TYPE_INT, kFirstPayloadType + (int) index,
      nullptr);
  g_object_set (input->filter, "caps", pt, nullptr);
  gst_caps_unref (pt);
  gst_object_ref_sink (input->filter);   /* ours as well as the bin's */
  gst_bin_add (GST_BIN (self), input->filter);
  GstPad *filter_sink = gst_element_get_static_pad (input->filter, "sink");
  GstPad *filter_src = gst_element_get_static_pad (input->filter, "src");
  gst_pad_add_probe (filter_src,
      GstPadProbeType (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), on_filter_output, self, nullptr);
  gst_pad_add_probe (filter_src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, self, nullptr);
  input->ghost = gst_ghost_pad_new_from_template (name, filter_sink, templ);
  g_free (name);
  gst_object_unref (filter_sink);
  gst_object_unref (filter_src);
  gst_element_sync_state_with_parent (input->filter);
  GstPad *ghost = input->ghost;
  gst_pad_set_active (ghost, TRUE);
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    self->priv->inputs.push_back (std::move (input));
  }
  gst_element_add_pad (element, ghost);
  return ghost;
}

static void
gst_janus_room_sink_release_pad (GstElement * element, GstPad * pad)
{
  auto *self = GST_JANUS_ROOM_SINK (element);
  std::unique_ptr<Input> input;
  {
    std::lock_guard<std::mutex> lock (self->priv->lock);
    auto & inputs = self->priv->inputs;
    for (auto it = inputs.begin (); it != inputs.end (); ++it)
      if ((*it)->ghost == pad) {
        input = std::move (*it);
        inputs.erase (it);
        break;
      }
  }
  gst_element_remove_pad (element, pad);
  /* At dispose the bin has already dropped its children. */
  if (input && GST_OBJECT_PARENT (input->filter) == GST_OBJECT (self)) {
    gst_element_set_state (input->filter, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), input->filter);
  }
}

static GstStateChangeReturn
gst_janus_room_sink_change_state (GstElement * element, GstStateChange transition)
{
  auto *self = GST_JANUS_ROOM_SINK (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (gst_janus_room_sink_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    stop (self);
  return ret;
}

static void
gst_janus_room_sink_handle_message (GstBin * bin, GstMessage * message)
{
  /* The room's EOS is posted once Janus was left (see on_all_inputs_ended). */
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS) {
    gst_message_unref (message);
    return;
  }
  GST_BIN_CLASS (gst_janus_room_sink_parent_class)->handle_message (bin, message);
}

static void
gst_janus_room_sink_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  auto *self = GST_JANUS_ROOM_SINK (object);
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
    case PROP_DISPLAY:
      s.display = text ? text : "";
      break;
    case PROP_ADMIN_KEY:
      s.admin_key = text ? text : "";
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

static void
gst_janus_room_sink_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto *self = GST_JANUS_ROOM_SINK (object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, make_stats (self));
    return;
  }
  if (prop_id == PROP_PUBLISHER_ID) {
    GstStructure *stats = make_stats (self);
    guint64 id = 0;
    gst_structure_get_uint64 (stats, "publisher-id", &id);
    gst_structure_free (stats);
    g_value_set_uint64 (value, id);
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
    case PROP_DISPLAY:
      g_value_set_string (value, s.display.c_str ());
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
gst_janus_room_sink_init (GstJanusRoomSink * self)
{
  self->priv = new _GstJanusRoomSink::Private ();
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
}

static void
gst_janus_room_sink_finalize (GObject * object)
{
  auto *self = GST_JANUS_ROOM_SINK (object);
  delete self->priv;
  G_OBJECT_CLASS (gst_janus_room_sink_parent_class)->finalize (object);
}

static void
gst_janus_room_sink_class_init (GstJanusRoomSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);
  gobject_class->set_property = gst_janus_room_sink_set_property;
  gobject_class->get_property = gst_janus_room_sink_get_property;
  gobject_class->finalize = gst_janus_room_sink_finalize;
  element_class->request_new_pad = gst_janus_room_sink_request_new_pad;
  element_class->release_pad = gst_janus_room_sink_release_pad;
  element_class->change_state = gst_janus_room_sink_change_state;
  bin_class->handle_message = gst_janus_room_sink_handle_message;

  auto flags = GParamFlags (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property (gobject_class, PROP_ROOM,
      g_param_spec_string ("room", "Room", "The room's name, as the keymanager and sframeenc elements use it",
          nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_SERVER,
      g_param_spec_string ("server", "Server", "Janus's WebSocket URL (ws:// or wss://)", nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_JANUS_ROOM,
      g_param_spec_uint64 ("janus-room", "Janus room",
          "Janus's numeric room id (0: derived from the room name, as janusroomsrc does)", 0, G_MAXUINT64, 0,
          flags));
  g_object_class_install_property (gobject_class, PROP_DISPLAY,
      g_param_spec_string ("display", "Display name",
          "The name Janus shows for this publisher; members label tiles from the signed roster instead", nullptr,
          flags));
  g_object_class_install_property (gobject_class, PROP_ADMIN_KEY,
      g_param_spec_string ("admin-key", "Admin key",
          "The VideoRoom admin_key, to create the room when it does not exist (a Janus setting, not a media key); "
          "write-only", nullptr,
          GParamFlags (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_LOCAL_ADDRESS,
      g_param_spec_string ("local-address", "Local address",
          "The only local IP address ICE uses (empty: every interface)", nullptr, flags));
  g_object_class_install_property (gobject_class, PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Stats interval",
          "Milliseconds between element messages \"janus-room-sink-stats\" carrying #GstJanusRoomSink:stats (0: none)", 0,
          G_MAXUINT, 0, flags));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "inputs, publisher-id, connects, reconnects, offers, candidates, publishing, last-error, wall-time-ms, "
          "and input-counters "
          "(one structure per pad: media, packets, frames, key-frame-requests)", GST_TYPE_STRUCTURE,
          GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  g_object_class_install_property (gobject_class, PROP_PUBLISHER_ID,
      g_param_spec_uint64 ("publisher-id", "Publisher id",
          "Janus's id for this publisher while joined (0: not joined); janusroomsrc skips it", 0, G_MAXUINT64, 0,
          GParamFlags (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class, "Janus room sink", "Sink/Network/WebRTC",
      "Publishes end-to-end encrypted media to a Janus VideoRoom over WebRTC", "gst-sframe");
  GST_DEBUG_CATEGORY_INIT (gst_janus_room_sink_debug, "janusroomsink", 0, "Janus VideoRoom publisher");
}
