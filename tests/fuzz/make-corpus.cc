/* Writes the seed corpus of every fuzz target, one folder per target:
 *
 *   fuzz-make-corpus OUTDIR [STAMP]
 *
 * The seeds follow the input layouts documented in each fuzz-*.cc and use the
 * fixed key ring of fuzz-common.h, so the protected frames among them
 * authenticate and the fuzzers start from the success paths too. AEAD output
 * is deterministic for a fixed key and counter: reruns write the same bytes. */
#include "fuzz-common.h"

#include <gst/sframe/core/frame-format.h>
#include <gst/sframe/core/header.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;
using sframe::FrameFormat;

std::string out_dir;

void
make_dir (const std::string & path)
{
  if (mkdir (path.c_str (), 0755) != 0 && errno != EEXIST) {
    std::perror (path.c_str ());
    std::exit (1);
  }
}

void
write_seed (const char *target, const std::string & name, const Bytes & bytes)
{
  std::string dir = out_dir + "/" + target;
  make_dir (dir);
  std::string path = dir + "/" + name;
  FILE *f = std::fopen (path.c_str (), "wb");
  if (!f || std::fwrite (bytes.data (), 1, bytes.size (), f) != bytes.size () ||
      std::fclose (f) != 0) {
    std::perror (path.c_str ());
    std::exit (1);
  }
}

Bytes
cat (std::initializer_list<Bytes> parts)
{
  Bytes out;
  for (const auto & p : parts)
    out.insert (out.end (), p.begin (), p.end ());
  return out;
}

Bytes
text (const char *s)
{
  return Bytes (s, s + std::strlen (s));
}

/* One clear frame per format; the H.264 ones carry emulation prevention
 * bytes, zero padding and both start code lengths. */
struct Sample {
  const char *name;
  FrameFormat format;
  Bytes frame;
};

std::vector<Sample>
samples ()
{
  return {
    {"opaque", FrameFormat::opaque, text ("an opaque media frame")},
    {"opus", FrameFormat::opus, cat ({{0x78}, text ("opus payload bytes")})},
    {"vp8-key", FrameFormat::vp8,
      cat ({{0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}, text ("vp8 key")})},
    {"vp8-delta", FrameFormat::vp8, cat ({{0x31, 0x02, 0x00}, text ("vp8 delta")})},
    {"h264-idr", FrameFormat::h264,
      {0, 0, 0, 1, 0x09, 0xf0,
       0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0x00, 0x03, 0x00, 0x10,
       0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
       0, 0, 1, 0x06, 0x05, 0x10, 0xb8, 0x80,
       0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x21, 0xff}},
    {"h264-p", FrameFormat::h264,
      {0, 0, 0, 0, 1, 0x41, 0x9a, 0x00, 0x00, 0x03, 0x02, 0x10, 0x00, 0x00,
       0, 0, 1, 0x01, 0x9e, 0x01, 0x00, 0x00}},
    /* VP9 profile 0 key frame (sync code, BT.709, 640x360, no render size)
     * and inter frame; profile 3 shown existing frame. */
    {"vp9-key", FrameFormat::vp9,
      cat ({{0x82, 0x49, 0x83, 0x42, 0x00, 0x27, 0xf0, 0x16, 0x70}, text ("vp9 key")})},
    {"vp9-inter", FrameFormat::vp9, cat ({{0x86}, text ("vp9 inter")})},
    {"vp9-existing", FrameFormat::vp9, {0xb5, 0x00}},
    /* H.265: AUD, VPS, SPS, PPS, prefix SEI, IDR_W_RADL; TRAIL_R + suffix SEI. */
    {"h265-idr", FrameFormat::h265,
      {0, 0, 0, 1, 0x46, 0x01, 0x50,
       0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
       0, 0, 0, 1, 0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90,
       0, 0, 0, 1, 0x44, 0x01, 0xc1, 0x72, 0xb4,
       0, 0, 1, 0x4e, 0x01, 0x05, 0x10, 0x80,
       0, 0, 1, 0x26, 0x01, 0xaf, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x21}},
    {"h265-trail", FrameFormat::h265,
      {0, 0, 0, 0, 1, 0x02, 0x01, 0xd0, 0x00, 0x00, 0x03, 0x02, 0x10, 0x00, 0x00,
       0, 0, 1, 0x50, 0x01, 0x84, 0x80}},
    {"g711", FrameFormat::g711, text ("d5d5d5d5 a-law or mu-law samples")},
  };
}

Bytes
protect (FrameFormat format, sframe::CipherSuite suite, uint64_t key_id, const Bytes & frame)
{
  sframe::KeyRing ring;
  fuzz::fill_ring (ring, suite, 0);
  sframe::FrameProtector protector (ring);
  sframe::ByteView in (frame.data (), frame.size ());
  Bytes out (sframe::protected_size_bound (format, in));
  size_t n = 0;
  FUZZ_CHECK (protector.protect (format, &key_id, in, {out.data (), out.size ()}, &n) ==
      sframe::Status::ok);
  out.resize (n);
  return out;
}

void
header_seeds ()
{
  const sframe::Header headers[] = {
    {0, 0}, {7, 1}, {8, 7}, {0x1234, 0xffffff}, {UINT64_MAX, UINT64_MAX}, {1, 0x100000000},
  };
  int i = 0;
  for (const auto & h : headers) {
    Bytes b (sframe::kMaxHeaderSize);
    b.resize (sframe::encode_header (h, b.data ()));
    write_seed ("header", "valid-" + std::to_string (i++), b);
  }
  write_seed ("header", "non-minimal", {0x98, 0x00, 0x05});
  write_seed ("header", "truncated", {0x8f, 0x12});
}

void
decrypt_seeds ()
{
  const Bytes meta = text ("meta");
  const Bytes pt = text ("sframe payload");
  for (uint8_t s = 0; s < fuzz::kNumSuites; s++) {
    sframe::CipherSuite suite = fuzz::kSuites[s];
    for (uint8_t k = 0; k < fuzz::kNumKeyIds; k += 2) {
      sframe::KeyRing ring;
      fuzz::fill_ring (ring, suite, 0);
      sframe::Encryptor enc (ring);
      uint64_t kid = fuzz::kKeyIds[k];
      Bytes ct (pt.size () + sframe::kMaxOverhead);
      size_t n = 0;
      FUZZ_CHECK (enc.encrypt (&kid, {meta.data (), meta.size ()}, {pt.data (), pt.size ()},
              {ct.data (), ct.size ()}, &n) == sframe::Status::ok);
      ct.resize (n);
      std::string tag = std::to_string (s) + "-" + std::to_string (k);
      write_seed ("decrypt", "raw-" + tag, cat ({{s, 4}, meta, ct}));
      write_seed ("decrypt", "round-trip-" + tag,
          cat ({{static_cast<uint8_t> (s | 0x08), 4}, meta, {k, static_cast<uint8_t> (k * 50), 0x21},
              pt}));
    }
  }
}

void
unprotect_seeds ()
{
  for (const auto & sample : samples ()) {
    /* fuzz-unprotect's kFormats lists the formats in enum order; bit 2 of
     * the format number travels in bit 7. */
    uint8_t f = static_cast<uint8_t> (sample.format);
    uint8_t format_bits = static_cast<uint8_t> ((f & 0x03) | (f & 0x04) << 5);
    for (uint8_t s = 0; s < fuzz::kNumSuites; s++) {
      uint8_t k = static_cast<uint8_t> ((s + f) % fuzz::kNumKeyIds);
      uint8_t mode = static_cast<uint8_t> (format_bits | s << 3);
      std::string tag = std::string (sample.name) + "-" + std::to_string (s);
      write_seed ("unprotect", "round-trip-" + tag,
          cat ({{static_cast<uint8_t> (mode | 0x04), k, static_cast<uint8_t> (s * 40)},
              sample.frame}));
      write_seed ("unprotect", "raw-" + tag,
          cat ({{mode}, protect (sample.format, fuzz::kSuites[s], fuzz::kKeyIds[k], sample.frame)}));
    }
  }
  /* Found by this fuzzer: a NAL header byte 0x00 and SFrame bytes 00 01 (key
   * id 0, counter 0) once formed a start code inside the protected unit. */
  write_seed ("unprotect", "round-trip-h264-zero-nal-header",
      {0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x34, 0x00, 0x01, 0x00, 0x00});
}

void
h264_nal_seeds ()
{
  for (const auto & sample : samples ()) {
    if (sample.format != FrameFormat::h264 && sample.format != FrameFormat::h265)
      continue;
    write_seed ("h264-nal", sample.name, sample.frame);
    write_seed ("h264-nal", std::string (sample.name) + "-protected",
        protect (sample.format, fuzz::kSuites[3], 0, sample.frame));
  }
  write_seed ("h264-nal", "zeros", {0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0});
  write_seed ("h264-nal", "escaped", {0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x03, 0x80});
}

}  // namespace

int
main (int argc, char **argv)
{
  if (argc < 2) {
    std::fprintf (stderr, "usage: %s OUTDIR [STAMP]\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  make_dir (out_dir);
  header_seeds ();
  decrypt_seeds ();
  unprotect_seeds ();
  h264_nal_seeds ();
  if (argc > 2) {
    /* The build's stamp: written last, so it exists only for a full corpus. */
    FILE *stamp = std::fopen (argv[2], "w");
    if (!stamp || std::fclose (stamp) != 0) {
      std::perror (argv[2]);
      return 1;
    }
  }
  return 0;
}
