#pragma once

#include "../common/gstsframebase.h"

G_BEGIN_DECLS

#define GST_TYPE_SFRAME_ENC (gst_sframe_enc_get_type ())
G_DECLARE_FINAL_TYPE (GstSFrameEnc, gst_sframe_enc, GST, SFRAME_ENC, GstSFrameBase)

GST_ELEMENT_REGISTER_DECLARE (sframeenc);

G_END_DECLS
