/* Late keys: sframedec holds frames under a key id it does not have yet,
 * releases them in order when the key arrives, bounds what it holds by
 * count, by time and by memory, and asks upstream for a key frame once the
 * key is in, and again each second until a key frame passes. */
#include "sframe-check.h"

#include <gst/video/video.h>

using namespace check;

namespace {

constexpr const char *kEncProps = "mode=frame key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Sender {
  GstHarness *enc;
  Rng rng {4242};
  std::vector<Bytes> plain;

  Sender () : enc (harness_new ("sframeenc", kEncProps, kOpaqueCaps)) {}
  ~Sender () { gst_harness_teardown (enc); }

  /* The ciphertext of a fresh frame, remembering its plaintext. */
  Bytes next ()
  {
    plain.push_back (random_bytes (rng, 40 + plain.size ()));
    return must_transform (enc, plain.back ());
  }
};

GstHarness *
receiver (Sender & s, const std::string & props)
{
  return dec_harness_for (s.enc, "mode=frame " + props);
}

void
push (GstHarness * h, const Bytes & frame, GstClockTime pts)
{
  GstBuffer *buf = to_buffer (frame);
  GST_BUFFER_PTS (buf) = pts;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
}

std::vector<Bytes>
pull_all (GstHarness * h)
{
  std::vector<Bytes> out;
  while (GstBuffer *b = gst_harness_try_pull (h)) {
    out.push_back (to_bytes (b));
    gst_buffer_unref (b);
  }
  return out;
}

int
count_key_unit_requests (GstHarness * h)
{
  int n = 0;
  while (GstEvent *e = gst_harness_try_pull_upstream_event (h)) {
    if (gst_video_event_is_force_key_unit (e))
      n++;
    gst_event_unref (e);
  }
  return n;
}

/* The key of the sender's session arrives (as a key manager delivers it). */
void
install_key (GstHarness * dec, Sender & s)
{
  guint64 key_id = 0;
  g_object_get (s.enc->element, "key-id", &key_id, nullptr);
  fail_if (key_id == 0, "the sender has no session yet");
  GstSFrameKeyStore *store = key_store (dec);
  add_key (store, key_id, kKeyHex1);
  gst_object_unref (store);
}

GST_START_TEST (test_held_frames_released_in_order)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=8 hold-time=1000");
  for (int i = 0; i < 5; i++)
    push (dec, s.next (), i * 20 * GST_MSECOND);
  fail_unless (pull_all (dec).empty (), "output without a key");
  fail_unless_equals_uint64 (stat (dec, "held"), 5);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 0);

  install_key (dec, s);
  push (dec, s.next (), 5 * 20 * GST_MSECOND);
  auto out = pull_all (dec);
  fail_unless_equals_int (out.size (), 6);
  for (size_t i = 0; i < out.size (); i++)
    fail_unless (out[i] == s.plain[i], "frame %zu out of order or wrong", i);
  fail_unless_equals_uint64 (stat (dec, "released"), 5);
  fail_unless_equals_uint64 (stat (dec, "frames"), 6);
  fail_unless_equals_int (count_key_unit_requests (dec), 1);
  fail_unless_equals_uint64 (stat (dec, "key-unit-requests"), 1);

  /* Later frames flow normally and ask for nothing more. */
  push (dec, s.next (), 6 * 20 * GST_MSECOND);
  fail_unless_equals_int (pull_all (dec).size (), 1);
  fail_unless_equals_int (count_key_unit_requests (dec), 0);
  gst_harness_teardown (dec);
}
GST_END_TEST;

GST_START_TEST (test_hold_bounded_by_count)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=4 hold-time=10000");
  for (int i = 0; i < 10; i++)
    push (dec, s.next (), i * GST_MSECOND);
  fail_unless_equals_uint64 (stat (dec, "held"), 10);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 6);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 6);

  install_key (dec, s);
  push (dec, s.next (), 10 * GST_MSECOND);
  auto out = pull_all (dec);
  fail_unless_equals_int (out.size (), 5);
  for (size_t i = 0; i < out.size (); i++)
    fail_unless (out[i] == s.plain[6 + i]);
  gst_harness_teardown (dec);
}
GST_END_TEST;

GST_START_TEST (test_hold_bounded_by_time)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=100 hold-time=100");
  /* 20 ms apart: only frames within 100 ms of the newest are kept. */
  for (int i = 0; i < 20; i++)
    push (dec, s.next (), i * 20 * GST_MSECOND);
  install_key (dec, s);
  push (dec, s.next (), 20 * 20 * GST_MSECOND);
  auto out = pull_all (dec);
  /* Held at the end: pts 280..380 ms (6 frames), then the new one. */
  fail_unless_equals_int (out.size (), 7);
  fail_unless (out.front () == s.plain[14]);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 14);
  gst_harness_teardown (dec);
}
GST_END_TEST;

/* A frame in a block of `block` bytes: it keeps the whole block alive. */
void
push_in_block (GstHarness * h, const Bytes & frame, gsize block, GstClockTime pts)
{
  auto data = static_cast<guint8 *> (g_malloc (block));
  std::memcpy (data, frame.data (), frame.size ());
  GstBuffer *buf = gst_buffer_new_wrapped_full ((GstMemoryFlags) 0, data, block, 0, frame.size (),
      data, g_free);
  GST_BUFFER_PTS (buf) = pts;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
}

/* hold-bytes counts the memory the held frames keep alive, not their
 * bytes; a frame larger than it alone is dropped at once. */
GST_START_TEST (test_hold_bounded_by_memory)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=100 hold-time=10000 hold-bytes=40000");
  for (int i = 0; i < 10; i++)
    push_in_block (dec, s.next (), 10000, i * GST_MSECOND);
  fail_unless_equals_uint64 (stat (dec, "held"), 10);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 6);
  fail_unless_equals_uint64 (stat (dec, "held-bytes"), 40000);
  fail_unless_equals_uint64 (stat (dec, "held-bytes-peak"), 40000);

  push_in_block (dec, s.next (), 40001, 10 * GST_MSECOND);
  fail_unless_equals_uint64 (stat (dec, "held"), 10);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 7);
  fail_unless_equals_uint64 (stat (dec, "held-bytes"), 40000);

  install_key (dec, s);
  push (dec, s.next (), 11 * GST_MSECOND);
  auto out = pull_all (dec);
  fail_unless_equals_int (out.size (), 5);
  for (size_t i = 0; i < 4; i++)
    fail_unless (out[i] == s.plain[6 + i], "frame %zu out of order or wrong", i);
  fail_unless (out[4] == s.plain[11]);
  fail_unless_equals_uint64 (stat (dec, "held-bytes"), 0);
  gst_harness_teardown (dec);
}
GST_END_TEST;

GST_START_TEST (test_hold_disabled_drops_at_once)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=0");
  for (int i = 0; i < 3; i++)
    push (dec, s.next (), i * 20 * GST_MSECOND);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 3);
  fail_unless_equals_uint64 (stat (dec, "held"), 0);
  /* Downstream still learns that the time passed. */
  int gaps = 0;
  while (GstEvent *e = gst_harness_try_pull_event (dec)) {
    gaps += GST_EVENT_TYPE (e) == GST_EVENT_GAP;
    gst_event_unref (e);
  }
  fail_unless_equals_int (gaps, 3);
  /* The key arriving still triggers one key frame request. */
  install_key (dec, s);
  push (dec, s.next (), 3 * 20 * GST_MSECOND);
  fail_unless_equals_int (pull_all (dec).size (), 1);
  fail_unless_equals_int (count_key_unit_requests (dec), 1);
  gst_harness_teardown (dec);
}
GST_END_TEST;

GST_START_TEST (test_eos_drops_held_frames)
{
  Sender s;
  GstHarness *dec = receiver (s, "");
  for (int i = 0; i < 3; i++)
    push (dec, s.next (), i * 20 * GST_MSECOND);
  fail_unless (gst_harness_push_event (dec, gst_event_new_eos ()));
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 3);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 3);
  fail_unless (pull_all (dec).empty ());
  gst_harness_teardown (dec);
}
GST_END_TEST;

/* A held frame that turns out to be forged is counted as such, not
 * released; the genuine frames around it are. */
GST_START_TEST (test_held_forgery_rejected_on_release)
{
  Sender s;
  GstHarness *dec = receiver (s, "hold-frames=8 hold-time=1000");
  push (dec, s.next (), 0);
  Bytes forged = s.next ();
  forged.back () ^= 1;
  push (dec, forged, 20 * GST_MSECOND);
  push (dec, s.next (), 40 * GST_MSECOND);
  install_key (dec, s);
  push (dec, s.next (), 60 * GST_MSECOND);
  auto out = pull_all (dec);
  fail_unless_equals_int (out.size (), 3);
  fail_unless (out[0] == s.plain[0] && out[1] == s.plain[2] && out[2] == s.plain[3]);
  fail_unless_equals_uint64 (stat (dec, "auth-failures"), 1);
  gst_harness_teardown (dec);
}
GST_END_TEST;

/* A frame under a key id that never comes (forged, or of a key long
 * gone) in front of the held frames does not hold them back: once their
 * key arrives they come out in order, and it is dropped. */
GST_START_TEST (test_unknown_key_id_in_front_does_not_block_release)
{
  Sender s;
  GstHarness *other = harness_new ("sframeenc",
      "mode=frame key=1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100", kOpaqueCaps);
  GstHarness *dec = receiver (s, "hold-frames=8 hold-time=1000");
  Rng rng {7};
  push (dec, must_transform (other, random_bytes (rng, 40)), 0);
  for (int i = 1; i <= 3; i++)
    push (dec, s.next (), i * 20 * GST_MSECOND);
  fail_unless (pull_all (dec).empty (), "output without a key");
  install_key (dec, s);
  push (dec, s.next (), 4 * 20 * GST_MSECOND);
  auto out = pull_all (dec);
  fail_unless_equals_int (out.size (), 4);
  for (size_t i = 0; i < out.size (); i++)
    fail_unless (out[i] == s.plain[i], "frame %zu out of order or wrong", i);
  fail_unless_equals_uint64 (stat (dec, "released"), 3);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), 1);
  gst_harness_teardown (dec);
  gst_harness_teardown (other);
}
GST_END_TEST;

/* VP8 in codec mode, where sframedec sees key frames: a sender and a
 * receiver under one static key. */
struct Vp8Link {
  GstHarness *enc;
  GstHarness *dec;
  Rng rng {7};

  Vp8Link ()
  {
    const std::string props = std::string ("mode=codec key=") + kKeyHex1;
    enc = harness_new ("sframeenc", props, kVp8Caps);
    dec = dec_harness_for (enc, props);
  }
  ~Vp8Link ()
  {
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
  }
  /* Frame `index` at 30 fps; how many frames came out. */
  int send (bool key, int index)
  {
    push (dec, must_transform (enc, vp8_frame (rng, key, 200)), index * GST_SECOND / 30);
    return (int) pull_all (dec).size ();
  }
};

/* A receiver that starts in the middle of a stream asks for a key frame
 * at once and again once per second of stream time while none comes, then
 * stops asking. */
GST_START_TEST (test_asks_again_until_a_key_frame_passes)
{
  Vp8Link link;
  for (int i = 0; i < 75; i++)
    fail_unless_equals_int (link.send (false, i), 1);
  fail_unless_equals_int (count_key_unit_requests (link.dec), 3);   /* at 0, 1 and 2 s */
  fail_unless_equals_uint64 (stat (link.dec, "key-unit-requests"), 3);
  /* A key frame passes: no more requests, whatever follows. */
  link.send (true, 75);
  for (int i = 76; i < 150; i++)
    link.send (false, i);
  fail_unless_equals_int (count_key_unit_requests (link.dec), 0);
}
GST_END_TEST;

/* A stream that starts with a key frame needs nothing. */
GST_START_TEST (test_no_request_when_the_stream_starts_with_a_key_frame)
{
  Vp8Link link;
  int out = 0;
  for (int i = 0; i < 90; i++)
    out += link.send (i % 30 == 0, i);
  fail_unless_equals_int (out, 90);
  fail_unless_equals_int (count_key_unit_requests (link.dec), 0);
}
GST_END_TEST;

Suite *
sframe_hold_suite (void)
{
  Suite *s = suite_create ("sframe-hold");
  TCase *tc = tcase_create ("hold");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_held_frames_released_in_order);
  tcase_add_test (tc, test_hold_bounded_by_count);
  tcase_add_test (tc, test_hold_bounded_by_time);
  tcase_add_test (tc, test_hold_bounded_by_memory);
  tcase_add_test (tc, test_hold_disabled_drops_at_once);
  tcase_add_test (tc, test_eos_drops_held_frames);
  tcase_add_test (tc, test_held_forgery_rejected_on_release);
  tcase_add_test (tc, test_unknown_key_id_in_front_does_not_block_release);
  tcase_add_test (tc, test_asks_again_until_a_key_frame_passes);
  tcase_add_test (tc, test_no_request_when_the_stream_starts_with_a_key_frame);
  return s;
}

}  // namespace

GST_CHECK_MAIN (sframe_hold);
