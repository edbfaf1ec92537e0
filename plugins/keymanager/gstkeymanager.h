#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_KEY_MANAGER (gst_key_manager_get_type ())
G_DECLARE_FINAL_TYPE (GstKeyManager, gst_key_manager, GST, KEY_MANAGER, GstElement)

GST_ELEMENT_REGISTER_DECLARE (keymanager);

G_END_DECLS
