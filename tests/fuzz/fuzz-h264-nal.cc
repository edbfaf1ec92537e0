/* The Annex B helpers shared by H.264 and H.265 (gst/sframe/core/nal-unit.h):
 *  - escape() then unescape() gives the input back, and the escaped bytes
 *    never hold 00 00 00, 00 00 01 or 00 00 02 nor end in 00, so no start
 *    code can appear inside a protected NAL unit;
 *  - unescape() of arbitrary bytes stays within its input's size;
 *  - split() returns non-empty units, in order, that hold no start code and
 *    do not end in 00, separated only by zeros and start codes. */
#include "fuzz-common.h"

#include <gst/sframe/core/nal-unit.h>

#include <cstring>
#include <vector>

namespace {

using sframe::ByteView;

bool
holds_start_code_prefix (ByteView v)
{
  for (size_t i = 0; i + 2 < v.size; i++) {
    if (v.data[i] == 0 && v.data[i + 1] == 0 && v.data[i + 2] <= 2)
      return true;
  }
  return false;
}

void
check_escape (ByteView in)
{
  size_t bound = sframe::nal::escaped_size_bound (in.size);
  fuzz::Buffer esc (bound);
  size_t n = sframe::nal::escape (in, esc.data ());
  FUZZ_CHECK (n >= in.size + 1 && n <= bound);
  ByteView escaped (esc.data (), n);
  FUZZ_CHECK (escaped.data[n - 1] != 0);
  FUZZ_CHECK (!holds_start_code_prefix (escaped));

  fuzz::Buffer back (n);
  size_t written = 0;
  FUZZ_CHECK (sframe::nal::unescape (escaped, back.data (), &written));
  FUZZ_CHECK (written == in.size);
  FUZZ_CHECK (in.size == 0 || std::memcmp (back.data (), in.data, in.size) == 0);
}

void
check_unescape (ByteView in)
{
  fuzz::Buffer out (in.size);
  size_t written = 0;
  bool ok = sframe::nal::unescape (in, out.data (), &written);
  FUZZ_CHECK (ok == (in.size > 0 && in.data[in.size - 1] == 0x80));
  if (ok)
    FUZZ_CHECK (written < in.size);
}

/* Bytes outside units: zeros, each run before a unit ending in 00 00 01. */
void
check_gap (ByteView frame, size_t from, size_t to, bool before_unit)
{
  for (size_t i = from; i < to; i++)
    FUZZ_CHECK (frame.data[i] == 0 || (frame.data[i] == 1 && i + 1 == to && before_unit));
  if (before_unit)
    FUZZ_CHECK (to - from >= 3 && frame.data[to - 1] == 1 && frame.data[to - 2] == 0 &&
        frame.data[to - 3] == 0);
}

void
check_split (ByteView frame)
{
  std::vector<ByteView> units;
  if (!sframe::nal::split (frame, &units))
    return;
  FUZZ_CHECK (!units.empty ());
  size_t pos = 0;
  for (const auto & u : units) {
    FUZZ_CHECK (u.size > 0 && u.data >= frame.data + pos &&
        u.data + u.size <= frame.data + frame.size);
    size_t begin = static_cast<size_t> (u.data - frame.data);
    check_gap (frame, pos, begin, true);
    FUZZ_CHECK (u.data[u.size - 1] != 0);
    for (size_t i = 0; i + 2 < u.size; i++)
      FUZZ_CHECK (!(u.data[i] == 0 && u.data[i + 1] == 0 && u.data[i + 2] == 1));
    pos = begin + u.size;
  }
  check_gap (frame, pos, frame.size, false);
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  ByteView in (data, size);
  check_escape (in);
  check_unescape (in);
  check_split (in);
  return 0;
}
