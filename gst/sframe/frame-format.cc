#include <gst/sframe/frame-format.h>

#include <gst/sframe/h264-nal.h>

#include <cstring>

namespace sframe {

namespace {

constexpr size_t kVp8KeyFrameHeader = 10;  /* frame tag, start code, size */
constexpr size_t kVp8DeltaFrameHeader = 3; /* frame tag */

bool
vp8_is_key_frame (ByteView frame)
{
  return !frame.empty () && (frame.data[0] & 0x01) == 0;
}

/* How many leading bytes of a prefix-layout frame stay in clear; false when
 * the frame is too short to carry them. */
bool
clear_prefix_size (FrameFormat format, ByteView frame, size_t * size)
{
  switch (format) {
    case FrameFormat::opus:
      *size = 1;
      break;
    case FrameFormat::vp8:
      *size = vp8_is_key_frame (frame) ? kVp8KeyFrameHeader : kVp8DeltaFrameHeader;
      break;
    default:
      *size = 0;
      break;
  }
  return frame.size >= *size;
}

uint8_t
nal_type (ByteView unit)
{
  return unit.data[0] & 0x1f;
}

/* Copies the bytes between the previous NAL unit and `unit` (start codes). */
size_t
copy_gap (ByteView frame, size_t from, const uint8_t * to, uint8_t * out)
{
  size_t n = static_cast<size_t> (to - frame.data) - from;
  std::memcpy (out, frame.data + from, n);
  return n;
}

}  // namespace

const char *
frame_format_name (FrameFormat format)
{
  switch (format) {
    case FrameFormat::opaque: return "frame";
    case FrameFormat::opus: return "opus";
    case FrameFormat::vp8: return "vp8";
    case FrameFormat::h264: return "h264";
  }
  return "unknown";
}

size_t
protected_size_bound (FrameFormat format, ByteView frame)
{
  if (format != FrameFormat::h264)
    return frame.size + kMaxOverhead;
  std::vector<ByteView> units;
  h264::split (frame, &units);
  return frame.size + h264::escaped_size_bound (frame.size) +
      units.size () * h264::escaped_size_bound (kMaxOverhead);
}

bool
is_key_frame (FrameFormat format, ByteView frame)
{
  switch (format) {
    case FrameFormat::opus:
      return true;
    case FrameFormat::vp8:
      return vp8_is_key_frame (frame);
    case FrameFormat::h264: {
      std::vector<ByteView> units;
      if (!h264::split (frame, &units))
        return false;
      for (const auto & u : units) {
        if (nal_type (u) == 5)
          return true;
      }
      return false;
    }
    case FrameFormat::opaque:
      break;
  }
  return false;
}

Status
FrameProtector::protect (FrameFormat format, const uint64_t * key_id, ByteView frame,
    MutableByteView out, size_t * written, Header * used)
{
  if (format == FrameFormat::h264)
    return protect_h264 (key_id, frame, out, written, used);
  size_t clear = 0;
  if (!clear_prefix_size (format, frame, &clear))
    return Status::malformed_frame;
  if (out.size < clear)
    return Status::buffer_too_small;
  std::memcpy (out.data, frame.data, clear);
  size_t n = 0;
  Status s = encryptor_.encrypt (key_id, frame.sub (0, clear), frame.from (clear),
      out.from (clear), &n, used);
  if (s == Status::ok)
    *written = clear + n;
  return s;
}

Status
FrameProtector::protect_h264 (const uint64_t * key_id, ByteView frame, MutableByteView out,
    size_t * written, Header * used)
{
  std::vector<ByteView> units;
  if (!h264::split (frame, &units))
    return Status::malformed_frame;
  if (out.size < protected_size_bound (FrameFormat::h264, frame))
    return Status::buffer_too_small;

  size_t o = 0, consumed = 0;
  for (const auto & unit : units) {
    o += copy_gap (frame, consumed, unit.data, out.data + o);
    consumed = static_cast<size_t> (unit.data - frame.data) + unit.size;
    if (!h264::is_protected_type (nal_type (unit))) {
      std::memcpy (out.data + o, unit.data, unit.size);
      o += unit.size;
      continue;
    }
    out.data[o++] = unit.data[0];
    scratch_.resize (unit.size - 1 + kMaxOverhead);
    size_t n = 0;
    Status s = encryptor_.encrypt (key_id, unit.sub (0, 1), unit.from (1),
        {scratch_.data (), scratch_.size ()}, &n, used);
    if (s != Status::ok)
      return s;
    o += h264::escape ({scratch_.data (), n}, out.data + o);
  }
  o += copy_gap (frame, consumed, frame.data + frame.size, out.data + o);
  *written = o;
  return Status::ok;
}

Status
FrameUnprotector::unprotect (FrameFormat format, ByteView frame, MutableByteView out,
    size_t * written, Header * header)
{
  if (format == FrameFormat::h264)
    return unprotect_h264 (frame, out, written, header);
  size_t clear = 0;
  if (!clear_prefix_size (format, frame, &clear))
    return Status::malformed_frame;
  if (out.size < clear)
    return Status::buffer_too_small;
  std::memcpy (out.data, frame.data, clear);
  size_t n = 0;
  Status s = decryptor_.decrypt (frame.from (clear), frame.sub (0, clear), out.from (clear),
      &n, header);
  if (s == Status::ok)
    *written = clear + n;
  return s;
}

Status
FrameUnprotector::unprotect_h264 (ByteView frame, MutableByteView out, size_t * written,
    Header * header)
{
  std::vector<ByteView> units;
  if (!h264::split (frame, &units))
    return Status::malformed_frame;
  if (out.size < frame.size)
    return Status::buffer_too_small;

  size_t o = 0, consumed = 0;
  for (const auto & unit : units) {
    o += copy_gap (frame, consumed, unit.data, out.data + o);
    consumed = static_cast<size_t> (unit.data - frame.data) + unit.size;
    if (!h264::is_protected_type (nal_type (unit))) {
      std::memcpy (out.data + o, unit.data, unit.size);
      o += unit.size;
      continue;
    }
    out.data[o++] = unit.data[0];
    scratch_.resize (unit.size);
    size_t escaped = 0, n = 0;
    if (!h264::unescape (unit.from (1), scratch_.data (), &escaped))
      return Status::malformed_frame;
    Status s = decryptor_.decrypt ({scratch_.data (), escaped}, unit.sub (0, 1),
        out.from (o), &n, header);
    if (s != Status::ok)
      return s;
    o += n;
  }
  o += copy_gap (frame, consumed, frame.data + frame.size, out.data + o);
  *written = o;
  return Status::ok;
}

}  // namespace sframe
