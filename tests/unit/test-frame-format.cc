/* The codec-aware layouts: what stays clear, what is encrypted, and that
 * every layout round-trips and rejects tampering. */
#include "vectors.h"

#include <gst/sframe/frame-format.h>
#include <gst/sframe/h264-nal.h>

#include <gtest/gtest.h>

#include <openssl/rand.h>

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
    ASSERT_EQ (ring_.add_key (sframe::CipherSuite::aes_128_gcm_sha256_128, 5,
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
    ASSERT_TRUE (sframe::h264::split (view (au), &in_units));
    ASSERT_TRUE (sframe::h264::split (view (p), &out_units));
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

TEST (H264Escape, RoundTripsAndNeverEmitsStartCodes)
{
  for (int round = 0; round < 2000; round++) {
    auto in = random_bytes (static_cast<size_t> (round % 64));
    for (auto & b : in)
      b = b % 4 == 0 ? 0 : (b % 4 == 1 ? b % 4 : b);  /* many zeros and small values */
    std::vector<uint8_t> esc (sframe::h264::escaped_size_bound (in.size ()));
    size_t n = sframe::h264::escape (view (in), esc.data ());
    esc.resize (n);
    EXPECT_FALSE (contains_start_code (esc, 0));
    EXPECT_NE (esc.back (), 0);
    std::vector<uint8_t> back (esc.size ());
    size_t m = 0;
    ASSERT_TRUE (sframe::h264::unescape (view (esc), back.data (), &m));
    back.resize (m);
    EXPECT_EQ (back, in);
  }
}

}  // namespace
