/* What sframedec does with frames it must not trust (tampered, truncated,
 * replayed, under an unknown or wrong key, garbage), what sframeenc does
 * without a key or with frames it cannot parse, and the exact stats both
 * keep. Every refused frame must give no output and one counted drop. */
#include "sframe-check.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <cstring>

using namespace check;

namespace {

std::string
props (Layout layout, int suite = 3, const char *key = kKeyHex1)
{
  std::string out = std::string ("mode=") + layout_mode (layout) + " cipher-suite=" + kSuites[suite].nick;
  return key ? out + " key=" + key : out;
}

/* A decrypter without a static key that holds only the key of `enc`'s
 * current session, as a key manager would deliver it. */
GstHarness *
dec_with_session_key (GstHarness * enc, Layout layout)
{
  GstHarness *dec = dec_harness_for (enc, props (layout, 3, nullptr));
  guint64 key_id = 0;
  g_object_get (enc->element, "key-id", &key_id, nullptr);
  fail_if (key_id == 0, "the encrypter has no session yet");
  GstSFrameKeyStore *store = key_store (dec);
  add_key (store, key_id, kKeyHex1);
  gst_object_unref (store);
  return dec;
}

enum class Drop { auth, unknown, replayed, malformed };

const char *
drop_name (Drop d)
{
  switch (d) {
    case Drop::auth: return "auth-failures";
    case Drop::unknown: return "unknown-key";
    case Drop::replayed: return "replayed";
    case Drop::malformed: return "malformed";
  }
  return "?";
}

/* How sframedec must classify a frame that does not authenticate: by what
 * a reader of the clear bytes finds (RFC 9605: header, then key lookup,
 * then the tag). A static key has a key for every key id, so a header that
 * parses leaves only the tag. Only for the prefix layouts. */
Drop
expected_drop (Layout layout, const Bytes & frame)
{
  size_t clear = layout == Layout::opus ? 1 : layout == Layout::vp8 ? vp8_clear_size (frame) : 0;
  if (frame.size () < clear)
    return Drop::malformed;
  sframe::Header header;
  size_t len = 0;
  if (!parse_header (frame, clear, &header, &len))
    return Drop::malformed;
  return Drop::auth;
}

guint64
counter_of (const DecStats & s, Drop d)
{
  switch (d) {
    case Drop::auth: return s.auth;
    case Drop::unknown: return s.unknown;
    case Drop::replayed: return s.replayed;
    case Drop::malformed: return s.malformed;
  }
  return 0;
}

/* Pushes a frame that must be refused and checks that exactly the expected
 * counter (and `dropped`) moved by one. */
void
expect_refused (GstHarness * dec, const Bytes & frame, Drop expected, const char *what, size_t index)
{
  DecStats before = dec_stats (dec);
  Bytes out;
  fail_if (transform (dec, frame, &out), "%s %zu: accepted (%zu bytes out)", what, index, out.size ());
  DecStats after = dec_stats (dec);
  fail_unless_equals_uint64 (after.frames, before.frames);
  fail_unless_equals_uint64 (after.dropped, before.dropped + 1);
  for (Drop d : {Drop::auth, Drop::unknown, Drop::replayed, Drop::malformed}) {
    guint64 want = counter_of (before, d) + (d == expected ? 1 : 0);
    fail_unless (counter_of (after, d) == want, "%s %zu: %s is %" G_GUINT64_FORMAT
        ", expected %" G_GUINT64_FORMAT " (drop should count as %s)", what, index, drop_name (d),
        counter_of (after, d), want, drop_name (expected));
  }
}

/* Any refusal will do (H.264, whose classification depends on where the
 * NAL splitter lands); still exactly one counted drop and no output. */
void
expect_dropped (GstHarness * dec, const Bytes & frame, const char *what, size_t index)
{
  DecStats before = dec_stats (dec);
  Bytes out;
  fail_if (transform (dec, frame, &out), "%s %zu: accepted (%zu bytes out)", what, index, out.size ());
  DecStats after = dec_stats (dec);
  fail_unless_equals_uint64 (after.frames, before.frames);
  fail_unless_equals_uint64 (after.dropped, before.dropped + 1);
  fail_unless_equals_uint64 (after.auth + after.unknown + after.replayed + after.malformed,
      before.auth + before.unknown + before.replayed + before.malformed + 1);
}

Bytes
flip (Bytes frame, size_t bit)
{
  frame[bit / 8] ^= static_cast<guint8> (1u << (bit % 8));
  return frame;
}

/* The small frames of the tamper tests: a 20-byte payload after the clear
 * header of each layout. */
Bytes
small_frame (Rng & rng, Layout layout, bool key_frame)
{
  switch (layout) {
    case Layout::opus: return opus_frame (rng, 20);
    case Layout::vp8: return vp8_frame (rng, key_frame, 20);
    case Layout::h264: return concat ({0x00, 0x00, 0x00, 0x01, 0x65}, h264_payload (rng, 19));
    case Layout::frame: break;
  }
  return random_bytes (rng, 20);
}

struct Pair {
  GstHarness *enc;
  GstHarness *dec;
  ~Pair () { gst_harness_teardown (dec); gst_harness_teardown (enc); }
};

Pair *
make_pair (Layout layout, int suite = 3)
{
  GstHarness *enc = harness_new ("sframeenc", props (layout, suite), layout_caps (layout));
  return new Pair {enc, dec_harness_for (enc, props (layout, suite))};
}

/* Every single-bit flip of a fresh ciphertext is refused and counted by
 * its reason; the untouched ciphertext still decrypts afterwards (no flip
 * moved the replay window). */
void
tamper_every_bit (Layout layout, int suite, bool key_frame)
{
  Rng rng (1000 + suite);
  Pair *p = make_pair (layout, suite);
  Bytes pt = small_frame (rng, layout, key_frame);
  Bytes ct = must_transform (p->enc, pt);
  for (size_t bit = 0; bit < ct.size () * 8; bit++) {
    Bytes t = flip (ct, bit);
    expect_refused (p->dec, t, expected_drop (layout, t), "bit flip", bit);
  }
  Bytes out;
  fail_unless (transform (p->dec, ct, &out) && out == pt, "untampered frame not decrypted");
  fail_unless_equals_uint64 (stat (p->dec, "dropped"), ct.size () * 8);
  delete p;
}

}  // namespace

/* ------------------------------------------------------------------------
 * Tampering and truncation */

GST_START_TEST (test_tamper_frame_mode)
{
  tamper_every_bit (Layout::frame, __i__, false);
}
GST_END_TEST;

GST_START_TEST (test_tamper_opus)
{
  tamper_every_bit (Layout::opus, __i__, false);
}
GST_END_TEST;

GST_START_TEST (test_tamper_vp8)
{
  tamper_every_bit (Layout::vp8, __i__, true);
  tamper_every_bit (Layout::vp8, __i__, false);
}
GST_END_TEST;

/* H.264: every flip from the first byte of a slice's SFrame on (header,
 * ciphertext, tag, escaping, stop byte), and every flip in the start code,
 * is refused. The NAL header byte is covered by the strict test below. */
GST_START_TEST (test_tamper_h264_protected_payload)
{
  Rng rng (1100 + __i__);
  Pair *p = make_pair (Layout::h264, __i__);
  Bytes pt = small_frame (rng, Layout::h264, true);
  Bytes ct = must_transform (p->enc, pt);
  const size_t nal_header = 4;
  for (size_t bit = 0; bit < ct.size () * 8; bit++) {
    if (bit / 8 == nal_header)
      continue;
    expect_dropped (p->dec, flip (ct, bit), "h264 bit flip", bit);
  }
  Bytes out;
  fail_unless (transform (p->dec, ct, &out) && out == pt);
  delete p;
}
GST_END_TEST;

/* Every flip of a protected NAL unit's header byte is refused, including
 * retyping an encrypted slice to a type kept in clear (5 -> 7 or 13): the
 * access unit is then left without a protected unit, or the header no
 * longer matches the authenticated binding. */
GST_START_TEST (test_tamper_h264_nal_header_strict)
{
  Rng rng (1200);
  Pair *p = make_pair (Layout::h264);
  Bytes ct = must_transform (p->enc, small_frame (rng, Layout::h264, true));
  for (size_t bit = 4 * 8; bit < 5 * 8; bit++)
    expect_dropped (p->dec, flip (ct, bit), "h264 NAL header flip", bit);
  delete p;
}
GST_END_TEST;

/* Every proper prefix of a ciphertext is refused, counted by reason. */
static void
truncate_every_length (Layout layout, int suite)
{
  Rng rng (1300 + suite);
  Pair *p = make_pair (layout, suite);
  Bytes pt = small_frame (rng, layout, true);
  Bytes ct = must_transform (p->enc, pt);
  for (size_t n = 0; n < ct.size (); n++) {
    Bytes t (ct.begin (), ct.begin () + n);
    if (layout == Layout::h264)
      expect_dropped (p->dec, t, "prefix", n);
    else
      expect_refused (p->dec, t, expected_drop (layout, t), "prefix", n);
  }
  Bytes out;
  fail_unless (transform (p->dec, ct, &out) && out == pt, "full frame not decrypted after its prefixes");
  delete p;
}

GST_START_TEST (test_truncation)
{
  truncate_every_length (Layout::frame, __i__);
  truncate_every_length (Layout::opus, __i__);
  truncate_every_length (Layout::vp8, __i__);
  /* A single-slice access unit: every cut lands in the protected NAL. */
  truncate_every_length (Layout::h264, __i__);
}
GST_END_TEST;

/* An access unit cut anywhere, also right after its clear NALs (AUD, SPS)
 * or inside them, is refused: every access unit must carry its slices. */
GST_START_TEST (test_truncation_h264_strict)
{
  Rng rng (1400);
  Pair *p = make_pair (Layout::h264);
  Bytes ct = must_transform (p->enc, h264_access_unit (rng, true, 1, 20));
  for (size_t n = 0; n < ct.size (); n++)
    expect_dropped (p->dec, Bytes (ct.begin (), ct.begin () + n), "h264 prefix", n);
  delete p;
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Replay, unknown key, wrong key */

GST_START_TEST (test_replay)
{
  const Layout layouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (1500);
  for (Layout layout : layouts) {
    Pair *p = make_pair (layout);
    Bytes pt = media_frame (rng, layout, 100, 0);
    Bytes ct = must_transform (p->enc, pt);
    Bytes out;
    fail_unless (transform (p->dec, ct, &out) && out == pt);
    expect_refused (p->dec, ct, Drop::replayed, "replay", 0);
    /* A replay after newer frames is still refused; newer frames pass. */
    Bytes pt2 = media_frame (rng, layout, 100, 1);
    fail_unless (transform (p->dec, must_transform (p->enc, pt2), &out) && out == pt2);
    expect_refused (p->dec, ct, Drop::replayed, "late replay", 0);
    fail_unless_equals_uint64 (stat (p->dec, "replayed"), 2);
    fail_unless_equals_uint64 (stat (p->dec, "frames"), 2);
    delete p;
  }
}
GST_END_TEST;

/* The decrypter has no static key, only the key of one key id; frames of
 * another sender session are unknown-key (also with the right key bytes: a
 * key is its id and its bytes). */
GST_START_TEST (test_unknown_key_id)
{
  const Layout layouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (1600);
  for (Layout layout : layouts) {
    GstHarness *enc = harness_new ("sframeenc", props (layout, 3), layout_caps (layout));
    GstHarness *dec = dec_harness_for (enc, props (layout, 3, nullptr));
    GstSFrameKeyStore *store = key_store (dec);
    add_key (store, 1, kKeyHex1);
    gst_object_unref (store);
    for (int i = 0; i < 20; i++)
      expect_refused (dec, must_transform (enc, media_frame (rng, layout, 50 + i, i)), Drop::unknown,
          "unknown key", i);
    fail_unless_equals_int (gst_harness_buffers_received (dec), 0);
    fail_unless_equals_uint64 (stat (dec, "unknown-key"), 20);
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
}
GST_END_TEST;

/* Same key id, different key bytes (each harness has its own store): every
 * frame fails authentication, whatever the suite. */
GST_START_TEST (test_wrong_key)
{
  const Layout layouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (1700 + __i__);
  for (Layout layout : layouts) {
    GstHarness *enc = harness_new ("sframeenc", props (layout, __i__, kKeyHex1), layout_caps (layout));
    GstHarness *dec = dec_harness_for (enc, props (layout, __i__, kKeyHex2));
    for (int i = 0; i < 20; i++)
      expect_refused (dec, must_transform (enc, media_frame (rng, layout, 50 + i, i)), Drop::auth,
          "wrong key", i);
    fail_unless_equals_int (gst_harness_buffers_received (dec), 0);
    fail_unless_equals_uint64 (stat (dec, "auth-failures"), 20);
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
}
GST_END_TEST;

/* The same key under another suite is another key: refused as well. */
GST_START_TEST (test_wrong_suite)
{
  Rng rng (1800);
  GstHarness *enc = harness_new ("sframeenc", props (Layout::frame, 3), kOpaqueCaps);
  GstHarness *dec = dec_harness_for (enc, props (Layout::frame, 4));
  for (int i = 0; i < 10; i++)
    expect_refused (dec, must_transform (enc, random_bytes (rng, 40)), Drop::auth, "wrong suite", i);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* Real multi-slice encoders (several slices per picture): a slice moved into
 * another access unit, at the same position, with the same NAL type, is
 * refused, and the genuine access unit still decrypts afterwards (the
 * refused splice did not move the replay window). */
struct SliceCodec {
  const char *encoder;   /* launch fragment, 4 slices per picture */
  const char *caps;
  bool (*is_slice) (guint8 first_header_byte);
};
const SliceCodec kSliceCodecs[] = {
  {"x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 option-string=slices=4",
   "video/x-h264,stream-format=byte-stream,alignment=au",
   [] (guint8 b) { return (b & 0x1f) == 1 || (b & 0x1f) == 5; }},
  {"x265enc tune=zerolatency speed-preset=ultrafast key-int-max=30 option-string=slices=4",
   "video/x-h265,stream-format=byte-stream,alignment=au",
   [] (guint8 b) { return ((b >> 1) & 0x3f) < 32; }},
};

std::vector<Bytes>
encrypted_access_units (const SliceCodec & codec, int count)
{
  std::string desc = "videotestsrc num-buffers=" + std::to_string (count) +
      " ! video/x-raw,width=320,height=240 ! " + codec.encoder + " ! " + codec.caps +
      " ! sframeenc key=" + kKeyHex1 + " ! appsink name=out sync=false";
  GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  std::vector<Bytes> out;
  while (GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND)) {
    out.push_back (to_bytes (gst_sample_get_buffer (sample)));
    gst_sample_unref (sample);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return out;
}

std::vector<Nal>
slices_of (const SliceCodec & codec, const Bytes & au)
{
  std::vector<Nal> slices;
  for (const Nal & nal : split_annexb (au)) {
    if (codec.is_slice (au[nal.offset]))
      slices.push_back (nal);
  }
  return slices;
}

Bytes
with_unit_replaced (const Bytes & au, const Nal & nal, const Bytes & from, const Nal & replacement)
{
  Bytes out (au.begin (), au.begin () + nal.offset);
  out.insert (out.end (), from.begin () + replacement.offset, from.begin () + replacement.offset + replacement.size);
  out.insert (out.end (), au.begin () + nal.offset + nal.size, au.end ());
  return out;
}

GST_START_TEST (test_slices_do_not_move_between_access_units)
{
  const SliceCodec & codec = kSliceCodecs[__i__];
  std::string encoder_name (codec.encoder, std::strchr (codec.encoder, ' '));
  if (!have_elements ({"videotestsrc", encoder_name.c_str (), "appsink"}))
    return;
  auto aus = encrypted_access_units (codec, 6);
  fail_unless (aus.size () >= 4, "the encoder gave %zu access units", aus.size ());
  GstHarness *dec = harness_new ("sframedec", std::string ("key=") + kKeyHex1, codec.caps);
  int spliced = 0;
  for (size_t i = 1; i + 1 < aus.size (); i++) {
    auto mine = slices_of (codec, aus[i]), theirs = slices_of (codec, aus[i + 1]);
    fail_unless (mine.size () >= 2 && mine.size () == theirs.size (), "slices: %zu and %zu",
        mine.size (), theirs.size ());
    if (aus[i][mine.back ().offset] != aus[i + 1][theirs.back ().offset])
      continue;   /* a splice of another NAL type is refused for that alone */
    Bytes last = with_unit_replaced (aus[i], mine.back (), aus[i + 1], theirs.back ());
    fail_if (transform (dec, last), "access unit %zu took the last slice of the next one", i);
    Bytes first = with_unit_replaced (aus[i], mine[0], aus[i + 1], theirs[0]);
    fail_if (transform (dec, first), "access unit %zu took the first slice of the next one", i);
    spliced++;
    Bytes out;
    fail_unless (transform (dec, aus[i], &out), "the genuine access unit %zu was refused", i);
  }
  fail_unless (spliced >= 2, "only %d access units could be spliced", spliced);
  fail_unless_equals_uint64 (stat (dec, "auth-failures"), 2 * spliced);
  fail_unless_equals_uint64 (stat (dec, "replayed"), 0);
  gst_harness_teardown (dec);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Exact stats */

GST_START_TEST (test_dec_stats_exact)
{
  Rng rng (1900);
  GstHarness *enc = harness_new ("sframeenc", props (Layout::frame, 3), kOpaqueCaps);
  Bytes first_pt = random_bytes (rng, 10);
  Bytes first = must_transform (enc, first_pt);
  Pair *p = new Pair {enc, dec_with_session_key (enc, Layout::frame)};
  GstHarness *other = harness_new ("sframeenc", props (Layout::frame, 3), kOpaqueCaps);

  Bytes valid[3];
  guint64 bytes = 0;
  valid[0] = first;
  fail_unless (transform (p->dec, valid[0]));
  bytes += first_pt.size ();
  for (int i = 1; i < 3; i++) {
    Bytes pt = random_bytes (rng, 10 * (i + 1));
    valid[i] = must_transform (p->enc, pt);
    fail_unless (transform (p->dec, valid[i]));
    bytes += pt.size ();
  }
  fail_if (transform (p->dec, valid[0]));                       /* replayed */
  for (int i = 0; i < 2; i++) {                                 /* auth-failures */
    Bytes ct = must_transform (p->enc, random_bytes (rng, 25));
    ct.back () ^= 0x01;
    fail_if (transform (p->dec, ct));
  }
  fail_if (transform (p->dec, must_transform (other, random_bytes (rng, 25))));  /* unknown-key */
  fail_if (transform (p->dec, Bytes ()));                       /* malformed: empty */
  fail_if (transform (p->dec, Bytes {0x80}));                   /* malformed: KID byte missing */

  fail_unless_equals_uint64 (stat (p->dec, "frames"), 3);
  fail_unless_equals_uint64 (stat (p->dec, "bytes"), bytes);
  fail_unless_equals_uint64 (stat (p->dec, "replayed"), 1);
  fail_unless_equals_uint64 (stat (p->dec, "auth-failures"), 2);
  fail_unless_equals_uint64 (stat (p->dec, "unknown-key"), 1);
  fail_unless_equals_uint64 (stat (p->dec, "malformed"), 2);
  fail_unless_equals_uint64 (stat (p->dec, "dropped"), 6);
  fail_unless_equals_int (gst_harness_buffers_received (p->dec), 3);
  gst_harness_teardown (other);
  delete p;
}
GST_END_TEST;

GST_START_TEST (test_enc_stats_exact)
{
  Rng rng (2000);
  GstHarness *enc = harness_new ("sframeenc", "mode=codec", kVp8Caps);
  for (int i = 0; i < 2; i++)                                   /* no-key */
    fail_if (transform (enc, vp8_frame (rng, true, 30)));
  set_props (enc->element, std::string ("key=") + kKeyHex1);
  guint64 bytes = 0;
  for (int i = 0; i < 3; i++) {
    Bytes pt = vp8_frame (rng, i == 0, 40 + i);
    fail_unless (transform (enc, pt));
    bytes += pt.size ();
  }
  fail_if (transform (enc, Bytes {0x00, 0x02, 0x00, 0x9d, 0x01}));  /* malformed: cut key frame */

  fail_unless_equals_uint64 (stat (enc, "frames"), 3);
  fail_unless_equals_uint64 (stat (enc, "bytes"), bytes);
  fail_unless_equals_uint64 (stat (enc, "no-key"), 2);
  fail_unless_equals_uint64 (stat (enc, "malformed"), 1);
  fail_unless_equals_uint64 (stat (enc, "dropped"), 3);
  fail_unless_equals_int (gst_harness_buffers_received (enc), 3);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Fail closed on the sending side */

static guint
pop_warnings (GstBus * bus)
{
  guint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    n++;
    gst_message_unref (msg);
  }
  return n;
}

static guint
pop_errors (GstBus * bus)
{
  guint n = 0;
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
    n++;
    gst_message_unref (msg);
  }
  return n;
}

/* No key: nothing comes out (never plaintext), every frame is counted and
 * one warning is posted however many frames are dropped. A key makes frames
 * flow; losing it again drops again with one new warning. */
GST_START_TEST (test_enc_without_key_fails_closed)
{
  const Layout layouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (2100);
  for (Layout layout : layouts) {
    GstHarness *h = harness_new ("sframeenc", std::string ("mode=") + layout_mode (layout), layout_caps (layout));
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    for (int i = 0; i < 300; i++)
      fail_if (transform (h, media_frame (rng, layout, 64, i)), "frame passed without a key");
    fail_unless_equals_int (gst_harness_buffers_received (h), 0);
    fail_unless_equals_int (pop_warnings (bus), 1);
    fail_unless_equals_uint64 (stat (h, "dropped"), 300);
    fail_unless_equals_uint64 (stat (h, "no-key"), 300);
    fail_unless_equals_uint64 (stat (h, "frames"), 0);

    GstSFrameKeyStore *store = key_store (h);
    add_own_key (store, 4, kKeyHex1);
    fail_unless (gst_sframe_key_store_set_sender_key (store, 4, nullptr));
    for (int i = 0; i < 10; i++) {
      Bytes pt = media_frame (rng, layout, 64, i), ct;
      fail_unless (transform (h, pt, &ct));
      fail_if (ct == pt);
    }
    fail_unless (gst_sframe_key_store_remove_key (store, 4));
    for (int i = 0; i < 100; i++)
      fail_if (transform (h, media_frame (rng, layout, 64, i)), "frame passed after its key was removed");
    fail_unless_equals_int (pop_warnings (bus), 1);
    fail_unless_equals_int (pop_errors (bus), 0);
    fail_unless_equals_uint64 (stat (h, "no-key"), 400);
    fail_unless_equals_uint64 (stat (h, "frames"), 10);
    fail_unless_equals_int (gst_harness_buffers_received (h), 10);

    gst_element_set_bus (h->element, nullptr);
    gst_object_unref (bus);
    gst_object_unref (store);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* A `key` that is not 16 to 64 bytes of hex is ignored: still no key, so
 * nothing goes out. */
/* The error an unusable `key` gives: it names the property and the
 * accepted form, and never echoes the value. */
void
expect_key_error (GstBus * bus, const char *key)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != nullptr, "no error for key '%s'", key);
  GError *err = nullptr;
  gchar *debug = nullptr;
  gst_message_parse_error (msg, &err, &debug);
  fail_unless (strstr (err->message, "\"key\"") && strstr (err->message, "16 to 64 bytes as hex"),
      "unclear error: %s", err->message);
  if (strlen (key) >= 2) {
    fail_if (strstr (err->message, key) || (debug && strstr (debug, key)), "the error echoes the key");
  }
  g_error_free (err);
  g_free (debug);
  gst_message_unref (msg);
}

const char *kBadKeys[] = {"00", "000102030405060708090a0b0c0d0e", "zz0102030405060708090a0b0c0d0e0f",
  "000102030405060708090a0b0c0d0e0f0", "not a key at all"};

/* Written while running: an element error, and no frame passes (the
 * element is left with no static key). */
GST_START_TEST (test_enc_unusable_key_property)
{
  Rng rng (2150);
  for (const char *key : kBadKeys) {
    GstHarness *h = harness_new ("sframeenc", "mode=frame", kOpaqueCaps);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    g_object_set (h->element, "key", key, nullptr);
    expect_key_error (bus, key);
    for (int i = 0; i < 5; i++)
      fail_if (transform (h, random_bytes (rng, 40)), "frame passed with key '%s'", key);
    fail_unless_equals_uint64 (stat (h, "no-key"), 5);
    gst_element_set_bus (h->element, nullptr);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* A live sender whose frames come before its key must not stall the
 * pipeline: the dropped frames go on as GAP events, the sink prerolls on
 * them, and once the key comes encrypted frames flow. */
GST_START_TEST (test_live_sender_without_key_prerolls)
{
  GstElement *pipeline = gst_parse_launch ("videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 ! "
      "sframeenc name=enc mode=frame room=live-no-key ! fakesink name=sink", nullptr);
  fail_unless (pipeline != nullptr);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstState state = GST_STATE_NULL;
  fail_unless_equals_int (gst_element_get_state (pipeline, &state, nullptr, 10 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (state, GST_STATE_PLAYING);
  fail_unless (element_stat (pipeline, "enc", "no-key") > 0);
  fail_unless_equals_uint64 (element_stat (pipeline, "enc", "frames"), 0);

  GstElement *enc = gst_bin_get_by_name (GST_BIN (pipeline), "enc");
  GstSFrameKeyStore *store = nullptr;
  g_object_get (enc, "key-store", &store, nullptr);
  fail_unless (store != nullptr);
  add_own_key (store, 4, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (store, 4, nullptr));
  for (int i = 0; i < 100 && element_stat (pipeline, "enc", "frames") < 5; i++)
    g_usleep (100 * 1000);
  fail_unless (element_stat (pipeline, "enc", "frames") >= 5, "no frame encrypted after the key came");
  gst_object_unref (store);
  gst_object_unref (enc);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* Given on a launch line: the pipeline does not start, with the error. */
GST_START_TEST (test_unusable_key_stops_the_launch)
{
  for (const char *factory : {"sframeenc", "sframedec"}) {
    for (const char *key : kBadKeys) {
      std::string desc = std::string ("fakesrc num-buffers=1 ! ") + factory + " key=\"" + key + "\" ! fakesink";
      GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
      fail_unless (pipeline != nullptr);
      GstBus *bus = gst_element_get_bus (pipeline);
      fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
      expect_key_error (bus, key);
      gst_element_set_state (pipeline, GST_STATE_NULL);
      gst_object_unref (bus);
      gst_object_unref (pipeline);
    }
  }
}
GST_END_TEST;

/* Elements of one room share one key store: a decrypter given another key
 * than its room's encrypter still decrypts the encrypter's frames, so the
 * second key written says so. In a room of its own the decrypter has only
 * its key and drops them. */
GST_START_TEST (test_mixed_static_keys_in_one_room_warn)
{
  const std::string a (32, 'a'), b (32, 'b');
  struct Case {
    std::string dec_props;
    int mixed_warnings;
    bool decrypts;
  } cases[] = {
    {"key=" + b, 1, true},
    {"key=" + a, 0, true},
    {"room=apart key=" + b, 0, false},
  };
  for (const Case & c : cases) {
    std::string desc = "appsrc name=src format=time ! sframeenc mode=frame key=" + a + " ! sframedec name=dec mode=frame " + c.dec_props +
        " ! fakesink name=sink";
    GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
    fail_unless (pipeline != nullptr);
    GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    GstCaps *caps = gst_caps_from_string (kOpaqueCaps);
    gst_app_src_set_caps (GST_APP_SRC (src), caps);
    gst_caps_unref (caps);
    for (int i = 0; i < 10; i++) {
      GstBuffer *buf = gst_buffer_new_allocate (nullptr, 64, nullptr);
      gst_buffer_memset (buf, 0, (guint8) i, 64);
      GST_BUFFER_PTS (buf) = i * GST_MSECOND;
      fail_unless_equals_int (gst_app_src_push_buffer (GST_APP_SRC (src), buf), GST_FLOW_OK);
    }
    gst_app_src_end_of_stream (GST_APP_SRC (src));
    gst_object_unref (src);
    fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    GstBus *bus = gst_element_get_bus (pipeline);
    int mixed = 0;
    for (;;) {
      GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
          (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING));
      fail_unless (msg != nullptr, "%s: no EOS within a minute", desc.c_str ());
      fail_if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR, "%s: error", desc.c_str ());
      bool eos = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
      if (!eos) {
        GError *err = nullptr;
        gst_message_parse_warning (msg, &err, nullptr);
        if (strcmp (err->message, "Room \"default\" now holds 2 different static keys") == 0)
          mixed++;
        g_error_free (err);
      }
      gst_message_unref (msg);
      if (eos)
        break;
    }
    fail_unless_equals_int (mixed, c.mixed_warnings);
    fail_unless_equals_uint64 (element_stat (pipeline, "dec", "frames"), c.decrypts ? 10 : 0);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (bus);
    gst_object_unref (pipeline);
  }
}
GST_END_TEST;

/* A decrypter without any key refuses everything as unknown-key, and says
 * so once (rate-limited), naming the key id it lacks, whether the frames
 * are dropped at once or after waiting in the hold. */
GST_START_TEST (test_dec_without_key)
{
  for (const char *hold : {"hold-frames=0", "hold-frames=4"}) {
    Rng rng (2160);
    GstHarness *enc = harness_new ("sframeenc", props (Layout::frame), kOpaqueCaps);
    GstHarness *dec = dec_harness_for (enc, std::string ("mode=frame ") + hold);
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (dec->element, bus);
    for (int i = 0; i < 20; i++) {
      Bytes ct = must_transform (enc, random_bytes (rng, 40));
      fail_if (transform (dec, ct), "frame %d decrypted without a key", i);
    }
    fail_unless_equals_uint64 (stat (dec, "unknown-key"), strcmp (hold, "hold-frames=0") == 0 ? 20 : 16);
    guint64 key_id = 0;
    g_object_get (enc->element, "key-id", &key_id, nullptr);
    int warnings = 0;
    while (GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING)) {
      GError *err = nullptr;
      gst_message_parse_warning (msg, &err, nullptr);
      std::string expected = "No SFrame key for key id " + std::to_string (key_id);
      fail_unless (strstr (err->message, expected.c_str ()) != nullptr, "%s: warning '%s'", hold, err->message);
      g_error_free (err);
      gst_message_unref (msg);
      warnings++;
    }
    fail_unless_equals_int (warnings, 1);
    gst_element_set_bus (dec->element, nullptr);
    gst_object_unref (bus);
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
}
GST_END_TEST;

/* Codec mode cannot protect a frame whose clear header is missing: it is
 * dropped and counted as malformed, with a warning, and nothing leaks. */
GST_START_TEST (test_enc_malformed_codec_frames)
{
  struct Case {
    Layout layout;
    Bytes frame;
  };
  const Case cases[] = {
    {Layout::vp8, {}},
    {Layout::vp8, {0x01, 0x02}},                      /* delta frame, tag cut */
    {Layout::vp8, {0x00, 0x02, 0x00, 0x9d, 0x01}},    /* key frame, header cut */
    {Layout::vp8, {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0}},
    {Layout::opus, {}},
    {Layout::h264, {0x65, 0x88, 0x84, 0x21}},         /* no start code */
    {Layout::h264, {0x01, 0x00, 0x00, 0x01, 0x65, 0x88}},  /* junk before it */
    {Layout::h264, {0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x65, 0x88}},  /* empty NAL */
  };
  Rng rng (2200);
  for (const Case & c : cases) {
    GstHarness *h = harness_new ("sframeenc", props (c.layout), layout_caps (c.layout));
    GstBus *bus = gst_bus_new ();
    gst_element_set_bus (h->element, bus);
    fail_if (transform (h, c.frame), "malformed %zu-byte frame encrypted", c.frame.size ());
    fail_unless_equals_uint64 (stat (h, "malformed"), 1);
    fail_unless_equals_uint64 (stat (h, "dropped"), 1);
    fail_unless_equals_uint64 (stat (h, "no-key"), 0);
    fail_unless (pop_warnings (bus) >= 1, "no warning for a malformed frame");
    /* The element keeps working. */
    fail_unless (transform (h, media_frame (rng, c.layout, 50, 0)));
    gst_element_set_bus (h->element, nullptr);
    gst_object_unref (bus);
    gst_harness_teardown (h);
  }
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Garbage into sframedec */

static void
expect_all_dropped (GstHarness * dec, const std::vector<Bytes> & frames, const char *what)
{
  DecStats before = dec_stats (dec);
  for (size_t i = 0; i < frames.size (); i++) {
    Bytes out;
    fail_if (transform (dec, frames[i], &out), "%s %zu (%zu bytes) accepted", what, i, frames[i].size ());
  }
  DecStats after = dec_stats (dec);
  fail_unless_equals_uint64 (after.frames, before.frames);
  fail_unless_equals_uint64 (after.dropped - before.dropped, frames.size ());
  fail_unless_equals_uint64 (after.auth + after.unknown + after.replayed + after.malformed,
      after.dropped);
}

static Bytes
with_header (std::initializer_list<guint8> header, Bytes body)
{
  return concat (Bytes (header), body);
}

GST_START_TEST (test_dec_garbage)
{
  const Layout layouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};
  Rng rng (2300);
  for (Layout layout : layouts) {
    Pair *p = make_pair (layout);
    std::vector<Bytes> bad;
    bad.push_back (Bytes ());
    for (int b = 0; b < 256; b++)
      bad.push_back (Bytes {static_cast<guint8> (b)});
    for (int b = 0; b < 256; b++)
      bad.push_back (Bytes {static_cast<guint8> (b), static_cast<guint8> (rng ())});
    fail_if (transform (p->dec, Bytes ()));
    expect_all_dropped (p->dec, bad, "short buffer");

    /* Headers at the limits of the format, after each layout's clear part. */
    Bytes clear;
    if (layout == Layout::opus)
      clear = {0xfc};
    else if (layout == Layout::vp8)
      clear = {0x01, 0x00, 0x00};
    else if (layout == Layout::h264)
      clear = {0x00, 0x00, 0x00, 0x01, 0x65};
    std::vector<Bytes> crafted = {
      with_header ({0xff}, Bytes (16, 0xff)),                           /* KID, CTR = 2^64-1 */
      with_header ({0xff}, concat (Bytes (16, 0xff), random_bytes (rng, 64))),
      with_header ({0xff}, Bytes (15, 0xff)),                           /* one byte short */
      with_header ({0xff}, Bytes (7, 0xff)),
      with_header ({0x8f}, concat ({0x01}, Bytes (8, 0xff))),           /* KID 1 long form */
      with_header ({0x1f}, concat (Bytes (8, 0xff), random_bytes (rng, 40))),  /* KID 1, CTR max */
      with_header ({0x1f}, Bytes (8, 0xff)),                            /* ... and no tag */
      with_header ({0x1f, 0x00}, random_bytes (rng, 40)),               /* non-minimal CTR */
      with_header ({0x17, 0x00}, random_bytes (rng, 40)),
      with_header ({0x10}, random_bytes (rng, 3)),                      /* shorter than a tag */
    };
    for (auto & c : crafted) {
      c = concat (clear, c);
      if (layout == Layout::h264) {
        /* Keep the body free of start codes and give it its stop byte. */
        c = concat (clear, h264_escape (Bytes (c.begin () + clear.size (), c.end ())));
      }
    }
    expect_all_dropped (p->dec, crafted, "crafted header");

    std::vector<Bytes> random;
    for (int i = 0; i < 1000; i++)
      random.push_back (random_bytes (rng, rng () % 300));
    /* Random bodies behind a valid clear header and our key id too, so they
     * reach the AEAD rather than stop at the header. */
    for (int i = 0; i < 200; i++)
      random.push_back (concat (clear, with_header ({0x1e}, random_bytes (rng, 7 + rng () % 100))));
    expect_all_dropped (p->dec, random, "random buffer");

    Bytes huge = random_bytes (rng, 16 * 1024 * 1024);
    expect_all_dropped (p->dec, {huge}, "16 MiB random buffer");

    /* Still decrypts. */
    Bytes pt = media_frame (rng, layout, 200, 0), out;
    fail_unless (transform (p->dec, must_transform (p->enc, pt), &out) && out == pt,
        "valid frame refused after garbage");
    delete p;
  }
}
GST_END_TEST;

GST_START_TEST (test_roundtrip_16mib_frame)
{
  Rng rng (2400);
  Pair *p = make_pair (Layout::frame);
  Bytes pt = random_bytes (rng, 16 * 1024 * 1024), ct, out;
  fail_unless (transform (p->enc, pt, &ct));
  fail_unless (ct.size () > pt.size ());
  fail_unless (transform (p->dec, ct, &out));
  fail_unless (out == pt, "16 MiB frame differs after the round trip");
  delete p;
}
GST_END_TEST;

static Suite *
sframe_robustness_suite (void)
{
  Suite *s = suite_create ("sframe-robustness");
  TCase *tamper = tcase_create ("tamper");
  suite_add_tcase (s, tamper);
  tcase_add_loop_test (tamper, test_tamper_frame_mode, 0, kNumSuites);
  tcase_add_loop_test (tamper, test_tamper_opus, 0, kNumSuites);
  tcase_add_loop_test (tamper, test_tamper_vp8, 0, kNumSuites);
  tcase_add_loop_test (tamper, test_tamper_h264_protected_payload, 0, kNumSuites);
  tcase_add_test (tamper, test_tamper_h264_nal_header_strict);
  tcase_add_loop_test (tamper, test_truncation, 0, kNumSuites);
  tcase_add_test (tamper, test_truncation_h264_strict);
  tcase_add_loop_test (tamper, test_slices_do_not_move_between_access_units, 0, G_N_ELEMENTS (kSliceCodecs));

  TCase *keys = tcase_create ("keys");
  suite_add_tcase (s, keys);
  tcase_add_test (keys, test_replay);
  tcase_add_test (keys, test_unknown_key_id);
  tcase_add_loop_test (keys, test_wrong_key, 0, kNumSuites);
  tcase_add_test (keys, test_wrong_suite);

  TCase *stats = tcase_create ("stats");
  suite_add_tcase (s, stats);
  tcase_add_test (stats, test_dec_stats_exact);
  tcase_add_test (stats, test_enc_stats_exact);

  TCase *closed = tcase_create ("fail-closed");
  suite_add_tcase (s, closed);
  tcase_add_test (closed, test_enc_without_key_fails_closed);
  tcase_add_test (closed, test_live_sender_without_key_prerolls);
  tcase_add_test (closed, test_enc_unusable_key_property);
  tcase_add_test (closed, test_unusable_key_stops_the_launch);
  tcase_add_test (closed, test_dec_without_key);
  tcase_add_test (closed, test_mixed_static_keys_in_one_room_warn);
  tcase_add_test (closed, test_enc_malformed_codec_frames);
  tcase_add_test (closed, test_dec_garbage);
  tcase_add_test (closed, test_roundtrip_16mib_frame);
  return s;
}

GST_CHECK_MAIN (sframe_robustness);
