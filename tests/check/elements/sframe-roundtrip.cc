/* sframeenc -> sframedec round trips for every cipher suite and layout, and
 * caps handling in both modes. Encrypter and decrypter run in separate
 * harnesses (so separate key stores) given the same key through properties,
 * which is how two peers see each other. */
#include "sframe-check.h"

#include <gst/sframe/core/cipher.h>

using namespace check;

namespace {

/* The key id the encrypter of the running round trip sends under (its
 * session's, read from its key-id property). */
guint64 g_session_key_id = 0;

std::string
props_for (Layout layout, int suite, const char *key = kKeyHex1)
{
  return std::string ("mode=") + layout_mode (layout) + " cipher-suite=" + kSuites[suite].nick +
      " key=" + key;
}

bool
contains (const Bytes & haystack, const guint8 * needle, size_t n)
{
  return std::search (haystack.begin (), haystack.end (), needle, needle + n) != haystack.end ();
}

/* The plaintext must not show through: the encrypted region differs from
 * the plaintext it replaces and the plaintext appears nowhere. */
void
check_hidden (const Bytes & ct, size_t ct_offset, const guint8 * pt, size_t n)
{
  if (n >= 8)
    fail_unless (memcmp (ct.data () + ct_offset, pt, n) != 0, "ciphertext equals plaintext");
  if (n >= 16)
    fail_if (contains (ct, pt, n), "plaintext visible in ciphertext");
}

/* Checks one SFrame ciphertext body (header || ct || tag) against the
 * plaintext it protects; returns its header. */
sframe::Header
check_sframe (const Bytes & buf, size_t offset, size_t sframe_size, const guint8 * pt,
    size_t pt_size, int suite)
{
  sframe::Header header;
  size_t hlen = 0;
  fail_unless (parse_header (buf, offset, &header, &hlen), "SFrame header does not parse");
  fail_unless_equals_uint64 (header.key_id, g_session_key_id);
  fail_unless_equals_uint64 (sframe_size, hlen + pt_size + kSuites[suite].tag_size);
  check_hidden (buf, offset + hlen, pt, pt_size);
  return header;
}

/* Prefix layouts: clear header || SFrame(rest). */
sframe::Header
check_prefix_ciphertext (Layout layout, int suite, const Bytes & pt, const Bytes & ct)
{
  size_t clear = clear_prefix (layout, pt);
  fail_unless (ct.size () >= clear);
  fail_unless (std::equal (pt.begin (), pt.begin () + clear, ct.begin ()), "clear header changed");
  return check_sframe (ct, clear, ct.size () - clear, pt.data () + clear, pt.size () - clear, suite);
}

/* H.264: the same NAL units at the same places, parameter sets and
 * delimiters unchanged, start codes and NAL headers clear, every slice /
 * SEI payload replaced by escape(SFrame(payload)) || 0x80. */
std::vector<sframe::Header>
check_h264_ciphertext (int suite, const Bytes & pt, const Bytes & ct)
{
  auto pt_nals = split_annexb (pt);
  auto ct_nals = split_annexb (ct);
  fail_unless_equals_int (ct_nals.size (), pt_nals.size ());
  std::vector<sframe::Header> headers;
  size_t pt_end = 0, ct_end = 0;
  for (size_t i = 0; i < pt_nals.size (); i++) {
    const Nal & p = pt_nals[i], & c = ct_nals[i];
    /* The start code (and any zeros before it) is copied as it is. */
    fail_unless (Bytes (pt.begin () + pt_end, pt.begin () + p.offset) ==
        Bytes (ct.begin () + ct_end, ct.begin () + c.offset), "start code %zu changed", i);
    fail_unless_equals_int (ct[c.offset], pt[p.offset]);
    if (h264_type_is_clear (pt[p.offset])) {
      fail_unless (Bytes (pt.begin () + p.offset, pt.begin () + p.offset + p.size) ==
          Bytes (ct.begin () + c.offset, ct.begin () + c.offset + c.size), "clear NAL %zu changed", i);
    } else {
      fail_unless_equals_int (ct[c.offset + c.size - 1], 0x80);
      Bytes sf = h264_unescape (ct.data () + c.offset + 1, c.size - 1);
      headers.push_back (check_sframe (sf, 0, sf.size (), pt.data () + p.offset + 1, p.size - 1, suite));
    }
    pt_end = p.offset + p.size;
    ct_end = c.offset + c.size;
  }
  fail_unless (Bytes (pt.begin () + pt_end, pt.end ()) == Bytes (ct.begin () + ct_end, ct.end ()),
      "trailing bytes changed");
  return headers;
}

/* Encrypts each frame, checks the ciphertext, decrypts it and compares. */
void
roundtrip (Layout layout, int suite, const std::vector<Bytes> & frames)
{
  GstHarness *enc = harness_new ("sframeenc", props_for (layout, suite), layout_caps (layout));
  GstHarness *dec = dec_harness_for (enc, props_for (layout, suite));
  guint64 total = 0, last_counter = 0;
  bool first = true;
  for (size_t i = 0; i < frames.size (); i++) {
    const Bytes & pt = frames[i];
    GstClockTime pts = i * 20 * GST_MSECOND;
    Bytes ct, out;
    fail_unless (transform (enc, pt, &ct, pts), "frame %zu (%zu bytes) not encrypted", i, pt.size ());
    g_object_get (enc->element, "key-id", &g_session_key_id, nullptr);
    fail_if (g_session_key_id == 0, "a static key sends under a session key id");
    std::vector<sframe::Header> headers;
    if (layout == Layout::h264)
      headers = check_h264_ciphertext (suite, pt, ct);
    else
      headers.push_back (check_prefix_ciphertext (layout, suite, pt, ct));
    /* Every SFrame gets a fresh counter. */
    for (const auto & h : headers) {
      fail_unless (first || h.counter > last_counter, "counter did not advance");
      last_counter = h.counter;
      first = false;
    }
    fail_unless (transform (dec, ct, &out, pts), "frame %zu not decrypted", i);
    fail_unless (out == pt, "frame %zu differs after the round trip", i);
    total += pt.size ();
  }
  fail_unless_equals_uint64 (stat (enc, "frames"), frames.size ());
  fail_unless_equals_uint64 (stat (enc, "bytes"), total);
  fail_unless_equals_uint64 (stat (enc, "dropped"), 0);
  fail_unless_equals_uint64 (stat (dec, "frames"), frames.size ());
  fail_unless_equals_uint64 (stat (dec, "bytes"), total);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 0);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}

const size_t kSizes[] = {0, 1, 2, 7, 15, 16, 17, 31, 100, 1000, 4096, 65536, 200000};

}  // namespace

GST_START_TEST (test_roundtrip_frame_mode)
{
  Rng rng (100 + __i__);
  std::vector<Bytes> frames;
  for (size_t size : kSizes)
    frames.push_back (random_bytes (rng, size));
  /* Frames made of one repeated byte are the easiest to spot if leaked. */
  frames.push_back (Bytes (512, 0x00));
  frames.push_back (Bytes (512, 0xff));
  roundtrip (Layout::frame, __i__, frames);
}
GST_END_TEST;

GST_START_TEST (test_roundtrip_opus)
{
  Rng rng (200 + __i__);
  std::vector<Bytes> frames;
  for (size_t size : kSizes)
    frames.push_back (opus_frame (rng, std::min<size_t> (size, 1275)));
  roundtrip (Layout::opus, __i__, frames);
}
GST_END_TEST;

GST_START_TEST (test_roundtrip_vp8)
{
  Rng rng (300 + __i__);
  std::vector<Bytes> frames;
  for (size_t size : kSizes) {
    frames.push_back (vp8_frame (rng, true, size));
    frames.push_back (vp8_frame (rng, false, size));
  }
  roundtrip (Layout::vp8, __i__, frames);
}
GST_END_TEST;

GST_START_TEST (test_roundtrip_h264)
{
  Rng rng (400 + __i__);
  std::vector<Bytes> frames;
  for (int i = 0; i < 30; i++)
    frames.push_back (media_frame (rng, Layout::h264, kSizes[i % G_N_ELEMENTS (kSizes)] % 30000 + 1, i));
  roundtrip (Layout::h264, __i__, frames);
}
GST_END_TEST;

/* H.264 ciphertext must never contain a start code. Random ciphertext
 * rarely holds 00 00 0x, so the plaintext is chosen to force it: with a
 * store key the encrypter's counters run 0, 1, 2..., and the core library
 * gives the keystream for each (the encryption of zeros), so plaintext =
 * keystream XOR wanted ciphertext. */
GST_START_TEST (test_h264_escaping)
{
  const int suite = __i__;
  Bytes key = hex_bytes (kKeyHex1);
  sframe::KeyRing ring;
  fail_unless (ring.add_own_key (static_cast<sframe::CipherSuite> (kSuites[suite].id), 1,
          {key.data (), key.size ()}) == sframe::Status::ok);
  sframe::Encryptor keystream (ring);
  const uint64_t key_id = 1;

  GstHarness *enc = harness_new ("sframeenc", "mode=codec", kH264Caps);
  GstHarness *dec = dec_harness_for (enc, "mode=codec");
  GstSFrameKeyStore *es = key_store (enc), *ds = key_store (dec);
  add_own_key (es, 1, kKeyHex1, kSuites[suite].id);
  add_key (ds, 1, kKeyHex1, kSuites[suite].id);
  fail_unless (gst_sframe_key_store_set_sender_key (es, 1, nullptr));

  const Bytes runs[] = {{0, 0, 0}, {0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {0, 0, 0, 0, 1}, {0, 0}};
  Rng rng (700 + suite);
  for (const Bytes & run : runs) {
    const guint8 nal_header = 0x65;
    /* Wanted ciphertext: random with the run in the middle and at the end. */
    Bytes wanted = concat (concat (random_bytes (rng, 40), run), concat (random_bytes (rng, 40), run));
    Bytes zeros (wanted.size ()), ks (wanted.size () + sframe::kMaxOverhead);
    size_t n = 0;
    sframe::Header used;
    fail_unless (keystream.encrypt (&key_id, {&nal_header, 1}, {zeros.data (), zeros.size ()},
            {ks.data (), ks.size ()}, &n, &used) == sframe::Status::ok);
    size_t hlen = sframe::header_size (used);
    Bytes payload (wanted.size ());
    for (size_t i = 0; i < wanted.size (); i++)
      payload[i] = wanted[i] ^ ks[hlen + i];
    /* The plaintext is a NAL payload itself: it may hold no start code. */
    Bytes au = concat ({0x00, 0x00, 0x00, 0x01, nal_header}, payload);
    fail_unless_equals_int (split_annexb (au).size (), 1);

    Bytes ct = must_transform (enc, au), out;
    auto nals = split_annexb (ct);
    fail_unless_equals_int (nals.size (), 1);
    Bytes sf = h264_unescape (ct.data () + nals[0].offset + 1, nals[0].size - 1);
    sframe::Header header;
    size_t len = 0;
    fail_unless (parse_header (sf, 0, &header, &len));
    fail_unless_equals_uint64 (header.counter, used.counter);
    fail_unless (Bytes (sf.begin () + len, sf.begin () + len + wanted.size ()) == wanted,
        "keystream prediction failed: the test's premise is wrong");
    /* The NAL holds exactly escape(SFrame) || 0x80, and both runs were
     * escaped (a lone 00 00 before a byte > 3 needs nothing). */
    Bytes raw (ct.begin () + nals[0].offset + 1, ct.begin () + nals[0].offset + nals[0].size);
    fail_unless (raw == h264_escape (sf), "NAL is not escape(SFrame) || 0x80");
    if (run.size () > 2)
      fail_unless (raw.size () >= sf.size () + 1 + 2, "runs were not escaped");
    fail_unless (transform (dec, ct, &out) && out == au, "escaped frame did not round trip");
  }
  gst_object_unref (ds);
  gst_object_unref (es);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* Codec mode leaves caps alone on both sides. */
GST_START_TEST (test_caps_codec_mode)
{
  const Layout layouts[] = {Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (500);
  for (Layout layout : layouts) {
    GstHarness *enc = harness_new ("sframeenc", props_for (layout, 3), layout_caps (layout));
    GstCaps *in = gst_caps_from_string (layout_caps (layout));
    GstCaps *enc_out = output_caps (enc);
    fail_unless (enc_out != nullptr);
    fail_unless (gst_caps_is_equal (enc_out, in), "codec mode changed caps: %" GST_PTR_FORMAT, enc_out);

    GstHarness *dec = dec_harness_for (enc, props_for (layout, 3));
    Bytes pt = media_frame (rng, layout, 300, 0);
    fail_unless (must_transform (dec, must_transform (enc, pt)) == pt);
    GstCaps *dec_out = output_caps (dec);
    fail_unless (dec_out != nullptr);
    fail_unless (gst_caps_is_equal (dec_out, in), "sframedec changed caps: %" GST_PTR_FORMAT, dec_out);

    gst_caps_unref (dec_out);
    gst_caps_unref (enc_out);
    gst_caps_unref (in);
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
}
GST_END_TEST;

/* Frame mode wraps the caps into application/x-sframe and sframedec gives
 * back exactly the caps that went in. */
GST_START_TEST (test_caps_frame_mode)
{
  const char *inputs[] = {kOpaqueCaps, kRawVideoCaps, kOpusCaps, kH264Caps};
  Rng rng (600);
  for (const char *caps_str : inputs) {
    GstHarness *enc = harness_new ("sframeenc", props_for (Layout::frame, 3), caps_str);
    GstCaps *in = gst_caps_from_string (caps_str);
    GstCaps *enc_out = output_caps (enc);
    fail_unless (enc_out != nullptr);
    fail_unless_equals_int (gst_caps_get_size (enc_out), 1);
    GstStructure *s = gst_caps_get_structure (enc_out, 0);
    fail_unless_equals_string (gst_structure_get_name (s), "application/x-sframe");
    const gchar *original = gst_structure_get_string (s, "original-caps");
    fail_unless (original != nullptr, "no original-caps in %" GST_PTR_FORMAT, enc_out);
    GstCaps *parsed = gst_caps_from_string (original);
    fail_unless (parsed && gst_caps_is_equal (parsed, in), "original-caps '%s' != input", original);

    GstHarness *dec = dec_harness_for (enc, props_for (Layout::frame, 3));
    Bytes pt = random_bytes (rng, 1000);
    fail_unless (must_transform (dec, must_transform (enc, pt)) == pt);
    GstCaps *dec_out = output_caps (dec);
    fail_unless (dec_out != nullptr);
    fail_unless (gst_caps_is_strictly_equal (dec_out, in), "restored %" GST_PTR_FORMAT
        " instead of %" GST_PTR_FORMAT, dec_out, in);
    gchar *a = gst_caps_to_string (dec_out), *b = gst_caps_to_string (in);
    fail_unless_equals_string (a, b);
    g_free (a);
    g_free (b);

    gst_caps_unref (dec_out);
    gst_caps_unref (parsed);
    gst_caps_unref (enc_out);
    gst_caps_unref (in);
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
}
GST_END_TEST;

/* Codec mode has no layout for other media: it refuses the caps rather
 * than guess, and then passes nothing (fail closed). */
GST_START_TEST (test_caps_codec_mode_refuses_unknown_media)
{
  const char *refused[] = {
    "audio/x-raw, format=(string)S16LE, rate=(int)48000, channels=(int)1, layout=(string)interleaved",
    "video/x-h264, stream-format=(string)avc, alignment=(string)au",
    "application/x-sframe, original-caps=(string)\"audio/x-opus\"",
  };
  const char *factories[] = {"sframeenc", "sframedec"};
  for (const char *factory : factories) {
    for (const char *caps_str : refused) {
      GstHarness *h = harness_new (factory, props_for (Layout::opus, 3), nullptr);
      /* A sticky event is stored (push returns TRUE) even when refused, so
       * look at what the element took. */
      gst_pad_push_event (h->srcpad, gst_event_new_caps (gst_caps_from_string (caps_str)));
      GstSegment segment;
      gst_segment_init (&segment, GST_FORMAT_TIME);
      gst_pad_push_event (h->srcpad, gst_event_new_segment (&segment));
      GstPad *sinkpad = gst_element_get_static_pad (h->element, "sink");
      GstCaps *taken = gst_pad_get_current_caps (sinkpad);
      fail_unless (taken == nullptr, "%s accepted %s in codec mode", factory, caps_str);
      gst_object_unref (sinkpad);
      GstBuffer *buf = gst_buffer_new_allocate (nullptr, 64, nullptr);
      gst_buffer_memset (buf, 0, 0x42, 64);
      fail_if (gst_harness_push (h, buf) == GST_FLOW_OK);
      fail_unless_equals_int (gst_harness_buffers_received (h), 0);
      gst_harness_teardown (h);
    }
  }
}
GST_END_TEST;

/* Frame mode: ciphertext caps whose original-caps are missing, garbage or
 * empty cannot be restored. sframedec refuses them (not-negotiated),
 * with no critical warning, and passes nothing. */
GST_START_TEST (test_caps_frame_mode_refuses_unrestorable_caps)
{
  const char *refused[] = {
    "application/x-sframe",
    "application/x-sframe, original-caps=(string)\"not caps, ((\"",
    "application/x-sframe, original-caps=(string)\"\"",
  };
  for (const char *caps_str : refused) {
    GstHarness *h = harness_new ("sframedec", props_for (Layout::frame, 3), nullptr);
    gst_harness_set_src_caps_str (h, caps_str);
    GstBuffer *buf = gst_buffer_new_allocate (nullptr, 64, nullptr);
    gst_buffer_memset (buf, 0, 0x42, 64);
    fail_if (gst_harness_push (h, buf) == GST_FLOW_OK, "pushed through %s", caps_str);
    fail_unless_equals_int (gst_harness_buffers_received (h), 0);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

static Suite *
sframe_roundtrip_suite (void)
{
  Suite *s = suite_create ("sframe-roundtrip");
  TCase *tc = tcase_create ("roundtrip");
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_roundtrip_frame_mode, 0, kNumSuites);
  tcase_add_loop_test (tc, test_roundtrip_opus, 0, kNumSuites);
  tcase_add_loop_test (tc, test_roundtrip_vp8, 0, kNumSuites);
  tcase_add_loop_test (tc, test_roundtrip_h264, 0, kNumSuites);
  tcase_add_loop_test (tc, test_h264_escaping, 0, kNumSuites);

  TCase *caps = tcase_create ("caps");
  suite_add_tcase (s, caps);
  tcase_add_test (caps, test_caps_codec_mode);
  tcase_add_test (caps, test_caps_frame_mode);
  tcase_add_test (caps, test_caps_codec_mode_refuses_unknown_media);
  tcase_add_test (caps, test_caps_frame_mode_refuses_unrestorable_caps);
  return s;
}

GST_CHECK_MAIN (sframe_roundtrip);
