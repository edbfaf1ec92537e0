#include <gst/sframe/core/frame-format.h>

#include <gst/sframe/core/nal-unit.h>

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

/* Reads big-endian bit fields, as the VP9 uncompressed header is coded. */
class BitReader {
public:
  explicit BitReader (ByteView v) : v_ (v) {}

  bool read (unsigned n, uint32_t * value)
  {
    if (pos_ + n > v_.size * 8)
      return false;
    uint32_t x = 0;
    for (unsigned i = 0; i < n; i++, pos_++)
      x = (x << 1) | ((v_.data[pos_ / 8] >> (7 - pos_ % 8)) & 1u);
    *value = x;
    return true;
  }

  bool skip (unsigned n)
  {
    uint32_t ignored;
    return read (n, &ignored);
  }

  size_t bytes_touched () const { return (pos_ + 7) / 8; }

private:
  ByteView v_;
  size_t pos_ = 0;
};

/* VP9 bitstream specification 0.6, section 6.2 (uncompressed_header). */
constexpr uint32_t kVp9FrameMarker = 2;
constexpr uint32_t kVp9SyncCode = 0x498342;
constexpr uint32_t kVp9ColorSpaceRgb = 7;

struct Vp9Header {
  bool key = false;
  size_t clear = 0;  /* bytes holding the fields that stay clear */
};

/* A key frame's frame_sync_code, color_config(), frame_size() and
 * render_size(): the picture size a payloader announces (rtpvp9pay reads
 * exactly this far) and the sync code that tells a key frame apart. */
bool
read_vp9_key_frame_fields (BitReader & r, uint32_t profile)
{
  uint32_t v = 0, color_space = 0, render_differs = 0;
  if (!r.read (24, &v) || v != kVp9SyncCode)
    return false;
  if (profile >= 2 && !r.skip (1))  /* ten_or_twelve_bit */
    return false;
  if (!r.read (3, &color_space))
    return false;
  bool subsampling = profile == 1 || profile == 3;
  /* color_range, then (profiles 1 and 3) subsampling_x, subsampling_y and
   * reserved_zero; RGB has no color_range, only the reserved bit. */
  unsigned color_bits = color_space != kVp9ColorSpaceRgb ? 1 + (subsampling ? 3 : 0)
      : (subsampling ? 1 : 0);
  if (!r.skip (color_bits) || !r.skip (32))  /* frame_width/height_minus_1 */
    return false;
  if (!r.read (1, &render_differs))
    return false;
  return !render_differs || r.skip (32);  /* render_width/height_minus_1 */
}

/* Parses the leading fields of a VP9 frame (of a superframe: of its first
 * frame). False when the frame is not VP9 or too short for them. */
bool
parse_vp9_header (ByteView frame, Vp9Header * h)
{
  BitReader r (frame);
  uint32_t marker = 0, low = 0, high = 0, show_existing = 0, frame_type = 0;
  if (!r.read (2, &marker) || marker != kVp9FrameMarker || !r.read (1, &low) || !r.read (1, &high))
    return false;
  uint32_t profile = (high << 1) | low, reserved = 0;
  /* Profile 3's reserved_zero: libvpx reads a set bit as profile 4 and
   * refuses the frame, so do we. */
  if (profile == 3 && (!r.read (1, &reserved) || reserved != 0))
    return false;
  if (!r.read (1, &show_existing))
    return false;
  h->key = false;
  if (show_existing) {
    if (!r.skip (3))  /* frame_to_show_map_idx; the frame ends here */
      return false;
  } else {
    if (!r.read (1, &frame_type) || !r.skip (2))  /* show_frame, error_resilient_mode */
      return false;
    h->key = frame_type == 0;
    if (h->key && !read_vp9_key_frame_fields (r, profile))
      return false;
  }
  h->clear = r.bytes_touched ();
  return true;
}

/* How many leading bytes of a prefix-layout frame stay in clear; false when
 * the frame is too short to carry them (or, for VP9, is no VP9 frame). The
 * length comes from the clear bytes alone, so the receiver finds the same. */
bool
clear_prefix_size (FrameFormat format, ByteView frame, size_t * size)
{
  Vp9Header vp9;
  switch (format) {
    case FrameFormat::opus:
      *size = 1;
      break;
    case FrameFormat::vp8:
      *size = vp8_is_key_frame (frame) ? kVp8KeyFrameHeader : kVp8DeltaFrameHeader;
      break;
    case FrameFormat::vp9:
      if (!parse_vp9_header (frame, &vp9))
        return false;
      *size = vp9.clear;
      break;
    default:
      *size = 0;
      break;
  }
  return frame.size >= *size;
}

bool
is_nal_format (FrameFormat format)
{
  return format == FrameFormat::h264 || format == FrameFormat::h265;
}

nal::Codec
nal_codec (FrameFormat format)
{
  return format == FrameFormat::h264 ? nal::Codec::h264 : nal::Codec::h265;
}

/* The metadata of a protected NAL unit: its header bytes, its position
 * among the protected units of the access unit and their number (16 bits
 * each, big-endian), and, for every unit but the first, the key id and
 * counter of the access unit's first protected unit (64 bits each): the
 * access unit's identity, since no two SFrames share a key id and counter.
 * Only the NAL header is on the wire; the receiver recomputes the rest
 * from what it got, so a removed, reordered, retyped slice, or one moved
 * in from another access unit, fails authentication. */
constexpr size_t kMaxNalHeader = 2;
constexpr size_t kMaxNalBinding = kMaxNalHeader + 4 + 16;
constexpr size_t kMaxProtectedNals = 0xffff;

uint8_t *
put_be (uint64_t value, int bytes, uint8_t * p)
{
  for (int i = bytes - 1; i >= 0; i--)
    *p++ = static_cast<uint8_t> (value >> (8 * i));
  return p;
}

size_t
bind_nal (ByteView header, size_t index, size_t count, const Header * first, uint8_t * out)
{
  std::memcpy (out, header.data, header.size);
  uint8_t *p = put_be (count, 2, put_be (index, 2, out + header.size));
  if (first)
    p = put_be (first->counter, 8, put_be (first->key_id, 8, p));
  return static_cast<size_t> (p - out);
}

/* Splits the access unit and counts the units to encrypt. Every unit must
 * hold a whole NAL header, and an access unit must carry at least one
 * protected unit: one with none is no picture, and accepting it would let
 * the middle strip every slice. */
bool
split_access_unit (nal::Codec codec, ByteView frame, std::vector<ByteView> * units, size_t * count)
{
  if (!nal::split (frame, units))
    return false;
  *count = 0;
  for (const auto & u : *units) {
    if (u.size < nal::header_size (codec))
      return false;
    if (nal::is_protected_type (codec, nal::unit_type (codec, u)))
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
    case FrameFormat::vp9: return "vp9";
    case FrameFormat::h265: return "h265";
    case FrameFormat::g711: return "g711";
  }
  return "unknown";
}

size_t
protected_size_bound (FrameFormat format, ByteView frame)
{
  if (!is_nal_format (format))
    return frame.size + kMaxOverhead;
  std::vector<ByteView> units;
  nal::split (frame, &units);
  return frame.size + nal::escaped_size_bound (frame.size) +
      units.size () * nal::escaped_size_bound (kMaxOverhead);
}

bool
is_key_frame (FrameFormat format, ByteView frame)
{
  Vp9Header vp9;
  switch (format) {
    case FrameFormat::opus:
      return true;
    case FrameFormat::vp8:
      return vp8_is_key_frame (frame);
    case FrameFormat::vp9:
      return parse_vp9_header (frame, &vp9) && vp9.key;
    case FrameFormat::h264:
    case FrameFormat::h265: {
      nal::Codec codec = nal_codec (format);
      std::vector<ByteView> units;
      if (!nal::split (frame, &units))
        return false;
      for (const auto & u : units) {
        if (nal::is_key_type (codec, nal::unit_type (codec, u)))
          return true;
      }
      return false;
    }
    case FrameFormat::g711:  /* every frame decodes on its own */
      return true;
    case FrameFormat::opaque:
      break;
  }
  return false;
}

Status
FrameProtector::protect (FrameFormat format, const uint64_t * key_id, ByteView frame,
    MutableByteView out, size_t * written, Header * used)
{
  if (is_nal_format (format))
    return protect_nal (format, key_id, frame, out, written, used);
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
FrameProtector::protect_nal (FrameFormat format, const uint64_t * key_id, ByteView frame,
    MutableByteView out, size_t * written, Header * used)
{
  nal::Codec codec = nal_codec (format);
  size_t hs = nal::header_size (codec);
  std::vector<ByteView> units;
  size_t count = 0, index = 0;
  if (!split_access_unit (codec, frame, &units, &count))
    return Status::malformed_frame;
  if (out.size < protected_size_bound (format, frame))
    return Status::buffer_too_small;
  Header first;

  size_t o = 0, consumed = 0;
  for (const auto & unit : units) {
    o += copy_gap (frame, consumed, unit.data, out.data + o);
    consumed = static_cast<size_t> (unit.data - frame.data) + unit.size;
    if (!nal::is_protected_type (codec, nal::unit_type (codec, unit))) {
      std::memcpy (out.data + o, unit.data, unit.size);
      o += unit.size;
      continue;
    }
    /* The NAL header is escaped together with the SFrame: a 0x00 header
     * byte followed by SFrame bytes 00 01 would otherwise form a start
     * code. Being first, the header bytes themselves come out unchanged. */
    scratch_.resize (unit.size + kMaxOverhead);
    std::memcpy (scratch_.data (), unit.data, hs);
    uint8_t binding[kMaxNalBinding];
    size_t binding_size = bind_nal (unit.sub (0, hs), index, count, index > 0 ? &first : nullptr, binding);
    size_t n = 0;
    Header header;
    Status s = encryptor_.encrypt (key_id, {binding, binding_size}, unit.from (hs),
        {scratch_.data () + hs, scratch_.size () - hs}, &n, &header);
    if (s != Status::ok)
      return s;
    if (index++ == 0)
      first = header;
    if (used)
      *used = header;
    o += nal::escape ({scratch_.data (), hs + n}, out.data + o);
  }
  o += copy_gap (frame, consumed, frame.data + frame.size, out.data + o);
  *written = o;
  return Status::ok;
}

Status
FrameUnprotector::unprotect (FrameFormat format, ByteView frame, MutableByteView out,
    size_t * written, Header * header)
{
  return open_frame (format, frame, out, written, header, Replay::consume);
}

Status
FrameUnprotector::authenticate (FrameFormat format, ByteView frame, MutableByteView out,
    size_t * written, Header * header)
{
  return open_frame (format, frame, out, written, header, Replay::read);
}

Status
FrameUnprotector::open_frame (FrameFormat format, ByteView frame, MutableByteView out,
    size_t * written, Header * header, Replay replay)
{
  if (is_nal_format (format))
    return open_nal (format, frame, out, written, header, replay);
  size_t clear = 0;
  if (!clear_prefix_size (format, frame, &clear))
    return Status::malformed_frame;
  if (out.size < clear)
    return Status::buffer_too_small;
  std::memcpy (out.data, frame.data, clear);
  size_t n = 0;
  ByteView body = frame.from (clear), metadata = frame.sub (0, clear);
  MutableByteView plain = out.from (clear);
  Status s = replay == Replay::consume ? decryptor_.decrypt (body, metadata, plain, &n, header) :
      decryptor_.open (body, metadata, plain, &n, header);
  if (s == Status::ok && replay == Replay::read)
    s = accept_read (header, 1);
  if (s == Status::ok)
    *written = clear + n;
  return s;
}

Status
FrameUnprotector::accept_read (const Header * headers, size_t count)
{
  for (size_t i = 0; i < count; i++) {
    Status s = decryptor_.accept_verified (headers[i]);
    if (s != Status::ok)
      return s;
  }
  return Status::ok;
}

Status
FrameUnprotector::open_nal (FrameFormat format, ByteView frame, MutableByteView out,
    size_t * written, Header * header, Replay replay)
{
  nal::Codec codec = nal_codec (format);
  size_t hs = nal::header_size (codec);
  std::vector<ByteView> units;
  size_t count = 0, index = 0;
  if (!split_access_unit (codec, frame, &units, &count))
    return Status::malformed_frame;
  if (out.size < frame.size)
    return Status::buffer_too_small;
  opened_.clear ();

  size_t o = 0, consumed = 0;
  for (const auto & unit : units) {
    o += copy_gap (frame, consumed, unit.data, out.data + o);
    consumed = static_cast<size_t> (unit.data - frame.data) + unit.size;
    if (!nal::is_protected_type (codec, nal::unit_type (codec, unit))) {
      std::memcpy (out.data + o, unit.data, unit.size);
      o += unit.size;
      continue;
    }
    /* Unescape header and SFrame together, as protect_nal() escaped them;
     * the header bytes come back first, unchanged. */
    scratch_.resize (unit.size);
    size_t escaped = 0, n = 0;
    if (unit.size < hs + 1 || !nal::unescape (unit, scratch_.data (), &escaped))
      return Status::malformed_frame;
    std::memcpy (out.data + o, unit.data, hs);
    o += hs;
    uint8_t binding[kMaxNalBinding];
    size_t binding_size = bind_nal (unit.sub (0, hs), index, count, index > 0 ? &opened_[0] : nullptr,
        binding);
    index++;
    Status s = decryptor_.open ({scratch_.data () + hs, escaped - hs}, {binding, binding_size},
        out.from (o), &n, header);
    if (s != Status::ok)
      return s;
    opened_.push_back (*header);
    o += n;
  }
  o += copy_gap (frame, consumed, frame.data + frame.size, out.data + o);
  /* The replay window moves only once the whole access unit authenticated. */
  if (replay == Replay::read) {
    Status s = accept_read (opened_.data (), opened_.size ());
    if (s != Status::ok)
      return s;
  }
  for (size_t i = 0; replay == Replay::consume && i < opened_.size (); i++) {
    Status s = decryptor_.accept (opened_[i]);
    if (s != Status::ok)
      return s;
  }
  *written = o;
  return Status::ok;
}

}  // namespace sframe
