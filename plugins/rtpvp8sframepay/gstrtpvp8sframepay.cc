/**
 * SECTION:element-rtpvp8sframepay
 * @title: rtpvp8sframepay
 * @see_also: sframeenc, rtpvp8depay, rtpvp9sframepay
 *
 * Puts VP8 frames into RTP packets (RFC 7741) without parsing them, so it
 * works on frames that sframeenc encrypted in codec mode, where rtpvp8pay
 * stops with "Failed to parse VP8 frame". Only the clear frame tag is read
 * (3 bytes; 10 on key frames: tag, start code, dimensions). The frame is cut
 * at the MTU, not at partition boundaries (those are encrypted). The stock
 * rtpvp8depay reads the result unmodified; clear VP8 works too.
 *
 * Payload descriptor (RFC 7741 section 4.2), by picture-id-mode:
 * 15-bit: `X=1 N S=first PartID=0`, `I=1`, `M=1 PictureID(15)`;
 * 7-bit: `X=1 N S`, `I=1`, `M=0 PictureID(7)`; none: `X=0 N S`.
 * N is set on delta frames flagged GST_BUFFER_FLAG_DROPPABLE. The RTP
 * marker bit is set on the last packet of each frame.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc is-live=true ! vp8enc deadline=1 ! sframeenc key=000102030405060708090a0b0c0d0e0f ! rtpvp8sframepay ! udpsink host=127.0.0.1 port=5004
 * ]|
 * Sends a test pattern as VP8 encrypted in codec mode, in RFC 7741 RTP
 * packets, to UDP port 5004 of this host.
 * |[
 * gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96" ! rtpjitterbuffer ! rtpvp8depay ! sframedec key=000102030405060708090a0b0c0d0e0f ! vp8dec ! videoconvert ! autovideosink
 * ]|
 * Receives it with the stock rtpvp8depay, decrypts it with the same key and
 * shows it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpvp8sframepay.h"

GST_DEBUG_CATEGORY_STATIC (gst_rtp_vp8_sframe_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_vp8_sframe_pay_debug

/* RFC 6386 section 9.1: frame tag (3 bytes); key frames add the start code
 * and the 14-bit width and height (7 bytes). All of it is clear. */
#define VP8_TAG_SIZE 3
#define VP8_KEY_HEADER_SIZE 10

struct _GstRtpVP8SFramePay {
  GstRtpVpxSFramePay parent;
};

G_DEFINE_TYPE_WITH_CODE (GstRtpVP8SFramePay, gst_rtp_vp8_sframe_pay, GST_TYPE_RTP_VPX_SFRAME_PAY,
    GST_DEBUG_CATEGORY_INIT (gst_rtp_vp8_sframe_pay_debug, "rtpvp8sframepay", 0,
        "VP8 RTP payloader for SFrame"));
GST_ELEMENT_REGISTER_DEFINE (rtpvp8sframepay, "rtpvp8sframepay", GST_RANK_NONE,
    GST_TYPE_RTP_VP8_SFRAME_PAY);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-vp8"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) video, "
        "payload = (int) " GST_RTP_PAYLOAD_DYNAMIC_STRING ", "
        "clock-rate = (int) 90000, encoding-name = (string) VP8"));

/* The checks a receiver makes on the clear header: the key-frame bit,
 * version 0..3, and on key frames the start code before the dimensions
 * rtpvp8depay puts into its caps. */
static gboolean
gst_rtp_vp8_sframe_pay_read_key_frame (GstRtpVpxSFramePay * self, const guint8 * data, gsize size,
    gboolean * key_frame)
{
  if (size < VP8_TAG_SIZE)
    return FALSE;
  guint version = (data[0] >> 1) & 0x07;
  if (version > 3) {
    GST_LOG_OBJECT (self, "VP8 version %u", version);
    return FALSE;
  }
  *key_frame = (data[0] & 0x01) == 0;
  if (!*key_frame)
    return TRUE;
  return size >= VP8_KEY_HEADER_SIZE && data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a;
}

/*  |X|R|N|S|R| PartID |   X: extension present, N: non-reference frame,
 *  |I|L|T|K|  RSV     |   S: start of the frame (PartID always 0: the
 *  |M| PictureID ...  |   partitions are inside the ciphertext) */
static guint
gst_rtp_vp8_sframe_pay_write_descriptor (GstRtpVpxSFramePay *, const GstRtpVpxSFramePacket * p,
    guint8 * out)
{
  bool extended = p->picture_id_mode != GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_NONE;
  out[0] = (extended ? 0x80 : 0x00) | (p->droppable ? 0x20 : 0x00) | (p->first ? 0x10 : 0x00);
  if (!extended)
    return 1;
  out[1] = 0x80;  /* I */
  return 2 + gst_rtp_vpx_sframe_pay_write_picture_id (p->picture_id_mode, p->picture_id, out + 2);
}

static void
gst_rtp_vp8_sframe_pay_init (GstRtpVP8SFramePay *)
{
}

static void
gst_rtp_vp8_sframe_pay_class_init (GstRtpVP8SFramePayClass * klass)
{
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto vpx_class = GST_RTP_VPX_SFRAME_PAY_CLASS (klass);

  vpx_class->encoding_name = "VP8";
  vpx_class->read_key_frame = GST_DEBUG_FUNCPTR (gst_rtp_vp8_sframe_pay_read_key_frame);
  vpx_class->write_descriptor = GST_DEBUG_FUNCPTR (gst_rtp_vp8_sframe_pay_write_descriptor);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP VP8 payloader for SFrame",
      "Codec/Payloader/Network/RTP",
      "Puts VP8 video, clear or SFrame-encrypted in codec mode, in RTP packets (RFC 7741) "
      "without parsing it", "gst-sframe developers");
}
