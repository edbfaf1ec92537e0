#pragma once

#include "../common/gstrtpvpxsframepay.h"

G_BEGIN_DECLS

#define GST_TYPE_RTP_VP9_SFRAME_PAY (gst_rtp_vp9_sframe_pay_get_type ())
G_DECLARE_FINAL_TYPE (GstRtpVP9SFramePay, gst_rtp_vp9_sframe_pay, GST, RTP_VP9_SFRAME_PAY,
    GstRtpVpxSFramePay)

GST_ELEMENT_REGISTER_DECLARE (rtpvp9sframepay);

G_END_DECLS
