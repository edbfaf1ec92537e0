#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_JANUS_ROOM_SINK (gst_janus_room_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstJanusRoomSink, gst_janus_room_sink, GST, JANUS_ROOM_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE (janusroomsink);

G_END_DECLS
