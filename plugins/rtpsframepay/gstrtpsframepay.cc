/**
 * SECTION:element-rtpsframepay
 * @title: rtpsframepay
 * @see_also: rtpsframedepay, sframeenc
 *
 * Payloads whole-frame SFrame ciphertexts (from `sframeenc mode=frame`) into
 * RTP packets with the generic SFrame payload format of
 * draft-ietf-avtcore-rtp-sframe-02 (per-frame SFrame, T=0): each frame is
 * split at the MTU, every packet starts with the one-byte SFrame payload
 * descriptor (S on the first packet, E on the last), all packets of a frame
 * share one RTP timestamp, and for video the marker bit is set on the last
 * packet of every frame.
 *
 * The media type and clock rate of the RTP stream come from the
 * `original-caps` of the SFrame stream (video: 90000; Opus: 48000; other
 * audio: its rate), and the original caps travel in the RTP caps as
 * `original-caps` (an fmtp parameter in SDP) so that #GstRtpSFrameDepay can
 * restore them. See docs/wire-format.md, "Frame mode over RTP".
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! vp8enc deadline=1 ! sframeenc mode=frame key=000102030405060708090a0b0c0d0e0f ! rtpsframepay ! udpsink host=127.0.0.1 port=5004
 * ]|
 * Encrypts whole VP8 frames (frame mode: nothing of the codec stays clear)
 * and sends them in the generic SFrame RTP payload format to UDP port 5004
 * of this host; the rtpsframedepay example receives them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpsframepay.h"
#include "rtpsframe-format.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_sframe_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_sframe_pay_debug

#define VIDEO_CLOCK_RATE 90000
#define OPUS_CLOCK_RATE 48000   /* RFC 7587 section 4.1, whatever the input rate */

enum {
  PROP_0,
  PROP_STATS,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("application/x-sframe"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media=(string){ video, audio, application }, "
        "payload=(int)[ 96, 127 ], clock-rate=(int)[ 1, MAX ], encoding-name=(string)SFRAME"));

namespace {

struct Stats {
  guint64 frames = 0;    /* SFrames sent */
  guint64 packets = 0;   /* RTP packets produced */
  guint64 bytes = 0;     /* SFrame bytes sent (descriptors excluded) */
  guint64 dropped = 0;   /* empty input buffers */
};

/* Set from the negotiated caps. */
struct State {
  /* Video marks every frame end; audio only a talkspurt start
   * (RFC 3551 section 4.1), like the media packetizers would. */
  bool marker_every_frame = true;
  bool first_frame = true;
};

}  // namespace

struct RtpSFramePayImpl {
  std::mutex lock;
  State state;
  Stats stats;
};

struct _GstRtpSFramePay {
  GstRTPBasePayload parent;
  RtpSFramePayImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstRtpSFramePay, gst_rtp_sframe_pay, GST_TYPE_RTP_BASE_PAYLOAD,
    GST_DEBUG_CATEGORY_INIT (gst_rtp_sframe_pay_debug, "rtpsframepay", 0,
        "SFrame RTP payloader"));
GST_ELEMENT_REGISTER_DEFINE (rtpsframepay, "rtpsframepay", GST_RANK_NONE, GST_TYPE_RTP_SFRAME_PAY);

static GstStructure *
stats_structure (const Stats & s)
{
  return gst_structure_new ("application/x-rtp-sframe-pay-stats",
      "frames", G_TYPE_UINT64, s.frames,
      "packets", G_TYPE_UINT64, s.packets,
      "bytes", G_TYPE_UINT64, s.bytes,
      "dropped", G_TYPE_UINT64, s.dropped, nullptr);
}

/* RTP media and clock rate for the protected stream's caps. */
struct MediaInfo {
  const char *media = "application";
  gint clock_rate = VIDEO_CLOCK_RATE;
};

static MediaInfo
media_info (GstCaps * original)
{
  MediaInfo info;
  if (!original || gst_caps_is_empty (original) || gst_caps_is_any (original))
    return info;
  GstStructure *s = gst_caps_get_structure (original, 0);
  const gchar *name = gst_structure_get_name (s);
  if (g_str_has_prefix (name, "video/") || g_str_has_prefix (name, "image/")) {
    info.media = "video";
  } else if (g_str_has_prefix (name, "audio/")) {
    info.media = "audio";
    gint rate = 0;
    if (g_str_equal (name, "audio/x-opus") || !gst_structure_get_int (s, "rate", &rate) || rate <= 0)
      rate = OPUS_CLOCK_RATE;
    info.clock_rate = rate;
  }
  return info;
}

static gboolean
gst_rtp_sframe_pay_set_caps (GstRTPBasePayload * payload, GstCaps * caps)
{
  auto self = GST_RTP_SFRAME_PAY (payload);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  const gchar *original = gst_structure_get_string (s, rtpsframe::kOriginalCapsField);
  GstCaps *original_caps = original ? gst_caps_from_string (original) : nullptr;
  if (!original_caps) {
    /* Still sendable; the receiver then needs rtpsframedepay media-caps. */
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("No usable original-caps in the SFrame caps"),
        ("caps %" GST_PTR_FORMAT ": sending as media=application", caps));
  }
  MediaInfo info = media_info (original_caps);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state.marker_every_frame = !g_str_equal (info.media, "audio");
    self->impl->state.first_frame = true;
  }
  GST_DEBUG_OBJECT (self, "media %s, clock rate %d, original caps %" GST_PTR_FORMAT,
      info.media, info.clock_rate, original_caps);

  gst_rtp_base_payload_set_options (payload, info.media, TRUE, rtpsframe::kEncodingName,
      info.clock_rate);
  gboolean ok;
  if (original_caps) {
    gchar *str = gst_caps_to_string (original_caps);
    std::string escaped = rtpsframe::escape_caps (str);
    g_free (str);
    ok = gst_rtp_base_payload_set_outcaps (payload, rtpsframe::kOriginalCapsField, G_TYPE_STRING,
        escaped.c_str (), nullptr);
    gst_caps_unref (original_caps);
  } else {
    ok = gst_rtp_base_payload_set_outcaps (payload, nullptr);
  }
  return ok;
}

/* Whether the last packet of this frame carries the RTP marker bit. */
static bool
frame_marker (GstRtpSFramePay * self, GstBuffer * buffer)
{
  std::lock_guard<std::mutex> lock (self->impl->lock);
  State & state = self->impl->state;
  bool talkspurt = state.first_frame ||
      GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT) ||
      GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_RESYNC) ||
      GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_MARKER);
  state.first_frame = false;
  return state.marker_every_frame || talkspurt;
}

/* One RTP packet: descriptor byte, then `len` bytes of the frame at
 * `offset`, shared with the input rather than copied. */
static GstBuffer *
make_packet (GstRTPBasePayload * payload, GstBuffer * frame, guint csrc_count, gsize offset,
    gsize len, guint8 descriptor, bool marker)
{
  GstBuffer *out = gst_rtp_base_payload_allocate_output_buffer (payload,
      rtpsframe::kDescriptorSize, 0, csrc_count);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  if (gst_rtp_buffer_map (out, GST_MAP_WRITE, &rtp)) {
    static_cast<guint8 *> (gst_rtp_buffer_get_payload (&rtp))[0] = descriptor;
    gst_rtp_buffer_set_marker (&rtp, marker);
    gst_rtp_buffer_unmap (&rtp);
  }
  if (marker)
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_MARKER);
  GST_BUFFER_PTS (out) = GST_BUFFER_PTS (frame);
  GST_BUFFER_DTS (out) = GST_BUFFER_DTS (frame);
  return gst_buffer_append (out, gst_buffer_copy_region (frame, GST_BUFFER_COPY_MEMORY, offset, len));
}

static GstFlowReturn
gst_rtp_sframe_pay_handle_buffer (GstRTPBasePayload * payload, GstBuffer * buffer)
{
  auto self = GST_RTP_SFRAME_PAY (payload);
  gsize size = gst_buffer_get_size (buffer);
  if (size == 0) {
    /* An SFrame has at least a header; nothing to send. */
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->stats.dropped++;
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }

  guint csrc_count = gst_rtp_base_payload_get_source_count (payload, buffer);
  guint max_payload = gst_rtp_buffer_calc_payload_len (GST_RTP_BASE_PAYLOAD_MTU (payload), 0, csrc_count);
  if (max_payload <= rtpsframe::kDescriptorSize) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("MTU too small"),
        ("mtu %u leaves no room for the SFrame payload", GST_RTP_BASE_PAYLOAD_MTU (payload)));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  gsize fragment = max_payload - rtpsframe::kDescriptorSize;
  guint packets = static_cast<guint> ((size + fragment - 1) / fragment);
  bool marker = frame_marker (self, buffer);

  GstBufferList *list = gst_buffer_list_new_sized (packets);
  for (guint i = 0; i < packets; i++) {
    gsize offset = i * fragment;
    gsize len = std::min (fragment, size - offset);
    bool last = i + 1 == packets;
    /* T stays 0: the payload is a whole-frame SFrame (per-frame, "raw"). */
    guint8 descriptor = (i == 0 ? rtpsframe::kStartBit : 0) | (last ? rtpsframe::kEndBit : 0);
    gst_buffer_list_add (list, make_packet (payload, buffer, csrc_count, offset, len, descriptor,
            last && marker));
  }
  gst_buffer_unref (buffer);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->stats.frames++;
    self->impl->stats.packets += packets;
    self->impl->stats.bytes += size;
  }
  /* A list: the base class gives all packets the first one's timestamp. */
  return gst_rtp_base_payload_push_list (payload, list);
}

static GstStateChangeReturn
gst_rtp_sframe_pay_change_state (GstElement * element, GstStateChange transition)
{
  auto self = GST_RTP_SFRAME_PAY (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state = State ();
    self->impl->stats = Stats ();
  }
  return GST_ELEMENT_CLASS (gst_rtp_sframe_pay_parent_class)->change_state (element, transition);
}

static void
gst_rtp_sframe_pay_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_RTP_SFRAME_PAY (object);
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
gst_rtp_sframe_pay_finalize (GObject * object)
{
  auto self = GST_RTP_SFRAME_PAY (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_rtp_sframe_pay_parent_class)->finalize (object);
}

static void
gst_rtp_sframe_pay_init (GstRtpSFramePay * self)
{
  self->impl = new RtpSFramePayImpl ();
}

static void
gst_rtp_sframe_pay_class_init (GstRtpSFramePayClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto payload_class = GST_RTP_BASE_PAYLOAD_CLASS (klass);

  gobject_class->get_property = gst_rtp_sframe_pay_get_property;
  gobject_class->finalize = gst_rtp_sframe_pay_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtp_sframe_pay_change_state);
  payload_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_sframe_pay_set_caps);
  payload_class->handle_buffer = GST_DEBUG_FUNCPTR (gst_rtp_sframe_pay_handle_buffer);

  /**
   * GstRtpSFramePay:stats:
   *
   * Counters since the element started: frames and packets sent, bytes
   * (SFrame bytes, descriptors excluded), dropped (empty input buffers).
   *
   *   gst-launch-1.0 -v ... ! rtpsframepay name=p mtu=1200 ! ...   (read p.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Payloader counters",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP SFrame payloader",
      "Codec/Payloader/Network/RTP",
      "Payloads SFrame-encrypted frames into RTP (draft-ietf-avtcore-rtp-sframe)",
      "gst-sframe developers");
}
