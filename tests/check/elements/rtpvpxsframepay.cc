/* rtpvp8sframepay and rtpvp9sframepay: the exact payload descriptors (RFC
 * 7741, RFC 9628) for key and delta frames and for first, middle and last
 * packets at small MTUs; picture ids that increment, wrap and skip lost
 * pictures; key-frame flags cross-checked with the clear header; malformed
 * frames dropped and counted. Then real pipelines: vpXenc ! sframeenc !
 * payloader ! stock depayloader ! sframedec ! vpXdec, in one pipeline and
 * through udpsink / udpsrc on 127.0.0.1 with an rtpjitterbuffer, where the
 * depayloader must hand sframedec the very bytes sframeenc produced, with
 * the encoder's key-frame flags, and every frame must decode. Clear VP8 /
 * VP9 goes through the same payloaders. The descriptor checks here are
 * written from the RFCs, not from the element's code. */
#include "sframe-check.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <mutex>

using namespace check;

namespace {

enum class Codec { vp8, vp9 };

const char *
pay_name (Codec c)
{
  return c == Codec::vp8 ? "rtpvp8sframepay" : "rtpvp9sframepay";
}

constexpr const char *kVp9Caps =
    "video/x-vp9, width=(int)320, height=(int)240, framerate=(fraction)30/1";

const char *
codec_caps (Codec c)
{
  return c == Codec::vp8 ? kVp8Caps : kVp9Caps;
}

/* ------------------------------------------------------------------------
 * Frames built by hand: only the clear header matters to the payloaders. */

class BitWriter {
public:
  void put (guint32 value, unsigned bits)
  {
    for (unsigned i = bits; i-- > 0;) {
      if (pos_ % 8 == 0)
        out_.push_back (0);
      out_.back () |= ((value >> i) & 1u) << (7 - pos_ % 8);
      pos_++;
    }
  }
  Bytes take () { return std::move (out_); }

private:
  Bytes out_;
  size_t pos_ = 0;
};

/* VP9 uncompressed header (bitstream spec 6.2) up to the sync code, then
 * `payload` random bytes (standing in for the rest, clear or encrypted). */
Bytes
vp9_frame (Rng & rng, bool key, size_t payload, int profile = 0, bool show_existing = false,
    bool bad_sync = false)
{
  BitWriter w;
  w.put (2, 2);                      /* frame_marker */
  w.put (profile & 1, 1);            /* profile_low_bit */
  w.put ((profile >> 1) & 1, 1);     /* profile_high_bit */
  if (profile == 3)
    w.put (0, 1);                    /* reserved_zero */
  w.put (show_existing, 1);
  if (show_existing) {
    w.put (5, 3);                    /* frame_to_show_map_idx */
  } else {
    w.put (key ? 0 : 1, 1);          /* frame_type */
    w.put (1, 1);                    /* show_frame */
    w.put (0, 1);                    /* error_resilient_mode */
    if (key)
      w.put (bad_sync ? 0x498343 : 0x498342, 24);
  }
  return concat (w.take (), random_bytes (rng, payload));
}

Bytes
codec_frame (Codec c, Rng & rng, bool key, size_t payload)
{
  return c == Codec::vp8 ? vp8_frame (rng, key, payload) : vp9_frame (rng, key, payload);
}

GstBuffer *
frame_buffer (const Bytes & frame, bool key, int index, guint extra_flags = 0)
{
  GstBuffer *buf = to_buffer (frame);
  GST_BUFFER_PTS (buf) = index * (GST_SECOND / 30);
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  if (!key)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GST_BUFFER_FLAG_SET (buf, extra_flags);
  return buf;
}

/* ------------------------------------------------------------------------
 * Packets */

struct Packet {
  Bytes payload;  /* RTP payload: descriptor, then frame bytes */
  bool marker;
  guint32 timestamp;
  guint8 pt;
  size_t size;    /* whole RTP packet */
};

std::vector<Packet>
pull_packets (GstHarness * h)
{
  std::vector<Packet> out;
  while (GstBuffer *buf = gst_harness_try_pull (h)) {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    fail_unless (gst_rtp_buffer_map (buf, GST_MAP_READ, &rtp), "not an RTP packet");
    Packet p;
    auto data = static_cast<const guint8 *> (gst_rtp_buffer_get_payload (&rtp));
    p.payload.assign (data, data + gst_rtp_buffer_get_payload_len (&rtp));
    p.marker = gst_rtp_buffer_get_marker (&rtp);
    p.timestamp = gst_rtp_buffer_get_timestamp (&rtp);
    p.pt = gst_rtp_buffer_get_payload_type (&rtp);
    p.size = gst_buffer_get_size (buf);
    gst_rtp_buffer_unmap (&rtp);
    gst_buffer_unref (buf);
    out.push_back (std::move (p));
  }
  return out;
}

/* Pushes one frame; returns the packets it became. */
std::vector<Packet>
payload_frame (GstHarness * h, const Bytes & frame, bool key, int index, guint extra_flags = 0)
{
  fail_unless_equals_int (gst_harness_push (h, frame_buffer (frame, key, index, extra_flags)), GST_FLOW_OK);
  return pull_packets (h);
}

/* RFC 7741 section 4.2, read independently of the element. */
struct Vp8Descriptor {
  bool x, n, s;
  int part_id;
  bool i;
  int pid_bits;    /* 0, 7 or 15 */
  guint pid;
  size_t size;
};

Vp8Descriptor
parse_vp8 (const Bytes & p)
{
  Vp8Descriptor d {};
  fail_unless (p.size () >= 1);
  d.x = p[0] & 0x80;
  fail_if (p[0] & 0x40, "R bit set");
  d.n = p[0] & 0x20;
  d.s = p[0] & 0x10;
  fail_if (p[0] & 0x08, "R bit set");
  d.part_id = p[0] & 0x07;
  d.size = 1;
  if (!d.x)
    return d;
  fail_unless (p.size () >= 2);
  d.i = p[1] & 0x80;
  fail_unless_equals_int (p[1] & 0x7f, 0);  /* L, T, K, RSV */
  d.size = 2;
  if (d.i) {
    bool m = p[2] & 0x80;
    d.pid_bits = m ? 15 : 7;
    d.pid = m ? ((p[2] & 0x7f) << 8) | p[3] : p[2] & 0x7f;
    d.size += m ? 2 : 1;
  }
  return d;
}

/* RFC 9628 section 4.2 (non-flexible mode, no layer indices). */
struct Vp9Descriptor {
  bool i, p, l, f, b, e, v, z;
  int pid_bits;
  guint pid;
  Bytes ss;
  size_t size;
};

Vp9Descriptor
parse_vp9 (const Bytes & p)
{
  Vp9Descriptor d {};
  fail_unless (p.size () >= 1);
  d.i = p[0] & 0x80;
  d.p = p[0] & 0x40;
  d.l = p[0] & 0x20;
  d.f = p[0] & 0x10;
  d.b = p[0] & 0x08;
  d.e = p[0] & 0x04;
  d.v = p[0] & 0x02;
  d.z = p[0] & 0x01;
  size_t n = 1;
  if (d.i) {
    bool m = p[1] & 0x80;
    d.pid_bits = m ? 15 : 7;
    d.pid = m ? ((p[1] & 0x7f) << 8) | p[2] : p[1] & 0x7f;
    n += m ? 2 : 1;
  }
  fail_if (d.l || d.f, "layer indices / flexible mode not expected");
  if (d.v) {
    size_t start = n;
    guint8 hdr = p[n++];
    int n_s = hdr >> 5;
    bool y = hdr & 0x10, g = hdr & 0x08;
    if (y)
      n += 4 * (n_s + 1);
    if (g) {
      int n_g = p[n++];
      for (int k = 0; k < n_g; k++) {
        int r = (p[n] >> 2) & 0x03;
        n += 1 + r;
      }
    }
    d.ss.assign (p.begin () + start, p.begin () + n);
  }
  d.size = n;
  return d;
}

size_t
descriptor_size (Codec c, const Bytes & payload)
{
  return c == Codec::vp8 ? parse_vp8 (payload).size : parse_vp9 (payload).size;
}

/* The frame bytes carried by the packets, in order. */
Bytes
reassemble (Codec c, const std::vector<Packet> & packets)
{
  Bytes out;
  for (const auto & p : packets)
    out.insert (out.end (), p.payload.begin () + descriptor_size (c, p.payload), p.payload.end ());
  return out;
}

/* What every packetisation must satisfy: fits the MTU, carries frame bytes,
 * cut greedily (all but the last packet full), marker only on the last,
 * one RTP timestamp, and the bytes reassemble to the frame. */
void
check_fragmentation (Codec c, const std::vector<Packet> & packets, const Bytes & frame, guint mtu)
{
  fail_unless (!packets.empty ());
  for (size_t k = 0; k < packets.size (); k++) {
    const Packet & p = packets[k];
    bool last = k + 1 == packets.size ();
    fail_unless (p.size <= mtu, "packet %zu: %zu bytes > mtu %u", k, p.size, mtu);
    fail_unless (p.payload.size () > descriptor_size (c, p.payload), "packet %zu has no frame byte", k);
    if (!last)
      fail_unless_equals_int (p.size, mtu);
    fail_unless_equals_int (p.marker, last);
    fail_unless_equals_int (p.timestamp, packets[0].timestamp);
    fail_unless_equals_int (p.pt, 96);
  }
  fail_unless (reassemble (c, packets) == frame, "frame bytes differ after reassembly");
}

const char *
elements_for_depay (Codec c)
{
  return c == Codec::vp8 ? "rtpvp8depay" : "rtpvp9depay";
}

GstHarness *
pay_harness (Codec c, const std::string & props, const char *caps = nullptr)
{
  return harness_new (pay_name (c), props, caps ? caps : codec_caps (c));
}

/* ------------------------------------------------------------------------
 * Descriptors */

constexpr guint kMtus[] = {28, 29, 40, 64, 200, 1400};

/* VP8, 15-bit picture id 0x1234: X=1 S=first PartID=0 | I=1 | M=1 0x1234.
 * Key frame then delta frame, at MTUs down to the minimum of 28. */
GST_START_TEST (test_vp8_descriptors)
{
  guint mtu = kMtus[__i__];
  Rng rng (mtu);
  GstHarness *h = pay_harness (Codec::vp8, "picture-id-offset=4660 mtu=" + std::to_string (mtu));
  Bytes key = vp8_frame (rng, true, 300), delta = vp8_frame (rng, false, 150);

  auto kp = payload_frame (h, key, true, 0);
  check_fragmentation (Codec::vp8, kp, key, mtu);
  fail_unless_equals_int (kp.size (), (key.size () + mtu - 16 - 1) / (mtu - 16));
  for (size_t k = 0; k < kp.size (); k++) {
    Bytes expected = {static_cast<guint8> (k == 0 ? 0x90 : 0x80), 0x80, 0x92, 0x34};
    fail_unless (Bytes (kp[k].payload.begin (), kp[k].payload.begin () + 4) == expected,
        "key frame packet %zu: descriptor %02x %02x %02x %02x", k, kp[k].payload[0],
        kp[k].payload[1], kp[k].payload[2], kp[k].payload[3]);
  }
  auto dp = payload_frame (h, delta, false, 1);
  check_fragmentation (Codec::vp8, dp, delta, mtu);
  for (size_t k = 0; k < dp.size (); k++) {
    Vp8Descriptor d = parse_vp8 (dp[k].payload);
    fail_unless (d.x && d.i && !d.n);
    fail_unless_equals_int (d.s, k == 0);
    fail_unless_equals_int (d.part_id, 0);
    fail_unless_equals_int (d.pid_bits, 15);
    fail_unless_equals_int (d.pid, 0x1235);
  }
  fail_if (dp[0].timestamp == kp[0].timestamp);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_vp8_picture_id_modes)
{
  Rng rng (7);
  GstHarness *h = pay_harness (Codec::vp8, "picture-id-mode=7-bit picture-id-offset=126 mtu=40");
  guint expected_ids[] = {126, 127, 0, 1};
  for (int f = 0; f < 4; f++) {
    Bytes frame = vp8_frame (rng, f == 0, 60);
    auto packets = payload_frame (h, frame, f == 0, f);
    check_fragmentation (Codec::vp8, packets, frame, 40);
    for (size_t k = 0; k < packets.size (); k++) {
      Bytes expected = {static_cast<guint8> (k == 0 ? 0x90 : 0x80), 0x80,
        static_cast<guint8> (expected_ids[f])};
      fail_unless (Bytes (packets[k].payload.begin (), packets[k].payload.begin () + 3) == expected,
          "frame %d packet %zu", f, k);
    }
  }
  gst_harness_teardown (h);

  /* none: the one mandatory byte, X=0. */
  h = pay_harness (Codec::vp8, "picture-id-mode=none mtu=40");
  Bytes frame = vp8_frame (rng, true, 80);
  auto packets = payload_frame (h, frame, true, 0);
  check_fragmentation (Codec::vp8, packets, frame, 40);
  fail_unless (packets.size () >= 3);
  for (size_t k = 0; k < packets.size (); k++)
    fail_unless_equals_int (packets[k].payload[0], k == 0 ? 0x10 : 0x00);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* N: a delta frame the encoder flagged droppable is a non-reference
 * frame; a key frame never is. */
GST_START_TEST (test_vp8_non_reference)
{
  Rng rng (8);
  GstHarness *h = pay_harness (Codec::vp8, "mtu=40");
  for (bool key : {false, true}) {
    Bytes frame = vp8_frame (rng, key, 70);
    auto packets = payload_frame (h, frame, key, key, GST_BUFFER_FLAG_DROPPABLE);
    for (const auto & p : packets)
      fail_unless_equals_int (parse_vp8 (p.payload).n, !key);
  }
  Bytes frame = vp8_frame (rng, false, 70);
  for (const auto & p : payload_frame (h, frame, false, 2))
    fail_if (parse_vp8 (p.payload).n);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* VP9 key frame: first packet I=1 P=0 B=1 V=1 (E=1 too when alone), picture
 * id, and the scalability structure with the caps' 320x240; middle packets
 * only I; the last E. Delta frames: P=1 on every packet, never V. */
GST_START_TEST (test_vp9_descriptors)
{
  guint mtu = kMtus[__i__];
  Rng rng (mtu);
  GstHarness *h = pay_harness (Codec::vp9, "picture-id-offset=4660 mtu=" + std::to_string (mtu));
  const Bytes ss = {0x18, 0x01, 0x40, 0x00, 0xf0, 0x01, 0x04, 0x01};
  Bytes key = vp9_frame (rng, true, 300), delta = vp9_frame (rng, false, 150);

  auto kp = payload_frame (h, key, true, 0);
  check_fragmentation (Codec::vp9, kp, key, mtu);
  for (size_t k = 0; k < kp.size (); k++) {
    bool first = k == 0, last = k + 1 == kp.size ();
    Bytes expected = {static_cast<guint8> (0x80 | (first ? 0x0a : 0) | (last ? 0x04 : 0)), 0x92, 0x34};
    if (first)
      expected.insert (expected.end (), ss.begin (), ss.end ());
    fail_unless (Bytes (kp[k].payload.begin (), kp[k].payload.begin () + expected.size ()) == expected,
        "key frame packet %zu: first byte %02x", k, kp[k].payload[0]);
    fail_unless_equals_int (parse_vp9 (kp[k].payload).size, expected.size ());
  }
  auto dp = payload_frame (h, delta, false, 1);
  check_fragmentation (Codec::vp9, dp, delta, mtu);
  for (size_t k = 0; k < dp.size (); k++) {
    Vp9Descriptor d = parse_vp9 (dp[k].payload);
    fail_unless (d.i && d.p && !d.v && !d.z);
    fail_unless_equals_int (d.b, k == 0);
    fail_unless_equals_int (d.e, k + 1 == dp.size ());
    fail_unless_equals_int (d.pid_bits, 15);
    fail_unless_equals_int (d.pid, 0x1235);
  }
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Without width/height in the caps the SS says nothing about the size
 * (Y=0); with picture-id-mode=none there is no picture id (I=0). */
GST_START_TEST (test_vp9_no_size_no_picture_id)
{
  Rng rng (9);
  GstHarness *h = pay_harness (Codec::vp9, "picture-id-mode=none", "video/x-vp9");
  Bytes key = vp9_frame (rng, true, 100);
  auto packets = payload_frame (h, key, true, 0);
  fail_unless_equals_int (packets.size (), 1);
  Bytes expected = {0x0e, 0x08, 0x01, 0x04, 0x01};
  fail_unless (Bytes (packets[0].payload.begin (), packets[0].payload.begin () + 5) == expected);
  check_fragmentation (Codec::vp9, packets, key, 1400);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* P follows frame_type in every profile; a shown existing frame is no key
 * frame; a profile 3 header with its reserved bit set is no VP9 header. */
GST_START_TEST (test_vp9_profiles)
{
  Rng rng (10);
  GstHarness *h = pay_harness (Codec::vp9, "");
  int index = 0;
  for (int profile = 0; profile < 4; profile++) {
    for (bool key : {true, false}) {
      Bytes frame = vp9_frame (rng, key, 40, profile);
      auto packets = payload_frame (h, frame, key, index++);
      fail_unless_equals_int (packets.size (), 1);
      Vp9Descriptor d = parse_vp9 (packets[0].payload);
      fail_unless_equals_int (d.p, !key);
      fail_unless_equals_int (d.v, key);
    }
    Bytes shown = vp9_frame (rng, false, 20, profile, true);
    auto packets = payload_frame (h, shown, false, index++);
    fail_unless_equals_int (packets.size (), 1);
    fail_unless (parse_vp9 (packets[0].payload).p);
  }
  fail_unless_equals_uint64 (stat (h, "key-frame-mismatch"), 0);
  fail_unless_equals_uint64 (stat (h, "dropped"), 0);

  Bytes reserved = vp9_frame (rng, true, 40, 3);
  reserved[0] |= 0x08;
  fail_unless (payload_frame (h, reserved, true, index++).empty ());
  fail_unless_equals_uint64 (stat (h, "malformed"), 1);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* The picture id wraps to its width in both codecs: 15 bits from 32766,
 * 7 bits from 126. */
GST_START_TEST (test_picture_id_wraps)
{
  Codec c = __i__ % 2 ? Codec::vp9 : Codec::vp8;
  bool seven = __i__ >= 2;
  Rng rng (__i__);
  GstHarness *h = pay_harness (c, seven ? "picture-id-mode=7-bit picture-id-offset=126"
      : "picture-id-offset=32766");
  guint start = seven ? 126 : 32766, modulo = seven ? 128 : 32768;
  for (int f = 0; f < 5; f++) {
    auto packets = payload_frame (h, codec_frame (c, rng, f == 0, 50), f == 0, f);
    fail_unless_equals_int (packets.size (), 1);
    guint pid = c == Codec::vp8 ? parse_vp8 (packets[0].payload).pid : parse_vp9 (packets[0].payload).pid;
    int bits = c == Codec::vp8 ? parse_vp8 (packets[0].payload).pid_bits : parse_vp9 (packets[0].payload).pid_bits;
    fail_unless_equals_int (bits, seven ? 7 : 15);
    fail_unless_equals_int (pid, (start + f) % modulo);
  }
  gst_harness_teardown (h);
}
GST_END_TEST;

guint
picture_id_of (Codec c, const std::vector<Packet> & packets)
{
  fail_unless (!packets.empty ());
  return c == Codec::vp8 ? parse_vp8 (packets[0].payload).pid : parse_vp9 (packets[0].payload).pid;
}

/* A picture that never made it (a GAP event: sframeenc dropped it; or a
 * malformed frame this element dropped) uses up a picture id, so the
 * receiver sees the loss. */
GST_START_TEST (test_picture_id_skips_lost_pictures)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  Rng rng (11);
  GstHarness *h = pay_harness (c, "picture-id-offset=100");
  fail_unless_equals_int (picture_id_of (c, payload_frame (h, codec_frame (c, rng, true, 50), true, 0)), 100);
  fail_unless (gst_harness_push_event (h, gst_event_new_gap (GST_SECOND / 30, GST_SECOND / 30)));
  fail_unless_equals_int (picture_id_of (c, payload_frame (h, codec_frame (c, rng, false, 50), false, 2)), 102);
  fail_unless (payload_frame (h, Bytes {0x00}, false, 3).empty ());  /* malformed in both */
  fail_unless_equals_int (picture_id_of (c, payload_frame (h, codec_frame (c, rng, false, 50), false, 4)), 104);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Key-frame flags and malformed frames */

GstHarness *
pay_harness_with_bus (Codec c, GstBus ** bus)
{
  GstElement *e = make_element (pay_name (c), "");
  *bus = gst_bus_new ();
  gst_element_set_bus (e, *bus);
  GstHarness *h = harness_wrap (e, codec_caps (c));
  gst_object_unref (e);
  return h;
}

int
count_warnings (GstBus * bus)
{
  int n = 0;
  while (GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING)) {
    n++;
    gst_message_unref (m);
  }
  return n;
}

/* The clear header decides (it is what the receiving depayloader and
 * decoder read); a disagreeing buffer flag is counted and warned about
 * once, and the frame still goes out. */
GST_START_TEST (test_key_frame_mismatch)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  Rng rng (12);
  GstBus *bus = nullptr;
  GstHarness *h = pay_harness_with_bus (c, &bus);

  auto agree = payload_frame (h, codec_frame (c, rng, true, 50), true, 0);
  fail_unless_equals_uint64 (stat (h, "key-frame-mismatch"), 0);
  fail_unless_equals_int (count_warnings (bus), 0);

  /* key frame header, buffer flagged delta; then the reverse */
  Bytes key = codec_frame (c, rng, true, 50), delta = codec_frame (c, rng, false, 50);
  auto p1 = payload_frame (h, key, false, 1);
  auto p2 = payload_frame (h, delta, true, 2);
  fail_unless_equals_int (p1.size (), 1);
  fail_unless_equals_int (p2.size (), 1);
  fail_unless (reassemble (c, p1) == key && reassemble (c, p2) == delta);
  if (c == Codec::vp9) {
    fail_if (parse_vp9 (p1[0].payload).p, "key frame header must give P=0");
    fail_unless (parse_vp9 (p1[0].payload).v);
    fail_unless (parse_vp9 (p2[0].payload).p, "delta frame header must give P=1");
    fail_if (parse_vp9 (p2[0].payload).v);
  }
  fail_unless_equals_uint64 (stat (h, "key-frame-mismatch"), 2);
  fail_unless_equals_uint64 (stat (h, "key-frames"), 2);
  fail_unless_equals_uint64 (stat (h, "frames"), 3);
  fail_unless_equals_int (count_warnings (bus), 1);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}
GST_END_TEST;

/* Frames whose clear header is not VP8 / VP9: no packet, one counted drop
 * each, a (rate-limited) warning, and the next good frame goes through. */
GST_START_TEST (test_malformed_dropped)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  Rng rng (13);
  std::vector<std::pair<Bytes, bool>> bad;  /* frame, buffer key flag */
  bad.push_back ({Bytes {}, true});
  if (c == Codec::vp8) {
    bad.push_back ({Bytes {0x11, 0x02}, false});               /* shorter than the frame tag */
    Bytes start = vp8_frame (rng, true, 40);
    start[4] = 0x02;                                          /* start code 9d 02 2a */
    bad.push_back ({start, true});
    Bytes cut = vp8_frame (rng, true, 0);
    cut.pop_back ();                                          /* 9 bytes: dimensions cut */
    bad.push_back ({cut, true});
    Bytes version = vp8_frame (rng, false, 40);
    version[0] |= 0x0e;                                       /* version 7 */
    bad.push_back ({version, false});
  } else {
    Bytes marker = vp9_frame (rng, false, 40);
    marker[0] &= 0x3f;                                        /* frame_marker 0 */
    bad.push_back ({marker, false});
    bad.push_back ({vp9_frame (rng, true, 40, 0, false, true), true});  /* bad sync code */
    bad.push_back ({Bytes {0x80, 0x49}, true});               /* key frame cut inside the sync code */
  }
  GstBus *bus = nullptr;
  GstHarness *h = pay_harness_with_bus (c, &bus);
  int index = 0;
  for (const auto & b : bad) {
    fail_unless (payload_frame (h, b.first, b.second, index++).empty (), "malformed frame %d went out", index - 1);
    fail_unless_equals_uint64 (stat (h, "malformed"), static_cast<guint64> (index));
    fail_unless_equals_uint64 (stat (h, "dropped"), static_cast<guint64> (index));
  }
  fail_unless_equals_uint64 (stat (h, "frames"), 0);
  fail_unless_equals_uint64 (stat (h, "packets"), 0);
  fail_unless (count_warnings (bus) >= 1);
  Bytes good = codec_frame (c, rng, true, 60);
  fail_unless (reassemble (c, payload_frame (h, good, true, index)) == good);
  fail_unless_equals_uint64 (stat (h, "frames"), 1);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}
GST_END_TEST;

/* Source caps as the stock payloaders give them, so webrtcbin and the
 * stock depayloaders take the stream for VP8 / VP9; `stats` keeps the base
 * payloader's fields next to the element's counters. */
GST_START_TEST (test_caps_and_stats)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  Rng rng (14);
  GstHarness *h = pay_harness (c, "mtu=100 pt=100");
  Bytes key = codec_frame (c, rng, true, 300), delta = codec_frame (c, rng, false, 50);
  auto kp = payload_frame (h, key, true, 0);
  auto dp = payload_frame (h, delta, false, 1);

  GstCaps *caps = output_caps (h);
  fail_unless (caps != nullptr);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  gint clock_rate = 0, pt = 0;
  fail_unless_equals_string (gst_structure_get_name (s), "application/x-rtp");
  fail_unless_equals_string (gst_structure_get_string (s, "media"), "video");
  fail_unless_equals_string (gst_structure_get_string (s, "encoding-name"), c == Codec::vp8 ? "VP8" : "VP9");
  fail_unless (gst_structure_get_int (s, "clock-rate", &clock_rate) && clock_rate == 90000);
  fail_unless (gst_structure_get_int (s, "payload", &pt) && pt == 100);
  gst_caps_unref (caps);

  fail_unless_equals_uint64 (stat (h, "frames"), 2);
  fail_unless_equals_uint64 (stat (h, "key-frames"), 1);
  fail_unless_equals_uint64 (stat (h, "packets"), kp.size () + dp.size ());
  fail_unless_equals_uint64 (stat (h, "bytes"), key.size () + delta.size ());
  GstStructure *st = nullptr;
  g_object_get (h->element, "stats", &st, nullptr);
  guint seqnum = 0, sent_pt = 0;
  fail_unless (gst_structure_get_uint (st, "seqnum", &seqnum), "base payloader stats missing");
  fail_unless (gst_structure_get_uint (st, "pt", &sent_pt) && sent_pt == 100);
  gst_structure_free (st);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* The stock depayloaders, unmodified, behind the payloaders: frames whose
 * bodies are random bytes (as ciphertext is) come out byte for byte with
 * their key-frame flags. rtpvp8depay takes the picture size for its caps
 * from the clear key frame header (bytes 6..9, here 176x144 while the
 * payloader's caps say 320x240); rtpvp9depay from the SS, i.e. from the
 * payloader's caps. */
GST_START_TEST (test_stock_depayloaders)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  const char *depay = elements_for_depay (c);
  if (!have_elements ({depay}))
    return;
  Rng rng (15);
  GstHarness *h = gst_harness_new_parse ((std::string (pay_name (c)) + " mtu=64 ! " + depay).c_str ());
  gst_harness_set_src_caps_str (h, c == Codec::vp8 ? kVp8Caps :
      "video/x-vp9, width=(int)176, height=(int)144, framerate=(fraction)30/1");
  for (int f = 0; f < 12; f++) {
    bool key = f % 5 == 0;
    Bytes frame = codec_frame (c, rng, key, 100 + 37 * f);
    if (c == Codec::vp8 && key) {
      const guint8 qcif[] = {0xb0, 0x00, 0x90, 0x00};
      std::copy (std::begin (qcif), std::end (qcif), frame.begin () + 6);
    }
    fail_unless_equals_int (gst_harness_push (h, frame_buffer (frame, key, f)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_try_pull (h);
    fail_unless (out != nullptr, "frame %d not depayloaded", f);
    fail_unless (to_bytes (out) == frame, "frame %d changed", f);
    fail_unless_equals_int (!GST_BUFFER_FLAG_IS_SET (out, GST_BUFFER_FLAG_DELTA_UNIT), key);
    gst_buffer_unref (out);
  }
  GstCaps *caps = output_caps (h);
  fail_unless (caps != nullptr);
  gint width = 0, height = 0;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_get_int (s, "width", &width) && gst_structure_get_int (s, "height", &height));
  fail_unless_equals_int (width, 176);
  fail_unless_equals_int (height, 144);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Pipelines */

/* Buffers seen on one pad, with their key-frame flag. */
struct Tap {
  std::mutex lock;
  std::vector<Bytes> buffers;
  std::vector<bool> key;
  size_t count = 0;
  bool keep_bytes = true;
};

GstPadProbeReturn
tap_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  std::lock_guard<std::mutex> lock (tap->lock);
  tap->count++;
  tap->key.push_back (!GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT));
  if (tap->keep_bytes)
    tap->buffers.push_back (to_bytes (buf));
  return GST_PAD_PROBE_OK;
}

void
add_tap (GstElement * bin, const char *element, const char *pad_name, Tap * tap)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), element);
  fail_unless (e != nullptr, "no element %s", element);
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  fail_unless (pad != nullptr);
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, tap_probe, tap, nullptr);
  gst_object_unref (pad);
  gst_object_unref (e);
}

size_t
tap_count (Tap & tap)
{
  std::lock_guard<std::mutex> lock (tap.lock);
  return tap.count;
}

GstElement *
parse (const std::string & launch)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr && !error, "cannot parse '%s': %s", launch.c_str (),
      error ? error->message : "?");
  return pipeline;
}

/* Waits for EOS (or an error, which fails the test); a minute at most. */
void
wait_eos (GstElement * pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless (msg != nullptr, "no EOS within a minute");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = nullptr;
    gchar *dbg = nullptr;
    gst_message_parse_error (msg, &err, &dbg);
    fail ("error from %s: %s (%s)", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg ? dbg : "");
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

void
play (GstElement * pipeline)
{
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
}

void
stop (GstElement * pipeline)
{
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

const std::string kKey = std::string (" key=") + kKeyHex1;

struct CodecElements {
  const char *enc, *dec, *depay, *pay, *caps;
};

CodecElements
elements_for (Codec c)
{
  if (c == Codec::vp8)
    return {"vp8enc", "vp8dec", elements_for_depay (c), "rtpvp8sframepay", "VP8"};
  return {"vp9enc", "vp9dec", elements_for_depay (c), "rtpvp9sframepay", "VP9"};
}

/* Small pictures and a small MTU, so key frames span many packets and the
 * test stays quick on a loaded machine; a key frame every 10 frames. */
std::string
source_and_encoder (Codec c, int frames, bool live = false)
{
  std::string enc = elements_for (c).enc;
  return std::string ("videotestsrc num-buffers=") + std::to_string (frames) +
      (live ? " is-live=true" : "") + " ! video/x-raw,width=160,height=120,framerate=30/1 ! " +
      enc + " name=menc deadline=1 keyframe-max-dist=10 ! ";
}

/* What the media encoder produced and what reached each later hop. */
struct Hops {
  Tap encoded;     /* media encoder output (sframeenc input) */
  Tap ciphertext;  /* sframeenc output (payloader input) */
  Tap depayloaded; /* depayloader output (sframedec input) */
  Tap decrypted;   /* sframedec output */
  Tap decoded;     /* media decoder output */
};

void
check_hops (Hops & hops, bool encrypted)
{
  size_t n = hops.encoded.buffers.size ();
  fail_unless (n > 0, "the encoder produced nothing");
  size_t keys = std::count (hops.encoded.key.begin (), hops.encoded.key.end (), true);
  fail_unless (keys >= 2 && keys < n, "expected several key and delta frames, got %zu of %zu", keys, n);
  const std::vector<Bytes> & sent = encrypted ? hops.ciphertext.buffers : hops.encoded.buffers;
  fail_unless_equals_int (sent.size (), n);
  fail_unless_equals_int (hops.depayloaded.buffers.size (), n);
  for (size_t i = 0; i < n; i++) {
    fail_unless (hops.depayloaded.buffers[i] == sent[i], "frame %zu changed between payloader and depayloader", i);
    fail_unless_equals_int (hops.depayloaded.key[i], hops.encoded.key[i]);
  }
  if (encrypted) {
    fail_unless_equals_int (hops.decrypted.buffers.size (), n);
    for (size_t i = 0; i < n; i++) {
      fail_if (hops.ciphertext.buffers[i] == hops.encoded.buffers[i], "frame %zu went out unencrypted", i);
      fail_unless (hops.decrypted.buffers[i] == hops.encoded.buffers[i], "frame %zu differs after sframedec", i);
    }
  }
  fail_unless_equals_int (tap_count (hops.decoded), n);
  g_print ("%zu frames (%zu key) %s, payloaded, depayloaded, decoded\n", n, keys,
      encrypted ? "encrypted" : "clear");
}

void
tap_hops (GstElement * send, GstElement * receive, Hops & hops, bool encrypted)
{
  hops.decoded.keep_bytes = false;
  add_tap (send, "menc", "src", &hops.encoded);
  if (encrypted) {
    add_tap (send, "se", "src", &hops.ciphertext);
    add_tap (receive, "sd", "src", &hops.decrypted);
  }
  add_tap (receive, "depay", "src", &hops.depayloaded);
  add_tap (receive, "mdec", "src", &hops.decoded);
}

/* vpXenc ! [sframeenc] ! payloader ! stock depayloader ! [sframedec] ! vpXdec
 * in one pipeline, small MTU. Loop: VP8/VP9 x encrypted/clear. */
GST_START_TEST (test_pipeline_roundtrip)
{
  Codec c = __i__ % 2 ? Codec::vp9 : Codec::vp8;
  bool encrypted = __i__ < 2;
  CodecElements e = elements_for (c);
  if (!have_elements ({"videotestsrc", e.enc, e.dec, e.depay}))
    return;
  std::string launch = source_and_encoder (c, 30) +
      (encrypted ? "sframeenc name=se" + kKey + " ! " : std::string ()) +
      e.pay + " mtu=300 ! " + e.depay + " name=depay ! " +
      (encrypted ? "sframedec name=sd" + kKey + " ! " : std::string ()) +
      e.dec + " name=mdec ! fakesink sync=false";
  GstElement *pipeline = parse (launch);
  Hops hops;
  tap_hops (pipeline, pipeline, hops, encrypted);
  play (pipeline);
  wait_eos (pipeline);
  check_hops (hops, encrypted);
  stop (pipeline);
}
GST_END_TEST;

/* Sender and receiver as two pipelines over UDP on 127.0.0.1: udpsrc binds
 * a free port (port=0) and the sender is pointed at it; an rtpjitterbuffer
 * in front of the stock depayloader. The receiver gets EOS once every frame
 * the encoder made has been depayloaded (or after a minute, then the
 * counts tell what was lost). */
GST_START_TEST (test_pipeline_udp)
{
  Codec c = __i__ ? Codec::vp9 : Codec::vp8;
  CodecElements e = elements_for (c);
  if (!have_elements ({"videotestsrc", e.enc, e.dec, e.depay, "udpsrc", "udpsink", "rtpjitterbuffer"}))
    return;
  GstElement *receive = parse (std::string ("udpsrc name=src address=127.0.0.1 port=0 "
          "caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=") + e.caps +
      ",payload=96\" ! rtpjitterbuffer latency=100 ! " + e.depay + " name=depay ! sframedec name=sd" +
      kKey + " ! " + e.dec + " name=mdec ! fakesink sync=false");
  fail_unless (gst_element_set_state (receive, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  GstElement *src = gst_bin_get_by_name (GST_BIN (receive), "src");
  gint port = 0;
  g_object_get (src, "port", &port, nullptr);
  gst_object_unref (src);
  fail_unless (port > 0, "udpsrc did not bind a port");

  GstElement *send = parse (source_and_encoder (c, 45, true) + "sframeenc name=se" + kKey + " ! " +
      e.pay + " mtu=600 ! udpsink host=127.0.0.1 port=" + std::to_string (port));
  Hops hops;
  tap_hops (send, receive, hops, true);
  play (receive);
  play (send);
  wait_eos (send);

  size_t sent = tap_count (hops.encoded);
  for (int i = 0; i < 600 && tap_count (hops.depayloaded) < sent; i++)
    g_usleep (100 * 1000);
  gst_element_send_event (receive, gst_event_new_eos ());
  wait_eos (receive);
  check_hops (hops, true);
  stop (send);
  stop (receive);
}
GST_END_TEST;

}  // namespace

static Suite *
rtpvpxsframepay_suite (void)
{
  Suite *s = suite_create ("rtpvpxsframepay");

  TCase *desc = tcase_create ("descriptors");
  suite_add_tcase (s, desc);
  tcase_add_loop_test (desc, test_vp8_descriptors, 0, G_N_ELEMENTS (kMtus));
  tcase_add_test (desc, test_vp8_picture_id_modes);
  tcase_add_test (desc, test_vp8_non_reference);
  tcase_add_loop_test (desc, test_vp9_descriptors, 0, G_N_ELEMENTS (kMtus));
  tcase_add_test (desc, test_vp9_no_size_no_picture_id);
  tcase_add_test (desc, test_vp9_profiles);
  tcase_add_loop_test (desc, test_picture_id_wraps, 0, 4);
  tcase_add_loop_test (desc, test_picture_id_skips_lost_pictures, 0, 2);

  TCase *frames = tcase_create ("frames");
  suite_add_tcase (s, frames);
  tcase_add_loop_test (frames, test_key_frame_mismatch, 0, 2);
  tcase_add_loop_test (frames, test_malformed_dropped, 0, 2);
  tcase_add_loop_test (frames, test_caps_and_stats, 0, 2);
  tcase_add_loop_test (frames, test_stock_depayloaders, 0, 2);

  TCase *pipelines = tcase_create ("pipelines");
  suite_add_tcase (s, pipelines);
  tcase_set_timeout (pipelines, 240);
  tcase_add_loop_test (pipelines, test_pipeline_roundtrip, 0, 4);
  tcase_add_loop_test (pipelines, test_pipeline_udp, 0, 2);
  return s;
}

GST_CHECK_MAIN (rtpvpxsframepay);
