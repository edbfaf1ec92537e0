#include <gst/sframe/core/nal-unit.h>

namespace sframe {
namespace nal {

size_t
header_size (Codec codec)
{
  return codec == Codec::h264 ? 1 : 2;
}

uint8_t
unit_type (Codec codec, ByteView unit)
{
  /* H.264: forbidden_zero_bit, nal_ref_idc(2), nal_unit_type(5).
   * H.265: forbidden_zero_bit, nal_unit_type(6), nuh_layer_id(6), ... */
  if (codec == Codec::h264)
    return unit.data[0] & 0x1f;
  return (unit.data[0] >> 1) & 0x3f;
}

static bool
h264_is_clear_type (uint8_t type)
{
  switch (type) {
    case 7:   /* SPS */
    case 8:   /* PPS */
    case 9:   /* access unit delimiter */
    case 10:  /* end of sequence */
    case 11:  /* end of stream */
    case 12:  /* filler */
    case 13:  /* SPS extension */
    case 15:  /* subset SPS */
      return true;
    default:
      return false;
  }
}

static bool
h265_is_clear_type (uint8_t type)
{
  switch (type) {
    case 32:  /* VPS */
    case 33:  /* SPS */
    case 34:  /* PPS */
    case 35:  /* access unit delimiter */
    case 36:  /* end of sequence */
    case 37:  /* end of bitstream */
    case 38:  /* filler data */
      return true;
    default:  /* VCL 0..31, SEI 39/40, reserved and unspecified 41..63 */
      return false;
  }
}

bool
is_protected_type (Codec codec, uint8_t type)
{
  return codec == Codec::h264 ? !h264_is_clear_type (type) : !h265_is_clear_type (type);
}

bool
is_key_type (Codec codec, uint8_t type)
{
  if (codec == Codec::h264)
    return type == 5;
  return type >= 16 && type <= 21;  /* BLA_W_LP .. CRA_NUT */
}

/* Finds the next 00 00 01 at or after `from`; returns in.size if none. */
static size_t
find_start_code (ByteView in, size_t from)
{
  for (size_t i = from; i + 2 < in.size; i++) {
    if (in.data[i + 2] > 1) {
      i += 2;  /* no start code can end within the next two bytes */
      continue;
    }
    if (in.data[i] == 0 && in.data[i + 1] == 0 && in.data[i + 2] == 1)
      return i;
  }
  return in.size;
}

bool
split (ByteView frame, std::vector<ByteView> * units)
{
  units->clear ();
  size_t sc = find_start_code (frame, 0);
  if (sc == frame.size)
    return false;
  for (size_t i = 0; i < sc; i++) {
    if (frame.data[i] != 0)
      return false;  /* junk before the first start code */
  }
  while (sc < frame.size) {
    size_t begin = sc + 3;
    size_t next = find_start_code (frame, begin);
    size_t end = next;
    while (end > begin && frame.data[end - 1] == 0)
      end--;  /* trailing zeros belong to the next start code */
    if (end == begin)
      return false;
    units->push_back (frame.sub (begin, end - begin));
    sc = next;
  }
  return true;
}

size_t
escape (ByteView in, uint8_t * out)
{
  size_t o = 0;
  int zeros = 0;
  for (size_t i = 0; i < in.size; i++) {
    uint8_t b = in.data[i];
    if (zeros >= 2 && b <= 3) {
      out[o++] = 0x03;
      zeros = 0;
    }
    out[o++] = b;
    zeros = b == 0 ? zeros + 1 : 0;
  }
  out[o++] = 0x80;
  return o;
}

bool
unescape (ByteView in, uint8_t * out, size_t * written)
{
  if (in.empty () || in.data[in.size - 1] != 0x80)
    return false;
  size_t o = 0;
  int zeros = 0;
  for (size_t i = 0; i + 1 < in.size; i++) {
    uint8_t b = in.data[i];
    if (zeros >= 2 && b == 0x03) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b == 0 ? zeros + 1 : 0;
  }
  *written = o;
  return true;
}

}  // namespace nal
}  // namespace sframe
