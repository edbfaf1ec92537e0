/* GstRtpVpxSFramePay: what rtpvp8sframepay and rtpvp9sframepay share. An RTP
 * payloader for VP8/VP9 frames whose body may be SFrame ciphertext, so it
 * never reads past the clear frame header: the key-frame bit and a few
 * sanity checks come from the clear bytes (cross-checked with the buffer's
 * DELTA_UNIT flag), the frame is cut at the MTU without regard to
 * partitions, and each packet gets the payload descriptor a subclass
 * writes. Shared here: picture-id-mode / picture-id-offset, the picture id
 * (incremented per frame and on GAP / FLUSH_START, wrapped to its width),
 * fragmentation, marker bit, metas, and the counters added to `stats`.
 *
 * Settings (the picture id properties) and per-stream state sit behind one
 * mutex; the streaming thread holds it only to take a picture id and count. */
#pragma once

#include <gst/rtp/gstrtpbasepayload.h>
#include <gst/rtp/gstrtppayloads.h>

G_BEGIN_DECLS

typedef enum {
  GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_NONE = 0,
  GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_7BITS = 1,
  GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_15BITS = 2,
} GstRtpVpxSFramePayPictureIdMode;

#define GST_TYPE_RTP_VPX_SFRAME_PAY_PICTURE_ID_MODE (gst_rtp_vpx_sframe_pay_picture_id_mode_get_type ())
GType gst_rtp_vpx_sframe_pay_picture_id_mode_get_type (void);

#define GST_TYPE_RTP_VPX_SFRAME_PAY (gst_rtp_vpx_sframe_pay_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstRtpVpxSFramePay, gst_rtp_vpx_sframe_pay, GST, RTP_VPX_SFRAME_PAY,
    GstRTPBasePayload)

/* The largest descriptor a subclass may write. */
#define GST_RTP_VPX_SFRAME_PAY_MAX_DESCRIPTOR 16

/* What one packet's descriptor must say. */
typedef struct {
  gboolean key_frame;       /* from the clear key-frame bit */
  gboolean droppable;       /* GST_BUFFER_FLAG_DROPPABLE on a delta frame */
  gboolean first;           /* first packet of the frame */
  gboolean last;            /* last packet of the frame */
  GstRtpVpxSFramePayPictureIdMode picture_id_mode;
  guint picture_id;         /* already wrapped to the mode's width */
} GstRtpVpxSFramePacket;

struct _GstRtpVpxSFramePayClass {
  GstRTPBasePayloadClass parent_class;

  /* "VP8" or "VP9": the encoding-name of the source caps. */
  const gchar *encoding_name;

  /* Reads only the clear header bytes of `data`: FALSE when they are not
   * those of a frame of this codec, else the frame's key-frame bit. */
  gboolean (*read_key_frame) (GstRtpVpxSFramePay * self, const guint8 * data, gsize size,
      gboolean * key_frame);

  /* Writes the payload descriptor of one packet into `out`
   * (GST_RTP_VPX_SFRAME_PAY_MAX_DESCRIPTOR bytes) and returns its length,
   * which must not depend on packet->last. */
  guint (*write_descriptor) (GstRtpVpxSFramePay * self, const GstRtpVpxSFramePacket * packet,
      guint8 * out);
};

/* Writes the VP8/VP9 picture id field (M bit, then 7 or 15 bits); returns
 * its length, 0 for mode none. */
guint gst_rtp_vpx_sframe_pay_write_picture_id (GstRtpVpxSFramePayPictureIdMode mode,
    guint picture_id, guint8 * out);

G_END_DECLS
