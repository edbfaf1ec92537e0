/* Codec mode through GStreamer's own, unmodified RTP payloaders and
 * depayloaders: real encoder ! sframeenc ! <codec>pay ! <codec>depay !
 * sframedec ! real decoder, payloader linked straight to depayloader. What
 * the media encoder produced must reach the media decoder in order, with its
 * timestamps; every frame must be decoded; nothing dropped.
 *
 * "What the encoder produced" is checked twice: against the encoder's output
 * itself, and byte for byte against a reference branch that sends the same
 * encoder output through the same payloader and depayloader without SFrame.
 * The two differ only where the stock depayloader rewrites the stream
 * regardless of SFrame (rtph264depay / rtph265depay: 4-byte start codes, and
 * the caps' parameter sets put in front of the first access unit); those
 * rewrites are checked to be exactly that.
 *
 * Also: an SFU's view of encrypted frames (sframe::is_key_frame on the
 * ciphertext) must agree with the encoder's own key frame flag, and the
 * G.711 timing limits of the stock sample-based payloaders are measured
 * (docs/wire-format.md, "G.711 through the stock payloaders").
 *
 * A test whose codec plugin is missing says so and passes as skipped. */
#include "sframe-check.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/sframe/core/frame-format.h>

#include <mutex>

using namespace check;

namespace {

struct Frame {
  Bytes bytes;
  GstClockTime pts, duration;
  bool delta;
};

/* RTP packets as the payloader sent them. */
struct Packet {
  guint32 timestamp;
  gsize payload_size;
};

/* What one pad saw: buffers (or, for an RTP pad, packets) and the caps. */
struct Tap {
  std::mutex lock;
  std::vector<Frame> frames;
  std::vector<Packet> packets;
  GstCaps *caps = nullptr;

  ~Tap () { gst_clear_caps (&caps); }
};

void
record_packet (Tap * tap, GstBuffer * buffer)
{
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  fail_unless (gst_rtp_buffer_map (buffer, GST_MAP_READ, &rtp), "payloader sent a non-RTP buffer");
  tap->packets.push_back ({gst_rtp_buffer_get_timestamp (&rtp), gst_rtp_buffer_get_payload_len (&rtp)});
  gst_rtp_buffer_unmap (&rtp);
}

GstPadProbeReturn
tap_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  std::lock_guard<std::mutex> lock (tap->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER (info);
    tap->frames.push_back ({to_bytes (b), GST_BUFFER_PTS (b), GST_BUFFER_DURATION (b),
        GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_DELTA_UNIT)});
  } else if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
      GstCaps *caps = nullptr;
      gst_event_parse_caps (event, &caps);
      gst_caps_replace (&tap->caps, caps);
    }
  }
  return GST_PAD_PROBE_OK;
}

/* Payloaders push buffer lists as well as buffers. */
GstPadProbeReturn
rtp_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  std::lock_guard<std::mutex> lock (tap->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    record_packet (tap, GST_PAD_PROBE_INFO_BUFFER (info));
  } else {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      record_packet (tap, gst_buffer_list_get (list, i));
  }
  return GST_PAD_PROBE_OK;
}

GstPad *
element_pad (GstElement * pipeline, const char *element, const char *pad_name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  fail_unless (e != nullptr, "no element %s", element);
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  fail_unless (pad != nullptr);
  gst_object_unref (e);
  return pad;
}

void
add_tap (GstElement * pipeline, const char *element, const char *pad_name, Tap * tap)
{
  GstPad *pad = element_pad (pipeline, element, pad_name);
  gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), tap_probe, tap, nullptr);
  gst_object_unref (pad);
}

void
add_rtp_tap (GstElement * pipeline, const char *element, Tap * tap)
{
  GstPad *pad = element_pad (pipeline, element, "src");
  gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
          GST_PAD_PROBE_TYPE_BUFFER_LIST), rtp_probe, tap, nullptr);
  gst_object_unref (pad);
}

const std::string kKey = std::string (" key=") + kKeyHex1;

/* Everything the taps of one run saw. The launch line names se (sframeenc),
 * pay (payloader), sd (sframedec), mdec (media decoder) and, when it has the
 * reference branch, ref (its depayloader). */
struct Run {
  Tap plain;       /* media encoder -> sframeenc */
  Tap cipher;      /* sframeenc -> payloader */
  Tap rtp;         /* payloader -> depayloader */
  Tap received;    /* depayloader -> sframedec */
  Tap decrypted;   /* sframedec -> media decoder */
  Tap decoded;     /* media decoder -> sink */
  Tap reference;   /* the same encoder output, payloaded and depayloaded in clear */
  guint64 enc_dropped = 0, dec_frames = 0, dec_dropped = 0;
};

void
run_launch (const std::string & launch, Run * run, bool with_reference = true)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr, "cannot parse '%s': %s", launch.c_str (), error ? error->message : "?");
  add_tap (pipeline, "se", "sink", &run->plain);
  add_tap (pipeline, "se", "src", &run->cipher);
  add_rtp_tap (pipeline, "pay", &run->rtp);
  add_tap (pipeline, "sd", "sink", &run->received);
  add_tap (pipeline, "sd", "src", &run->decrypted);
  add_tap (pipeline, "mdec", "src", &run->decoded);
  if (with_reference)
    add_tap (pipeline, "ref", "src", &run->reference);

  run_to_eos (pipeline);

  run->enc_dropped = element_stat (pipeline, "se", "dropped");
  run->dec_frames = element_stat (pipeline, "sd", "frames");
  run->dec_dropped = element_stat (pipeline, "sd", "dropped");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

/* encoder ! tee: one branch through SFrame and RTP to the decoder, one
 * through the same RTP elements in clear (`ref_caps` pins the reference
 * depayloader's output to what sframedec accepts). */
std::string
launch_line (const std::string & source, const std::string & pay, const std::string & depay,
    const std::string & decoder, const std::string & ref_caps)
{
  return source + " ! tee name=t ! queue ! sframeenc name=se" + kKey + " ! " + pay +
      " name=pay ! " + depay + " ! sframedec name=sd" + kKey + " ! " + decoder +
      " name=mdec ! fakesink sync=false  t. ! queue ! " + pay + " ! " + depay + " name=ref ! " +
      ref_caps + " ! fakesink sync=false";
}

enum class NalCodec { none, h264, h265 };

std::vector<Bytes>
nal_units (const Bytes & au)
{
  std::vector<Bytes> out;
  for (const auto & n : split_annexb (au))
    out.emplace_back (au.begin () + n.offset, au.begin () + n.offset + n.size);
  return out;
}

bool
is_parameter_set (NalCodec codec, const Bytes & unit)
{
  if (codec == NalCodec::h264)
    return (unit[0] & 0x1f) == 7 || (unit[0] & 0x1f) == 8;
  guint8 type = (unit[0] >> 1) & 0x3f;
  return type >= 32 && type <= 34;  /* VPS, SPS, PPS */
}

/* `got` is `sent` after the stock H.264 / H.265 depayloader: the same NAL
 * units in the same order, each after a 4-byte start code, possibly behind
 * parameter sets the depayloader added from the caps. Returns how many it
 * added. */
size_t
check_depayloader_rewrites (NalCodec codec, const Bytes & sent, const Bytes & got, size_t frame)
{
  auto a = nal_units (sent), b = nal_units (got);
  fail_unless (b.size () >= a.size (), "frame %zu lost NAL units", frame);
  size_t added = b.size () - a.size ();
  for (size_t i = 0; i < added; i++)
    fail_unless (is_parameter_set (codec, b[i]), "frame %zu: unit %zu added and not a parameter set", frame, i);
  for (size_t i = 0; i < a.size (); i++)
    fail_unless (a[i] == b[added + i], "frame %zu: NAL unit %zu differs", frame, i);
  size_t units_bytes = 0;
  for (const auto & u : b)
    units_bytes += u.size ();
  fail_unless_equals_int (got.size (), units_bytes + 4 * b.size ());  /* 4-byte start codes only */
  return added;
}

/* The round trip every codec must pass: sframedec hands the media decoder
 * what the media encoder produced, frame by frame, with the same
 * presentation timestamps, and the decoder decodes all of it. */
void
check_round_trip (Run & r, const char *media_type, NalCodec codec = NalCodec::none)
{
  size_t n = r.plain.frames.size ();
  fail_unless (n > 0, "the encoder produced nothing");
  fail_unless_equals_int (r.cipher.frames.size (), n);
  fail_unless (!r.rtp.packets.empty ());
  fail_unless_equals_int (r.decrypted.frames.size (), n);
  fail_unless_equals_int (r.reference.frames.size (), n);
  size_t added = 0;
  for (size_t i = 0; i < n; i++) {
    const Frame & in = r.plain.frames[i];
    const Frame & out = r.decrypted.frames[i];
    fail_if (r.cipher.frames[i].bytes == in.bytes, "frame %zu went out unencrypted", i);
    fail_unless (out.bytes == r.reference.frames[i].bytes,
        "frame %zu: sframedec output differs from the clear reference (%zu vs %zu bytes)", i,
        out.bytes.size (), r.reference.frames[i].bytes.size ());
    if (codec == NalCodec::none)
      fail_unless (out.bytes == in.bytes, "frame %zu differs after sframedec", i);
    else
      added += check_depayloader_rewrites (codec, in.bytes, out.bytes, i);
    fail_unless_equals_uint64 (out.pts, in.pts);
  }
  fail_unless_equals_uint64 (r.enc_dropped, 0);
  fail_unless_equals_uint64 (r.dec_frames, n);
  fail_unless_equals_uint64 (r.dec_dropped, 0);
  fail_unless_equals_int (r.decoded.frames.size (), n);

  /* Codec mode on both sides of the RTP hop: the media caps. */
  fail_unless (r.cipher.caps && r.received.caps && r.decrypted.caps);
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (r.cipher.caps, 0)), media_type);
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (r.received.caps, 0)), media_type);
  g_print ("%s: %zu frames through %zu RTP packets, all decrypted and decoded", media_type, n,
      r.rtp.packets.size ());
  if (codec != NalCodec::none)
    g_print ("; the depayloader added %zu parameter sets", added);
  g_print ("\n");
}

const char *kVideo = "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 ! ";

/* 20 ms G.711 frames, as telephony sends them. */
const char *kG711Source = "audiotestsrc num-buffers=100 samplesperbuffer=160 ! "
    "audio/x-raw,rate=8000,channels=1 ! ";

const GstClockTime kG711Frame = 20 * GST_MSECOND;

GstClockTime
g711_duration (gsize bytes)
{
  return gst_util_uint64_scale_int (bytes, GST_SECOND, 8000);  /* one byte per sample */
}

/* G.711 with the stock payloaders, whose RTP clock is the byte count (they
 * derive from GstRTPBaseAudioPayload in sample mode: one byte = one sample).
 * Each 160-byte frame becomes one ciphertext of 160 + overhead bytes, which
 * fits one packet, so the frames themselves pass intact. What is measured
 * and asserted here is the timing: */
void
check_g711 (const char *media_type, const char *enc, const char *pay, const char *depay,
    const char *dec)
{
  Run r;
  run_launch (launch_line (std::string (kG711Source) + enc, pay, depay, dec, media_type), &r);
  check_round_trip (r, media_type);
  size_t n = r.plain.frames.size ();
  fail_unless_equals_int (r.rtp.packets.size (), n);  /* one packet per frame, not re-chunked */

  gsize overhead = r.cipher.frames[0].bytes.size () - r.plain.frames[0].bytes.size ();
  for (size_t i = 0; i < n; i++) {
    fail_unless_equals_int (r.plain.frames[i].bytes.size (), 160);
    fail_unless_equals_uint64 (r.plain.frames[i].duration, kG711Frame);
    gsize ciphertext = r.cipher.frames[i].bytes.size ();
    fail_unless_equals_int (r.rtp.packets[i].payload_size, ciphertext);
    /* 1. The RTP timestamp advances by the ciphertext size, not by the 160
     *    samples: the RTP clock runs fast by overhead / 160. A receiver that
     *    times audio from RTP timestamps (rtpjitterbuffer) stretches it. */
    if (i + 1 < n)
      fail_unless_equals_int (r.rtp.packets[i + 1].timestamp - r.rtp.packets[i].timestamp, ciphertext);
    /* 2. The depayloader sets each buffer's duration from its size, so
     *    sframedec's output claims the ciphertext's duration (its PTS is
     *    right: check_round_trip() compared them). */
    fail_unless_equals_uint64 (r.decrypted.frames[i].duration, g711_duration (ciphertext));
    fail_unless (r.decrypted.frames[i].duration != r.plain.frames[i].duration);
    /* 3. The decoder counts samples itself: its output timing is right. */
    fail_unless_equals_uint64 (r.decoded.frames[i].pts, r.plain.frames[i].pts);
    fail_unless_equals_uint64 (r.decoded.frames[i].duration, kG711Frame);
  }
  g_print ("%s: SFrame adds %zu bytes to each 160-byte frame; RTP clock runs %.1f%% fast\n",
      media_type, overhead, 100.0 * overhead / 160);
}

/* With a negotiated ptime (SDP a=ptime:20) the payloader cuts the byte
 * stream into exactly ptime-sized packets, so ciphertexts are split across
 * packets and sframedec can authenticate none of them. */
void
check_g711_ptime (const char *enc, const char *pay, const char *depay, const char *dec,
    const char *rtp_caps)
{
  Run r;
  run_launch (std::string (kG711Source) + enc + " ! sframeenc name=se" + kKey + " ! " + pay +
      " name=pay ! " + rtp_caps + " ! " + depay + " ! sframedec name=sd" + kKey + " ! " + dec +
      " name=mdec ! fakesink sync=false", &r, false);
  size_t n = r.plain.frames.size ();
  fail_unless (n > 0);
  fail_unless (r.rtp.packets.size () > n, "expected re-chunked packets, got %zu for %zu frames",
      r.rtp.packets.size (), n);
  for (const Packet & p : r.rtp.packets)
    fail_unless (p.payload_size <= 160);
  fail_unless_equals_int (r.decrypted.frames.size (), 0);
  fail_unless_equals_uint64 (r.dec_dropped, r.received.frames.size ());
  g_print ("%s with %s: %zu frames became %zu packets; sframedec dropped all %" G_GUINT64_FORMAT "\n",
      pay, rtp_caps, n, r.rtp.packets.size (), r.dec_dropped);
}

/* Encodes 60 frames with a key frame every 10 and compares, frame by frame,
 * what an SFU reads from the ciphertext with the encoder's own flag. */
void
check_key_frames (const std::string & encoder, sframe::FrameFormat format)
{
  Run r;
  GError *error = nullptr;
  std::string launch = std::string (kVideo) + encoder + " ! sframeenc name=se" + kKey +
      " ! fakesink sync=false";
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr, "cannot parse '%s'", launch.c_str ());
  add_tap (pipeline, "se", "sink", &r.plain);
  add_tap (pipeline, "se", "src", &r.cipher);
  run_to_eos (pipeline);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  size_t n = r.plain.frames.size (), keys = 0;
  fail_unless_equals_int (n, 60);
  fail_unless_equals_int (r.cipher.frames.size (), n);
  for (size_t i = 0; i < n; i++) {
    const Frame & plain = r.plain.frames[i];
    const Bytes & c = r.cipher.frames[i].bytes;
    fail_if (c == plain.bytes);
    bool key = !plain.delta;
    keys += key;
    fail_unless_equals_int (sframe::is_key_frame (format, {c.data (), c.size ()}), key);
    /* The same answer as from the clear frame. */
    fail_unless_equals_int (sframe::is_key_frame (format, {plain.bytes.data (), plain.bytes.size ()}), key);
  }
  fail_unless (keys >= 6 && keys < n, "%zu key frames in %zu: the test needs both kinds", keys, n);
  g_print ("%s: %zu key frames of %zu recognised from the ciphertext\n",
      sframe::frame_format_name (format), keys, n);
}

}  // namespace

GST_START_TEST (test_payloader_opus)
{
  if (!have_elements ({"opusenc", "rtpopuspay", "rtpopusdepay", "opusdec"}))
    return;
  Run r;
  run_launch (launch_line ("audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000,channels=2 ! opusenc",
          "rtpopuspay", "rtpopusdepay", "opusdec", "audio/x-opus"), &r);
  check_round_trip (r, "audio/x-opus");
  fail_unless_equals_int (r.rtp.packets.size (), r.plain.frames.size ());
}
GST_END_TEST;

GST_START_TEST (test_payloader_alaw)
{
  if (!have_elements ({"alawenc", "rtppcmapay", "rtppcmadepay", "alawdec"}))
    return;
  check_g711 ("audio/x-alaw", "alawenc", "rtppcmapay", "rtppcmadepay", "alawdec");
}
GST_END_TEST;

GST_START_TEST (test_payloader_mulaw)
{
  if (!have_elements ({"mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec"}))
    return;
  check_g711 ("audio/x-mulaw", "mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec");
}
GST_END_TEST;

GST_START_TEST (test_payloader_alaw_ptime_breaks)
{
  if (!have_elements ({"alawenc", "rtppcmapay", "rtppcmadepay", "alawdec"}))
    return;
  check_g711_ptime ("alawenc", "rtppcmapay", "rtppcmadepay", "alawdec",
      "application/x-rtp,ptime=(uint)20");
}
GST_END_TEST;

/* x264enc with four slices per picture, so access units carry several
 * encrypted NAL units that rtph264pay fragments (FU-A) and rtph264depay
 * reassembles; rtph264depay must negotiate byte-stream / au toward
 * sframedec, the only H.264 form codec mode accepts. */
GST_START_TEST (test_payloader_h264)
{
  if (!have_elements ({"x264enc", "rtph264pay", "rtph264depay", "avdec_h264"}))
    return;
  const char *au = "video/x-h264,stream-format=byte-stream,alignment=au";
  Run r;
  run_launch (launch_line (std::string (kVideo) +
          "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 option-string=slices=4 ! " + au,
          "rtph264pay", "rtph264depay", "avdec_h264", au), &r);
  check_round_trip (r, "video/x-h264", NalCodec::h264);
  GstStructure *s = gst_caps_get_structure (r.received.caps, 0);
  fail_unless_equals_string (gst_structure_get_string (s, "stream-format"), "byte-stream");
  fail_unless_equals_string (gst_structure_get_string (s, "alignment"), "au");
  fail_unless (r.rtp.packets.size () > r.plain.frames.size ());  /* fragmented */
}
GST_END_TEST;

GST_START_TEST (test_payloader_h265)
{
  if (!have_elements ({"x265enc", "rtph265pay", "rtph265depay", "avdec_h265"}))
    return;
  const char *au = "video/x-h265,stream-format=byte-stream,alignment=au";
  Run r;
  run_launch (launch_line (std::string (kVideo) +
          "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! " + au,
          "rtph265pay", "rtph265depay", "avdec_h265", au), &r);
  check_round_trip (r, "video/x-h265", NalCodec::h265);
  GstStructure *s = gst_caps_get_structure (r.received.caps, 0);
  fail_unless_equals_string (gst_structure_get_string (s, "stream-format"), "byte-stream");
  fail_unless_equals_string (gst_structure_get_string (s, "alignment"), "au");
  fail_unless (r.rtp.packets.size () > r.plain.frames.size ());  /* fragmented */
}
GST_END_TEST;

/* rtpvp9pay parses the uncompressed header up to the render size: exactly
 * what the VP9 layout keeps clear. */
GST_START_TEST (test_payloader_vp9)
{
  if (!have_elements ({"vp9enc", "rtpvp9pay", "rtpvp9depay", "vp9dec"}))
    return;
  Run r;
  run_launch (launch_line (std::string (kVideo) + "vp9enc deadline=1 keyframe-max-dist=10",
          "rtpvp9pay", "rtpvp9depay", "vp9dec", "video/x-vp9"), &r);
  check_round_trip (r, "video/x-vp9");
}
GST_END_TEST;

GST_START_TEST (test_key_frames_vp8)
{
  if (!have_elements ({"vp8enc"}))
    return;
  check_key_frames ("vp8enc deadline=1 keyframe-max-dist=10", sframe::FrameFormat::vp8);
}
GST_END_TEST;

GST_START_TEST (test_key_frames_vp9)
{
  if (!have_elements ({"vp9enc"}))
    return;
  check_key_frames ("vp9enc deadline=1 keyframe-max-dist=10", sframe::FrameFormat::vp9);
}
GST_END_TEST;

GST_START_TEST (test_key_frames_h264)
{
  if (!have_elements ({"x264enc"}))
    return;
  check_key_frames ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 "
      "! video/x-h264,stream-format=byte-stream,alignment=au", sframe::FrameFormat::h264);
}
GST_END_TEST;

GST_START_TEST (test_key_frames_h265)
{
  if (!have_elements ({"x265enc"}))
    return;
  check_key_frames ("x265enc tune=zerolatency speed-preset=ultrafast key-int-max=10 "
      "! video/x-h265,stream-format=byte-stream,alignment=au", sframe::FrameFormat::h265);
}
GST_END_TEST;

static Suite *
payloaders_suite (void)
{
  Suite *s = suite_create ("sframe-payloaders");
  TCase *tc = tcase_create ("payloaders");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_payloader_opus);
  tcase_add_test (tc, test_payloader_alaw);
  tcase_add_test (tc, test_payloader_mulaw);
  tcase_add_test (tc, test_payloader_alaw_ptime_breaks);
  tcase_add_test (tc, test_payloader_h264);
  tcase_add_test (tc, test_payloader_h265);
  tcase_add_test (tc, test_payloader_vp9);
  tcase_add_test (tc, test_key_frames_vp8);
  tcase_add_test (tc, test_key_frames_vp9);
  tcase_add_test (tc, test_key_frames_h264);
  tcase_add_test (tc, test_key_frames_h265);
  return s;
}

GST_CHECK_MAIN (payloaders);
