/* sframe::FrameUnprotector::unprotect for every FrameFormat; for h264 this
 * is the Annex B splitter and the unescaper. The first byte picks the format,
 * the suite (every one of the five) and the mode:
 *
 *   raw:        format | suite<<3 | frame
 *               arbitrary protected frame; must fail cleanly or decrypt
 *               within the documented output bound.
 *   round trip: format | 0x04 | suite<<3 | key | counter | frame
 *               protects a clear frame, then checks what an SFU sees and
 *               that unprotecting gives the frame back. */
#include "fuzz-common.h"

#include <gst/sframe/frame-format.h>
#include <gst/sframe/h264-nal.h>

#include <cstring>
#include <limits>
#include <vector>

namespace {

using sframe::FrameFormat;
using sframe::Status;

constexpr FrameFormat kFormats[] = {
  FrameFormat::opaque, FrameFormat::opus, FrameFormat::vp8, FrameFormat::h264,
};

/* Whether protect() can lay the frame out, from the layouts in
 * frame-format.h (opus: 1 clear byte; vp8: 10 for a key frame, else 3;
 * h264: Annex B with at least one unit to encrypt). */
bool
has_layout (FrameFormat format, sframe::ByteView frame)
{
  std::vector<sframe::ByteView> units;
  switch (format) {
    case FrameFormat::opaque:
      return true;
    case FrameFormat::opus:
      return frame.size >= 1;
    case FrameFormat::vp8:
      return frame.size >= ((frame.size > 0 && (frame.data[0] & 1) == 0) ? 10u : 3u);
    case FrameFormat::h264:
      /* An access unit without a single encrypted unit is refused. */
      if (!sframe::h264::split (frame, &units))
        return false;
      for (const auto & u : units) {
        if (sframe::h264::is_protected_type (u.data[0] & 0x1f))
          return true;
      }
      return false;
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

  sframe::FrameUnprotector unprot (ring);
  fuzz::Buffer out (frame.size);  /* the documented bound */
  size_t written = 0;
  sframe::Header header;
  Status s = unprot.unprotect (format, frame, out.view (), &written, &header);
  if (s == Status::ok)
    FUZZ_CHECK (written <= frame.size);
  else
    FUZZ_CHECK (s != Status::buffer_too_small && s != Status::crypto_error);
  if (s == Status::ok || format != FrameFormat::h264)
    return s == Status::ok;
  /* Any failure after the split (even malformed_frame, from a later unit)
   * may follow a unit that authenticated. */
  std::vector<sframe::ByteView> units;
  return sframe::h264::split (frame, &units);
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
  if (format == FrameFormat::h264) {
    std::vector<sframe::ByteView> before, after;
    FUZZ_CHECK (sframe::h264::split (frame, &before));
    FUZZ_CHECK (sframe::h264::split (protected_frame, &after));
    FUZZ_CHECK (before.size () == after.size ());
    for (size_t i = 0; i < before.size (); i++)
      FUZZ_CHECK (before[i].data[0] == after[i].data[0]);
  }

  sframe::FrameUnprotector unprot (ring);
  fuzz::Buffer out (enc_len);  /* the documented bound */
  size_t written = 0;
  sframe::Header header;
  s = unprot.unprotect (format, protected_frame, out.view (), &written, &header);
  FUZZ_CHECK (s == Status::ok);
  FUZZ_CHECK (written == frame.size);
  FUZZ_CHECK (frame.size == 0 || std::memcmp (out.data (), frame.data, frame.size) == 0);
  return true;
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fuzz::Input in (data, size);
  uint8_t mode = in.byte ();
  FrameFormat format = kFormats[mode & 0x03];
  sframe::CipherSuite suite = fuzz::suite_from (mode >> 3);

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
