/**
 * SECTION:element-rtpvp9sframepay
 * @title: rtpvp9sframepay
 * @see_also: sframeenc, rtpvp9depay, rtpvp8sframepay
 *
 * Puts VP9 frames into RTP packets (RFC 9628) without parsing them, so it
 * works on frames that sframeenc encrypted in codec mode. Only the leading
 * fields of the uncompressed header are read: frame marker, profile,
 * show_existing_frame, frame_type, and on key frames the sync code (the
 * codec layout keeps more than that in clear). The resolution announced on
 * key frames comes from the caps (width, height), not from the frame.
 * rtpvp9pay instead parses key frames through render_size(); that works only
 * because the codec layout keeps exactly that much clear. The stock
 * rtpvp9depay reads the result unmodified; clear VP9 works too.
 *
 * Payload descriptor (RFC 9628 section 4.2, non-flexible mode, one spatial
 * and one temporal layer, as rtpvp9pay writes it):
 * `I P L=0 F=0 B E V Z=0`, then with I the picture id (`M=1` + 15 bits or
 * `M=0` + 7 bits, by picture-id-mode; I=0 with none). P=0 on key frames,
 * 1 otherwise; B on the first packet of a frame, E on the last (which also
 * carries the RTP marker bit). The first packet of a key frame has V=1 and
 * the scalability structure `N_S=0 Y G=1 | WIDTH(16) HEIGHT(16) | N_G=1 |
 * TID=0 U=0 R=1 | P_DIFF=1` (Y=1 and the size only when the caps have
 * both).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! vp9enc deadline=1 ! sframeenc key=000102030405060708090a0b0c0d0e0f ! rtpvp9sframepay ! udpsink host=127.0.0.1 port=5004
 * ]|
 * Sends a test pattern as VP9 encrypted in codec mode, in RFC 9628 RTP
 * packets, to UDP port 5004 of this host.
 * |[
 * gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=VP9,payload=96" ! rtpjitterbuffer ! rtpvp9depay ! sframedec key=000102030405060708090a0b0c0d0e0f ! vp9dec ! videoconvert ! autovideosink
 * ]|
 * Receives it with the stock rtpvp9depay, decrypts it with the same key and
 * shows it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpvp9sframepay.h"

#include <mutex>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_vp9_sframe_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_vp9_sframe_pay_debug

#define VP9_FRAME_MARKER 0x2
#define VP9_SYNC_CODE 0x498342

namespace {

/* From the caps; 0 when they do not say. */
struct State {
  guint width = 0;
  guint height = 0;
};

}  // namespace

struct RtpVP9SFramePayImpl {
  std::mutex lock;
  State state;
};

struct _GstRtpVP9SFramePay {
  GstRtpVpxSFramePay parent;
  RtpVP9SFramePayImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstRtpVP9SFramePay, gst_rtp_vp9_sframe_pay, GST_TYPE_RTP_VPX_SFRAME_PAY,
    GST_DEBUG_CATEGORY_INIT (gst_rtp_vp9_sframe_pay_debug, "rtpvp9sframepay", 0,
        "VP9 RTP payloader for SFrame"));
GST_ELEMENT_REGISTER_DEFINE (rtpvp9sframepay, "rtpvp9sframepay", GST_RANK_NONE,
    GST_TYPE_RTP_VP9_SFRAME_PAY);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-vp9"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) video, "
        "payload = (int) " GST_RTP_PAYLOAD_DYNAMIC_STRING ", "
        "clock-rate = (int) 90000, encoding-name = (string) VP9"));

/* Big-endian bits [pos, pos + n) of data, n <= 24; FALSE past the end. */
static gboolean
read_bits (const guint8 * data, gsize size, guint pos, guint n, guint32 * value)
{
  if (pos + n > size * 8)
    return FALSE;
  guint32 v = 0;
  for (guint i = pos; i < pos + n; i++)
    v = (v << 1) | ((data[i / 8] >> (7 - i % 8)) & 1u);
  *value = v;
  return TRUE;
}

/* VP9 bitstream spec section 6.2: frame_marker(2), profile_low_bit,
 * profile_high_bit, reserved_zero (profile 3 only), show_existing_frame,
 * frame_type (0 = key frame), show_frame, error_resilient_mode, and on key
 * frames the 24-bit frame_sync_code. The codec layout keeps all of these in
 * clear (docs/wire-format.md). A superframe starts with its first frame's
 * header. */
static gboolean
gst_rtp_vp9_sframe_pay_read_key_frame (GstRtpVpxSFramePay * self, const guint8 * data, gsize size,
    gboolean * key_frame)
{
  if (size < 1 || (data[0] >> 6) != VP9_FRAME_MARKER)
    return FALSE;
  guint profile = ((data[0] >> 5) & 1) | (((data[0] >> 4) & 1) << 1);
  guint pos = 4;  /* show_existing_frame */
  if (profile == 3) {
    if (data[0] & 0x08) {
      GST_LOG_OBJECT (self, "reserved bit set in a profile 3 header");
      return FALSE;
    }
    pos = 5;
  }
  guint32 show_existing = 0, frame_type = 0, sync = 0;
  if (!read_bits (data, size, pos, 1, &show_existing))
    return FALSE;
  if (show_existing) {
    *key_frame = FALSE;
    return TRUE;
  }
  if (!read_bits (data, size, pos + 1, 1, &frame_type))
    return FALSE;
  *key_frame = frame_type == 0;
  if (!*key_frame)
    return TRUE;
  /* After show_frame and error_resilient_mode. */
  return read_bits (data, size, pos + 4, 24, &sync) && sync == VP9_SYNC_CODE;
}

static guint
write_scalability_structure (GstRtpVP9SFramePay * self, guint8 * out)
{
  State s;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    s = self->impl->state;
  }
  bool sized = s.width > 0 && s.height > 0;
  guint n = 0;
  out[n++] = (sized ? 0x10 : 0x00) | 0x08;  /* N_S=0 (one spatial layer), Y, G=1 */
  if (sized) {
    out[n++] = s.width >> 8;
    out[n++] = s.width & 0xff;
    out[n++] = s.height >> 8;
    out[n++] = s.height & 0xff;
  }
  out[n++] = 1;     /* N_G: one picture per group ... */
  out[n++] = 0x04;  /* ... TID=0 U=0 R=1 ... */
  out[n++] = 1;     /* ... predicted from the previous picture */
  return n;
}

/*  |I|P|L|F|B|E|V|Z|   I: picture id present, P: inter-picture predicted,
 *  |M| PICTURE ID  |   B/E: first/last packet of the frame, V: SS follows
 *  | EXTENDED PID  |   (L=0, F=0, Z=0: a single layer, non-flexible mode)
 *  | SS ...        | */
static guint
gst_rtp_vp9_sframe_pay_write_descriptor (GstRtpVpxSFramePay * vpx, const GstRtpVpxSFramePacket * p,
    guint8 * out)
{
  bool has_id = p->picture_id_mode != GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_NONE;
  bool ss = p->key_frame && p->first;
  out[0] = (has_id ? 0x80 : 0x00) | (p->key_frame ? 0x00 : 0x40) | (p->first ? 0x08 : 0x00) |
      (p->last ? 0x04 : 0x00) | (ss ? 0x02 : 0x00);
  guint n = 1 + gst_rtp_vpx_sframe_pay_write_picture_id (p->picture_id_mode, p->picture_id, out + 1);
  if (ss)
    n += write_scalability_structure (GST_RTP_VP9_SFRAME_PAY (vpx), out + n);
  return n;
}

static guint
caps_dimension (const GstStructure * s, const gchar * field)
{
  gint value = 0;
  if (!gst_structure_get_int (s, field, &value) || value <= 0 || value > 0xffff)
    return 0;
  return static_cast<guint> (value);
}

static gboolean
gst_rtp_vp9_sframe_pay_set_caps (GstRTPBasePayload * payload, GstCaps * caps)
{
  auto self = GST_RTP_VP9_SFRAME_PAY (payload);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state.width = caps_dimension (s, "width");
    self->impl->state.height = caps_dimension (s, "height");
  }
  return GST_RTP_BASE_PAYLOAD_CLASS (gst_rtp_vp9_sframe_pay_parent_class)->set_caps (payload, caps);
}

static void
gst_rtp_vp9_sframe_pay_finalize (GObject * object)
{
  auto self = GST_RTP_VP9_SFRAME_PAY (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_rtp_vp9_sframe_pay_parent_class)->finalize (object);
}

static void
gst_rtp_vp9_sframe_pay_init (GstRtpVP9SFramePay * self)
{
  self->impl = new RtpVP9SFramePayImpl ();
}

static void
gst_rtp_vp9_sframe_pay_class_init (GstRtpVP9SFramePayClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto pay_class = GST_RTP_BASE_PAYLOAD_CLASS (klass);
  auto vpx_class = GST_RTP_VPX_SFRAME_PAY_CLASS (klass);

  gobject_class->finalize = gst_rtp_vp9_sframe_pay_finalize;
  pay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_vp9_sframe_pay_set_caps);
  vpx_class->encoding_name = "VP9";
  vpx_class->read_key_frame = GST_DEBUG_FUNCPTR (gst_rtp_vp9_sframe_pay_read_key_frame);
  vpx_class->write_descriptor = GST_DEBUG_FUNCPTR (gst_rtp_vp9_sframe_pay_write_descriptor);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP VP9 payloader for SFrame",
      "Codec/Payloader/Network/RTP",
      "Puts VP9 video, clear or SFrame-encrypted in codec mode, in RTP packets (RFC 9628) "
      "without parsing it", "gst-sframe developers");
}
