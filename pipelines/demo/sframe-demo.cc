/* The quick-start demo: an Opus and a VP8 stream encrypted with sframeenc,
 * decrypted with sframedec and decoded, plus an eavesdropper that holds the
 * ciphertext but a different key. It prints what happened to every frame.
 *
 *   sframe-demo [--suite NICK] [--mode codec|frame] [--seconds N]
 */
#include <gst/gst.h>
#include <gst/sframe/gstsframeenums.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/core/random.h>

#include <cstdio>
#include <string>

namespace {

struct Counter {
  guint64 buffers = 0;
  guint64 bytes = 0;
};

GstPadProbeReturn
count_buffer (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto counter = static_cast<Counter *> (data);
  counter->buffers++;
  counter->bytes += gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));
  return GST_PAD_PROBE_OK;
}

void
watch (GstElement * pipeline, const char *element, const char *pad, Counter * counter)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  GstPad *p = gst_element_get_static_pad (e, pad);
  gst_pad_add_probe (p, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, counter, nullptr);
  gst_object_unref (p);
  gst_object_unref (e);
}

guint64
stat (GstElement * pipeline, const char *element, const char *field)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), element);
  GstStructure *s = nullptr;
  g_object_get (e, "stats", &s, nullptr);
  guint64 v = 0;
  gst_structure_get_uint64 (s, field, &v);
  gst_structure_free (s);
  gst_object_unref (e);
  return v;
}

std::string
random_key_hex ()
{
  uint8_t key[16];
  if (!sframe::random_bytes (key, sizeof key))
    return {};
  char hex[33];
  for (int i = 0; i < 16; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", key[i]);
  return hex;
}

std::string
build_description (const std::string & key, const std::string & eve_key, const char *suite,
    const char *mode, int seconds)
{
  int audio = seconds * 50, video = seconds * 30;
  std::string enc = std::string ("sframeenc cipher-suite=") + suite + " mode=" + mode + " key=" + key;
  std::string dec = std::string ("sframedec cipher-suite=") + suite + " mode=" + mode + " key=" + key;
  std::string eve = std::string ("sframedec room=eve cipher-suite=") + suite + " mode=" + mode +
      " key=" + eve_key;
  return "audiotestsrc num-buffers=" + std::to_string (audio) + " ! opusenc name=opusenc ! "
      + enc + " name=aenc ! tee name=at ! queue ! " + dec + " name=adec ! opusdec name=opusdec ! fakesink "
      "at. ! queue ! " + eve + " name=aeve ! fakesink "
      "videotestsrc num-buffers=" + std::to_string (video) + " ! video/x-raw,width=320,height=240 ! "
      "vp8enc name=vp8enc deadline=1 ! " + enc + " name=venc ! tee name=vt ! queue ! " + dec +
      " name=vdec ! vp8dec name=vp8dec ! fakesink "
      "vt. ! queue ! " + eve + " name=veve ! fakesink";
}

bool
run_to_eos (GstElement * pipeline)
{
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  bool ok = false;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!msg) {
      std::fprintf (stderr, "timed out\n");
      break;
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error (msg, &err, nullptr);
      std::fprintf (stderr, "error: %s\n", err->message);
      g_error_free (err);
    } else {
      ok = true;
    }
    gst_message_unref (msg);
    break;
  }
  gst_object_unref (bus);
  return ok;
}

/* The nicks `GType` accepts, as "a, b or c". */
std::string
enum_nicks (GType type)
{
  auto klass = static_cast<GEnumClass *> (g_type_class_ref (type));
  std::string nicks;
  for (guint i = 0; i < klass->n_values; i++) {
    if (i > 0)
      nicks += i + 1 == klass->n_values ? " or " : ", ";
    nicks += klass->values[i].value_nick;
  }
  g_type_class_unref (klass);
  return nicks;
}

bool
is_nick (GType type, const char *nick)
{
  auto klass = static_cast<GEnumClass *> (g_type_class_ref (type));
  bool found = g_enum_get_value_by_nick (klass, nick) != nullptr;
  g_type_class_unref (klass);
  return found;
}

/* An empty string when the arguments are usable, else what is wrong. */
std::string
check_arguments (const char *suite, const char *mode, int seconds, int argc)
{
  if (argc > 1)
    return "unexpected argument: the demo takes only the options below";
  if (!is_nick (GST_TYPE_SFRAME_CIPHER_SUITE, suite))
    return std::string ("unknown cipher suite '") + suite + "': use " + enum_nicks (GST_TYPE_SFRAME_CIPHER_SUITE);
  if (!is_nick (GST_TYPE_SFRAME_MODE, mode))
    return std::string ("unknown mode '") + mode + "': use " + enum_nicks (GST_TYPE_SFRAME_MODE);
  if (seconds < 1 || seconds > 3600)
    return "--seconds must be 1 to 3600";
  return {};
}

}  // namespace

int
main (int argc, char **argv)
{
  gchar *suite = g_strdup ("aes-128-gcm-sha256-128");
  gchar *mode = g_strdup ("codec");
  gint seconds = 5;
  GOptionEntry entries[] = {
    {"suite", 0, 0, G_OPTION_ARG_STRING, &suite, "Cipher suite nick", "NICK"},
    {"mode", 0, 0, G_OPTION_ARG_STRING, &mode, "codec or frame", "MODE"},
    {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Media duration", "N"},
    {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
  };
  GOptionContext *ctx = g_option_context_new ("- encrypted Opus + VP8 round trip");
  g_option_context_add_main_entries (ctx, entries, nullptr);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *error = nullptr;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    std::fprintf (stderr, "%s\n", error->message);
    return 2;
  }
  std::string problem = check_arguments (suite, mode, seconds, argc);
  if (!problem.empty ()) {
    gchar *help = g_option_context_get_help (ctx, TRUE, nullptr);
    std::fprintf (stderr, "%s\n\n%s", problem.c_str (), help);
    g_free (help);
    return 2;
  }
  g_option_context_free (ctx);

  std::string key = random_key_hex (), eve_key = random_key_hex ();
  std::string desc = build_description (key, eve_key, suite, mode, seconds);
  GstElement *pipeline = gst_parse_launch (desc.c_str (), &error);
  if (!pipeline) {
    std::fprintf (stderr, "could not build the pipeline: %s\n", error->message);
    return 1;
  }
  Counter opus_out, opus_dec, vp8_out, vp8_dec, audio_ct, video_ct;
  watch (pipeline, "opusenc", "src", &opus_out);
  watch (pipeline, "aenc", "src", &audio_ct);
  watch (pipeline, "opusdec", "sink", &opus_dec);
  watch (pipeline, "vp8enc", "src", &vp8_out);
  watch (pipeline, "venc", "src", &video_ct);
  watch (pipeline, "vp8dec", "sink", &vp8_dec);

  std::printf ("gst-sframe demo: %s, %s mode, a fresh random 128-bit key (never printed)\n",
      suite, mode);
  bool ok = run_to_eos (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);

  std::printf ("Opus: %" G_GUINT64_FORMAT " frames encoded (%" G_GUINT64_FORMAT " B), "
      "%" G_GUINT64_FORMAT " encrypted (%" G_GUINT64_FORMAT " B), %" G_GUINT64_FORMAT
      " decrypted and handed to opusdec\n", opus_out.buffers, opus_out.bytes,
      audio_ct.buffers, audio_ct.bytes, opus_dec.buffers);
  std::printf ("VP8:  %" G_GUINT64_FORMAT " frames encoded (%" G_GUINT64_FORMAT " B), "
      "%" G_GUINT64_FORMAT " encrypted (%" G_GUINT64_FORMAT " B), %" G_GUINT64_FORMAT
      " decrypted and handed to vp8dec\n", vp8_out.buffers, vp8_out.bytes,
      video_ct.buffers, video_ct.bytes, vp8_dec.buffers);
  guint64 eve_ok = stat (pipeline, "aeve", "frames") + stat (pipeline, "veve", "frames");
  guint64 eve_fail = stat (pipeline, "aeve", "auth-failures") + stat (pipeline, "veve", "auth-failures");
  std::printf ("Eavesdropper with another key: %" G_GUINT64_FORMAT " frames decrypted, "
      "%" G_GUINT64_FORMAT " rejected as unauthentic\n", eve_ok, eve_fail);
  guint64 dropped = stat (pipeline, "adec", "dropped") + stat (pipeline, "vdec", "dropped");

  bool pass = ok && opus_out.buffers > 0 && vp8_out.buffers > 0 &&
      opus_dec.buffers == opus_out.buffers && vp8_dec.buffers == vp8_out.buffers &&
      dropped == 0 && eve_ok == 0;
  std::printf ("%s\n", pass ? "Result: every frame survived encryption; the wrong key got nothing."
      : "Result: FAILED");
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (suite);
  g_free (mode);
  return pass ? 0 : 1;
}
