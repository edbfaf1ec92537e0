/* Launch lines through real encoders and decoders: what the media encoder
 * produced reaches the media decoder byte for byte after sframeenc !
 * sframedec, every frame is decoded, and nothing is dropped. Pad probes
 * record the buffers at each hop; counts are compared after EOS (decoders
 * with latency only drain then). A test whose codec plugin is missing says
 * so and passes as skipped. */
#include "sframe-check.h"

#include <mutex>

using namespace check;

namespace {

/* The buffers seen on one pad. */
struct Tap {
  std::mutex lock;
  std::vector<Bytes> buffers;
  GstCaps *caps = nullptr;

  ~Tap () { gst_clear_caps (&caps); }
};

GstPadProbeReturn
tap_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  std::lock_guard<std::mutex> lock (tap->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    tap->buffers.push_back (to_bytes (GST_PAD_PROBE_INFO_BUFFER (info)));
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
          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), tap_probe, tap, nullptr);
  gst_object_unref (pad);
  gst_object_unref (e);
}

struct Result {
  std::vector<Bytes> frames;  /* what the media encoder produced */
  size_t encoded;  /* media encoder output = sframeenc input */
  size_t decoded;  /* media decoder output */
  GstCaps *ciphertext_caps;  /* between sframeenc and sframedec */
  GstCaps *media_caps;       /* into the media decoder */
};

/* The launch line must name: menc (media encoder), se (sframeenc),
 * sd (sframedec), mdec (media decoder). */
Result
run_launch (const std::string & launch)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr, "cannot parse '%s': %s", launch.c_str (), error ? error->message : "?");
  Tap encoded, ciphertext, decrypted, decoded;
  add_tap (pipeline, "se", "sink", &encoded);
  add_tap (pipeline, "se", "src", &ciphertext);
  add_tap (pipeline, "sd", "src", &decrypted);
  add_tap (pipeline, "mdec", "src", &decoded);

  run_to_eos (pipeline);

  size_t n = encoded.buffers.size ();
  fail_unless (n > 0, "the encoder produced nothing");
  fail_unless_equals_int (ciphertext.buffers.size (), n);
  fail_unless_equals_int (decrypted.buffers.size (), n);
  for (size_t i = 0; i < n; i++) {
    fail_if (ciphertext.buffers[i] == encoded.buffers[i], "frame %zu went out unencrypted", i);
    fail_unless (decrypted.buffers[i] == encoded.buffers[i], "frame %zu differs after sframedec", i);
  }
  fail_unless_equals_uint64 (element_stat (pipeline, "se", "frames"), n);
  fail_unless_equals_uint64 (element_stat (pipeline, "se", "dropped"), 0);
  fail_unless_equals_uint64 (element_stat (pipeline, "sd", "frames"), n);
  fail_unless_equals_uint64 (element_stat (pipeline, "sd", "dropped"), 0);

  g_print ("%zu frames encoded, encrypted, decrypted; %zu decoded\n", n, decoded.buffers.size ());
  Result r {std::move (encoded.buffers), n, decoded.buffers.size (), ciphertext.caps, decrypted.caps};
  ciphertext.caps = decrypted.caps = nullptr;
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return r;
}

Result
check_codec_launch (const std::string & launch, const char *media_type)
{
  Result r = run_launch (launch);
  fail_unless_equals_int (r.decoded, r.encoded);
  fail_unless (r.ciphertext_caps && r.media_caps);
  /* Codec mode: the same caps on both sides. */
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (r.ciphertext_caps, 0)), media_type);
  fail_unless (gst_caps_is_equal (r.ciphertext_caps, r.media_caps));
  gst_clear_caps (&r.ciphertext_caps);
  gst_clear_caps (&r.media_caps);
  return r;
}

const std::string kKey = std::string (" key=") + kKeyHex1;
const char *kVideo = "videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 ! ";

}  // namespace

GST_START_TEST (test_launch_opus)
{
  if (!have_elements ({"audiotestsrc", "opusenc", "opusdec"}))
    return;
  check_codec_launch ("audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000,channels=2 ! "
      "opusenc name=menc ! sframeenc name=se" + kKey + " ! sframedec name=sd" + kKey +
      " ! opusdec name=mdec ! fakesink sync=false", "audio/x-opus");
}
GST_END_TEST;

/* Every cipher suite through a real encoder and decoder. */
GST_START_TEST (test_launch_opus_suites)
{
  if (!have_elements ({"audiotestsrc", "opusenc", "opusdec"}))
    return;
  std::string suite = std::string (" cipher-suite=") + kSuites[__i__].nick;
  check_codec_launch ("audiotestsrc num-buffers=30 ! audio/x-raw,rate=48000,channels=1 ! "
      "opusenc name=menc ! sframeenc name=se" + suite + kKey +
      " ! sframedec name=sd" + suite + kKey + " ! opusdec name=mdec ! fakesink sync=false",
      "audio/x-opus");
}
GST_END_TEST;

GST_START_TEST (test_launch_vp8)
{
  if (!have_elements ({"videotestsrc", "vp8enc", "vp8dec"}))
    return;
  check_codec_launch (std::string (kVideo) +
      "vp8enc name=menc deadline=1 keyframe-max-dist=10 ! sframeenc name=se" + kKey +
      " ! sframedec name=sd" + kKey + " ! vp8dec name=mdec ! fakesink sync=false", "video/x-vp8");
}
GST_END_TEST;

/* x264enc with zerolatency and four slices per picture, so every access
 * unit carries several encrypted NAL units next to clear SPS / PPS. */
GST_START_TEST (test_launch_h264)
{
  if (!have_elements ({"videotestsrc", "x264enc", "avdec_h264"}))
    return;
  Result r = check_codec_launch (std::string (kVideo) +
      "x264enc name=menc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=slices=4"
      " ! video/x-h264,stream-format=byte-stream,alignment=au ! sframeenc name=se" + kKey +
      " ! sframedec name=sd" + kKey + " ! avdec_h264 name=mdec ! fakesink sync=false", "video/x-h264");
  /* The stream really had multi-slice access units and parameter sets. */
  size_t max_slices = 0, with_sps = 0;
  for (const Bytes & au : r.frames) {
    size_t slices = 0;
    for (const Nal & nal : split_annexb (au)) {
      guint8 type = au[nal.offset] & 0x1f;
      slices += type == 1 || type == 5;
      with_sps += type == 7;
    }
    max_slices = std::max (max_slices, slices);
  }
  fail_unless (max_slices >= 2, "no multi-slice access unit (max %zu)", max_slices);
  fail_unless (with_sps >= 2, "expected SPS with each key frame");
}
GST_END_TEST;

/* Frame mode: application/x-sframe on the wire, the VP8 caps restored for
 * the decoder. */
GST_START_TEST (test_launch_frame_mode)
{
  if (!have_elements ({"videotestsrc", "vp8enc", "vp8dec"}))
    return;
  Result r = run_launch (std::string (kVideo) +
      "vp8enc name=menc deadline=1 ! sframeenc name=se mode=frame" + kKey +
      " ! sframedec name=sd mode=frame" + kKey + " ! vp8dec name=mdec ! fakesink sync=false");
  fail_unless_equals_int (r.decoded, r.encoded);
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (r.ciphertext_caps, 0)),
      "application/x-sframe");
  fail_unless_equals_string (gst_structure_get_name (gst_caps_get_structure (r.media_caps, 0)),
      "video/x-vp8");
  gst_caps_unref (r.ciphertext_caps);
  gst_caps_unref (r.media_caps);
}
GST_END_TEST;

static Suite *
launch_suite (void)
{
  Suite *s = suite_create ("sframe-launch");
  TCase *tc = tcase_create ("launch");
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_launch_opus);
  tcase_add_loop_test (tc, test_launch_opus_suites, 0, kNumSuites);
  tcase_add_test (tc, test_launch_vp8);
  tcase_add_test (tc, test_launch_h264);
  tcase_add_test (tc, test_launch_frame_mode);
  return s;
}

GST_CHECK_MAIN (launch);
