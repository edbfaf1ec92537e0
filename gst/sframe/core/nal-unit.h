/* Annex B helpers for the H.264 and H.265 codec-aware layouts: NAL unit
 * splitting, the unit types that stay clear, and the emulation prevention
 * that keeps start codes out of ciphertext. Both codecs share the Annex B
 * byte stream (start codes, 00 00 03 escaping); they differ only in the NAL
 * unit header (1 byte in H.264, 2 in H.265) and its type numbers. */
#pragma once

#include <gst/sframe/core/bytes.h>

#include <cstdint>
#include <vector>

namespace sframe {
namespace nal {

enum class Codec { h264, h265 };

/* Bytes of the NAL unit header: 1 (H.264 7.3.1), 2 (H.265 7.3.1.2). */
size_t header_size (Codec codec);

/* nal_unit_type, from the first header byte (unit must not be empty). */
uint8_t unit_type (Codec codec, ByteView unit);

/* Types whose payload is encrypted: slices, SEI and anything not known to
 * be needed in clear (fail closed). */
bool is_protected_type (Codec codec, uint8_t type);

/* Types that start a random access point: H.264 IDR (5); H.265 BLA, IDR and
 * CRA (16..21). */
bool is_key_type (Codec codec, uint8_t type);

/* Splits an Annex B frame into NAL units (header and payload, trailing
 * zeros trimmed); the bytes between units (start codes, zero padding) are
 * left for the caller to copy as they are. False unless the frame starts
 * with a start code (after optional zero bytes) and no unit is empty. */
bool split (ByteView frame, std::vector<ByteView> * units);

/* Escaping grows data by at most half, plus the stop byte. */
inline size_t escaped_size_bound (size_t n) { return n + n / 2 + 2; }

/* Inserts 0x03 after any 00 00 that precedes a byte <= 3, then appends the
 * 0x80 stop byte, so the result never ends in 0x00. The first two bytes
 * always come out unchanged. Returns bytes written. */
size_t escape (ByteView in, uint8_t * out);

/* Reverses escape(); false if the stop byte is missing. */
bool unescape (ByteView in, uint8_t * out, size_t * written);

}  // namespace nal
}  // namespace sframe
