/* Annex B helpers for the H.264 codec-aware layout: NAL splitting and the
 * emulation prevention that keeps start codes out of ciphertext. */
#pragma once

#include <gst/sframe/bytes.h>

#include <vector>

namespace sframe {
namespace h264 {

/* Splits an Annex B frame into NAL units (header byte and payload, trailing
 * zeros trimmed); the bytes between units (start codes, zero padding) are
 * left for the caller to copy as they are. False unless the frame starts
 * with a start code (after optional zero bytes) and no unit is empty. */
bool split (ByteView frame, std::vector<ByteView> * units);

/* NAL types whose payload is encrypted: slices, SEI and anything not known
 * to be needed in clear (fail closed). */
bool is_protected_type (uint8_t nal_type);

/* Escaping grows data by at most half, plus the stop byte. */
inline size_t escaped_size_bound (size_t n) { return n + n / 2 + 2; }

/* Inserts 0x03 after any 00 00 that precedes a byte <= 3, then appends the
 * 0x80 stop byte, so the result never ends in 0x00. Returns bytes written. */
size_t escape (ByteView in, uint8_t * out);

/* Reverses escape(); false if the stop byte is missing. */
bool unescape (ByteView in, uint8_t * out, size_t * written);

}  // namespace h264
}  // namespace sframe
