/* Frame mode with original-caps written by hand in a caps filter between
 * sframeenc and sframedec: any spelling that describes the stream as caps
 * negotiates and frames decrypt; caps that do not fit, or are not caps,
 * fail with not-negotiated and a warning naming original-caps; and the
 * failed pipeline always reaches NULL. appsrc feeds frame-mode plaintext,
 * so no codec plugin is needed. */
#include "sframe-check.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

using namespace check;

namespace {

constexpr int kFrames = 5;

/* appsrc ! sframeenc ! capsfilter (original-caps as given) ! sframedec ! appsink */
GstElement *
make_pipeline (const char *original)
{
  std::string launch = std::string ("appsrc name=src format=time ! sframeenc mode=frame key=") + kKeyHex1 +
      " ! capsfilter name=cf ! sframedec mode=frame hold-frames=0 key=" + kKeyHex1 +
      " ! appsink name=sink sync=false";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  fail_unless (pipeline != nullptr, "cannot parse: %s", error ? error->message : "?");
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  GstCaps *media = gst_caps_from_string (kVp8Caps);
  g_object_set (src, "caps", media, nullptr);
  gst_caps_unref (media);
  gst_object_unref (src);
  GstElement *cf = gst_bin_get_by_name (GST_BIN (pipeline), "cf");
  GstCaps *filter = gst_caps_new_simple ("application/x-sframe", "original-caps", G_TYPE_STRING, original, nullptr);
  g_object_set (cf, "caps", filter, nullptr);
  gst_caps_unref (filter);
  gst_object_unref (cf);
  return pipeline;
}

void
push_frames (GstElement * pipeline, Rng & rng, std::vector<Bytes> * sent)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
  for (int i = 0; i < kFrames; i++) {
    Bytes frame = vp8_frame (rng, i == 0, 200);
    if (sent)
      sent->push_back (frame);
    GstBuffer *buf = to_buffer (frame);
    GST_BUFFER_PTS (buf) = i * GST_SECOND / 30;
    GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
    gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

/* Stops the pipeline; fails if it does not reach NULL in time (a hang). */
void
stop (GstElement * pipeline)
{
  fail_unless (gst_element_set_state (pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_FAILURE);
  GstState state = GST_STATE_VOID_PENDING;
  fail_unless_equals_int (gst_element_get_state (pipeline, &state, nullptr, 10 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (state, GST_STATE_NULL);
}

/* Runs the pipeline with an original-caps that must not negotiate: the
 * error is a not-negotiated flow error, a warning names original-caps, and
 * nothing reaches the sink. */
void
expect_not_negotiated (const char *original, const char *warning_text)
{
  GstElement *pipeline = make_pipeline (original);
  GstBus *bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  Rng rng (21);
  push_frames (pipeline, rng, nullptr);

  bool warned = false;
  GstMessage *msg;
  while ((msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
              (GstMessageType) (GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_EOS)))) {
    GstMessageType type = GST_MESSAGE_TYPE (msg);
    fail_if (type == GST_MESSAGE_EOS, "original-caps '%s' negotiated", original);
    GError *err = nullptr;
    gchar *dbg = nullptr;
    if (type == GST_MESSAGE_WARNING) {
      gst_message_parse_warning (msg, &err, &dbg);
      if (g_str_has_prefix (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), "sframe")) {
        fail_unless (err->domain == GST_CORE_ERROR && err->code == GST_CORE_ERROR_NEGOTIATION);
        fail_unless (strstr (err->message, "original-caps") != nullptr, "warning: %s", err->message);
        warned = warned || strstr (err->message, warning_text) != nullptr;
      }
      g_clear_error (&err);
      g_free (dbg);
      gst_message_unref (msg);
      continue;
    }
    gst_message_parse_error (msg, &err, &dbg);
    const GstStructure *details = nullptr;
    gst_message_parse_error_details (msg, &details);
    gint flow = GST_FLOW_OK;
    fail_unless (details && gst_structure_get_int (details, "flow-return", &flow),
        "error without a flow return: %s (%s)", err->message, dbg ? dbg : "");
    fail_unless_equals_int (flow, GST_FLOW_NOT_NEGOTIATED);
    g_clear_error (&err);
    g_free (dbg);
    gst_message_unref (msg);
    break;
  }
  fail_unless (msg != nullptr, "no error within 30 s for original-caps '%s'", original);
  fail_unless (warned, "no warning \"%s\" naming original-caps for '%s'", warning_text, original);

  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 0);
  fail_unless (sample == nullptr, "a frame got through original-caps '%s'", original);
  gst_object_unref (sink);
  gst_object_unref (bus);
  stop (pipeline);
  gst_object_unref (pipeline);
}

}  // namespace

/* The stream is kVp8Caps; each of these describes it in another spelling
 * or with fewer fields. The decrypted stream carries the caps as written. */
static const char *kFitting[] = {
  "video/x-vp8, width=(int)320",
  "video/x-vp8,width=320",
  "video/x-vp8,  framerate=30/1,height=240 , width=320",
  "video/x-vp8, height=(int)240, width=(int)320, framerate=(fraction)30/1",
  "video/x-vp8",
};

GST_START_TEST (test_hand_written_original_caps)
{
  const char *original = kFitting[__i__];
  GstElement *pipeline = make_pipeline (original);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  Rng rng (__i__);
  std::vector<Bytes> sent;
  push_frames (pipeline, rng, &sent);

  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstCaps *written = gst_caps_from_string (original);
  for (int i = 0; i < kFrames; i++) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 30 * GST_SECOND);
    fail_unless (sample != nullptr, "frame %d missing with original-caps '%s'", i, original);
    fail_unless (to_bytes (gst_sample_get_buffer (sample)) == sent[i], "frame %d differs", i);
    GstCaps *caps = gst_sample_get_caps (sample);
    fail_unless (caps && gst_caps_is_fixed (caps) && gst_caps_is_subset (caps, written),
        "decrypted caps %" GST_PTR_FORMAT " for original-caps '%s'", caps, original);
    gst_sample_unref (sample);
  }
  fail_unless (gst_app_sink_is_eos (GST_APP_SINK (sink)) ||
      gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 30 * GST_SECOND) == nullptr);
  gst_caps_unref (written);
  gst_object_unref (sink);
  stop (pipeline);
  gst_object_unref (pipeline);
}
GST_END_TEST;

GST_START_TEST (test_incompatible_original_caps)
{
  expect_not_negotiated ("video/x-h264", "matches");
  expect_not_negotiated ("video/x-vp8, width=(int)640", "matches");
}
GST_END_TEST;

GST_START_TEST (test_unparsable_original_caps)
{
  expect_not_negotiated ("not caps, ((", "Unparsable");
}
GST_END_TEST;

/* After the not-negotiated error every run reaches NULL. */
GST_START_TEST (test_failed_negotiation_reaches_null)
{
  for (int run = 0; run < 20; run++)
    expect_not_negotiated ("video/x-h264", "matches");
}
GST_END_TEST;

static Suite *
original_caps_suite (void)
{
  Suite *s = suite_create ("original-caps");
  TCase *tc = tcase_create ("original-caps");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_loop_test (tc, test_hand_written_original_caps, 0, G_N_ELEMENTS (kFitting));
  tcase_add_test (tc, test_incompatible_original_caps);
  tcase_add_test (tc, test_unparsable_original_caps);
  tcase_add_test (tc, test_failed_negotiation_reaches_null);
  return s;
}

GST_CHECK_MAIN (original_caps);
