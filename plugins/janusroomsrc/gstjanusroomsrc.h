#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_JANUS_ROOM_SRC (gst_janus_room_src_get_type ())
G_DECLARE_FINAL_TYPE (GstJanusRoomSrc, gst_janus_room_src, GST, JANUS_ROOM_SRC, GstBin)

GST_ELEMENT_REGISTER_DECLARE (janusroomsrc);

G_END_DECLS
