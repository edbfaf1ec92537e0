/**
 * SECTION:element-sframedec
 * @title: sframedec
 * @see_also: sframeenc
 *
 * Authenticates and decrypts SFrame (RFC 9605) media frames. It sits between
 * an RTP depayloader and a decoder. Frames it cannot authenticate (tampered,
 * truncated, replayed, unknown key id) are dropped and counted by reason in
 * #GstSFrameDec:stats, with at most one warning every two seconds naming the
 * key id.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000" ! rtpvp8depay ! sframedec key=000102030405060708090a0b0c0d0e0f ! vp8dec ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsframedec.h"

#include <gst/sframe/keyring.h>

#include <memory>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC (gst_sframe_dec_debug);
#define GST_CAT_DEFAULT gst_sframe_dec_debug

enum {
  PROP_0,
  PROP_STATS,
};

namespace {

struct Stats {
  guint64 frames = 0;   /* decrypted */
  guint64 bytes = 0;    /* plaintext bytes out */
  guint64 auth_failures = 0;
  guint64 unknown_key = 0;
  guint64 replayed = 0;
  guint64 malformed = 0;
  guint64 dropped = 0;
};

/* Exists only while running. */
struct State {
  GstSFrameKeyStore *store = nullptr;
  std::unique_ptr<sframe::FrameUnprotector> unprotector;
  DropWarner warner;

  ~State () { gst_clear_object (&store); }
};

}  // namespace

struct SFrameDecImpl {
  std::mutex lock;
  std::unique_ptr<State> state;
  Stats stats;
};

struct _GstSFrameDec {
  GstSFrameBase parent;
  SFrameDecImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstSFrameDec, gst_sframe_dec, GST_TYPE_SFRAME_BASE,
    GST_DEBUG_CATEGORY_INIT (gst_sframe_dec_debug, "sframedec", 0, "SFrame decrypter"));
GST_ELEMENT_REGISTER_DEFINE (sframedec, "sframedec", GST_RANK_NONE, GST_TYPE_SFRAME_DEC);

static GstStructure *
stats_structure (const Stats & s)
{
  return gst_structure_new ("application/x-sframe-dec-stats",
      "frames", G_TYPE_UINT64, s.frames,
      "bytes", G_TYPE_UINT64, s.bytes,
      "auth-failures", G_TYPE_UINT64, s.auth_failures,
      "unknown-key", G_TYPE_UINT64, s.unknown_key,
      "replayed", G_TYPE_UINT64, s.replayed,
      "malformed", G_TYPE_UINT64, s.malformed,
      "dropped", G_TYPE_UINT64, s.dropped, nullptr);
}

static gboolean
gst_sframe_dec_start (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_DEC (trans);
  if (!GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->start (trans))
    return FALSE;
  auto state = std::make_unique<State> ();
  state->store = gst_sframe_base_get_store (GST_SFRAME_BASE (self));
  state->unprotector = std::make_unique<sframe::FrameUnprotector> (gst_sframe_key_store_get_ring (state->store));
  std::lock_guard<std::mutex> lock (self->impl->lock);
  self->impl->state = std::move (state);
  self->impl->stats = Stats ();
  return TRUE;
}

static gboolean
gst_sframe_dec_stop (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_DEC (trans);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state.reset ();
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->stop (trans);
}

static GstFlowReturn
gst_sframe_dec_prepare_output_buffer (GstBaseTransform *, GstBuffer * inbuf,
    GstBuffer ** outbuf)
{
  /* Decryption never grows a frame. */
  *outbuf = gst_sframe_base_new_output (inbuf, gst_buffer_get_size (inbuf));
  return GST_FLOW_OK;
}

static void
count_drop (GstSFrameDec * self, State & state, sframe::Status status, const sframe::Header & header,
    bool header_parsed)
{
  Stats & stats = self->impl->stats;
  stats.dropped++;
  switch (status) {
    case sframe::Status::authentication_failed:
      stats.auth_failures++;
      break;
    case sframe::Status::unknown_key:
      stats.unknown_key++;
      break;
    case sframe::Status::replayed:
      stats.replayed++;
      break;
    default:
      stats.malformed++;
      break;
  }
  guint64 count = 0;
  if (!state.warner.note_drop (g_get_monotonic_time (), &count))
    return;
  if (header_parsed) {
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("Dropping frames that cannot be decrypted"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped, last: %s (key id %" G_GUINT64_FORMAT ")",
            count, sframe::status_name (status), header.key_id));
  } else {
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("Dropping frames that cannot be decrypted"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped, last: %s", count, sframe::status_name (status)));
  }
}

static void
apply_static_key (GstSFrameDec * self, State & state)
{
  GstSFrameStaticKey key;
  if (gst_sframe_base_take_static_key (GST_SFRAME_BASE (self), &key))
    gst_sframe_base_install_key (GST_SFRAME_BASE (self), state.store, key, 0);
}

static GstFlowReturn
gst_sframe_dec_transform_locked (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  auto self = GST_SFRAME_DEC (trans);
  auto format = gst_sframe_base_get_format (GST_SFRAME_BASE (self));
  State *state = self->impl->state.get ();
  if (!state)
    return GST_FLOW_FLUSHING;
  apply_static_key (self, *state);

  GstMapInfo in, out;
  if (!gst_buffer_map (inbuf, &in, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (!gst_buffer_map (outbuf, &out, GST_MAP_WRITE)) {
    gst_buffer_unmap (inbuf, &in);
    return GST_FLOW_ERROR;
  }
  size_t written = 0;
  sframe::Header header;
  header.key_id = G_MAXUINT64;
  header.counter = 0;
  auto status = state->unprotector->unprotect (format, {in.data, in.size}, {out.data, out.size},
      &written, &header);
  gst_buffer_unmap (outbuf, &out);
  gst_buffer_unmap (inbuf, &in);

  if (status != sframe::Status::ok) {
    bool parsed = status != sframe::Status::header_truncated &&
        status != sframe::Status::header_non_minimal && status != sframe::Status::malformed_frame;
    count_drop (self, *state, status, header, parsed);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  gst_buffer_resize (outbuf, 0, written);
  self->impl->stats.frames++;
  self->impl->stats.bytes += written;
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_sframe_dec_transform (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  auto self = GST_SFRAME_DEC (trans);
  GstFlowReturn ret;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    ret = gst_sframe_dec_transform_locked (trans, inbuf, outbuf);
  }
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED)
    gst_sframe_base_push_gap (GST_SFRAME_BASE (self), inbuf);
  return ret;
}

static void
gst_sframe_dec_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_SFRAME_DEC (object);
  switch (prop_id) {
    case PROP_STATS: {
      std::lock_guard<std::mutex> lock (self->impl->lock);
      g_value_take_boxed (value, stats_structure (self->impl->stats));
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_sframe_dec_finalize (GObject * object)
{
  auto self = GST_SFRAME_DEC (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_sframe_dec_parent_class)->finalize (object);
}

static void
gst_sframe_dec_init (GstSFrameDec * self)
{
  self->impl = new SFrameDecImpl ();
}

static void
gst_sframe_dec_class_init (GstSFrameDecClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->get_property = gst_sframe_dec_get_property;
  gobject_class->finalize = gst_sframe_dec_finalize;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_sframe_dec_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sframe_dec_stop);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_sframe_dec_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_sframe_dec_transform);
  GST_SFRAME_BASE_CLASS (klass)->encrypts = FALSE;

  /**
   * GstSFrameDec:stats:
   *
   * Counters since the element started: frames, bytes (plaintext),
   * auth-failures, unknown-key, replayed, malformed, dropped (their sum).
   *
   *   gst-launch-1.0 ... ! sframedec name=d key=... ! ...   (read d.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Decryption counters by outcome",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  GstCaps *any = gst_caps_new_any ();
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, any));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, any));
  gst_caps_unref (any);

  gst_element_class_set_static_metadata (element_class, "SFrame decrypter",
      "Filter/Network/Decryptor", "Authenticates and decrypts SFrame (RFC 9605) media frames",
      "gst-sframe developers");
}
