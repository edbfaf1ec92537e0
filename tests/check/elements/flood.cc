/* Floods: the elements that keep data between buffers are fed a million
 * buffers of the input that makes them keep the most (frames that never
 * end, frames under a key id that never comes, each in a buffer allocated
 * far larger than its bytes), and must stay within their documented memory
 * bounds. Each test checks the element's own account (`stats`) and the
 * process's: the bytes malloc hands out (touched or not, so memory a
 * buffer pins counts in full) may grow by at most kMaxGrowth. */
#include "sframe-check.h"

#include <malloc.h>

using namespace check;

namespace {

constexpr guint64 kMiB = 1024 * 1024;
/* Generous: the bounds below are 32 MiB, the harness and GLib keep some. */
constexpr guint64 kMaxGrowth = 64 * kMiB;
constexpr guint kPackets = 1000000;

/* Bytes malloc has handed out and not taken back, in every arena. */
guint64
malloc_in_use ()
{
  struct mallinfo2 m = mallinfo2 ();
  return m.uordblks + m.hblkhd;
}

/* Resident memory, for the log only: untouched allocations do not show. */
guint64
rss_bytes ()
{
  gchar *status = nullptr;
  if (!g_file_get_contents ("/proc/self/status", &status, nullptr, nullptr))
    return 0;
  const gchar *line = strstr (status, "VmRSS:");
  guint64 kib = line ? g_ascii_strtoull (line + strlen ("VmRSS:"), nullptr, 10) : 0;
  g_free (status);
  return kib * 1024;
}

/* Memory now against a baseline; fails past kMaxGrowth. */
struct MemoryCheck {
  guint64 heap = malloc_in_use ();
  guint64 rss = rss_bytes ();

  void check (const char *what) const
  {
    gint64 heap_growth = static_cast<gint64> (malloc_in_use ()) - static_cast<gint64> (heap);
    gint64 rss_growth = static_cast<gint64> (rss_bytes ()) - static_cast<gint64> (rss);
    g_print ("%s: malloc'd %+.1f MiB, resident %+.1f MiB\n", what, heap_growth / double (kMiB),
        rss_growth / double (kMiB));
    fail_unless (heap_growth < static_cast<gint64> (kMaxGrowth),
        "%s: memory grew %.1f MiB (bound %" G_GUINT64_FORMAT " MiB)", what,
        heap_growth / double (kMiB), kMaxGrowth / kMiB);
  }
};

/* ------------------------------------------------------------------------
 * rtpsframedepay */

constexpr guint8 kS = 0x80, kE = 0x40;
constexpr gsize kRtpHeader = 12;
constexpr gsize kAllocated = 1500;            /* what a network source allocates per packet */
constexpr guint64 kDepayBound = 32 * kMiB;    /* one frame's block */

GstHarness *
depay_harness ()
{
  GstHarness *h = harness_new ("rtpsframedepay", "", nullptr);
  GstCaps *caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video",
      "clock-rate", G_TYPE_INT, 90000, "encoding-name", G_TYPE_STRING, "SFRAME",
      "payload", G_TYPE_INT, 96, "original-caps", G_TYPE_STRING, kVp8Caps, nullptr);
  gst_harness_set_src_caps (h, caps);
  return h;
}

/* An RTP packet with `body` bytes after the descriptor, in a buffer
 * allocated kAllocated bytes large (or just large enough). */
GstBuffer *
packet (guint16 seq, guint32 ts, guint8 descriptor, const guint8 * body, gsize len)
{
  gsize size = kRtpHeader + 1 + len;
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, MAX (size, kAllocated), nullptr);
  gst_buffer_resize (buf, 0, size);
  GstMapInfo map;
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  const guint8 header[] = {0x80, 96, static_cast<guint8> (seq >> 8), static_cast<guint8> (seq),
    static_cast<guint8> (ts >> 24), static_cast<guint8> (ts >> 16), static_cast<guint8> (ts >> 8),
    static_cast<guint8> (ts), 0, 0, 0x12, 0x34, descriptor};
  std::memcpy (map.data, header, sizeof header);
  if (len > 0)
    std::memcpy (map.data + sizeof header, body, len);
  gst_buffer_unmap (buf, &map);
  return buf;
}

void
push_packet (GstHarness * h, guint16 seq, guint32 ts, guint8 descriptor, const Bytes & body)
{
  fail_unless_equals_int (gst_harness_push (h, packet (seq, ts, descriptor, body.data (),
              body.size ())), GST_FLOW_OK);
}

struct DepayFlood {
  const char *name;
  gsize fragment;     /* bytes after the descriptor */
  guint frame_every;  /* packets between starts; 0: one start only */
  guint64 oversized, incomplete;
};

/* None ends. A frame is cut at 32768 packets or 32 MiB, whichever first:
 * 1,400-byte fragments reach 32 MiB at the 23,968th packet. */
const DepayFlood kDepayFloods[] = {
  {"one frame of 1-byte fragments", 1, 0, 1, 0},
  {"1-byte fragments, a new frame every 100000 packets", 1, 100000, 10, 0},
  {"1,400-byte fragments, a new frame every 30000 packets", 1400, 30000, 33, 0},
  {"a new frame in every packet", 1, 1, 0, kPackets - 1},
};

GST_START_TEST (test_depay_flood)
{
  const DepayFlood & f = kDepayFloods[__i__];
  GstHarness *h = depay_harness ();
  Rng rng (7);
  /* Settle what the first frame allocates once (caps, pools, GLib). */
  push_packet (h, 0, 0, kS | kE, random_bytes (rng, 100));
  gst_buffer_unref (gst_harness_pull (h));
  MemoryCheck memory;

  Bytes body (f.fragment, 0x5a);
  guint16 seq = 1;
  guint32 ts = 1;
  for (guint i = 0; i < kPackets; i++) {
    bool start = i == 0 || (f.frame_every > 0 && i % f.frame_every == 0);
    ts += start ? 3000 : 0;
    fail_unless_equals_int (gst_harness_push (h, packet (seq++, ts, start ? kS : 0, body.data (),
                body.size ())), GST_FLOW_OK);
  }
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  memory.check (f.name);
  g_print ("%s: %u packets, buffered-bytes-peak %" G_GUINT64_FORMAT "\n", f.name, kPackets,
      stat (h, "buffered-bytes-peak"));
  fail_unless (stat (h, "buffered-bytes-peak") <= kDepayBound);
  fail_unless (stat (h, "buffered-bytes") <= kDepayBound);
  fail_unless_equals_uint64 (stat (h, "oversized"), f.oversized);
  fail_unless_equals_uint64 (stat (h, "incomplete-dropped"), f.incomplete);
  fail_unless_equals_uint64 (stat (h, "packets"), kPackets + 1);

  /* A frame that completes still comes out whole, and the block is gone. */
  Bytes frame = random_bytes (rng, 3000);
  push_packet (h, seq, ts + 3000, kS, Bytes (frame.begin (), frame.begin () + 1000));
  push_packet (h, seq + 1, ts + 3000, 0, Bytes (frame.begin () + 1000, frame.begin () + 2000));
  push_packet (h, seq + 2, ts + 3000, kE, Bytes (frame.begin () + 2000, frame.end ()));
  GstBuffer *out = gst_harness_pull (h);
  fail_unless (to_bytes (out) == frame, "the completed frame differs");
  gst_buffer_unref (out);
  fail_unless_equals_uint64 (stat (h, "buffered-bytes"), 0);
  fail_unless_equals_uint64 (stat (h, "frames"), 2);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * sframedec's hold */

constexpr guint64 kHoldBound = 32 * kMiB;     /* hold-bytes' default */
constexpr guint64 kUnknownKeyId = 5;

struct HoldFlood {
  const char *name;
  gsize frame;       /* bytes */
  gsize allocated;   /* bytes of memory the frame's buffer keeps alive */
};

const HoldFlood kHoldFloods[] = {
  {"64-byte frames, each in 1 MiB of memory", 64, kMiB},
  {"1 MiB frames", kMiB, kMiB},
};

/* A frame under a key id that never comes, in `f.allocated` bytes. */
GstBuffer *
unknown_key_frame (const HoldFlood & f, guint64 counter, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (nullptr, f.allocated, nullptr);
  gst_buffer_resize (buf, 0, f.frame);
  GstMapInfo map;
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  sframe::encode_header ({kUnknownKeyId, counter}, map.data);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  return buf;
}

/* The most frames the hold keeps, by time: 10 s of frames 1 ms apart. */
GST_START_TEST (test_hold_flood)
{
  const HoldFlood & f = kHoldFloods[__i__];
  GstHarness *enc = harness_new ("sframeenc",
      std::string ("mode=frame key=") + kKeyHex1, kVp8Caps);
  GstHarness *dec = dec_harness_for (enc, "mode=frame hold-frames=1000 hold-time=10000");
  Rng rng (8);
  Bytes plain = random_bytes (rng, 500);
  Bytes cipher = must_transform (enc, plain);
  MemoryCheck memory;

  for (guint i = 0; i < kPackets; i++) {
    fail_unless_equals_int (gst_harness_push (dec, unknown_key_frame (f, i, i * GST_MSECOND)),
        GST_FLOW_OK);
  }
  fail_unless_equals_int (gst_harness_buffers_in_queue (dec), 0);
  memory.check (f.name);
  g_print ("%s: %u frames, held-bytes-peak %" G_GUINT64_FORMAT "\n", f.name, kPackets,
      stat (dec, "held-bytes-peak"));
  fail_unless (stat (dec, "held-bytes-peak") <= kHoldBound);
  fail_unless (stat (dec, "held-bytes") <= kHoldBound);
  fail_unless_equals_uint64 (stat (dec, "held"), kPackets);

  /* Frames under a key it has still come out whole; the hold empties. */
  guint64 key_id = 0;
  g_object_get (enc->element, "key-id", &key_id, nullptr);
  GstSFrameKeyStore *store = key_store (dec);
  add_key (store, key_id, kKeyHex1);
  gst_object_unref (store);
  Bytes out;
  fail_unless (transform (dec, cipher, &out, kPackets * GST_MSECOND));
  fail_unless (out == plain, "the decrypted frame differs");
  fail_unless_equals_uint64 (stat (dec, "held-bytes"), 0);
  fail_unless_equals_uint64 (stat (dec, "unknown-key"), kPackets);
  fail_unless_equals_uint64 (stat (dec, "frames"), 1);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

}  // namespace

static Suite *
flood_suite (void)
{
  /* meson sets MALLOC_PERTURB_, which fills every block on malloc and on
   * free: minutes of memset for a million 1 MiB frames, and no use here. */
  mallopt (M_PERTURB, 0);
  Suite *s = suite_create ("flood");
  TCase *tc = tcase_create ("flood");
  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 240);
  tcase_add_loop_test (tc, test_depay_flood, 0, G_N_ELEMENTS (kDepayFloods));
  tcase_add_loop_test (tc, test_hold_flood, 0, G_N_ELEMENTS (kHoldFloods));
  return s;
}

GST_CHECK_MAIN (flood);
