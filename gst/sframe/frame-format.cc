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

/* The metadata of a protected NAL unit: its header byte, then its position
 * among the protected units of the access unit and their number (16 bits
 * each, big-endian). Only the header byte is on the wire; the receiver
 * recomputes the rest from what it got, so a removed, reordered or retyped
 * slice fails authentication. */
constexpr size_t kNalBindingSize = 5;
constexpr size_t kMaxProtectedNals = 0xffff;

void
bind_nal (uint8_t header, size_t index, size_t count, uint8_t * out)
{
  out[0] = header;
  out[1] = static_cast<uint8_t> (index >> 8);
  out[2] = static_cast<uint8_t> (index);
  out[3] = static_cast<uint8_t> (count >> 8);
  out[4] = static_cast<uint8_t> (count);
}

/* How many units of the access unit are encrypted. An access unit must carry
 * at least one: one with none is no picture, and accepting it would let the
 * middle strip every slice. */
bool
count_protected (const std::vector<ByteView> & units, size_t * count)
{
  *count = 0;
  for (const auto & u : units) {
    if (h264::is_protected_type (nal_type (u)))
      (*count)++;
  }
  return *count > 0 && *count <= kMaxProtectedNals;
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
  size_t count = 0, index = 0;
  if (!h264::split (frame, &units) || !count_protected (units, &count))
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
    /* The NAL header byte is escaped together with the SFrame: a 0x00 header
     * followed by SFrame bytes 00 01 would otherwise form a start code. Being
     * first, the header byte itself comes out unchanged. */
    scratch_.resize (unit.size + kMaxOverhead);
    scratch_[0] = unit.data[0];
    uint8_t binding[kNalBindingSize];
    bind_nal (unit.data[0], index++, count, binding);
    size_t n = 0;
    Status s = encryptor_.encrypt (key_id, {binding, sizeof binding}, unit.from (1),
        {scratch_.data () + 1, scratch_.size () - 1}, &n, used);
    if (s != Status::ok)
      return s;
    o += h264::escape ({scratch_.data (), 1 + n}, out.data + o);
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
  size_t count = 0, index = 0;
  if (!h264::split (frame, &units) || !count_protected (units, &count))
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
    /* Unescape header and SFrame together, as protect_h264() escaped them;
     * the header byte comes back first, unchanged. */
    scratch_.resize (unit.size);
    size_t escaped = 0, n = 0;
    if (unit.size < 2 || !h264::unescape (unit, scratch_.data (), &escaped))
      return Status::malformed_frame;
    uint8_t binding[kNalBindingSize];
    bind_nal (unit.data[0], index++, count, binding);
    Status s = decryptor_.decrypt ({scratch_.data () + 1, escaped - 1}, {binding, sizeof binding},
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
