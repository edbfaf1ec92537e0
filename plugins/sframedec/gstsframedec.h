#pragma once

#include "../common/gstsframebase.h"

G_BEGIN_DECLS

#define GST_TYPE_SFRAME_DEC (gst_sframe_dec_get_type ())
G_DECLARE_FINAL_TYPE (GstSFrameDec, gst_sframe_dec, GST, SFRAME_DEC, GstSFrameBase)

GST_ELEMENT_REGISTER_DECLARE (sframedec);

G_END_DECLS
