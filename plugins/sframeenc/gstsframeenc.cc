/**
 * SECTION:element-sframeenc
 * @title: sframeenc
 * @see_also: sframedec
 *
 * Encrypts encoded media frames with SFrame (RFC 9605). It sits between an
 * encoder and its RTP payloader. With no usable key it drops frames (never
 * passes plaintext), counts them in #GstSFrameEnc:stats and posts one
 * warning.
 *
 * With a static #GstSFrameBase:key it sends under a key id of its own,
 * drawn at random whenever the key is set (#GstSFrameEnc:key-id), with the
 * counter from 0: senders that share the key, and restarts, never repeat a
 * nonce. Without one it uses the room's sender key (from the keymanager or
 * the application). A key whose counter runs out posts an element message
 * `sframe-key-exhausted` (key-id); a static key moves on to a new key id at
 * once, the room's sender key waits for its key manager to rotate.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! vp8enc deadline=1 ! sframeenc key=000102030405060708090a0b0c0d0e0f ! rtpvp8sframepay ! udpsink host=127.0.0.1 port=5004
 * ]|
 * Encodes a test pattern as VP8, encrypts each frame with a static 16-byte
 * key (the VP8 frame tag stays clear) and sends it as RTP to UDP port 5004
 * of this host; the sframedec example receives it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsframeenc.h"
#include "../common/gstsframesuite.h"

#include <gst/sframe/core/keyring.h>

#include <memory>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC (gst_sframe_enc_debug);
#define GST_CAT_DEFAULT gst_sframe_enc_debug

enum {
  PROP_0,
  PROP_STATS,
  PROP_KEY_ID,
};

namespace {

struct Stats {
  guint64 frames = 0;     /* encrypted */
  guint64 bytes = 0;      /* plaintext bytes encrypted */
  guint64 dropped = 0;
  guint64 no_key = 0;
  guint64 malformed = 0;
  guint64 exhausted = 0;   /* dropped: the key had used its last counter */
};

/* Our sending with a static key: one key id per session. */
struct StaticSession {
  GstSFrameStaticKey key;
  guint64 key_id = 0;   /* 0: none */
};

/* Exists only while running. */
struct State {
  GstSFrameKeyStore *store = nullptr;
  std::unique_ptr<sframe::FrameProtector> protector;
  StaticSession session;
  bool warned_no_key = false;
  guint64 reported_exhausted = 0;   /* key id last reported, 0: none */
  DropWarner malformed_warner;

  void end_session ()
  {
    if (session.key_id)
      gst_sframe_key_store_get_ring (store).remove_key (session.key_id);
    session.key_id = 0;
  }
  ~State ()
  {
    if (store)
      end_session ();
    gst_clear_object (&store);
  }
};

}  // namespace

struct SFrameEncImpl {
  std::mutex lock;
  std::unique_ptr<State> state;
  Stats stats;
};

struct _GstSFrameEnc {
  GstSFrameBase parent;
  SFrameEncImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstSFrameEnc, gst_sframe_enc, GST_TYPE_SFRAME_BASE,
    GST_DEBUG_CATEGORY_INIT (gst_sframe_enc_debug, "sframeenc", 0, "SFrame encrypter"));
GST_ELEMENT_REGISTER_DEFINE (sframeenc, "sframeenc", GST_RANK_NONE, GST_TYPE_SFRAME_ENC);

static GstStructure *
stats_structure (const Stats & s)
{
  return gst_structure_new ("application/x-sframe-enc-stats",
      "frames", G_TYPE_UINT64, s.frames,
      "bytes", G_TYPE_UINT64, s.bytes,
      "dropped", G_TYPE_UINT64, s.dropped,
      "no-key", G_TYPE_UINT64, s.no_key,
      "malformed", G_TYPE_UINT64, s.malformed,
      "exhausted", G_TYPE_UINT64, s.exhausted, nullptr);
}

static gboolean
gst_sframe_enc_start (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_ENC (trans);
  if (!GST_BASE_TRANSFORM_CLASS (gst_sframe_enc_parent_class)->start (trans))
    return FALSE;
  auto state = std::make_unique<State> ();
  state->store = gst_sframe_base_get_store (GST_SFRAME_BASE (self));
  state->protector = std::make_unique<sframe::FrameProtector> (gst_sframe_key_store_get_ring (state->store));
  std::lock_guard<std::mutex> lock (self->impl->lock);
  self->impl->state = std::move (state);
  self->impl->stats = Stats ();
  return TRUE;
}

static gboolean
gst_sframe_enc_stop (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_ENC (trans);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state.reset ();
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_enc_parent_class)->stop (trans);
}

static GstFlowReturn
gst_sframe_enc_prepare_output_buffer (GstBaseTransform * trans, GstBuffer * inbuf,
    GstBuffer ** outbuf)
{
  auto format = gst_sframe_base_get_format (GST_SFRAME_BASE (trans));
  GstMapInfo in;
  if (!gst_buffer_map (inbuf, &in, GST_MAP_READ))
    return GST_FLOW_ERROR;
  gsize size = sframe::protected_size_bound (format, {in.data, in.size});
  gst_buffer_unmap (inbuf, &in);
  *outbuf = gst_sframe_base_new_output (inbuf, size);
  return GST_FLOW_OK;
}

/* Starts a sender session on the static key: a fresh key id, counter 0. */
static bool
start_session (GstSFrameEnc * self, State & state)
{
  guint64 previous = state.session.key_id;
  uint64_t key_id = 0;
  auto status = gst_sframe_key_store_get_ring (state.store).start_sender_session (
      gst_sframe_core_suite (state.session.key.suite), state.session.key.key.view (), &key_id);
  state.end_session ();
  if (status != sframe::Status::ok) {
    gst_sframe_base_post_key_error (GST_SFRAME_BASE (self), status);
    return false;
  }
  state.session.key_id = key_id;
  GST_INFO_OBJECT (self, "static key: sending under key id %" G_GUINT64_FORMAT
      " (was %" G_GUINT64_FORMAT ")", key_id, previous);
  return true;
}

/* A static key given through the properties takes effect on the first
 * frame after each write, in a new session. */
static void
apply_static_key (GstSFrameEnc * self, State & state)
{
  GstSFrameStaticKey key;
  if (!gst_sframe_base_take_static_key (GST_SFRAME_BASE (self), &key))
    return;
  state.session.key = std::move (key);
  if (start_session (self, state))
    gst_sframe_base_warn_if_keys_mixed (GST_SFRAME_BASE (self), gst_sframe_key_store_get_ring (state.store));
}

static void
post_exhausted (GstSFrameEnc * self, State & state, guint64 key_id, guint64 next_key_id)
{
  if (state.reported_exhausted == key_id)
    return;
  state.reported_exhausted = key_id;
  GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("SFrame key used up"),
      ("key %" G_GUINT64_FORMAT " has used its last counter%s", key_id,
          next_key_id ? "; sending under a new key id" : "; dropping frames until the key is rotated"));
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("sframe-key-exhausted", "key-id", G_TYPE_UINT64, key_id,
              "next-key-id", G_TYPE_UINT64, next_key_id, nullptr)));
}

static void
count_drop (GstSFrameEnc * self, State & state, sframe::Status status)
{
  Stats & stats = self->impl->stats;
  stats.dropped++;
  if (status == sframe::Status::unknown_key) {
    stats.no_key++;
    if (!state.warned_no_key) {
      state.warned_no_key = true;
      GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("No SFrame key: dropping frames"),
          ("no sender key installed; frames are dropped until one is"));
    }
    return;
  }
  if (status == sframe::Status::malformed_frame)
    stats.malformed++;
  if (status == sframe::Status::counter_exhausted)
    stats.exhausted++;
  guint64 count = 0;
  if (state.malformed_warner.note_drop (g_get_monotonic_time (), &count)) {
    GST_ELEMENT_WARNING (self, STREAM, ENCODE, ("Could not encrypt frames"),
        ("dropped %" G_GUINT64_FORMAT " frame(s): %s", count, sframe::status_name (status)));
  }
}

static sframe::Status
protect_buffer (State & state, sframe::FrameFormat format, GstBuffer * inbuf, GstBuffer * outbuf,
    size_t * written)
{
  MappedPair mapped (inbuf, outbuf);
  if (!mapped.ok ())
    return sframe::Status::invalid_argument;
  const guint64 *key_id = state.session.key_id ? &state.session.key_id : nullptr;
  return state.protector->protect (format, key_id, mapped.in (), mapped.out (), written);
}

/* The room's sender key, for the exhaustion report. */
static guint64
room_sender_key_id (State & state)
{
  guint64 key_id = 0;
  gst_sframe_key_store_get_sender_key (state.store, &key_id);
  return key_id;
}

static GstFlowReturn
gst_sframe_enc_transform_locked (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  auto self = GST_SFRAME_ENC (trans);
  auto format = gst_sframe_base_get_format (GST_SFRAME_BASE (self));
  State *state = self->impl->state.get ();
  if (!state)
    return GST_FLOW_FLUSHING;
  apply_static_key (self, *state);

  size_t written = 0;
  auto status = protect_buffer (*state, format, inbuf, outbuf, &written);
  if (status == sframe::Status::counter_exhausted) {
    guint64 used_up = state->session.key_id ? state->session.key_id : room_sender_key_id (*state);
    if (state->session.key_id && start_session (self, *state))
      status = protect_buffer (*state, format, inbuf, outbuf, &written);
    post_exhausted (self, *state, used_up, state->session.key_id);
  }
  if (status != sframe::Status::ok) {
    count_drop (self, *state, status);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  gst_buffer_resize (outbuf, 0, written);
  state->warned_no_key = false;
  self->impl->stats.frames++;
  self->impl->stats.bytes += gst_buffer_get_size (inbuf);
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_sframe_enc_transform (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  auto self = GST_SFRAME_ENC (trans);
  GstFlowReturn ret;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    ret = gst_sframe_enc_transform_locked (trans, inbuf, outbuf);
  }
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED)
    gst_sframe_base_push_gap (GST_SFRAME_BASE (self), inbuf);
  return ret;
}

static void
gst_sframe_enc_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_SFRAME_ENC (object);
  switch (prop_id) {
    case PROP_STATS: {
      std::lock_guard<std::mutex> lock (self->impl->lock);
      g_value_take_boxed (value, stats_structure (self->impl->stats));
      break;
    }
    case PROP_KEY_ID: {
      std::lock_guard<std::mutex> lock (self->impl->lock);
      State *state = self->impl->state.get ();
      g_value_set_uint64 (value, state ? state->session.key_id : 0);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_sframe_enc_finalize (GObject * object)
{
  auto self = GST_SFRAME_ENC (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_sframe_enc_parent_class)->finalize (object);
}

static void
gst_sframe_enc_init (GstSFrameEnc * self)
{
  self->impl = new SFrameEncImpl ();
}

static void
gst_sframe_enc_class_init (GstSFrameEncClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->get_property = gst_sframe_enc_get_property;
  gobject_class->finalize = gst_sframe_enc_finalize;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_sframe_enc_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sframe_enc_stop);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_sframe_enc_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_sframe_enc_transform);
  GST_SFRAME_BASE_CLASS (klass)->encrypts = TRUE;

  /**
   * GstSFrameEnc:stats:
   *
   * Counters since the element started: frames, bytes (plaintext), dropped,
   * no-key, malformed, exhausted.
   *
   *   gst-launch-1.0 -v ... ! sframeenc name=e key=... ! ...   (read e.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Encryption counters",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstSFrameEnc:key-id:
   *
   * The key id this element sends under with its static key: drawn at
   * random (never 0) for each session, that is at every write of
   * #GstSFrameBase:key and every start. 0 when it has no static key.
   * Receivers need only the key: sframedec derives the key of every key id.
   */
  g_object_class_install_property (gobject_class, PROP_KEY_ID,
      g_param_spec_uint64 ("key-id", "Key id", "SFrame key id (KID) of this sender's session",
          0, G_MAXUINT64, 0, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  GstCaps *any = gst_caps_new_any ();
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, any));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, any));
  gst_caps_unref (any);

  gst_element_class_set_static_metadata (element_class, "SFrame encrypter",
      "Filter/Network/Encryptor", "Encrypts encoded media frames with SFrame (RFC 9605)",
      "gst-sframe developers");
}
