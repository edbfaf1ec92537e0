/* Digests the end-to-end test compares: of encoded frames (normalised so
 * the RTP path's legitimate rewriting of H.264/H.265 framing does not
 * count as a difference) and of decoded raw frames (pixels only, never
 * stride padding). */
#pragma once

#include "e2e-codecs.h"

#include <gst/gst.h>

#include <string>

namespace e2e {

/* SHA-256 (hex) of an encoded frame, normalised for `bitstream`. */
std::string encoded_digest (Bitstream bitstream, GstBuffer * buffer);

/* SHA-256 (hex) of a decoded frame: the visible pixels of each plane for
 * raw video, all samples for raw audio. Empty when `caps` do not describe
 * the buffer. */
std::string decoded_digest (GstCaps * caps, GstBuffer * buffer);

}  // namespace e2e
