/* Helpers shared by the gst-check tests of sframeenc and sframedec: element
 * and harness set-up, stats, and media frames built by hand with correct
 * clear headers (Opus TOC, VP8 frame tag, H.264 Annex B). Everything random
 * comes from a seeded generator so a failure can be replayed. */
#pragma once

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/keyring.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace check {

using Bytes = std::vector<guint8>;
using Rng = std::mt19937;

/* Two 32-byte base keys, as the `key` property takes them and as bytes. */
constexpr const char *kKeyHex1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr const char *kKeyHex2 = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

struct SuiteInfo {
  GstSFrameCipherSuite id;
  const char *nick;
  gsize tag_size;
};

/* RFC 9605 section 4.5: the tag sizes are what a reader would check. */
constexpr SuiteInfo kSuites[] = {
  {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_80, "aes-128-ctr-hmac-sha256-80", 10},
  {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_64, "aes-128-ctr-hmac-sha256-64", 8},
  {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_32, "aes-128-ctr-hmac-sha256-32", 4},
  {GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128, "aes-128-gcm-sha256-128", 16},
  {GST_SFRAME_CIPHER_SUITE_AES_256_GCM_SHA512_128, "aes-256-gcm-sha512-128", 16},
};
constexpr int kNumSuites = G_N_ELEMENTS (kSuites);

/* Caps of the three codec layouts and of two arbitrary frame-mode streams
 * (one with a quoted string, so original-caps must nest its escaping). */
constexpr const char *kOpusCaps =
    "audio/x-opus, rate=(int)48000, channels=(int)2, channel-mapping-family=(int)0";
constexpr const char *kVp8Caps =
    "video/x-vp8, width=(int)320, height=(int)240, framerate=(fraction)30/1";
constexpr const char *kH264Caps =
    "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au, "
    "width=(int)320, height=(int)240, framerate=(fraction)30/1, profile=(string)constrained-baseline";
constexpr const char *kOpaqueCaps =
    "application/x-test-payload, answer=(int)42, label=(string)\"two words, and \\\"quotes\\\"\"";
constexpr const char *kRawVideoCaps =
    "video/x-raw, format=(string)I420, width=(int)64, height=(int)48, framerate=(fraction)30/1";

enum class Layout { frame, opus, vp8, h264 };

inline const char *
layout_caps (Layout layout)
{
  switch (layout) {
    case Layout::opus: return kOpusCaps;
    case Layout::vp8: return kVp8Caps;
    case Layout::h264: return kH264Caps;
    case Layout::frame: break;
  }
  return kOpaqueCaps;
}

inline const char *
layout_mode (Layout layout)
{
  return layout == Layout::frame ? "frame" : "codec";
}

inline Bytes
hex_bytes (const char *hex)
{
  Bytes out;
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    out.push_back (static_cast<guint8> (std::stoi (std::string (hex + i, 2), nullptr, 16)));
  return out;
}

/* ------------------------------------------------------------------------
 * Elements and harnesses */

/* Sets "name=value name=value ..." (values without spaces) through the
 * same string conversion gst-launch uses. */
inline void
set_props (GstElement * element, const std::string & props)
{
  gchar **pairs = g_strsplit (props.c_str (), " ", -1);
  for (gchar ** p = pairs; *p; p++) {
    if (!**p)
      continue;
    gchar **kv = g_strsplit (*p, "=", 2);
    fail_unless (kv[0] && kv[1], "bad property spec '%s'", *p);
    gst_util_set_object_arg (G_OBJECT (element), kv[0], kv[1]);
    g_strfreev (kv);
  }
  g_strfreev (pairs);
}

/* sframedec holds frames under an unknown key id for a while (late keys);
 * most tests check the immediate per-frame accounting, so their decrypters
 * hold nothing unless the test asks (elements/sframe-hold.cc does). */
inline GstElement *
make_element (const char *factory, const std::string & props)
{
  GstElement *element = gst_element_factory_make (factory, nullptr);
  fail_unless (element != nullptr, "no element %s (plugin not built?)", factory);
  if (g_str_equal (factory, "sframedec") && props.find ("hold-") == std::string::npos)
    g_object_set (element, "hold-frames", 0u, nullptr);
  set_props (element, props);
  return element;
}

/* A harness around an already configured element (set context, bus, and
 * properties first: the harness starts the element at once). */
inline GstHarness *
harness_wrap (GstElement * element, const char *caps)
{
  GstHarness *h = gst_harness_new_with_element (element, "sink", "src");
  if (caps)
    gst_harness_set_src_caps_str (h, caps);
  return h;
}

inline GstHarness *
harness_new (const char *factory, const std::string & props, const char *caps)
{
  GstElement *element = make_element (factory, props);
  GstHarness *h = harness_wrap (element, caps);
  gst_object_unref (element);
  return h;
}

/* The caps the element put on its source pad (new reference). */
inline GstCaps *
output_caps (GstHarness * h)
{
  return gst_pad_get_current_caps (h->sinkpad);
}

/* A decrypting harness fed with the caps `enc` produces. */
inline GstHarness *
dec_harness_for (GstHarness * enc, const std::string & props)
{
  GstCaps *caps = output_caps (enc);
  fail_unless (caps != nullptr, "encoder has no output caps");
  GstElement *element = make_element ("sframedec", props);
  GstHarness *h = gst_harness_new_with_element (element, "sink", "src");
  gst_object_unref (element);
  gst_harness_set_src_caps (h, caps);
  return h;
}

inline GstSFrameKeyStore *
key_store (GstHarness * h)
{
  GstSFrameKeyStore *store = nullptr;
  g_object_get (h->element, "key-store", &store, nullptr);
  fail_unless (store != nullptr, "no key store while running");
  return store;
}

inline void
add_key (GstSFrameKeyStore * store, guint64 key_id, const char *hex,
    GstSFrameCipherSuite suite = GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128)
{
  Bytes key = hex_bytes (hex);
  GError *error = nullptr;
  fail_unless (gst_sframe_key_store_add_key (store, suite, key_id, key.data (), key.size (), &error),
      "add_key: %s", error ? error->message : "?");
}

/* A fixed key the store may send with: tests that need known bytes on the
 * wire vouch for its freshness themselves (see keyring.h). */
inline void
add_own_key (GstSFrameKeyStore * store, guint64 key_id, const char *hex,
    GstSFrameCipherSuite suite = GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128)
{
  Bytes key = hex_bytes (hex);
  auto status = gst_sframe_key_store_get_ring (store).add_own_key (
      static_cast<sframe::CipherSuite> (suite), key_id, sframe::ByteView (key.data (), key.size ()));
  fail_unless (status == sframe::Status::ok, "add_own_key: %s", sframe::status_name (status));
}

inline guint64
stat (GstElement * element, const char *field)
{
  GstStructure *s = nullptr;
  g_object_get (element, "stats", &s, nullptr);
  fail_unless (s != nullptr);
  guint64 value = 0;
  fail_unless (gst_structure_get_uint64 (s, field, &value), "no stats field %s", field);
  gst_structure_free (s);
  return value;
}

inline guint64
stat (GstHarness * h, const char *field)
{
  return stat (h->element, field);
}

/* sframedec's drop counters, for comparing before and after one push. */
struct DecStats {
  guint64 frames, bytes, auth, unknown, replayed, malformed, dropped;
};

inline DecStats
dec_stats (GstHarness * h)
{
  return {stat (h, "frames"), stat (h, "bytes"), stat (h, "auth-failures"),
    stat (h, "unknown-key"), stat (h, "replayed"), stat (h, "malformed"), stat (h, "dropped")};
}

inline GstBuffer *
to_buffer (const Bytes & bytes)
{
  if (bytes.empty ())
    return gst_buffer_new ();
  return gst_buffer_new_memdup (bytes.data (), bytes.size ());
}

inline Bytes
to_bytes (GstBuffer * buffer)
{
  Bytes out (gst_buffer_get_size (buffer));
  if (!out.empty ())
    gst_buffer_extract (buffer, 0, out.data (), out.size ());
  return out;
}

/* Pushes one frame through `h`; TRUE with `*out` when it came out. A
 * transform element gives at most one buffer per input. */
inline bool
transform (GstHarness * h, const Bytes & in, Bytes * out = nullptr, GstClockTime pts = GST_CLOCK_TIME_NONE)
{
  GstBuffer *buf = to_buffer (in);
  GST_BUFFER_PTS (buf) = pts;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  GstBuffer *res = gst_harness_try_pull (h);
  if (!res)
    return false;
  fail_unless (gst_harness_buffers_in_queue (h) == 0, "more than one output buffer");
  if (pts != GST_CLOCK_TIME_NONE)
    fail_unless_equals_uint64 (GST_BUFFER_PTS (res), pts);
  if (out)
    *out = to_bytes (res);
  gst_buffer_unref (res);
  return true;
}

/* Encrypts `in`, failing the test when no ciphertext comes out. */
inline Bytes
must_transform (GstHarness * h, const Bytes & in)
{
  Bytes out;
  fail_unless (transform (h, in, &out), "no output for a %zu byte frame", in.size ());
  return out;
}

/* ------------------------------------------------------------------------
 * Frames */

inline Bytes
random_bytes (Rng & rng, size_t n)
{
  Bytes out (n);
  for (auto & b : out)
    b = static_cast<guint8> (rng ());
  return out;
}

inline Bytes
concat (Bytes a, const Bytes & b)
{
  a.insert (a.end (), b.begin (), b.end ());
  return a;
}

/* Opus: one TOC byte (config 31, stereo, one frame) then the coded frame. */
inline Bytes
opus_frame (Rng & rng, size_t payload)
{
  return concat ({0xfc}, random_bytes (rng, payload));
}

/* VP8 (RFC 6386 section 9.1): the 3-byte frame tag (bit 0 clear = key
 * frame, show_frame set, first partition size), then for key frames the
 * start code 9d 01 2a and 14-bit width / height. */
inline Bytes
vp8_frame (Rng & rng, bool key, size_t payload)
{
  guint32 first_part = std::min<size_t> (payload, 0x7ffff);
  guint32 tag = (key ? 0u : 1u) | (1u << 4) | (first_part << 5);
  Bytes out = {static_cast<guint8> (tag), static_cast<guint8> (tag >> 8), static_cast<guint8> (tag >> 16)};
  if (key)
    out.insert (out.end (), {0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00});
  return concat (out, random_bytes (rng, payload));
}

inline size_t
vp8_clear_size (const Bytes & frame)
{
  return !frame.empty () && (frame[0] & 1) == 0 ? 10 : 3;
}

/* An RBSP-like NAL payload: random with many zeros, emulation prevention
 * applied (so no start code appears inside), ending in the stop bit. */
inline Bytes
h264_payload (Rng & rng, size_t n)
{
  Bytes out;
  int zeros = 0;
  for (size_t i = 0; i < n; i++) {
    guint8 b = rng () % 3 == 0 ? 0 : static_cast<guint8> (rng ());
    if (zeros >= 2 && b <= 3) {
      out.push_back (0x03);
      zeros = 0;
    }
    out.push_back (b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  out.push_back (0x80);
  return out;
}

constexpr guint8 kSps[] = {0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0xc0, 0x44,
  0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf2, 0x3c, 0x60, 0xc9, 0x20};
constexpr guint8 kPps[] = {0x68, 0xce, 0x0f, 0x2c, 0x80};

/* One access unit: AUD, SPS + PPS (IDR only), an SEI, then `slices` slice
 * NALs (IDR or not), mixing 4- and 3-byte start codes. With
 * `trailing_zeros`, trailing_zero_8bits follow the last NAL. */
inline Bytes
h264_access_unit (Rng & rng, bool idr, int slices, size_t slice_size, bool trailing_zeros = false)
{
  Bytes au = {0x00, 0x00, 0x00, 0x01, 0x09, 0xf0};
  if (idr) {
    au.insert (au.end (), {0x00, 0x00, 0x00, 0x01});
    au.insert (au.end (), std::begin (kSps), std::end (kSps));
    au.insert (au.end (), {0x00, 0x00, 0x00, 0x01});
    au.insert (au.end (), std::begin (kPps), std::end (kPps));
  }
  au.insert (au.end (), {0x00, 0x00, 0x01, 0x06});
  au = concat (au, h264_payload (rng, 12));
  for (int i = 0; i < slices; i++) {
    au.insert (au.end (), {0x00, 0x00, 0x01, static_cast<guint8> (idr ? 0x65 : 0x41)});
    au = concat (au, h264_payload (rng, slice_size));
  }
  if (trailing_zeros)
    au.insert (au.end (), {0x00, 0x00});
  return au;
}

/* An Annex B NAL unit as found by a reader: where its header byte is, how
 * long it is (trailing zeros excluded). */
struct Nal {
  size_t offset;
  size_t size;
};

inline std::vector<Nal>
split_annexb (const Bytes & au)
{
  std::vector<size_t> starts;
  for (size_t i = 0; i + 2 < au.size (); i++) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1)
      starts.push_back (i);
  }
  std::vector<Nal> nals;
  for (size_t k = 0; k < starts.size (); k++) {
    size_t begin = starts[k] + 3;
    size_t end = k + 1 < starts.size () ? starts[k + 1] : au.size ();
    while (end > begin && au[end - 1] == 0)
      end--;
    nals.push_back ({begin, end - begin});
  }
  return nals;
}

inline bool
h264_type_is_clear (guint8 nal_header)
{
  switch (nal_header & 0x1f) {
    case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 15:
      return true;
    default:
      return false;
  }
}

/* Emulation prevention plus the 0x80 stop byte, as the codec layout
 * wraps each protected NAL payload. */
inline Bytes
h264_escape (const Bytes & in)
{
  Bytes out;
  int zeros = 0;
  for (guint8 b : in) {
    if (zeros >= 2 && b <= 3) {
      out.push_back (0x03);
      zeros = 0;
    }
    out.push_back (b);
    zeros = b == 0 ? zeros + 1 : 0;
  }
  out.push_back (0x80);
  return out;
}

/* Undoes emulation prevention and drops the trailing 0x80 the element
 * appends to each protected NAL. */
inline Bytes
h264_unescape (const guint8 * data, size_t size)
{
  Bytes out;
  int zeros = 0;
  for (size_t i = 0; i + 1 < size; i++) {
    if (zeros >= 2 && data[i] == 0x03) {
      zeros = 0;
      continue;
    }
    out.push_back (data[i]);
    zeros = data[i] == 0 ? zeros + 1 : 0;
  }
  return out;
}

/* A frame of the given layout with roughly `size` payload bytes. */
inline Bytes
media_frame (Rng & rng, Layout layout, size_t size, int index)
{
  switch (layout) {
    case Layout::opus: return opus_frame (rng, size);
    case Layout::vp8: return vp8_frame (rng, index % 10 == 0, size);
    case Layout::h264: return h264_access_unit (rng, index % 10 == 0, 1 + index % 3, size, index % 4 == 3);
    case Layout::frame: break;
  }
  return random_bytes (rng, size);
}

/* Where the (first) SFrame ciphertext starts in a protected prefix-layout
 * frame; the bytes before it are the clear header. */
inline size_t
clear_prefix (Layout layout, const Bytes & frame)
{
  switch (layout) {
    case Layout::opus: return 1;
    case Layout::vp8: return vp8_clear_size (frame);
    default: return 0;
  }
}

/* Parses the SFrame header at `offset`; FALSE when it does not parse. */
inline bool
parse_header (const Bytes & frame, size_t offset, sframe::Header * header, size_t * len)
{
  if (offset > frame.size ())
    return false;
  return sframe::decode_header ({frame.data () + offset, frame.size () - offset}, header, len) ==
      sframe::Status::ok;
}

/* ------------------------------------------------------------------------
 * Pipelines */

/* FALSE (and a note) when a plugin the launch line needs is not installed. */
inline bool
have_elements (std::initializer_list<const char *> names)
{
  for (const char *name : names) {
    GstElementFactory *f = gst_element_factory_find (name);
    if (!f) {
      g_print ("SKIP: element %s is not installed\n", name);
      return false;
    }
    gst_object_unref (f);
  }
  return true;
}

/* Runs to EOS; fails on an error message or after a minute. */
inline void
run_to_eos (GstElement * pipeline)
{
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless (msg != nullptr, "no EOS within a minute");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
        dbg ? dbg : "");
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

inline guint64
element_stat (GstElement * pipeline, const char *element, const char *field)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  guint64 v = stat (e, field);
  gst_object_unref (e);
  return v;
}

}  // namespace check
