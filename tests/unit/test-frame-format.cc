/* The codec-aware layouts: what stays clear, what is encrypted, and that
 * every layout round-trips, reports key frames from its clear bytes alone,
 * and rejects tampering and malformed input. */
#include "vectors.h"

#include <gst/sframe/core/frame-format.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/nal-unit.h>

#include <gtest/gtest.h>

#include <openssl/rand.h>

#include <algorithm>
#include <functional>

using sframe::FrameFormat;
using sframe::Status;
using test::unhex;
using test::view;

namespace {

std::vector<uint8_t>
random_bytes (size_t n)
{
  std::vector<uint8_t> v (n);
  if (n)
    RAND_bytes (v.data (), static_cast<int> (n));
  return v;
}

class FrameFormatTest : public ::testing::Test {
protected:
  void SetUp () override
  {
    ASSERT_EQ (ring_.add_own_key (sframe::CipherSuite::aes_128_gcm_sha256_128, 5,
            view (unhex ("000102030405060708090a0b0c0d0e0f"))), Status::ok);
    ASSERT_EQ (ring_.set_sender (5), Status::ok);
  }

  std::vector<uint8_t> protect (FrameFormat f, const std::vector<uint8_t> & frame)
  {
    std::vector<uint8_t> out (sframe::protected_size_bound (f, view (frame)));
    size_t n = 0;
    EXPECT_EQ (protector_.protect (f, nullptr, view (frame), {out.data (), out.size ()}, &n), Status::ok);
    out.resize (n);
    return out;
  }

  Status unprotect (FrameFormat f, const std::vector<uint8_t> & frame, std::vector<uint8_t> * out)
  {
    out->assign (frame.size (), 0);
    size_t n = 0;
    sframe::Header h;
    Status s = unprotector_.unprotect (f, view (frame), {out->data (), out->size ()}, &n, &h);
    out->resize (s == Status::ok ? n : 0);
    return s;
  }

  sframe::KeyRing ring_;
  sframe::FrameProtector protector_ {ring_};
  sframe::FrameUnprotector unprotector_ {ring_};
};

std::vector<uint8_t>
vp8_frame (bool key, size_t size)
{
  auto f = random_bytes (size);
  f[0] = static_cast<uint8_t> (key ? (f[0] & ~1) : (f[0] | 1));
  return f;
}

/* An Annex B access unit: SPS, PPS, then slices with random payloads that
 * contain their own zero runs. */
std::vector<uint8_t>
h264_access_unit (bool idr, int slices)
{
  std::vector<uint8_t> au = unhex ("000000016742c01e8c8d40");   /* SPS */
  auto pps = unhex ("0000000168ce3c80");
  au.insert (au.end (), pps.begin (), pps.end ());
  for (int i = 0; i < slices; i++) {
    auto sc = unhex (i == 0 ? "00000001" : "000001");
    au.insert (au.end (), sc.begin (), sc.end ());
    au.push_back (idr ? 0x65 : 0x41);
    auto payload = random_bytes (300 + 50 * i);
    for (size_t j = 0; j + 2 < payload.size (); j += 37) {  /* force zero runs, escaped */
      payload[j] = 0;
      payload[j + 1] = 0;
      payload[j + 2] = 3;
    }
    payload.back () = 0x80;
    au.insert (au.end (), payload.begin (), payload.end ());
  }
  return au;
}

bool
contains_start_code (const std::vector<uint8_t> & v, size_t from)
{
  for (size_t i = from; i + 2 < v.size (); i++) {
    if (v[i] == 0 && v[i + 1] == 0 && v[i + 2] <= 1)
      return true;
  }
  return false;
}

TEST_F (FrameFormatTest, OpusKeepsTocClear)
{
  auto frame = random_bytes (120);
  auto p = protect (FrameFormat::opus, frame);
  EXPECT_EQ (p[0], frame[0]);
  EXPECT_NE (std::vector<uint8_t> (p.begin () + 1, p.begin () + 40),
      std::vector<uint8_t> (frame.begin () + 1, frame.begin () + 40));
  std::vector<uint8_t> back;
  ASSERT_EQ (unprotect (FrameFormat::opus, p, &back), Status::ok);
  EXPECT_EQ (back, frame);
}

TEST_F (FrameFormatTest, Vp8KeepsFrameHeaderClear)
{
  for (bool key : {true, false}) {
    auto frame = vp8_frame (key, 500);
    auto p = protect (FrameFormat::vp8, frame);
    size_t clear = key ? 10 : 3;
    EXPECT_EQ (std::vector<uint8_t> (p.begin (), p.begin () + clear),
        std::vector<uint8_t> (frame.begin (), frame.begin () + clear));
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::vp8, view (p)), key);
    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::vp8, p, &back), Status::ok);
    EXPECT_EQ (back, frame);
    /* The clear header is authenticated. */
    auto bad = p;
    bad[1] ^= 0x10;
    EXPECT_EQ (unprotect (FrameFormat::vp8, bad, &back), Status::authentication_failed);
  }
  std::vector<uint8_t> out (64);
  size_t n;
  auto tiny = vp8_frame (true, 5);
  EXPECT_EQ (protector_.protect (FrameFormat::vp8, nullptr, view (tiny), {out.data (), out.size ()}, &n),
      Status::malformed_frame);
}

TEST_F (FrameFormatTest, H264KeepsNalHeadersAndParameterSetsClear)
{
  for (bool idr : {true, false}) {
    auto au = h264_access_unit (idr, 3);
    auto p = protect (FrameFormat::h264, au);
    std::vector<sframe::ByteView> in_units, out_units;
    ASSERT_TRUE (sframe::nal::split (view (au), &in_units));
    ASSERT_TRUE (sframe::nal::split (view (p), &out_units));
    ASSERT_EQ (in_units.size (), out_units.size ());
    for (size_t i = 0; i < in_units.size (); i++) {
      EXPECT_EQ (in_units[i].data[0], out_units[i].data[0]);  /* NAL header clear */
      bool slice = (in_units[i].data[0] & 0x1f) < 6;
      if (!slice) {
        EXPECT_EQ (in_units[i].size, out_units[i].size);  /* SPS/PPS untouched */
        EXPECT_EQ (0, memcmp (in_units[i].data, out_units[i].data, in_units[i].size));
      }
    }
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::h264, view (p)), idr);
    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::h264, p, &back), Status::ok);
    EXPECT_EQ (back, au);
  }
}

TEST_F (FrameFormatTest, H264RejectsGarbageAndPlaintextSlices)
{
  std::vector<uint8_t> back;
  EXPECT_EQ (unprotect (FrameFormat::h264, random_bytes (50), &back), Status::malformed_frame);
  EXPECT_EQ (unprotect (FrameFormat::h264, {}, &back), Status::malformed_frame);
  /* A clear slice injected by the middle never decodes. */
  auto au = h264_access_unit (true, 1);
  EXPECT_NE (unprotect (FrameFormat::h264, au, &back), Status::ok);
}

TEST_F (FrameFormatTest, OpaqueRoundTripsAnything)
{
  for (size_t size : {0, 1, 1000}) {
    auto frame = random_bytes (size);
    auto p = protect (FrameFormat::opaque, frame);
    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::opaque, p, &back), Status::ok);
    EXPECT_EQ (back, frame);
  }
}

/* Where the SFrame starts in a protected frame: an SFrame header of the test
 * key (id 5) must parse exactly there. */
bool
sframe_header_at (const std::vector<uint8_t> & v, size_t offset)
{
  sframe::Header h;
  size_t len = 0;
  return offset <= v.size () &&
      sframe::decode_header ({v.data () + offset, v.size () - offset}, &h, &len) == Status::ok &&
      h.key_id == 5;
}

std::vector<uint8_t>
prefix (const std::vector<uint8_t> & v, size_t n)
{
  return std::vector<uint8_t> (v.begin (), v.begin () + static_cast<std::ptrdiff_t> (n));
}

/* ------------------------------------------------------------------------
 * VP9 */

/* Writes big-endian bit fields, as the VP9 uncompressed header is coded. */
class BitWriter {
public:
  void put (uint32_t value, unsigned bits)
  {
    for (unsigned i = bits; i-- > 0;) {
      if (n_ % 8 == 0)
        out_.push_back (0);
      if ((value >> i) & 1)
        out_.back () |= static_cast<uint8_t> (0x80 >> (n_ % 8));
      n_++;
    }
  }

  size_t bits () const { return n_; }
  std::vector<uint8_t> & bytes () { return out_; }

private:
  std::vector<uint8_t> out_;
  size_t n_ = 0;
};

enum class Vp9Kind { key, inter, show_existing };

struct Vp9Case {
  int profile;
  Vp9Kind kind;
  bool rgb;
  bool render_size;
  size_t clear;  /* expected clear bytes, counted by hand from the spec */
};

/* VP9 bitstream specification 0.6, 6.2: profile 0 key frame = 8 bits
 * (marker .. error_resilient_mode) + 24 (sync code) + 3 (color_space) +
 * 1 (color_range) + 32 (frame size) + 1 (render_and_frame_size_different)
 * = 69 bits -> 9 bytes; and so on. */
const Vp9Case kVp9Cases[] = {
  {0, Vp9Kind::key, false, false, 9},
  {0, Vp9Kind::key, false, true, 13},   /* + 32 bits render size: 101 bits */
  {0, Vp9Kind::key, true, false, 9},    /* RGB: no color_range, 68 bits */
  {1, Vp9Kind::key, false, false, 9},   /* + subsampling and reserved: 72 bits */
  {1, Vp9Kind::key, true, false, 9},    /* RGB + reserved bit: 69 bits */
  {2, Vp9Kind::key, false, false, 9},   /* + ten_or_twelve_bit: 70 bits */
  {3, Vp9Kind::key, false, false, 10},  /* + reserved_zero, bit depth, subsampling: 74 */
  {3, Vp9Kind::key, false, true, 14},   /* 106 bits */
  {0, Vp9Kind::inter, false, false, 1},
  {2, Vp9Kind::inter, false, false, 1},
  {3, Vp9Kind::inter, false, false, 2},  /* reserved_zero pushes error_resilient_mode to bit 8 */
  {0, Vp9Kind::show_existing, false, false, 1},
  {3, Vp9Kind::show_existing, false, false, 2},
};

/* A VP9 frame written field by field from the spec, then `payload` random
 * bytes. `*clear_bits` = bits through the last field the layout keeps clear;
 * `*neutral_bit` = a clear bit whose value does not change the layout. */
std::vector<uint8_t>
vp9_frame (const Vp9Case & c, size_t payload, size_t * clear_bits = nullptr,
    size_t * neutral_bit = nullptr, uint32_t sync_code = 0x498342)
{
  BitWriter w;
  w.put (2, 2);  /* frame_marker */
  w.put (c.profile & 1, 1);  /* profile_low_bit */
  w.put (c.profile >> 1, 1);  /* profile_high_bit */
  if (c.profile == 3)
    w.put (0, 1);  /* reserved_zero */
  w.put (c.kind == Vp9Kind::show_existing, 1);
  size_t neutral = 0;
  if (c.kind == Vp9Kind::show_existing) {
    neutral = w.bits ();
    w.put (5, 3);  /* frame_to_show_map_idx */
  } else {
    w.put (c.kind == Vp9Kind::key ? 0 : 1, 1);  /* frame_type */
    neutral = w.bits ();
    w.put (1, 1);  /* show_frame */
    w.put (0, 1);  /* error_resilient_mode */
  }
  if (c.kind == Vp9Kind::key) {
    w.put (sync_code, 24);
    if (c.profile >= 2)
      w.put (0, 1);  /* ten_or_twelve_bit */
    w.put (c.rgb ? 7 : 2, 3);  /* color_space: CS_RGB or CS_BT_709 */
    if (!c.rgb)
      w.put (0, 1);  /* color_range */
    if (c.profile == 1 || c.profile == 3)
      w.put (0, c.rgb ? 1 : 3);  /* subsampling_x, subsampling_y, reserved_zero */
    neutral = w.bits () + 3;
    w.put (639, 16);  /* frame_width_minus_1 */
    w.put (359, 16);  /* frame_height_minus_1 */
    w.put (c.render_size, 1);
    if (c.render_size) {
      w.put (1279, 16);
      w.put (719, 16);
    }
  }
  if (clear_bits)
    *clear_bits = w.bits ();
  if (neutral_bit)
    *neutral_bit = neutral;
  w.put (0x5a, static_cast<unsigned> ((8 - w.bits () % 8) % 8));  /* rest of the byte */
  auto rest = random_bytes (payload);
  w.bytes ().insert (w.bytes ().end (), rest.begin (), rest.end ());
  return w.bytes ();
}

TEST_F (FrameFormatTest, Vp9KeepsLeadingHeaderFieldsClear)
{
  for (const auto & c : kVp9Cases) {
    SCOPED_TRACE (testing::Message () << "profile " << c.profile << " kind " << static_cast<int> (c.kind)
        << " rgb " << c.rgb << " render " << c.render_size);
    size_t bits = 0, neutral = 0;
    auto frame = vp9_frame (c, 700, &bits, &neutral);
    ASSERT_EQ ((bits + 7) / 8, c.clear);  /* the writer agrees with the hand count */

    auto p = protect (FrameFormat::vp9, frame);
    ASSERT_GT (p.size (), c.clear);
    EXPECT_EQ (prefix (p, c.clear), prefix (frame, c.clear));
    EXPECT_TRUE (sframe_header_at (p, c.clear));  /* the SFrame starts right after */
    /* ... and the rest of the frame is not readable in it. */
    auto body = std::vector<uint8_t> (frame.begin () + static_cast<std::ptrdiff_t> (c.clear), frame.end ());
    EXPECT_EQ (std::search (p.begin (), p.end (), body.begin (), body.begin () + 16), p.end ());
    bool key = c.kind == Vp9Kind::key;
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::vp9, view (p)), key);
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::vp9, view (frame)), key);
    /* An SFU needs nothing past the clear bytes to tell a key frame. */
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::vp9, view (prefix (p, c.clear))), key);

    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::vp9, p, &back), Status::ok);
    EXPECT_EQ (back, frame);

    /* The clear bytes are authenticated, including the bits of the last
     * clear byte that lie past the parsed fields. */
    auto bad = p;
    bad[neutral / 8] ^= static_cast<uint8_t> (0x80 >> (neutral % 8));
    EXPECT_EQ (unprotect (FrameFormat::vp9, bad, &back), Status::authentication_failed);
    if (bits % 8 != 0) {
      bad = p;
      bad[c.clear - 1] ^= 0x01;
      EXPECT_EQ (unprotect (FrameFormat::vp9, bad, &back), Status::authentication_failed);
    }
    bad = p;
    bad[p.size () - 20] ^= 0x04;
    EXPECT_EQ (unprotect (FrameFormat::vp9, bad, &back), Status::authentication_failed);
  }
}

TEST_F (FrameFormatTest, Vp9HeaderOnlyFrameRoundTrips)
{
  /* A shown existing frame is one byte: nothing to encrypt but its tag. */
  const Vp9Case c {0, Vp9Kind::show_existing, false, false, 1};
  auto frame = vp9_frame (c, 0);
  ASSERT_EQ (frame.size (), 1u);
  auto p = protect (FrameFormat::vp9, frame);
  EXPECT_EQ (p[0], frame[0]);
  EXPECT_TRUE (sframe_header_at (p, 1));
  std::vector<uint8_t> back;
  ASSERT_EQ (unprotect (FrameFormat::vp9, p, &back), Status::ok);
  EXPECT_EQ (back, frame);
}

TEST_F (FrameFormatTest, Vp9RejectsMalformedFrames)
{
  std::vector<uint8_t> out (4096), back;
  size_t n = 0;
  auto refused = [&] (const std::vector<uint8_t> & f) {
    return protector_.protect (FrameFormat::vp9, nullptr, view (f), {out.data (), out.size ()}, &n) ==
        Status::malformed_frame && unprotect (FrameFormat::vp9, f, &back) == Status::malformed_frame;
  };
  EXPECT_TRUE (refused ({}));
  auto frame = vp9_frame (kVp9Cases[0], 200);
  auto wrong_marker = frame;
  wrong_marker[0] &= 0x3f;  /* frame_marker 0 */
  EXPECT_TRUE (refused (wrong_marker));
  EXPECT_TRUE (refused (vp9_frame (kVp9Cases[0], 200, nullptr, nullptr, 0x498343)));  /* bad sync code */
  EXPECT_TRUE (refused (prefix (frame, 5)));  /* key frame cut inside its size */
  EXPECT_TRUE (refused (prefix (vp9_frame (kVp9Cases[10], 10), 1)));  /* profile 3 delta, 1 byte */
  auto profile4 = vp9_frame (kVp9Cases[10], 10);
  ASSERT_EQ (profile4[0] & 0x08, 0);
  profile4[0] |= 0x08;  /* profile 3's reserved_zero set: "profile 4" */
  EXPECT_TRUE (refused (profile4));
  EXPECT_FALSE (sframe::is_key_frame (FrameFormat::vp9, view (prefix (frame, 5))));
  EXPECT_FALSE (sframe::is_key_frame (FrameFormat::vp9, view (wrong_marker)));
  /* Garbage after a valid clear header never decrypts. */
  auto garbage = prefix (frame, 9);
  auto rest = random_bytes (100);
  garbage.insert (garbage.end (), rest.begin (), rest.end ());
  EXPECT_NE (unprotect (FrameFormat::vp9, garbage, &back), Status::ok);
}

/* ------------------------------------------------------------------------
 * H.265 */

/* An RBSP-like payload with zero runs, emulation prevention applied and the
 * stop bit, so it holds no start code. */
std::vector<uint8_t>
nal_payload (size_t n)
{
  auto raw = random_bytes (n);
  for (size_t j = 0; j + 2 < raw.size (); j += 29) {
    raw[j] = 0;
    raw[j + 1] = 0;
  }
  std::vector<uint8_t> out (sframe::nal::escaped_size_bound (raw.size ()));
  out.resize (sframe::nal::escape (view (raw), out.data ()));
  return out;
}

/* H.265 7.3.1.2: forbidden_zero_bit, nal_unit_type(6), nuh_layer_id(6),
 * nuh_temporal_id_plus1(3). */
std::vector<uint8_t>
h265_nal (uint8_t type, size_t payload, uint8_t layer = 0)
{
  std::vector<uint8_t> nal = {static_cast<uint8_t> (type << 1 | layer >> 5),
    static_cast<uint8_t> ((layer & 0x1f) << 3 | 1)};
  auto p = nal_payload (payload);
  nal.insert (nal.end (), p.begin (), p.end ());
  return nal;
}

bool
h265_is_clear (uint8_t type)
{
  return type >= 32 && type <= 38;  /* VPS SPS PPS AUD EOS EOB FD */
}

void
append_nal (std::vector<uint8_t> * au, const std::vector<uint8_t> & nal, bool long_start_code)
{
  auto sc = unhex (long_start_code ? "00000001" : "000001");
  au->insert (au->end (), sc.begin (), sc.end ());
  au->insert (au->end (), nal.begin (), nal.end ());
}

/* AUD, VPS/SPS/PPS (key pictures), prefix SEI, `slices` slices of the
 * given type, suffix SEI, filler; both start code lengths. */
std::vector<uint8_t>
h265_access_unit (uint8_t slice_type, int slices)
{
  std::vector<uint8_t> au;
  append_nal (&au, {0x46, 0x01, 0x50}, true);  /* AUD, pic_type 2 */
  if (slice_type >= 16 && slice_type <= 23) {
    append_nal (&au, h265_nal (32, 20), true);
    append_nal (&au, h265_nal (33, 40), true);
    append_nal (&au, h265_nal (34, 8), true);
  }
  append_nal (&au, h265_nal (39, 30), false);
  for (int i = 0; i < slices; i++)
    append_nal (&au, h265_nal (slice_type, 300 + 40 * i), i == 0);
  append_nal (&au, h265_nal (40, 12), false);
  append_nal (&au, h265_nal (38, 6), false);
  return au;
}

/* The NAL units of an access unit (header and payload). */
std::vector<sframe::ByteView>
units_of (const std::vector<uint8_t> & au)
{
  std::vector<sframe::ByteView> units;
  EXPECT_TRUE (sframe::nal::split (view (au), &units));
  return units;
}

TEST_F (FrameFormatTest, H265KeepsNalHeadersAndParameterSetsClear)
{
  /* IDR_W_RADL, IDR_N_LP, CRA, BLA_W_LP, BLA_N_LP; TRAIL_R, TRAIL_N, RASL_N. */
  for (uint8_t type : {19, 20, 21, 16, 18, 1, 0, 8}) {
    SCOPED_TRACE (testing::Message () << "slice type " << int (type));
    bool key = type >= 16 && type <= 21;
    auto au = h265_access_unit (type, 3);
    auto p = protect (FrameFormat::h265, au);
    auto in_units = units_of (au), out_units = units_of (p);
    ASSERT_EQ (in_units.size (), out_units.size ());
    for (size_t i = 0; i < in_units.size (); i++) {
      const auto & a = in_units[i];
      const auto & b = out_units[i];
      ASSERT_GE (b.size, 2u);
      EXPECT_EQ (0, memcmp (a.data, b.data, 2));  /* both header bytes clear */
      uint8_t t = (a.data[0] >> 1) & 0x3f;
      if (h265_is_clear (t)) {
        ASSERT_EQ (a.size, b.size);  /* parameter sets, AUD, filler untouched */
        EXPECT_EQ (0, memcmp (a.data, b.data, a.size));
        continue;
      }
      /* Everything after the header is escape(SFrame) || 0x80. */
      EXPECT_EQ (b.data[b.size - 1], 0x80);
      std::vector<uint8_t> unescaped (b.size);
      size_t n = 0;
      ASSERT_TRUE (sframe::nal::unescape (b, unescaped.data (), &n));
      unescaped.resize (n);
      EXPECT_TRUE (sframe_header_at (unescaped, 2));
    }
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::h265, view (p)), key);
    EXPECT_EQ (sframe::is_key_frame (FrameFormat::h265, view (au)), key);
    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::h265, p, &back), Status::ok);
    EXPECT_EQ (back, au);
  }
}

/* Replaces protected unit `which` of `au` (by index among all units) with
 * `nal`, keeping everything else. */
std::vector<uint8_t>
replace_unit (const std::vector<uint8_t> & au, size_t which, const std::vector<uint8_t> & nal)
{
  auto units = units_of (au);
  size_t begin = static_cast<size_t> (units[which].data - au.data ());
  std::vector<uint8_t> out (au.begin (), au.begin () + static_cast<std::ptrdiff_t> (begin));
  out.insert (out.end (), nal.begin (), nal.end ());
  out.insert (out.end (), au.begin () + static_cast<std::ptrdiff_t> (begin + units[which].size), au.end ());
  return out;
}

std::vector<uint8_t>
unit_bytes (const std::vector<uint8_t> & au, size_t which)
{
  auto u = units_of (au)[which];
  return std::vector<uint8_t> (u.data, u.data + u.size);
}

/* Each tamper gets a freshly protected access unit. */
TEST_F (FrameFormatTest, H265BindsHeadersPositionsAndCount)
{
  auto au = h265_access_unit (1, 3);
  /* Units: 0 AUD, 1 prefix SEI, 2..4 slices, 5 suffix SEI, 6 filler. */
  std::vector<uint8_t> back;
  auto tampered = [&] (const std::function<std::vector<uint8_t> (const std::vector<uint8_t> &)> & edit) {
    return unprotect (FrameFormat::h265, edit (protect (FrameFormat::h265, au)), &back);
  };
  auto edit_slice = [] (const std::vector<uint8_t> & p, size_t byte, uint8_t x) {
    auto slice = unit_bytes (p, 2);
    slice[byte] ^= x;
    return replace_unit (p, 2, slice);
  };

  /* nuh_layer_id low bit, in the second header byte. */
  EXPECT_EQ (tampered ([&] (const std::vector<uint8_t> & p) { return edit_slice (p, 1, 0x08); }),
      Status::authentication_failed);
  /* TRAIL_R -> TRAIL_N: still an encrypted type. */
  EXPECT_EQ (tampered ([&] (const std::vector<uint8_t> & p) { return edit_slice (p, 0, 0x02); }),
      Status::authentication_failed);
  /* TRAIL_R -> SPS (1 ^ 32 = 33): one protected unit less, so the count
   * bound into the first one no longer matches. */
  EXPECT_EQ (tampered ([&] (const std::vector<uint8_t> & p) { return edit_slice (p, 0, 0x40); }),
      Status::authentication_failed);
  /* Two slices swapped. */
  EXPECT_EQ (tampered ([&] (const std::vector<uint8_t> & p) {
        return replace_unit (replace_unit (p, 3, unit_bytes (p, 2)), 2, unit_bytes (p, 3)); }),
      Status::authentication_failed);
  /* The last slice dropped, with its start code. */
  EXPECT_EQ (tampered ([&] (const std::vector<uint8_t> & p) {
        auto u = units_of (p)[4];
        size_t from = static_cast<size_t> (u.data - p.data ()) - 3;
        std::vector<uint8_t> out (p.begin (), p.begin () + static_cast<std::ptrdiff_t> (from));
        out.insert (out.end (), p.begin () + static_cast<std::ptrdiff_t> (from + 3 + u.size), p.end ());
        return out; }),
      Status::authentication_failed);
  /* Untouched, it decrypts. */
  EXPECT_EQ (tampered ([] (const std::vector<uint8_t> & p) { return p; }), Status::ok);
  EXPECT_EQ (back, au);
}

/* A protected unit is bound to its access unit: moved into another one, at
 * the same position with the same NAL header, it fails, and the refusal
 * leaves the replay window alone, so the genuine access unit still
 * decrypts. For H.264 (units 2..5 are the slices) and H.265 (2..5). */
TEST_F (FrameFormatTest, SlicesDoNotMoveBetweenAccessUnits)
{
  struct Case {
    FrameFormat format;
    std::vector<uint8_t> (*make) ();
    size_t first_slice, last_slice;
  };
  const Case cases[] = {
    {FrameFormat::h264, [] { return h264_access_unit (false, 4); }, 2, 5},
    {FrameFormat::h265, [] { return h265_access_unit (1, 4); }, 2, 5},
  };
  for (const auto & c : cases) {
    auto a = protect (c.format, c.make ());
    auto b = protect (c.format, c.make ());
    std::vector<uint8_t> back;
    for (size_t which : {c.first_slice, c.first_slice + 1, c.last_slice}) {
      auto spliced = replace_unit (a, which, unit_bytes (b, which));
      EXPECT_EQ (unprotect (c.format, spliced, &back), Status::authentication_failed)
          << sframe::frame_format_name (c.format) << " unit " << which;
    }
    EXPECT_EQ (unprotect (c.format, a, &back), Status::ok) << sframe::frame_format_name (c.format);
    EXPECT_EQ (unprotect (c.format, a, &back), Status::replayed) << sframe::frame_format_name (c.format);
    EXPECT_EQ (unprotect (c.format, b, &back), Status::ok) << sframe::frame_format_name (c.format);
  }
}

/* A second reader of a stream (janusroomsrc naming a raw track's sender)
 * authenticates frames without consuming their counters in the key's
 * shared window: the stream's own decrypter, on the same key ring, still
 * decrypts every frame once, in either order. Readers refuse replays in
 * a window they share (a frame replayed on another stream is refused
 * there too), and tampering fails. */
TEST_F (FrameFormatTest, AuthenticateLeavesTheReplayWindowToTheDecrypter)
{
  struct Case {
    FrameFormat format;
    std::vector<uint8_t> frame;
  };
  const Case cases[] = {
    {FrameFormat::vp8, vp8_frame (true, 400)},
    {FrameFormat::opus, random_bytes (120)},
    {FrameFormat::h264, h264_access_unit (true, 3)},
  };
  sframe::FrameUnprotector reader (ring_), other_reader (ring_);
  auto authenticate = [&] (FrameFormat f, const std::vector<uint8_t> & frame, std::vector<uint8_t> * out,
      sframe::FrameUnprotector * by = nullptr) {
    out->assign (frame.size (), 0);
    size_t n = 0;
    sframe::Header h;
    Status s = (by ? by : &reader)->authenticate (f, view (frame), {out->data (), out->size ()}, &n, &h);
    out->resize (s == Status::ok ? n : 0);
    EXPECT_TRUE (s != Status::ok || h.key_id == 5);
    return s;
  };
  for (const auto & c : cases) {
    const char *name = sframe::frame_format_name (c.format);
    auto before = protect (c.format, c.frame), after = protect (c.format, c.frame);
    std::vector<uint8_t> back;
    /* The reader first: the decrypter still gets the frame. */
    EXPECT_EQ (authenticate (c.format, before, &back), Status::ok) << name;
    EXPECT_EQ (back, c.frame) << name;
    EXPECT_EQ (authenticate (c.format, before, &back), Status::replayed) << name;
    EXPECT_EQ (authenticate (c.format, before, &back, &other_reader), Status::replayed) << name;
    EXPECT_EQ (unprotect (c.format, before, &back), Status::ok) << name;
    EXPECT_EQ (unprotect (c.format, before, &back), Status::replayed) << name;
    /* The decrypter first: the reader still names the frame, once. */
    EXPECT_EQ (unprotect (c.format, after, &back), Status::ok) << name;
    EXPECT_EQ (authenticate (c.format, after, &back), Status::ok) << name;
    EXPECT_EQ (authenticate (c.format, after, &back), Status::replayed) << name;
    auto tampered = after;
    tampered[tampered.size () - 20] ^= 0x40;
    EXPECT_EQ (authenticate (c.format, tampered, &back), Status::authentication_failed) << name;
  }
}

TEST_F (FrameFormatTest, H265RejectsMalformedAccessUnits)
{
  std::vector<uint8_t> out (4096), back;
  size_t n = 0;
  auto protect_status = [&] (const std::vector<uint8_t> & f) {
    return protector_.protect (FrameFormat::h265, nullptr, view (f), {out.data (), out.size ()}, &n);
  };
  EXPECT_EQ (protect_status ({}), Status::malformed_frame);
  EXPECT_EQ (unprotect (FrameFormat::h265, {}, &back), Status::malformed_frame);
  EXPECT_EQ (unprotect (FrameFormat::h265, random_bytes (64), &back), Status::malformed_frame);

  /* A unit too short for its 2-byte header. */
  auto au = h265_access_unit (19, 1);
  auto short_unit = au;
  append_nal (&short_unit, {0x26}, false);
  EXPECT_EQ (protect_status (short_unit), Status::malformed_frame);
  EXPECT_EQ (unprotect (FrameFormat::h265, short_unit, &back), Status::malformed_frame);

  /* Parameter sets alone carry no picture. */
  std::vector<uint8_t> params;
  append_nal (&params, h265_nal (32, 10), true);
  append_nal (&params, h265_nal (33, 10), true);
  append_nal (&params, h265_nal (34, 10), true);
  EXPECT_EQ (protect_status (params), Status::malformed_frame);
  EXPECT_EQ (unprotect (FrameFormat::h265, params, &back), Status::malformed_frame);

  /* A protected unit that lost its stop byte. */
  auto p = protect (FrameFormat::h265, au);
  auto slice = unit_bytes (p, 5);  /* AUD VPS SPS PPS SEI [slice] */
  ASSERT_EQ ((slice[0] >> 1) & 0x3f, 19);
  slice.back () = 0x81;
  EXPECT_EQ (unprotect (FrameFormat::h265, replace_unit (p, 5, slice), &back), Status::malformed_frame);

  /* A clear slice injected by the middle never decodes. */
  EXPECT_NE (unprotect (FrameFormat::h265, au, &back), Status::ok);
  EXPECT_FALSE (sframe::is_key_frame (FrameFormat::h265, view (random_bytes (64))));
}

/* The splitter is shared, the header is not: an H.264 IDR header (0x65)
 * read as H.265 is type 50, an H.265 IDR header (0x26) read as H.264 is an
 * SEI. */
TEST (NalUnit, KeyTypesAreCodecSpecific)
{
  const uint8_t h264_idr[] = {0x65, 0x88};
  const uint8_t h265_idr[] = {0x26, 0x01};
  using sframe::nal::Codec;
  EXPECT_TRUE (sframe::nal::is_key_type (Codec::h264, sframe::nal::unit_type (Codec::h264, {h264_idr, 2})));
  EXPECT_FALSE (sframe::nal::is_key_type (Codec::h265, sframe::nal::unit_type (Codec::h265, {h264_idr, 2})));
  EXPECT_TRUE (sframe::nal::is_key_type (Codec::h265, sframe::nal::unit_type (Codec::h265, {h265_idr, 2})));
  EXPECT_FALSE (sframe::nal::is_key_type (Codec::h264, sframe::nal::unit_type (Codec::h264, {h265_idr, 2})));
  EXPECT_EQ (sframe::nal::header_size (Codec::h264), 1u);
  EXPECT_EQ (sframe::nal::header_size (Codec::h265), 2u);
  /* H.265: exactly VPS..FD (32..38) stay clear; SEI (39, 40) does not. */
  for (int t = 0; t < 64; t++)
    EXPECT_EQ (sframe::nal::is_protected_type (Codec::h265, static_cast<uint8_t> (t)), t < 32 || t > 38) << t;
  /* H.265 key pictures: BLA, IDR, CRA (16..21), not the reserved IRAP 22, 23. */
  for (int t = 0; t < 64; t++)
    EXPECT_EQ (sframe::nal::is_key_type (Codec::h265, static_cast<uint8_t> (t)), t >= 16 && t <= 21) << t;
}

/* ------------------------------------------------------------------------
 * G.711 */

TEST_F (FrameFormatTest, G711EncryptsWholeFrame)
{
  for (size_t size : {0, 1, 80, 160, 1024}) {
    SCOPED_TRACE (size);
    auto frame = random_bytes (size);
    auto p = protect (FrameFormat::g711, frame);
    sframe::Header h;
    size_t header_len = 0;
    ASSERT_EQ (sframe::decode_header (view (p), &h, &header_len), Status::ok);
    EXPECT_EQ (h.key_id, 5u);
    EXPECT_EQ (p.size (), header_len + size + 16);  /* AES-128-GCM tag */
    EXPECT_TRUE (sframe::is_key_frame (FrameFormat::g711, view (p)));
    std::vector<uint8_t> back;
    ASSERT_EQ (unprotect (FrameFormat::g711, p, &back), Status::ok);
    EXPECT_EQ (back, frame);
    auto bad = p;
    bad[bad.size () - 1] ^= 0x01;
    EXPECT_EQ (unprotect (FrameFormat::g711, bad, &back), Status::authentication_failed);
  }
  std::vector<uint8_t> back;
  EXPECT_NE (unprotect (FrameFormat::g711, {}, &back), Status::ok);
  EXPECT_NE (unprotect (FrameFormat::g711, unhex ("5001"), &back), Status::ok);
  EXPECT_NE (unprotect (FrameFormat::g711, random_bytes (160), &back), Status::ok);
}

TEST (FrameFormatNames, AreDistinct)
{
  const FrameFormat all[] = {FrameFormat::opaque, FrameFormat::opus, FrameFormat::vp8,
    FrameFormat::h264, FrameFormat::vp9, FrameFormat::h265, FrameFormat::g711};
  for (auto a : all) {
    for (auto b : all) {
      if (a != b) {
        EXPECT_STRNE (sframe::frame_format_name (a), sframe::frame_format_name (b));
      }
    }
  }
}

TEST (NalEscape, RoundTripsAndNeverEmitsStartCodes)
{
  for (int round = 0; round < 2000; round++) {
    auto in = random_bytes (static_cast<size_t> (round % 64));
    for (auto & b : in)
      b = b % 4 == 0 ? 0 : (b % 4 == 1 ? b % 4 : b);  /* many zeros and small values */
    std::vector<uint8_t> esc (sframe::nal::escaped_size_bound (in.size ()));
    size_t n = sframe::nal::escape (view (in), esc.data ());
    esc.resize (n);
    EXPECT_FALSE (contains_start_code (esc, 0));
    EXPECT_NE (esc.back (), 0);
    std::vector<uint8_t> back (esc.size ());
    size_t m = 0;
    ASSERT_TRUE (sframe::nal::unescape (view (esc), back.data (), &m));
    back.resize (m);
    EXPECT_EQ (back, in);
  }
}

}  // namespace
