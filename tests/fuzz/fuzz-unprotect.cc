/* sframe::FrameUnprotector::unprotect (and authenticate, the second
 * reader's) for every FrameFormat; for h264 and
 * h265 this is the Annex B splitter and the unescaper, for vp9 the header
 * parser. The first byte picks the format (bits 0-1, and bit 7 as the
 * format's bit 2, so formats 0..3 keep their old seeds), the suite (bits 3-6;
 * every one of the five) and the mode (bit 2):
 *
 *   raw:        format | suite<<3 | frame
 *               arbitrary protected frame; must fail cleanly or decrypt
 *               within the documented output bound.
 *   round trip: format | 0x04 | suite<<3 | key | counter | frame
 *               protects a clear frame, then checks what an SFU sees and
 *               that unprotecting gives the frame back. */
#include "fuzz-common.h"

#include <gst/sframe/core/frame-format.h>
#include <gst/sframe/core/nal-unit.h>

#include <cstring>
#include <limits>
#include <vector>

namespace {

using sframe::FrameFormat;
using sframe::Status;

constexpr FrameFormat kFormats[] = {
  FrameFormat::opaque, FrameFormat::opus, FrameFormat::vp8, FrameFormat::h264,
  FrameFormat::vp9, FrameFormat::h265, FrameFormat::g711,
};
constexpr size_t kNumFormats = sizeof kFormats / sizeof kFormats[0];

bool
is_nal (FrameFormat format)
{
  return format == FrameFormat::h264 || format == FrameFormat::h265;
}

sframe::nal::Codec
nal_codec (FrameFormat format)
{
  return format == FrameFormat::h264 ? sframe::nal::Codec::h264 : sframe::nal::Codec::h265;
}

/* Reads one bit at a time, MSB first; false past the end. */
struct Bits {
  sframe::ByteView v;
  size_t pos = 0;

  bool get (unsigned n, uint32_t * out)
  {
    *out = 0;
    for (unsigned i = 0; i < n; i++, pos++) {
      if (pos / 8 >= v.size)
        return false;
      *out = (*out << 1) | ((v.data[pos / 8] >> (7 - pos % 8)) & 1u);
    }
    return true;
  }
};

/* The VP9 clear prefix, an independent reading of the layout in
 * frame-format.h: uncompressed header fields through render_size() (key
 * frame), error_resilient_mode (other frames) or frame_to_show_map_idx
 * (shown existing frame), in whole bytes. False for no VP9 frame (frame
 * marker not 2, profile 3 reserved bit set, key frame sync code wrong). */
bool
vp9_clear_size (sframe::ByteView frame, size_t * clear)
{
  Bits b {frame};
  uint32_t marker, low, high, v, existing, type, cs, render;
  if (!b.get (2, &marker) || marker != 2 || !b.get (1, &low) || !b.get (1, &high))
    return false;
  uint32_t profile = high * 2 + low;
  if ((profile == 3 && (!b.get (1, &v) || v != 0)) || !b.get (1, &existing))
    return false;
  if (existing) {
    if (!b.get (3, &v))
      return false;
  } else {
    if (!b.get (1, &type) || !b.get (1, &v) || !b.get (1, &v))
      return false;
    if (type == 0) {
      if (!b.get (24, &v) || v != 0x498342)
        return false;
      if (profile >= 2 && !b.get (1, &v))
        return false;
      if (!b.get (3, &cs))
        return false;
      bool odd = profile == 1 || profile == 3;
      if (cs != 7 && (!b.get (1, &v) || (odd && !b.get (3, &v))))
        return false;
      if (cs == 7 && odd && !b.get (1, &v))
        return false;
      if (!b.get (16, &v) || !b.get (16, &v) || !b.get (1, &render))
        return false;
      if (render && (!b.get (16, &v) || !b.get (16, &v)))
        return false;
    }
  }
  *clear = (b.pos + 7) / 8;
  return true;
}

/* Whether protect() can lay the frame out, from the layouts in
 * frame-format.h (opus: 1 clear byte; vp8: 10 for a key frame, else 3;
 * vp9: its parsed header; h264/h265: Annex B, whole NAL headers, with at
 * least one unit to encrypt; g711: anything). */
bool
has_layout (FrameFormat format, sframe::ByteView frame)
{
  std::vector<sframe::ByteView> units;
  size_t clear = 0;
  switch (format) {
    case FrameFormat::opaque:
    case FrameFormat::g711:
      return true;
    case FrameFormat::opus:
      return frame.size >= 1;
    case FrameFormat::vp8:
      return frame.size >= ((frame.size > 0 && (frame.data[0] & 1) == 0) ? 10u : 3u);
    case FrameFormat::vp9:
      return vp9_clear_size (frame, &clear) && frame.size >= clear;
    case FrameFormat::h264:
    case FrameFormat::h265: {
      /* An access unit without a single encrypted unit is refused. */
      sframe::nal::Codec codec = nal_codec (format);
      if (!sframe::nal::split (frame, &units))
        return false;
      bool any = false;
      for (const auto & u : units) {
        if (u.size < sframe::nal::header_size (codec))
          return false;
        any = any || sframe::nal::is_protected_type (codec, sframe::nal::unit_type (codec, u));
      }
      return any;
    }
  }
  return false;
}

/* Returns whether the ring's state may have changed: some SFrame
 * authenticated (for h264, maybe a unit before another one failed). */
bool
check_raw (sframe::KeyRing & ring, FrameFormat format, sframe::ByteView frame)
{
  /* Neither may trip on garbage. */
  (void) sframe::is_key_frame (format, frame);
  (void) sframe::protected_size_bound (format, frame);

  sframe::FrameUnprotector unprot (ring), reader (ring);
  fuzz::Buffer out (frame.size);  /* the documented bound */
  size_t written = 0;
  sframe::Header header;
  /* A second reader first (it leaves the decrypters' window alone). */
  Status read = reader.authenticate (format, frame, out.view (), &written, &header);
  if (read == Status::ok)
    FUZZ_CHECK (written <= frame.size);
  else
    FUZZ_CHECK (read != Status::buffer_too_small && read != Status::crypto_error);
  Status s = unprot.unprotect (format, frame, out.view (), &written, &header);
  if (s == Status::ok)
    FUZZ_CHECK (written <= frame.size);
  else
    FUZZ_CHECK (s != Status::buffer_too_small && s != Status::crypto_error);
  /* Both see the same frame: they agree, but for a replay in their own windows. */
  FUZZ_CHECK (read == s || read == Status::replayed || s == Status::replayed);
  if (read == Status::ok)
    return true;
  if (s == Status::ok || !is_nal (format))
    return s == Status::ok;
  /* Any failure after the split (even malformed_frame, from a later unit)
   * may follow a unit that authenticated. */
  std::vector<sframe::ByteView> units;
  return sframe::nal::split (frame, &units);
}

/* Returns whether the ring's state may have changed (a counter was taken). */
bool
check_round_trip (sframe::KeyRing & ring, FrameFormat format, uint64_t key_id,
    uint64_t first_counter, sframe::ByteView frame)
{
  sframe::FrameProtector prot (ring);
  fuzz::Buffer enc (sframe::protected_size_bound (format, frame));  /* the documented bound */
  size_t enc_len = 0;
  Status s = prot.protect (format, &key_id, frame, enc.view (), &enc_len);
  if (s == Status::counter_exhausted) {
    /* Each protected NAL unit takes a counter; there are fewer than bytes. */
    FUZZ_CHECK (first_counter >= std::numeric_limits<uint64_t>::max () - frame.size);
    return true;  /* earlier NAL units may have taken counters */
  }
  FUZZ_CHECK ((s == Status::ok) == has_layout (format, frame));
  if (s != Status::ok) {
    FUZZ_CHECK (s == Status::malformed_frame);
    return false;  /* refused before encrypting anything */
  }
  FUZZ_CHECK (enc_len <= enc.size ());
  sframe::ByteView protected_frame (enc.data (), enc_len);

  /* An SFU reads only the clear bytes; it must see what the sender had. */
  FUZZ_CHECK (sframe::is_key_frame (format, protected_frame) ==
      sframe::is_key_frame (format, frame));
  if (is_nal (format)) {
    size_t hs = sframe::nal::header_size (nal_codec (format));
    std::vector<sframe::ByteView> before, after;
    FUZZ_CHECK (sframe::nal::split (frame, &before));
    FUZZ_CHECK (sframe::nal::split (protected_frame, &after));
    FUZZ_CHECK (before.size () == after.size ());
    for (size_t i = 0; i < before.size (); i++)
      FUZZ_CHECK (after[i].size >= hs && std::memcmp (before[i].data, after[i].data, hs) == 0);
  }
  size_t clear = 0;
  if (format == FrameFormat::vp9) {
    FUZZ_CHECK (vp9_clear_size (frame, &clear));
    FUZZ_CHECK (enc_len >= clear && std::memcmp (enc.data (), frame.data, clear) == 0);
  }

  sframe::FrameUnprotector unprot (ring);
  fuzz::Buffer out (enc_len);  /* the documented bound */
  size_t written = 0;
  sframe::Header header;
  s = unprot.unprotect (format, protected_frame, out.view (), &written, &header);
  FUZZ_CHECK (s == Status::ok);
  FUZZ_CHECK (written == frame.size);
  FUZZ_CHECK (frame.size == 0 || std::memcmp (out.data (), frame.data, frame.size) == 0);

  /* A second reader after the decrypter: the same frame, once. */
  sframe::FrameUnprotector reader (ring);
  std::memset (out.data (), 0, enc_len);
  s = reader.authenticate (format, protected_frame, out.view (), &written, &header);
  FUZZ_CHECK (s == Status::ok);
  FUZZ_CHECK (written == frame.size);
  FUZZ_CHECK (frame.size == 0 || std::memcmp (out.data (), frame.data, frame.size) == 0);
  FUZZ_CHECK (reader.authenticate (format, protected_frame, out.view (), &written, &header) == Status::replayed);
  FUZZ_CHECK (unprot.unprotect (format, protected_frame, out.view (), &written, &header) == Status::replayed);
  return true;
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fuzz::Input in (data, size);
  uint8_t mode = in.byte ();
  FrameFormat format = kFormats[((mode & 0x03) | ((mode >> 5) & 0x04)) % kNumFormats];
  sframe::CipherSuite suite = fuzz::suite_from ((mode >> 3) & 0x0f);

  static fuzz::RingCache rings;
  if (!(mode & 0x04)) {
    if (check_raw (rings.get (suite, 0), format, in.rest ()))
      rings.spoil (suite, 0);
    return 0;
  }
  uint64_t key_id = fuzz::key_id_from (in.byte ());
  uint64_t first_counter = fuzz::counter_from (in.byte ());
  if (check_round_trip (rings.get (suite, first_counter), format, key_id, first_counter,
          in.rest ()))
    rings.spoil (suite, first_counter);
  return 0;
}
