#include <gst/sframe/h264-nal.h>

namespace sframe {
namespace h264 {

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

bool
is_protected_type (uint8_t nal_type)
{
  switch (nal_type) {
    case 7:   /* SPS */
    case 8:   /* PPS */
    case 9:   /* access unit delimiter */
    case 10:  /* end of sequence */
    case 11:  /* end of stream */
    case 12:  /* filler */
    case 13:  /* SPS extension */
    case 15:  /* subset SPS */
      return false;
    default:
      return true;
  }
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

}  // namespace h264
}  // namespace sframe
