/* The counters of the media elements that use a room's key store, for the
 * sframe-stats message. */
#pragma once

#include "gstkeymanager-messages.h"

#include <gst/gst.h>
#include <gst/sframe/gstsframekeystore.h>

namespace keymanager {

/* Sums the sframeenc and sframedec elements of `element`'s pipeline (the
 * top-level bin it is in) that share `store`. */
MediaStats collect_media_stats (GstElement * element, GstSFrameKeyStore * store);

}  // namespace keymanager
