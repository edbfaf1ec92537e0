/* rtpsframepay / rtpsframedepay: the generic SFrame RTP payload format of
 * draft-ietf-avtcore-rtp-sframe-02 (docs/wire-format.md, "Frame mode over
 * RTP"). Harness tests check every packet's header and descriptor bits and
 * the exact reassembly of frames of many sizes at small MTUs, loss and
 * reordering (never a partial or mixed frame), and garbage; pipeline tests
 * run real encoders through sframeenc mode=frame ! rtpsframepay !
 * rtpsframedepay ! sframedec mode=frame, with an rtpjitterbuffer undoing
 * reordering, and once over UDP on 127.0.0.1. */
#include "sframe-check.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <functional>
#include <mutex>

using namespace check;

namespace {

constexpr guint8 kS = 0x80, kE = 0x40, kT = 0x20;
constexpr guint kRtpHeader = 12;

/* Caps of an SFrame stream as sframeenc mode=frame makes them. */
GstCaps *
sframe_caps (const char *original)
{
  return gst_caps_new_simple ("application/x-sframe", "original-caps", G_TYPE_STRING, original,
      nullptr);
}

GstHarness *
pay_harness (guint mtu, const char *original = kVp8Caps, const std::string & extra = "")
{
  GstElement *e = make_element ("rtpsframepay", "mtu=" + std::to_string (mtu) + " " + extra);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  GstCaps *caps = sframe_caps (original);
  gst_harness_set_src_caps (h, caps);
  return h;
}

/* A depayloader fed with the caps `pay` produced (or `caps`). */
GstHarness *
depay_harness (GstHarness * pay, const std::string & props = "", GstCaps * caps = nullptr)
{
  if (!caps) {
    caps = output_caps (pay);
    fail_unless (caps != nullptr, "payloader has no output caps");
  }
  GstElement *e = make_element ("rtpsframedepay", props);
  GstHarness *h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (h, caps);
  return h;
}

struct Packet {
  GstBuffer *buffer;  /* owned */
  guint16 seq;
  guint32 ts, ssrc;
  guint8 pt;
  bool marker;
  guint8 descriptor;
  Bytes body;         /* the payload after the descriptor */
};

void
free_packets (std::vector<Packet> & packets)
{
  for (auto & p : packets)
    gst_buffer_unref (p.buffer);
  packets.clear ();
}

Packet
parse_packet (GstBuffer * buffer)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  fail_unless (gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp), "not an RTP packet");
  Packet p {buffer, gst_rtp_buffer_get_seq (&rtp), gst_rtp_buffer_get_timestamp (&rtp),
    gst_rtp_buffer_get_ssrc (&rtp), gst_rtp_buffer_get_payload_type (&rtp),
    static_cast<bool> (gst_rtp_buffer_get_marker (&rtp)), 0, {}};
  guint len = gst_rtp_buffer_get_payload_len (&rtp);
  fail_unless (len >= 2, "packet without descriptor and data");
  auto data = static_cast<const guint8 *> (gst_rtp_buffer_get_payload (&rtp));
  p.descriptor = data[0];
  p.body.assign (data + 1, data + len);
  fail_unless_equals_int (gst_rtp_buffer_get_csrc_count (&rtp), 0);
  gst_rtp_buffer_unmap (&rtp);
  return p;
}

/* Pushes one frame and returns its packets. */
std::vector<Packet>
payload_frame (GstHarness * pay, const Bytes & frame, GstClockTime pts, guint flags = 0)
{
  GstBuffer *buf = to_buffer (frame);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_FLAG_SET (buf, flags);
  fail_unless_equals_int (gst_harness_push (pay, buf), GST_FLOW_OK);
  std::vector<Packet> packets;
  while (GstBuffer *out = gst_harness_try_pull (pay))
    packets.push_back (parse_packet (out));
  return packets;
}

/* The format rules for the packets of one frame: sizes within the MTU, S
 * only on the first, E only on the last, T and reserved bits 0, one
 * timestamp, consecutive sequence numbers, the marker as asked, and the
 * bodies concatenating to the frame. */
void
check_frame_packets (const std::vector<Packet> & packets, const Bytes & frame, guint mtu,
    bool marker_on_last)
{
  const size_t fragment = mtu - kRtpHeader - 1;
  const size_t expected = (frame.size () + fragment - 1) / fragment;
  fail_unless_equals_int (packets.size (), expected);
  Bytes joined;
  for (size_t i = 0; i < packets.size (); i++) {
    const Packet & p = packets[i];
    bool last = i + 1 == packets.size ();
    fail_unless (gst_buffer_get_size (p.buffer) <= mtu, "packet %zu exceeds the MTU", i);
    fail_unless (last || p.body.size () == fragment, "packet %zu not filled to the MTU", i);
    fail_unless_equals_int (p.descriptor, (i == 0 ? kS : 0) | (last ? kE : 0));
    fail_unless_equals_int (p.marker, last && marker_on_last);
    fail_unless_equals_int (p.ts, packets[0].ts);
    fail_unless_equals_int (p.seq, static_cast<guint16> (packets[0].seq + i));
    joined.insert (joined.end (), p.body.begin (), p.body.end ());
  }
  fail_unless (joined == frame, "packet bodies do not make up the frame");
}

/* Pushes packets (refs) into the depayloader; returns what came out. */
std::vector<Bytes>
depay_packets (GstHarness * depay, const std::vector<GstBuffer *> & packets)
{
  std::vector<Bytes> frames;
  for (GstBuffer *p : packets) {
    fail_unless_equals_int (gst_harness_push (depay, gst_buffer_ref (p)), GST_FLOW_OK);
    while (GstBuffer *out = gst_harness_try_pull (depay)) {
      frames.push_back (to_bytes (out));
      gst_buffer_unref (out);
    }
  }
  return frames;
}

std::vector<GstBuffer *>
buffers_of (const std::vector<std::vector<Packet>> & frames)
{
  std::vector<GstBuffer *> out;
  for (const auto & f : frames)
    for (const auto & p : f)
      out.push_back (p.buffer);
  return out;
}

/* A hand-made RTP packet: `payload` is everything after the RTP header. */
GstBuffer *
rtp_packet (guint16 seq, guint32 ts, const Bytes & payload, guint8 pt = 96, guint32 ssrc = 0x1234)
{
  GstBuffer *buf = gst_rtp_buffer_new_allocate (payload.size (), 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  fail_unless (gst_rtp_buffer_map (buf, GST_MAP_WRITE, &rtp));
  gst_rtp_buffer_set_seq (&rtp, seq);
  gst_rtp_buffer_set_timestamp (&rtp, ts);
  gst_rtp_buffer_set_payload_type (&rtp, pt);
  gst_rtp_buffer_set_ssrc (&rtp, ssrc);
  if (!payload.empty ())
    memcpy (gst_rtp_buffer_get_payload (&rtp), payload.data (), payload.size ());
  gst_rtp_buffer_unmap (&rtp);
  return buf;
}

GstCaps *
rtp_caps (const char *media = "video", int clock_rate = 90000)
{
  return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, media,
      "clock-rate", G_TYPE_INT, clock_rate, "encoding-name", G_TYPE_STRING, "SFRAME",
      "payload", G_TYPE_INT, 96, nullptr);
}

struct DepayStats {
  guint64 frames, packets, incomplete, malformed;
};

DepayStats
depay_stats (GstHarness * h)
{
  return {stat (h, "frames"), stat (h, "packets"), stat (h, "incomplete-dropped"), stat (h, "malformed")};
}

const size_t kSizes[] = {1, 2, 14, 15, 16, 186, 187, 188, 374, 375, 1000, 1387, 4096, 65536, 200000};
const guint kMtus[] = {28, 200, 1400};

}  // namespace

/* ------------------------------------------------------------------------
 * Packetization */

/* Every size at every MTU: exact packets, exact reassembly. */
GST_START_TEST (test_fragment_and_reassemble)
{
  const guint mtu = kMtus[__i__];
  Rng rng (10 + mtu);
  GstHarness *pay = pay_harness (mtu);
  std::vector<Bytes> frames;
  std::vector<std::vector<Packet>> packets;
  size_t total_packets = 0;
  for (size_t i = 0; i < G_N_ELEMENTS (kSizes); i++) {
    frames.push_back (random_bytes (rng, kSizes[i]));
    packets.push_back (payload_frame (pay, frames.back (), i * 33 * GST_MSECOND));
    check_frame_packets (packets.back (), frames.back (), mtu, true);
    total_packets += packets.back ().size ();
    if (i > 0) {
      fail_unless (packets[i][0].ts != packets[i - 1][0].ts, "frames share a timestamp");
      fail_unless_equals_int (packets[i][0].seq, static_cast<guint16> (packets[i - 1].back ().seq + 1));
    }
  }
  fail_unless_equals_uint64 (stat (pay, "frames"), frames.size ());
  fail_unless_equals_uint64 (stat (pay, "packets"), total_packets);

  GstHarness *depay = depay_harness (pay);
  std::vector<Bytes> out = depay_packets (depay, buffers_of (packets));
  fail_unless_equals_int (out.size (), frames.size ());
  for (size_t i = 0; i < frames.size (); i++)
    fail_unless (out[i] == frames[i], "frame %zu (%zu bytes) differs", i, frames[i].size ());
  DepayStats s = depay_stats (depay);
  fail_unless_equals_uint64 (s.frames, frames.size ());
  fail_unless_equals_uint64 (s.packets, total_packets);
  fail_unless_equals_uint64 (s.incomplete, 0);
  fail_unless_equals_uint64 (s.malformed, 0);

  for (auto & p : packets)
    free_packets (p);
  gst_harness_teardown (depay);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* The RTP caps: media and clock rate from the original caps, which travel
 * (SDP-safe) to the depayloader and come out for sframedec. */
GST_START_TEST (test_caps)
{
  struct Case {
    const char *original;
    const char *media;
    int clock_rate;
  } cases[] = {
    {kVp8Caps, "video", 90000},
    {kH264Caps, "video", 90000},
    {"audio/x-opus, rate=(int)16000, channels=(int)1", "audio", 48000},
    {"audio/x-raw, format=(string)S16LE, rate=(int)44100, channels=(int)2, layout=(string)interleaved", "audio", 44100},
    {kOpaqueCaps, "application", 90000},
    /* ';', '%' and a line break would break an SDP fmtp line. */
    {"application/x-test, label=(string)\"a;b %3B\\nc\"", "application", 90000},
  };
  for (const Case & c : cases) {
    GstHarness *pay = pay_harness (1400, c.original);
    Rng rng (1);
    std::vector<Packet> packets = payload_frame (pay, random_bytes (rng, 100), 0);
    GstCaps *caps = output_caps (pay);
    GstStructure *s = gst_caps_get_structure (caps, 0);
    fail_unless_equals_string (gst_structure_get_name (s), "application/x-rtp");
    fail_unless_equals_string (gst_structure_get_string (s, "media"), c.media);
    fail_unless_equals_string (gst_structure_get_string (s, "encoding-name"), "SFRAME");
    gint rate = 0, pt = 0;
    fail_unless (gst_structure_get_int (s, "clock-rate", &rate));
    fail_unless_equals_int (rate, c.clock_rate);
    fail_unless (gst_structure_get_int (s, "payload", &pt) && pt >= 96 && pt <= 127);
    const gchar *carried = gst_structure_get_string (s, "original-caps");
    fail_unless (carried != nullptr);
    fail_if (strchr (carried, ';') || strchr (carried, '\n') || strchr (carried, '\r'),
        "original-caps not SDP-safe: %s", carried);

    GstHarness *depay = depay_harness (pay);
    std::vector<GstBuffer *> bufs;
    for (auto & p : packets)
      bufs.push_back (p.buffer);
    fail_unless_equals_int (depay_packets (depay, bufs).size (), 1);
    GstCaps *out = output_caps (depay);
    GstStructure *os = gst_caps_get_structure (out, 0);
    fail_unless_equals_string (gst_structure_get_name (os), "application/x-sframe");
    GstCaps *restored = gst_caps_from_string (gst_structure_get_string (os, "original-caps"));
    GstCaps *expected = gst_caps_from_string (c.original);
    fail_unless (restored && gst_caps_is_equal (restored, expected), "caps not restored: %s",
        gst_structure_get_string (os, "original-caps"));
    gst_caps_unref (restored);
    gst_caps_unref (expected);
    gst_caps_unref (out);
    gst_caps_unref (caps);
    free_packets (packets);
    gst_harness_teardown (depay);
    gst_harness_teardown (pay);
  }
}
GST_END_TEST;

/* media-caps stands in for RTP caps without original-caps and wins over
 * them. */
GST_START_TEST (test_media_caps_property)
{
  GstHarness *pay = pay_harness (1400, kOpusCaps);
  Rng rng (2);
  std::vector<Packet> packets = payload_frame (pay, random_bytes (rng, 50), 0);

  /* Bare RTP caps (as udpsrc caps=... would give) plus media-caps. */
  GstElement *e = make_element ("rtpsframedepay", "");
  GstCaps *media = gst_caps_from_string (kVp8Caps);
  g_object_set (e, "media-caps", media, nullptr);
  GstHarness *depay = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (depay, rtp_caps ("audio", 48000));
  fail_unless_equals_int (depay_packets (depay, {packets[0].buffer}).size (), 1);
  GstCaps *out = output_caps (depay);
  GstCaps *restored = gst_caps_from_string (gst_structure_get_string (gst_caps_get_structure (out, 0),
          "original-caps"));
  fail_unless (gst_caps_is_equal (restored, media));
  gst_caps_unref (restored);
  gst_caps_unref (out);
  gst_harness_teardown (depay);

  /* media-caps over the payloader's original-caps. */
  e = make_element ("rtpsframedepay", "");
  g_object_set (e, "media-caps", media, nullptr);
  depay = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps (depay, output_caps (pay));
  fail_unless_equals_int (depay_packets (depay, {packets[0].buffer}).size (), 1);
  out = output_caps (depay);
  restored = gst_caps_from_string (gst_structure_get_string (gst_caps_get_structure (out, 0),
          "original-caps"));
  fail_unless (gst_caps_is_equal (restored, media));
  gst_caps_unref (restored);
  gst_caps_unref (out);
  gst_caps_unref (media);
  gst_harness_teardown (depay);
  free_packets (packets);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* Audio: the marker flags a talkspurt start (the first frame, or a frame
 * flagged RESYNC / DISCONT), not every frame; S/E are the same as video. */
GST_START_TEST (test_audio_marker)
{
  GstHarness *pay = pay_harness (200, kOpusCaps);
  Rng rng (3);
  for (int i = 0; i < 8; i++) {
    Bytes frame = random_bytes (rng, 100 + i * 150);
    guint flags = i == 5 ? GST_BUFFER_FLAG_RESYNC : 0;
    std::vector<Packet> packets = payload_frame (pay, frame, i * 20 * GST_MSECOND, flags);
    check_frame_packets (packets, frame, 200, i == 0 || i == 5);
    free_packets (packets);
  }
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* A frame too small for anything to send, and an MTU too small to carry. */
GST_START_TEST (test_pay_empty_frame)
{
  GstHarness *pay = pay_harness (200);
  std::vector<Packet> packets = payload_frame (pay, {}, 0);
  fail_unless_equals_int (packets.size (), 0);
  fail_unless_equals_uint64 (stat (pay, "dropped"), 1);
  fail_unless_equals_uint64 (stat (pay, "frames"), 0);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Loss and reordering */

/* Four frames of 3, 7, 3 and 1 packets; each packet of the 7-packet frame
 * is lost in turn. Exactly that frame goes, the others come out whole;
 * sequence numbers wrap around in the middle. */
GST_START_TEST (test_loss_of_each_packet)
{
  const size_t kLost = __i__;
  Rng rng (20);
  GstHarness *pay = pay_harness (200, kVp8Caps, "seqnum-offset=65530");
  const size_t fragment = 200 - kRtpHeader - 1;
  std::vector<Bytes> frames = {random_bytes (rng, 3 * fragment - 5), random_bytes (rng, 7 * fragment),
    random_bytes (rng, 2 * fragment + 1), random_bytes (rng, 10)};
  std::vector<std::vector<Packet>> packets;
  for (size_t i = 0; i < frames.size (); i++)
    packets.push_back (payload_frame (pay, frames[i], i * 33 * GST_MSECOND));
  fail_unless_equals_int (packets[1].size (), 7);

  std::vector<GstBuffer *> sent;
  for (size_t f = 0; f < packets.size (); f++)
    for (size_t i = 0; i < packets[f].size (); i++)
      if (!(f == 1 && i == kLost))
        sent.push_back (packets[f][i].buffer);
  GstHarness *depay = depay_harness (pay);
  std::vector<Bytes> out = depay_packets (depay, sent);
  fail_unless_equals_int (out.size (), 3);
  fail_unless (out[0] == frames[0]);
  fail_unless (out[1] == frames[2]);
  fail_unless (out[2] == frames[3]);
  DepayStats s = depay_stats (depay);
  fail_unless_equals_uint64 (s.frames, 3);
  fail_unless_equals_uint64 (s.packets, sent.size ());
  fail_unless_equals_uint64 (s.incomplete, 1);
  fail_unless_equals_uint64 (s.malformed, 0);

  for (auto & p : packets)
    free_packets (p);
  gst_harness_teardown (depay);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* Losing the last packet of one frame and the first of the next: two
 * frames go (counted as two), the rest come out. */
GST_START_TEST (test_loss_across_frames)
{
  Rng rng (21);
  GstHarness *pay = pay_harness (100);
  std::vector<Bytes> frames;
  std::vector<std::vector<Packet>> packets;
  for (int i = 0; i < 4; i++) {
    frames.push_back (random_bytes (rng, 250));
    packets.push_back (payload_frame (pay, frames.back (), i * 33 * GST_MSECOND));
  }
  std::vector<GstBuffer *> sent;
  for (size_t f = 0; f < packets.size (); f++)
    for (size_t i = 0; i < packets[f].size (); i++)
      if (!(f == 1 && i + 1 == packets[f].size ()) && !(f == 2 && i == 0))
        sent.push_back (packets[f][i].buffer);
  GstHarness *depay = depay_harness (pay);
  std::vector<Bytes> out = depay_packets (depay, sent);
  fail_unless_equals_int (out.size (), 2);
  fail_unless (out[0] == frames[0] && out[1] == frames[3]);
  fail_unless_equals_uint64 (stat (depay, "incomplete-dropped"), 2);
  for (auto & p : packets)
    free_packets (p);
  gst_harness_teardown (depay);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* Without a jitterbuffer, packets permuted within random windows (and
 * sometimes duplicated) must give only byte-identical frames, in order,
 * each at most once; the rest are dropped and counted. */
GST_START_TEST (test_reorder_without_jitterbuffer)
{
  Rng rng (30 + __i__);
  GstHarness *pay = pay_harness (120);
  std::vector<Bytes> frames;
  std::vector<std::vector<Packet>> packets;
  for (int i = 0; i < 40; i++) {
    /* Equal sizes make a wrongly glued frame as long as a right one. */
    frames.push_back (random_bytes (rng, i % 3 == 0 ? 321 : 1 + rng () % 900));
    packets.push_back (payload_frame (pay, frames.back (), i * 33 * GST_MSECOND));
  }
  std::vector<GstBuffer *> sent = buffers_of (packets);
  for (size_t i = 0; i < sent.size (); ) {
    size_t window = 2 + rng () % 5;
    size_t end = std::min (sent.size (), i + window);
    if (rng () % 2)
      std::shuffle (sent.begin () + i, sent.begin () + end, rng);
    i = end;
  }
  for (int d = 0; d < 5; d++) {
    size_t at = rng () % sent.size ();
    sent.insert (sent.begin () + at + 1, sent[at]);
  }
  GstHarness *depay = depay_harness (pay);
  std::vector<Bytes> out = depay_packets (depay, sent);
  size_t next = 0;
  for (size_t k = 0; k < out.size (); k++) {
    while (next < frames.size () && frames[next] != out[k])
      next++;
    fail_unless (next < frames.size (), "output %zu (%zu bytes) is no frame or out of order", k,
        out[k].size ());
    next++;
  }
  DepayStats s = depay_stats (depay);
  fail_unless_equals_uint64 (s.frames, out.size ());
  fail_unless (out.size () < frames.size (), "shuffling lost nothing?");
  fail_unless (s.incomplete > 0);
  fail_unless_equals_uint64 (s.malformed, 0);
  g_print ("reorder seed %d: %zu of %zu frames out, %" G_GUINT64_FORMAT " dropped\n", __i__,
      out.size (), frames.size (), s.incomplete);
  for (auto & p : packets)
    free_packets (p);
  gst_harness_teardown (depay);
  gst_harness_teardown (pay);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Garbage */

/* Each bad packet is counted and gives nothing; the valid frame after it
 * still comes out. */
GST_START_TEST (test_garbage_packets)
{
  struct Case {
    Bytes payload;
    const char *counter;  /* what it must bump */
  } cases[] = {
    {{}, "malformed"},                         /* no descriptor */
    {{kS | kE}, "malformed"},                  /* an empty frame */
    {{kS | kE | kT, 1, 2, 3}, "malformed"},    /* per-packet SFrame: unsupported */
    {{kT, 1, 2, 3}, "malformed"},
    {{0x00, 1, 2, 3}, "incomplete-dropped"},   /* a middle without a start */
    {{kE, 1, 2, 3}, "incomplete-dropped"},     /* an end without a start */
  };
  GstHarness *depay = depay_harness (nullptr, "", rtp_caps ());
  guint16 seq = 100;
  guint32 ts = 1000;
  Bytes good = {kS | kE, 0xaa, 0xbb};
  for (const Case & c : cases) {
    guint64 before = stat (depay, c.counter);
    DepayStats b = depay_stats (depay);
    GstBuffer *bad = rtp_packet (seq++, ts, c.payload);
    fail_unless_equals_int (depay_packets (depay, {bad}).size (), 0);
    gst_buffer_unref (bad);
    fail_unless_equals_uint64 (stat (depay, c.counter), before + 1);
    DepayStats a = depay_stats (depay);
    fail_unless_equals_uint64 (a.incomplete + a.malformed, b.incomplete + b.malformed + 1);
    ts += 3000;
    GstBuffer *ok = rtp_packet (seq++, ts, good);
    std::vector<Bytes> out = depay_packets (depay, {ok});
    gst_buffer_unref (ok);
    fail_unless_equals_int (out.size (), 1);
    fail_unless (out[0] == Bytes ({0xaa, 0xbb}));
    ts += 3000;
  }
  /* Reserved bits are for future use: ignored, the frame is kept. */
  GstBuffer *reserved = rtp_packet (seq++, ts, {kS | kE | 0x1f, 0x42});
  std::vector<Bytes> out = depay_packets (depay, {reserved});
  gst_buffer_unref (reserved);
  fail_unless (out.size () == 1 && out[0] == Bytes ({0x42}));
  gst_harness_teardown (depay);
}
GST_END_TEST;

/* A start before the previous end, a timestamp or payload type change
 * inside a frame: the open frame is dropped, never glued. */
GST_START_TEST (test_broken_runs)
{
  GstHarness *depay = depay_harness (nullptr, "", rtp_caps ());
  struct P {
    guint16 seq;
    guint32 ts;
    guint8 pt;
    Bytes payload;
  } run[] = {
    {1, 100, 96, {kS, 1}}, {2, 100, 96, {0, 2}},          /* no end: */
    {3, 200, 96, {kS, 3}}, {4, 200, 96, {kE, 4}},          /* -> [3 4] */
    {5, 300, 96, {kS, 5}}, {6, 301, 96, {kE, 6}},          /* timestamp changes: dropped twice */
    {7, 400, 96, {kS, 7}}, {8, 400, 97, {kE, 8}},          /* payload type changes */
    {9, 500, 96, {kS, 9}}, {10, 500, 96, {0x00}}, {11, 500, 96, {kE, 10}},  /* empty middle: [9 10] */
  };
  std::vector<GstBuffer *> bufs;
  for (const P & p : run)
    bufs.push_back (rtp_packet (p.seq, p.ts, p.payload, p.pt));
  std::vector<Bytes> out = depay_packets (depay, bufs);
  for (GstBuffer *b : bufs)
    gst_buffer_unref (b);
  fail_unless_equals_int (out.size (), 2);
  fail_unless (out[0] == Bytes ({3, 4}));
  fail_unless (out[1] == Bytes ({9, 10}));
  DepayStats s = depay_stats (depay);
  /* frame 100; 300 and the orphan end of 301; 400 and the orphan of pt 97 */
  fail_unless_equals_uint64 (s.incomplete, 5);
  fail_unless_equals_uint64 (s.malformed, 0);
  fail_unless_equals_uint64 (s.packets, G_N_ELEMENTS (run));
  gst_harness_teardown (depay);
}
GST_END_TEST;

/* A run above the 32 MiB frame limit is dropped as oversized (its
 * remaining packets are not counted again); the next frame comes out. */
GST_START_TEST (test_oversized_frame)
{
  GstHarness *depay = depay_harness (nullptr, "", rtp_caps ());
  const size_t piece = 60000;
  const size_t pieces = 32 * 1024 * 1024 / piece + 10;
  Bytes body (piece + 1, 0x55);
  guint16 seq = 0;
  for (size_t i = 0; i < pieces; i++) {
    body[0] = i == 0 ? kS : i + 1 == pieces ? kE : 0;
    GstBuffer *p = rtp_packet (seq++, 7, body);
    fail_unless_equals_int (depay_packets (depay, {p}).size (), 0);
    gst_buffer_unref (p);
  }
  GstBuffer *ok = rtp_packet (seq++, 8, {kS | kE, 1});
  std::vector<Bytes> out = depay_packets (depay, {ok});
  gst_buffer_unref (ok);
  fail_unless (out.size () == 1 && out[0] == Bytes ({1}));
  DepayStats s = depay_stats (depay);
  fail_unless_equals_uint64 (stat (depay, "oversized"), 1);
  fail_unless_equals_uint64 (s.malformed, 0);
  fail_unless_equals_uint64 (s.incomplete, 0);
  fail_unless_equals_uint64 (s.frames, 1);
  fail_unless_equals_uint64 (stat (depay, "buffered-bytes-peak"), 32 * 1024 * 1024);
  fail_unless_equals_uint64 (stat (depay, "buffered-bytes"), 0);
  gst_harness_teardown (depay);
}
GST_END_TEST;

/* Random bytes as RTP packets (valid headers, random payloads) and as
 * non-RTP buffers: no crash, every packet counted, outputs only from
 * complete runs. */
GST_START_TEST (test_random_garbage)
{
  Rng rng (40);
  GstHarness *depay = depay_harness (nullptr, "", rtp_caps ());
  guint64 packets = 0;
  for (int i = 0; i < 3000; i++) {
    Bytes payload = random_bytes (rng, rng () % 40);
    GstBuffer *buf = rtp_packet (static_cast<guint16> (i), 1000 + (rng () % 4) * 3000, payload);
    depay_packets (depay, {buf});
    gst_buffer_unref (buf);
    packets++;
    if (i % 100 == 0) {
      GstBuffer *junk = to_buffer (random_bytes (rng, rng () % 12));
      depay_packets (depay, {junk});
      gst_buffer_unref (junk);
    }
  }
  DepayStats s = depay_stats (depay);
  fail_unless_equals_uint64 (s.packets, packets);
  fail_unless (s.malformed > 0 && s.incomplete > 0 && s.frames > 0);
  gst_harness_teardown (depay);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Pipelines */

namespace {

struct Tap {
  std::mutex lock;
  std::vector<Bytes> buffers;
  GstCaps *caps = nullptr;

  ~Tap () { gst_clear_caps (&caps); }
  size_t count ()
  {
    std::lock_guard<std::mutex> l (lock);
    return buffers.size ();
  }
};

GstPadProbeReturn
tap_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  std::lock_guard<std::mutex> lock (tap->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    tap->buffers.push_back (to_bytes (GST_PAD_PROBE_INFO_BUFFER (info)));
  } else if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      tap->buffers.push_back (to_bytes (gst_buffer_list_get (list, i)));
  } else {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      gst_event_parse_caps (event, &caps);
      gst_caps_replace (&tap->caps, caps);
    }
  }
  return GST_PAD_PROBE_OK;
}

void
add_tap (GstElement * pipeline, const char *element, const char *pad_name, Tap * tap)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  fail_unless (e != nullptr, "no element %s", element);
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  fail_unless (pad != nullptr);
  gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
          GST_PAD_PROBE_TYPE_BUFFER_LIST | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), tap_probe, tap,
      nullptr);
  gst_object_unref (pad);
  gst_object_unref (e);
}

GstElement *
launch (const std::string & line)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (line.c_str (), &error);
  fail_unless (pipeline != nullptr, "cannot parse '%s': %s", line.c_str (), error ? error->message : "?");
  return pipeline;
}

/* Waits for EOS (or for `done` to hold, polled); fails on an error or
 * after a minute. */
void
run (GstElement * pipeline, const std::function<bool ()> & done = nullptr)
{
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 50 * GST_MSECOND,
        (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg) {
      if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
        GError *err = nullptr;
        gchar *dbg = nullptr;
        gst_message_parse_error (msg, &err, &dbg);
        fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message,
            dbg ? dbg : "");
      }
      gst_message_unref (msg);
      break;
    }
    if (done && done ())
      break;
    fail_unless (g_get_monotonic_time () < deadline, "pipeline did not finish within a minute");
  }
  gst_object_unref (bus);
}

const std::string kKey = std::string (" key=") + kKeyHex1;
const char *kVideo = "videotestsrc num-buffers=45 ! video/x-raw,width=320,height=240,framerate=30/1 ! ";

/* What the media encoder produced reaches sframedec's output byte for byte,
 * every frame is decoded, and the media caps are restored. The line names
 * menc, se (sframeenc), pay, depay, sd (sframedec), mdec. */
void
check_media_pipeline (const std::string & line)
{
  GstElement *pipeline = launch (line);
  Tap encoded, decrypted, decoded;
  add_tap (pipeline, "se", "sink", &encoded);
  add_tap (pipeline, "sd", "src", &decrypted);
  add_tap (pipeline, "mdec", "src", &decoded);
  run (pipeline);

  size_t n = encoded.buffers.size ();
  fail_unless (n > 0, "the encoder produced nothing");
  fail_unless_equals_int (decrypted.buffers.size (), n);
  for (size_t i = 0; i < n; i++)
    fail_unless (decrypted.buffers[i] == encoded.buffers[i], "frame %zu differs", i);
  fail_unless_equals_int (decoded.buffers.size (), n);
  fail_unless (encoded.caps && decrypted.caps && gst_caps_is_equal (encoded.caps, decrypted.caps),
      "media caps not restored");
  fail_unless_equals_uint64 (element_stat (pipeline, "pay", "frames"), n);
  fail_unless_equals_uint64 (element_stat (pipeline, "depay", "frames"), n);
  fail_unless_equals_uint64 (element_stat (pipeline, "depay", "packets"),
      element_stat (pipeline, "pay", "packets"));
  fail_unless_equals_uint64 (element_stat (pipeline, "depay", "incomplete-dropped"), 0);
  fail_unless_equals_uint64 (element_stat (pipeline, "depay", "malformed"), 0);
  fail_unless_equals_uint64 (element_stat (pipeline, "sd", "dropped"), 0);
  g_print ("%zu frames in %" G_GUINT64_FORMAT " packets, all decoded\n", n,
      element_stat (pipeline, "pay", "packets"));
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

std::string
rtp_middle (guint mtu)
{
  return " ! sframeenc name=se mode=frame" + kKey + " ! rtpsframepay name=pay mtu=" +
      std::to_string (mtu) + " ! rtpsframedepay name=depay ! sframedec name=sd mode=frame" + kKey + " ! ";
}

}  // namespace

GST_START_TEST (test_pipeline_vp8)
{
  if (!have_elements ({"videotestsrc", "vp8enc", "vp8dec"}))
    return;
  check_media_pipeline (std::string (kVideo) + "vp8enc name=menc deadline=1 keyframe-max-dist=15" +
      rtp_middle (300) + "vp8dec name=mdec ! fakesink sync=false");
}
GST_END_TEST;

GST_START_TEST (test_pipeline_opus)
{
  if (!have_elements ({"audiotestsrc", "opusenc", "opusdec"}))
    return;
  check_media_pipeline ("audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000,channels=2 ! "
      "opusenc name=menc" + rtp_middle (100) + "opusdec name=mdec ! fakesink sync=false");
}
GST_END_TEST;

GST_START_TEST (test_pipeline_h264)
{
  if (!have_elements ({"videotestsrc", "x264enc", "avdec_h264"}))
    return;
  check_media_pipeline (std::string (kVideo) +
      "x264enc name=menc tune=zerolatency speed-preset=ultrafast key-int-max=15"
      " ! video/x-h264,stream-format=byte-stream,alignment=au" + rtp_middle (1200) +
      "avdec_h264 name=mdec ! fakesink sync=false");
}
GST_END_TEST;

/* Packets captured from a sender, permuted within small windows, then
 * replayed through rtpjitterbuffer: every frame comes out whole. */
GST_START_TEST (test_pipeline_jitterbuffer_reorder)
{
  if (!have_elements ({"videotestsrc", "vp8enc", "vp8dec", "rtpjitterbuffer", "appsrc"}))
    return;
  GstElement *sender = launch (std::string (kVideo) + "vp8enc deadline=1 keyframe-max-dist=15 ! "
      "sframeenc name=se mode=frame" + kKey + " ! rtpsframepay name=pay mtu=250 ! fakesink name=out sync=false");
  Tap encoded, rtp;
  add_tap (sender, "se", "sink", &encoded);
  add_tap (sender, "out", "sink", &rtp);
  run (sender);
  gst_element_set_state (sender, GST_STATE_NULL);
  gst_object_unref (sender);
  fail_unless (encoded.buffers.size () > 0 && rtp.caps);

  std::vector<Bytes> packets = rtp.buffers;
  Rng rng (50);
  size_t moved = 0;
  /* The first window stays: a jitterbuffer starts from the first packet it
   * sees and rightly drops anything older. */
  for (size_t i = 4; i + 1 < packets.size (); i += 4) {
    size_t end = std::min (packets.size (), i + 4);
    std::vector<Bytes> before (packets.begin () + i, packets.begin () + end);
    std::shuffle (packets.begin () + i, packets.begin () + end, rng);
    moved += !std::equal (before.begin (), before.end (), packets.begin () + i);
  }
  fail_unless (moved > 0);

  GstElement *receiver = launch ("appsrc name=in is-live=true do-timestamp=true format=time ! "
      "rtpjitterbuffer latency=500 ! rtpsframedepay name=depay ! sframedec name=sd mode=frame" + kKey +
      " ! vp8dec name=mdec ! fakesink sync=false");
  GstElement *src = gst_bin_get_by_name (GST_BIN (receiver), "in");
  g_object_set (src, "caps", rtp.caps, nullptr);
  Tap decrypted, decoded;
  add_tap (receiver, "sd", "src", &decrypted);
  add_tap (receiver, "mdec", "src", &decoded);
  fail_unless (gst_element_set_state (receiver, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  for (const Bytes & p : packets) {
    GstFlowReturn ret;
    g_signal_emit_by_name (src, "push-buffer", to_buffer (p), &ret);
    fail_unless_equals_int (ret, GST_FLOW_OK);
  }
  GstFlowReturn ret;
  g_signal_emit_by_name (src, "end-of-stream", &ret);
  gst_object_unref (src);
  run (receiver);

  size_t n = encoded.buffers.size ();
  fail_unless_equals_int (decrypted.buffers.size (), n);
  for (size_t i = 0; i < n; i++)
    fail_unless (decrypted.buffers[i] == encoded.buffers[i], "frame %zu differs", i);
  fail_unless_equals_int (decoded.buffers.size (), n);
  fail_unless_equals_uint64 (element_stat (receiver, "depay", "incomplete-dropped"), 0);
  g_print ("%zu packets, %zu windows reordered, %zu frames whole\n", packets.size (), moved, n);
  gst_element_set_state (receiver, GST_STATE_NULL);
  gst_object_unref (receiver);
}
GST_END_TEST;

/* Over UDP on 127.0.0.1: the receiver's udpsrc binds a free port, its RTP caps are
 * written by hand (no original-caps) and media-caps names the codec. */
GST_START_TEST (test_pipeline_udp)
{
  if (!have_elements ({"videotestsrc", "vp8enc", "vp8dec", "udpsrc", "udpsink", "rtpjitterbuffer"}))
    return;
  GstElement *receiver = launch ("udpsrc name=in address=127.0.0.1 port=0 caps=\"application/x-rtp,media=video,"
      "clock-rate=90000,encoding-name=SFRAME,payload=96\" ! rtpjitterbuffer latency=100 ! "
      "rtpsframedepay name=depay media-caps=video/x-vp8 ! sframedec name=sd mode=frame" + kKey +
      " ! vp8dec name=mdec ! fakesink sync=false");
  Tap decrypted, decoded;
  add_tap (receiver, "sd", "src", &decrypted);
  add_tap (receiver, "mdec", "src", &decoded);
  fail_unless (gst_element_set_state (receiver, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  /* udpsrc bound port 0 on opening and reports the port it got. */
  GstElement *src = gst_bin_get_by_name (GST_BIN (receiver), "in");
  gint port = 0;
  g_object_get (src, "port", &port, nullptr);
  gst_object_unref (src);
  fail_unless (port > 0, "udpsrc did not report its port");

  /* Paced at the frame rate (is-live) so the socket buffer never overflows. */
  GstElement *sender = launch ("videotestsrc is-live=true num-buffers=30 ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! vp8enc deadline=1 ! "
      "sframeenc name=se mode=frame" + kKey + " ! rtpsframepay name=pay mtu=1200 ! "
      "udpsink host=127.0.0.1 port=" + std::to_string (port));
  Tap encoded;
  add_tap (sender, "se", "sink", &encoded);
  run (sender);
  size_t n = encoded.count ();
  fail_unless (n > 0);
  /* UDP carries no EOS: wait until every frame is decoded. */
  run (receiver, [&] { return decoded.count () >= n; });

  fail_unless_equals_int (decoded.count (), n);
  fail_unless_equals_int (decrypted.buffers.size (), n);
  for (size_t i = 0; i < n; i++)
    fail_unless (decrypted.buffers[i] == encoded.buffers[i], "frame %zu differs", i);
  GstCaps *vp8 = gst_caps_from_string ("video/x-vp8");
  fail_unless (decrypted.caps && gst_caps_is_equal (decrypted.caps, vp8));
  gst_caps_unref (vp8);
  g_print ("%zu frames over UDP port %d\n", n, port);
  gst_element_set_state (sender, GST_STATE_NULL);
  gst_element_set_state (receiver, GST_STATE_NULL);
  gst_object_unref (sender);
  gst_object_unref (receiver);
}
GST_END_TEST;

static Suite *
rtpsframe_suite (void)
{
  Suite *s = suite_create ("rtpsframe");
  TCase *tc = tcase_create ("format");
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_fragment_and_reassemble, 0, G_N_ELEMENTS (kMtus));
  tcase_add_test (tc, test_caps);
  tcase_add_test (tc, test_media_caps_property);
  tcase_add_test (tc, test_audio_marker);
  tcase_add_test (tc, test_pay_empty_frame);
  tcase_add_loop_test (tc, test_loss_of_each_packet, 0, 7);
  tcase_add_test (tc, test_loss_across_frames);
  tcase_add_loop_test (tc, test_reorder_without_jitterbuffer, 0, 10);
  tcase_add_test (tc, test_garbage_packets);
  tcase_add_test (tc, test_broken_runs);
  tcase_add_test (tc, test_oversized_frame);
  tcase_add_test (tc, test_random_garbage);

  TCase *tp = tcase_create ("pipelines");
  suite_add_tcase (s, tp);
  tcase_set_timeout (tp, 120);
  tcase_add_test (tp, test_pipeline_vp8);
  tcase_add_test (tp, test_pipeline_opus);
  tcase_add_test (tp, test_pipeline_h264);
  tcase_add_test (tp, test_pipeline_jitterbuffer_reorder);
  tcase_add_test (tp, test_pipeline_udp);
  return s;
}

GST_CHECK_MAIN (rtpsframe);
