/* What janusroomsink and janusroomsrc do alike around their webrtcbins and
 * their signalling loop. */
#pragma once

#include "signalling-loop.h"

#include <gst/gst.h>

#include <string>

/* ICE on `address` only (empty: every interface); false if refused. */
bool janus_room_restrict_ice (GstElement * webrtc, const std::string & address);

/* Posts `make_stats (element)` as an element message every `interval` ms
 * from the loop; null when `interval` is 0. Destroy the source on the
 * loop's thread, then unref it. */
GSource *janus_room_start_stats_timer (SignallingLoop & loop, GstElement * element, guint interval,
    GstStructure * (*make_stats) (GstElement *));
