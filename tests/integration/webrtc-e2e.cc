/* End-to-end test of sframeenc and sframedec through two webrtcbins in one
 * process, negotiated in-process, ICE on 127.0.0.1 only.
 *
 *   webrtc-e2e CODEC VARIANT      CODEC: a row of e2e-codecs.h
 *                                 VARIANT: plain | loss | late-key
 *
 * Sender:   source ! encoder ! tee ! queue ! sframeenc ! payloader [! lossy] ! webrtcbin
 *                              tee ! queue ! decoder ! fakesink   (reference decode)
 * Receiver: webrtcbin ! depayloader ! sframedec ! decoder ! fakesink
 *
 * How frames are matched across the RTP path: every encoded frame gets an
 * index when it leaves the encoder (a GstReferenceTimestampMeta that the
 * elements copy along, decoders included). RTP does not carry that meta, so
 * the receiver recovers the index from the ciphertext: sframeenc's output
 * frames are recorded by digest, and SFrame makes every ciphertext unique
 * (each frame has its own counter), so the digest of a frame reaching
 * sframedec names exactly one sent frame, whatever the RTP timestamps
 * became. A frame whose digest matches no sent frame did not arrive
 * complete. The receiver tags it with the sender's index, and from there
 * the decrypted frame is checked byte for byte (by digest) against the
 * encoded frame taken before sframeenc, and the decoded picture against
 * the reference decode of that same index.
 *
 * Exit status: 0 passed, 1 failed, 77 skipped (an element or a codec-mode
 * layout this codec needs is not available). */
#include "e2e-codecs.h"
#include "e2e-digest.h"
#include "e2e-lossy.h"
#include "e2e-webrtc.h"

#include <gst/gst.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/video/video.h>

#include <cstdarg>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

using namespace e2e;

namespace {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitSkip = 77;

/* A fixed test key (never printed). Sender and receiver use separate rooms,
 * so each side has its own key store, as two peers would. */
constexpr const char *kKeyHex = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
constexpr guint kDrainMs = 1500;     /* after the last counted frame is sent */
constexpr guint kWatchdogS = 120;    /* a run that hangs fails, it never blocks meson */
constexpr guint32 kLossSeed = 0x5f3759df;  /* the loss variant's packet fates, replayable */

enum class Variant { plain, loss, late_key };

/* What one variant asks for, in frames. */
struct Plan {
  guint window;        /* frames counted after the connection is up (late key: after the key) */
  guint key_interval;  /* encoder key frame interval */
  guint key_after;     /* late key: frames after the connection is up before the key comes */
  guint drop_pm;       /* loss: RTP packets dropped, per mille */
  guint reorder_pm;    /* loss: RTP packets reordered, per mille */
};

Plan
make_plan (const Codec & codec, Variant variant)
{
  bool video = codec.media == Media::video;
  switch (variant) {
    case Variant::plain:
      return {video ? 360u : 500u, 30, 0, 0, 0};
    case Variant::loss:
      return {video ? 240u : 300u, 30, 0, 50, 30};
    case Variant::late_key:
      /* The key comes ~1.5 s in and the run ends 3 s later, long before
       * the encoder's own next key frame (300 frames): only the key unit
       * request sframedec sends can bring the picture back in time. */
      return {90, 300, 45, 0, 0};
  }
  return {};
}

/* ------------------------------------------------------------------------
 * Frame indices: carried in a reference timestamp meta of our own caps. */

GstCaps *
index_caps ()
{
  static GstCaps *caps = gst_caps_new_empty_simple ("timestamp/x-sframe-e2e-index");
  return caps;
}

void
set_index (GstPadProbeInfo * info, guint64 index)
{
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  gst_buffer_add_reference_timestamp_meta (buf, index_caps (), index, GST_CLOCK_TIME_NONE);
  GST_PAD_PROBE_INFO_DATA (info) = buf;
}

bool
get_index (GstBuffer * buf, guint64 * index)
{
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta (buf, index_caps ());
  if (!meta)
    return false;
  *index = meta->timestamp;
  return true;
}

/* ------------------------------------------------------------------------
 * What the probes record */

struct SentFrame {
  bool key = false;
  std::string plain;              /* encoded frame, at sframeenc's sink */
  std::string cipher;             /* at sframeenc's src */
  GstBuffer *encoded = nullptr;   /* kept for a stateful audio decoder's reference */
};

struct DecodedFrame {
  guint64 index;
  std::string digest;
};

struct Run {
  const Codec *codec = nullptr;
  Variant variant = Variant::plain;
  Plan plan = {};
  GMainLoop *loop = nullptr;
  GstElement *pipeline = nullptr;
  GstElement *send = nullptr, *recv = nullptr;
  GstElement *enc = nullptr, *lossy = nullptr;
  PeerLink link = {};

  std::mutex lock;                /* everything below */
  std::string fatal;              /* set when the run cannot go on */
  GstElement *dec = nullptr;      /* receiver's sframedec, once its pad appeared */
  std::vector<SentFrame> sent;
  std::unordered_map<std::string, guint64> by_cipher;
  std::map<guint64, std::string> reference;
  std::vector<guint64> fku_at;    /* frames sent when a key unit request reached the encoder */
  guint64 rx_complete = 0, rx_incomplete = 0;
  gint64 first_rx = -1;           /* index of the first complete frame at sframedec */
  std::vector<guint64> decrypted; /* indices sframedec let out, in order */
  guint64 decrypt_mismatch = 0, decrypt_unindexed = 0;
  std::vector<DecodedFrame> decoded;
  guint64 decoded_unindexed = 0;
  GstCaps *rx_caps = nullptr;     /* what the receiver's decoder was given */
  gint64 stop_index = -1;         /* last counted frame */
  gint64 key_index = -1;          /* late key: last frame sent when the key came */
  guint64 decoded_before_key = 0, decrypted_before_key = 0;
};

/* From any thread: the run cannot go on. The first reason is kept. */
void
abort_run (Run * run, const std::string & why)
{
  {
    std::lock_guard<std::mutex> lock (run->lock);
    if (run->fatal.empty ())
      run->fatal = why;
  }
  g_main_loop_quit (run->loop);
}

void
on_link_error (const char * what, gpointer data)
{
  abort_run (static_cast<Run *> (data), what);
}

GstElement *
receiver_dec (Run & run)
{
  std::lock_guard<std::mutex> lock (run.lock);
  return run.dec;
}

std::string
pad_caps_digest (GstPad * pad, GstBuffer * buf)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  std::string d = decoded_digest (caps, buf);
  if (caps)
    gst_caps_unref (caps);
  return d;
}

/* Sender, where encoded frames leave the encoder: number them. */
GstPadProbeReturn
on_encoded (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  std::lock_guard<std::mutex> lock (run->lock);
  guint64 index = run->sent.size ();
  set_index (info, index);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  SentFrame frame;
  frame.key = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (run->codec->stateful_audio)
    frame.encoded = gst_buffer_ref (buf);
  run->sent.push_back (std::move (frame));
  return GST_PAD_PROBE_OK;
}

/* Sender: key unit requests coming back up to the encoder (from an RTCP
 * PLI/FIR the receiver sent). */
GstPadProbeReturn
on_upstream_event (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  if (gst_video_event_is_force_key_unit (GST_PAD_PROBE_INFO_EVENT (info))) {
    std::lock_guard<std::mutex> lock (run->lock);
    run->fku_at.push_back (run->sent.size ());
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
on_enc_sink (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 index;
  if (!get_index (buf, &index))
    return GST_PAD_PROBE_OK;
  std::string d = encoded_digest (run->codec->bitstream, buf);
  std::lock_guard<std::mutex> lock (run->lock);
  run->sent[index].plain = d;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
on_enc_src (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 index;
  if (!get_index (buf, &index))
    return GST_PAD_PROBE_OK;
  std::string d = encoded_digest (run->codec->bitstream, buf);
  std::lock_guard<std::mutex> lock (run->lock);
  run->sent[index].cipher = d;
  run->by_cipher[d] = index;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
on_reference (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 index;
  if (!get_index (buf, &index))
    return GST_PAD_PROBE_OK;
  std::string d = pad_caps_digest (pad, buf);
  std::lock_guard<std::mutex> lock (run->lock);
  run->reference[index] += d;  /* a decoder may make several buffers of one frame */
  return GST_PAD_PROBE_OK;
}

/* Receiver, ciphertext reaching sframedec: which sent frame is it? */
GstPadProbeReturn
on_dec_sink (GstPad *, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  std::string d = encoded_digest (run->codec->bitstream, GST_PAD_PROBE_INFO_BUFFER (info));
  std::lock_guard<std::mutex> lock (run->lock);
  auto it = run->by_cipher.find (d);
  if (it == run->by_cipher.end ()) {
    run->rx_incomplete++;
    return GST_PAD_PROBE_OK;
  }
  run->rx_complete++;
  if (run->first_rx < 0)
    run->first_rx = it->second;
  set_index (info, it->second);
  return GST_PAD_PROBE_OK;
}

/* Receiver, decrypted frame: byte for byte the frame that was encrypted? */
GstPadProbeReturn
on_dec_src (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  std::string d = encoded_digest (run->codec->bitstream, buf);
  guint64 index;
  bool indexed = get_index (buf, &index);
  std::lock_guard<std::mutex> lock (run->lock);
  if (!run->rx_caps)
    run->rx_caps = gst_pad_get_current_caps (pad);
  if (!indexed)
    run->decrypt_unindexed++;
  else if (run->sent[index].plain != d)
    run->decrypt_mismatch++;
  else
    run->decrypted.push_back (index);
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn
on_rx_decoded (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  guint64 index;
  bool indexed = get_index (buf, &index);
  std::string d = pad_caps_digest (pad, buf);
  std::lock_guard<std::mutex> lock (run->lock);
  if (indexed)
    run->decoded.push_back ({index, d});
  else
    run->decoded_unindexed++;
  return GST_PAD_PROBE_OK;
}

void
probe (GstElement * element, const char * pad_name, GstPadProbeType type,
    GstPadProbeCallback callback, Run * run)
{
  GstPad *pad = gst_element_get_static_pad (element, pad_name);
  g_assert (pad);
  gst_pad_add_probe (pad, type, callback, run, nullptr);
  gst_object_unref (pad);
}

GstElement *
child (GstElement * bin, const char * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  g_assert (e);
  return e;
}

/* ------------------------------------------------------------------------
 * Pipelines */

std::string
with_key_interval (const char * fragment, guint interval)
{
  std::string s = fragment;
  size_t at = s.find ("{kf}");
  if (at != std::string::npos)
    s.replace (at, 4, std::to_string (interval));
  return s;
}

std::string
sender_description (const Run & run)
{
  const Codec & c = *run.codec;
  std::string lossy = run.variant == Variant::loss ? std::string (" ! ") + kLossyFactory + " name=lossy" : "";
  /* The receiver's jitter buffer waits 500 ms (not 200): on a busy 2-core
   * machine a late packet must not count as lost. */
  return std::string ("webrtcbin name=send bundle-policy=max-bundle "
      "webrtcbin name=recv bundle-policy=max-bundle latency=500 ") +
      c.source + " ! " + with_key_interval (c.encoder, run.plan.key_interval) + " ! tee name=t "
      "t. ! queue ! sframeenc name=enc room=tx ! " + c.payloader + lossy + " ! " + c.rtp_caps + " ! send. "
      "t. ! queue ! " + c.decoder + " ! fakesink name=refsink sync=false async=false";
}

bool
build_sender (Run & run)
{
  GError *error = nullptr;
  std::string desc = sender_description (run);
  run.pipeline = gst_parse_launch (desc.c_str (), &error);
  if (!run.pipeline || error) {
    run.fatal = std::string ("cannot build the pipeline: ") + (error ? error->message : "?");
    g_clear_error (&error);
    return false;
  }
  run.send = child (run.pipeline, "send");
  run.recv = child (run.pipeline, "recv");
  run.enc = child (run.pipeline, "enc");
  g_object_set (run.enc, "key", kKeyHex, nullptr);
  if (run.variant == Variant::loss) {
    run.lossy = child (run.pipeline, "lossy");
    lossy_configure (run.lossy, run.plan.drop_pm, run.plan.reorder_pm, kLossSeed);
  }
  GstElement *tee = child (run.pipeline, "t");
  probe (tee, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_encoded, &run);
  probe (tee, "sink", GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_upstream_event, &run);
  gst_object_unref (tee);
  probe (run.enc, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_enc_sink, &run);
  probe (run.enc, "src", GST_PAD_PROBE_TYPE_BUFFER, on_enc_src, &run);
  GstElement *refsink = child (run.pipeline, "refsink");
  probe (refsink, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_reference, &run);
  gst_object_unref (refsink);
  return true;
}

/* The receiving chain, once the receiving webrtcbin has a stream. */
void
on_recv_pad_added (GstElement *, GstPad * pad, gpointer data)
{
  auto run = static_cast<Run *> (data);
  if (GST_PAD_DIRECTION (pad) != GST_PAD_SRC || receiver_dec (*run))
    return;
  std::string desc = std::string (run->codec->depayloader) +
      " ! sframedec name=dec room=rx ! " + run->codec->decoder + " ! fakesink name=rxsink sync=false async=false";
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (desc.c_str (), TRUE, &error);
  if (!bin) {
    abort_run (run, std::string ("cannot build the receiver: ") + (error ? error->message : "?"));
    g_clear_error (&error);
    return;
  }
  GstElement *dec = child (bin, "dec");
  if (run->variant != Variant::late_key)
    g_object_set (dec, "key", kKeyHex, nullptr);
  probe (dec, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_dec_sink, run);
  probe (dec, "src", GST_PAD_PROBE_TYPE_BUFFER, on_dec_src, run);
  GstElement *rxsink = child (bin, "rxsink");
  probe (rxsink, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_rx_decoded, run);
  gst_object_unref (rxsink);
  gst_bin_add (GST_BIN (run->pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  GstPad *sink = gst_element_get_static_pad (bin, "sink");
  if (gst_pad_link (pad, sink) != GST_PAD_LINK_OK)
    abort_run (run, "cannot link the receiving webrtcbin to the depayloader");
  gst_object_unref (sink);
  std::lock_guard<std::mutex> lock (run->lock);
  run->dec = dec;
}

/* ------------------------------------------------------------------------
 * Running */

gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (static_cast<Run *> (data)->loop);
  return G_SOURCE_REMOVE;
}

gboolean
on_watchdog (gpointer data)
{
  auto run = static_cast<Run *> (data);
  std::string why;
  {
    std::lock_guard<std::mutex> lock (run->lock);
    why = "watchdog: the run did not finish (frames sent " + std::to_string (run->sent.size ()) +
        ", first received " + std::to_string (run->first_rx) + ")";
  }
  abort_run (run, why);
  return G_SOURCE_REMOVE;
}

GstStructure *
stats_of (GstElement * element)
{
  GstStructure *s = nullptr;
  g_object_get (element, "stats", &s, nullptr);
  return s;
}

guint64
stat (const GstStructure * s, const char * field)
{
  guint64 v = 0;
  if (!s || !gst_structure_get_uint64 (s, field, &v))
    g_printerr ("no stats field %s\n", field);
  return v;
}

bool
install_late_key (Run & run)
{
  GstSFrameKeyStore *store = nullptr;
  GstElement *dec = receiver_dec (run);
  if (!dec)
    return false;
  g_object_get (dec, "key-store", &store, nullptr);
  if (!store)
    return false;
  guint8 key[32];
  for (guint i = 0; i < sizeof key; i++)
    key[i] = static_cast<guint8> (g_ascii_xdigit_value (kKeyHex[2 * i]) << 4 | g_ascii_xdigit_value (kKeyHex[2 * i + 1]));
  GError *error = nullptr;
  /* The receiver learns the shared key, good for every sender session. */
  gboolean ok = gst_sframe_key_store_add_static_key (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128,
      key, sizeof key, nullptr, &error);
  if (!ok)
    g_printerr ("add_static_key failed: %s\n", error ? error->message : "?");
  g_clear_error (&error);
  gst_object_unref (store);
  return ok;
}

/* Late key: once enough frames went by without a key, the receiver gets it. */
void
late_key_step (Run & run, gint64 last)
{
  if (run.key_index < 0 && last >= run.first_rx + run.plan.key_after) {
    {
      std::lock_guard<std::mutex> lock (run.lock);
      run.key_index = last;
      run.decoded_before_key = run.decoded.size () + run.decoded_unindexed;
      run.decrypted_before_key = run.decrypted.size () + run.decrypt_unindexed + run.decrypt_mismatch;
    }
    g_print ("installing the receiver's key after frame %" G_GINT64_FORMAT "\n", last);
    if (!install_late_key (run))
      abort_run (&run, "could not install the late key");
  }
}

gboolean
on_tick (gpointer data)
{
  auto run = static_cast<Run *> (data);
  gint64 first, last;
  {
    std::lock_guard<std::mutex> lock (run->lock);
    first = run->first_rx;
    last = static_cast<gint64> (run->sent.size ()) - 1;
  }
  if (first < 0)
    return G_SOURCE_CONTINUE;
  gint64 window_start = first;
  if (run->variant == Variant::late_key) {
    late_key_step (*run, last);
    if (run->key_index < 0)
      return G_SOURCE_CONTINUE;
    window_start = run->key_index + 1;
  }
  if (last < window_start + run->plan.window - 1)
    return G_SOURCE_CONTINUE;
  {
    std::lock_guard<std::mutex> lock (run->lock);
    run->stop_index = window_start + run->plan.window - 1;
  }
  g_timeout_add (kDrainMs, quit_loop, run);
  return G_SOURCE_REMOVE;
}

gboolean
on_bus_message (GstBus *, GstMessage * msg, gpointer data)
{
  auto run = static_cast<Run *> (data);
  GError *error = nullptr;
  gchar *debug = nullptr;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &error, &debug);
      abort_run (run, std::string ("error from ") + GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)) + ": " +
          error->message + " (" + (debug ? debug : "") + ")");
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &error, &debug);
      g_print ("warning from %s: %s (%s)\n", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message,
          debug ? debug : "");
      break;
    default:
      break;
  }
  g_clear_error (&error);
  g_free (debug);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------
 * Verdicts */

struct Verdict {
  bool ok = true;

  void check (bool cond, const char * fmt, ...) G_GNUC_PRINTF (3, 4)
  {
    va_list args;
    va_start (args, fmt);
    gchar *text = g_strdup_vprintf (fmt, args);
    va_end (args);
    g_print ("  [%s] %s\n", cond ? "ok" : "FAIL", text);
    g_free (text);
    ok = ok && cond;
  }
};

/* For each sent frame: could the receiver decode it exactly? Only if it got
 * that frame and every frame back to the last key frame. */
std::vector<bool>
complete_chains (const Run & run, const std::vector<bool> & got)
{
  std::vector<bool> chain (run.sent.size (), false);
  bool ok = false;
  for (size_t i = 0; i < run.sent.size (); i++) {
    ok = (run.sent[i].key || ok) && got[i];
    chain[i] = ok;
  }
  return chain;
}

struct Comparison {
  guint64 matched = 0, mismatched = 0, not_comparable = 0, no_reference = 0;
  gint64 first_matched = -1;
  std::vector<guint> decodes;   /* per sent index: decoded frames seen */
};

Comparison
compare_decoded (const Run & run, const std::map<guint64, std::string> & reference,
    const std::vector<bool> & chain, gint64 from)
{
  Comparison cmp;
  cmp.decodes.assign (run.sent.size (), 0);
  for (const DecodedFrame & f : run.decoded) {
    if (static_cast<gint64> (f.index) > run.stop_index || static_cast<gint64> (f.index) < from)
      continue;
    cmp.decodes[f.index]++;
    if (!chain[f.index]) {
      cmp.not_comparable++;
      continue;
    }
    auto it = reference.find (f.index);
    if (it == reference.end ()) {
      cmp.no_reference++;
    } else if (it->second == f.digest) {
      cmp.matched++;
      if (cmp.first_matched < 0)
        cmp.first_matched = f.index;
    } else {
      if (cmp.mismatched < 5)
        g_print ("  decoded frame %" G_GUINT64_FORMAT " differs from its reference\n", f.index);
      cmp.mismatched++;
    }
  }
  return cmp;
}

/* A stateful audio decoder's reference must start where the receiver's
 * decoder started: decode the frames taken before sframeenc again, from the
 * first one the receiver got up to the first it missed, with the caps the
 * receiver's decoder had. */
std::map<guint64, std::string>
deferred_reference (Run & run, guint64 first, guint64 last)
{
  std::string desc = std::string ("appsrc name=src format=time ! ") + run.codec->decoder +
      " ! fakesink name=sink sync=false";
  GstElement *pipe = gst_parse_launch (desc.c_str (), nullptr);
  GstElement *src = child (pipe, "src"), *sink = child (pipe, "sink");
  g_object_set (src, "caps", run.rx_caps, nullptr);
  Run scratch;
  scratch.codec = run.codec;
  probe (sink, "sink", GST_PAD_PROBE_TYPE_BUFFER, on_reference, &scratch);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  for (guint64 i = first; i <= last; i++) {
    /* Only what crosses the wire: the bytes and the timestamps, not the
     * encoder's metas (opusenc's clipping meta trims the first frame). */
    GstBuffer *encoded = run.sent[i].encoded;
    GstBuffer *bare = gst_buffer_copy_region (encoded, static_cast<GstBufferCopyFlags> (
            GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS | GST_BUFFER_COPY_MEMORY), 0, -1);
    gst_buffer_add_reference_timestamp_meta (bare, index_caps (), i, GST_CLOCK_TIME_NONE);
    GstFlowReturn ret;
    g_signal_emit_by_name (src, "push-buffer", bare, &ret);
    gst_buffer_unref (bare);
  }
  GstFlowReturn eos_ret;
  g_signal_emit_by_name (src, "end-of-stream", &eos_ret);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      static_cast<GstMessageType> (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (msg)
    gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  return scratch.reference;
}

struct Counts {
  guint64 window = 0, received = 0;
  gint64 first_key = -1;         /* first key frame the receiver got, in the window */
};

Counts
count_window (const Run & run, const std::vector<bool> & got, gint64 from)
{
  Counts c;
  for (gint64 i = from; i <= run.stop_index; i++) {
    c.window++;
    if (got[i]) {
      c.received++;
      if (c.first_key < 0 && run.sent[i].key)
        c.first_key = i;
    }
  }
  return c;
}

void
check_sender (Verdict & v, Run & run)
{
  GstStructure *s = stats_of (run.enc);
  v.check (stat (s, "frames") > 0 && stat (s, "dropped") == 0,
      "sframeenc encrypted %" G_GUINT64_FORMAT " frames, dropped %" G_GUINT64_FORMAT,
      stat (s, "frames"), stat (s, "dropped"));
  gst_structure_free (s);
}

/* Every decoded frame identical to its reference; the decoder made one
 * picture (or audio buffer) of each decodable frame it got. */
void
check_decoded (Verdict & v, Run & run, const std::vector<bool> & got, gint64 from, guint64 min_matched)
{
  std::vector<bool> chain = complete_chains (run, got);
  std::map<guint64, std::string> reference = run.reference;
  if (run.codec->stateful_audio) {
    guint64 last = from;
    while (static_cast<gint64> (last + 1) <= run.stop_index && got[last + 1])
      last++;
    reference = deferred_reference (run, from, last);
    g_print ("  reference decode redone from frame %" G_GINT64_FORMAT " to %" G_GUINT64_FORMAT
        " (the receiver's decoder started there)\n", from, last);
    for (size_t i = last + 1; i < chain.size (); i++)
      chain[i] = false;
  }
  Comparison cmp = compare_decoded (run, reference, chain, from);
  /* Matching by index means something only if the frames differ. */
  std::set<std::string> distinct;
  for (const auto & r : reference)
    distinct.insert (r.second);
  v.check (distinct.size () * 10 >= reference.size () * 9, "the reference frames differ from each "
      "other (%zu distinct of %zu)", distinct.size (), reference.size ());
  v.check (cmp.mismatched == 0 && cmp.no_reference == 0,
      "decoded frames identical to the reference decode: %" G_GUINT64_FORMAT " matched, %"
      G_GUINT64_FORMAT " differ, %" G_GUINT64_FORMAT " without reference (%" G_GUINT64_FORMAT
      " not comparable: their key frame or a frame since was lost)",
      cmp.matched, cmp.mismatched, cmp.no_reference, cmp.not_comparable);
  v.check (cmp.matched >= min_matched, "at least %" G_GUINT64_FORMAT " decoded frames compared (%"
      G_GUINT64_FORMAT ")", min_matched, cmp.matched);
  guint64 missing = 0, extra = 0;
  for (gint64 i = from; i <= run.stop_index; i++) {
    if (chain[i] && cmp.decodes[i] == 0)
      missing++;
    if (cmp.decodes[i] > 1)
      extra++;
  }
  v.check (missing == 0 && extra == 0 && run.decoded_unindexed == 0,
      "each decodable frame decoded exactly once (%" G_GUINT64_FORMAT " never decoded, %"
      G_GUINT64_FORMAT " decoded twice, %" G_GUINT64_FORMAT " decoded buffers of unknown origin)",
      missing, extra, run.decoded_unindexed);
  if (!run.codec->stateful_audio)
    return;
  /* The reference taken at the sender's tee started at frame 0: reported,
   * not asserted, a stateful decoder that started later need not agree. */
  std::vector<bool> all (chain.size (), true);
  Comparison tee = compare_decoded (run, run.reference, all, from);
  g_print ("  (tee reference, decoder started at frame 0: %" G_GUINT64_FORMAT " equal, %"
      G_GUINT64_FORMAT " differ)\n", tee.matched, tee.mismatched);
}

std::vector<bool>
received_flags (const Run & run)
{
  std::vector<bool> got (run.sent.size (), false);
  for (guint64 i : run.decrypted)
    got[i] = true;
  return got;
}

void
check_decryption (Verdict & v, const Run & run)
{
  v.check (run.decrypt_mismatch == 0 && run.decrypt_unindexed == 0,
      "every decrypted frame byte-identical to the encoded frame (%zu identical, %" G_GUINT64_FORMAT
      " differ, %" G_GUINT64_FORMAT " of unknown origin)", run.decrypted.size (),
      run.decrypt_mismatch, run.decrypt_unindexed);
}

bool
verdict_plain (Run & run, const GstStructure * ds)
{
  Verdict v;
  std::vector<bool> got = received_flags (run);
  Counts c = count_window (run, got, run.first_rx);
  bool video = run.codec->media == Media::video;
  guint64 min_frames = video ? 300 : 500;
  double pct = c.window ? 100.0 * c.received / c.window : 0;
  v.check (c.window >= min_frames, "%" G_GUINT64_FORMAT " frames sent after the connection was up "
      "(frames %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT ")", c.window, run.first_rx, run.stop_index);
  v.check (pct >= 98.0, "received and decrypted %" G_GUINT64_FORMAT " of them: %.1f%%", c.received, pct);
  check_decryption (v, run);
  v.check (stat (ds, "auth-failures") == 0 && stat (ds, "malformed") == 0 &&
      stat (ds, "unknown-key") == 0 && stat (ds, "replayed") == 0,
      "sframedec dropped nothing (auth-failures %" G_GUINT64_FORMAT ", malformed %" G_GUINT64_FORMAT
      ", unknown-key %" G_GUINT64_FORMAT ", replayed %" G_GUINT64_FORMAT ")",
      stat (ds, "auth-failures"), stat (ds, "malformed"), stat (ds, "unknown-key"), stat (ds, "replayed"));
  gint64 from = run.codec->stateful_audio ? run.first_rx : (c.first_key >= 0 ? c.first_key : run.first_rx);
  check_decoded (v, run, got, from, video ? 300 : 450);
  check_sender (v, run);
  g_print ("RESULT %s plain: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " frames received (%.1f%%)\n",
      run.codec->name, c.received, c.window, pct);
  return v.ok;
}

bool
verdict_loss (Run & run, const GstStructure * ds)
{
  Verdict v;
  LossyStats ls = lossy_stats (run.lossy);
  std::vector<bool> got = received_flags (run);
  Counts c = count_window (run, got, run.first_rx);
  v.check (ls.dropped > 0 && ls.reordered > 0, "the link dropped %" G_GUINT64_FORMAT " and reordered %"
      G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " RTP packets", ls.dropped, ls.reordered, ls.packets);
  v.check (c.received > 0, "%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " frames came through",
      c.received, c.window);
  check_decryption (v, run);
  guint64 frames = stat (ds, "frames"), auth = stat (ds, "auth-failures"), malformed = stat (ds, "malformed");
  v.check (frames == run.rx_complete, "every frame that arrived complete was decrypted (%"
      G_GUINT64_FORMAT " complete, %" G_GUINT64_FORMAT " decrypted)", run.rx_complete, frames);
  v.check (auth + malformed == run.rx_incomplete, "frames the depayloader let through incomplete: %"
      G_GUINT64_FORMAT "; sframedec rejected %" G_GUINT64_FORMAT " (auth-failures %" G_GUINT64_FORMAT
      ", malformed %" G_GUINT64_FORMAT ")", run.rx_incomplete, auth + malformed, auth, malformed);
  v.check (stat (ds, "unknown-key") == 0 && stat (ds, "replayed") == 0,
      "no unknown-key (%" G_GUINT64_FORMAT ") or replayed (%" G_GUINT64_FORMAT ") drops",
      stat (ds, "unknown-key"), stat (ds, "replayed"));
  std::vector<bool> chain = complete_chains (run, got);
  Comparison cmp = compare_decoded (run, run.codec->stateful_audio ? std::map<guint64, std::string> () :
      run.reference, chain, run.first_rx);
  v.check (cmp.mismatched == 0 && !run.decoded.empty (), "decoding went on: %zu decoded (and %"
      G_GUINT64_FORMAT " without their index); of those with a complete chain %" G_GUINT64_FORMAT
      " identical to the reference, %" G_GUINT64_FORMAT " differ",
      run.decoded.size (), run.decoded_unindexed, cmp.matched, cmp.mismatched);
  check_sender (v, run);
  g_print ("RESULT %s loss: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " packets dropped, %"
      G_GUINT64_FORMAT " reordered; %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " frames received; "
      "incomplete frames at sframedec %" G_GUINT64_FORMAT "; auth-failures %" G_GUINT64_FORMAT
      ", malformed %" G_GUINT64_FORMAT "\n", run.codec->name, ls.dropped, ls.packets, ls.reordered, c.received, c.window,
      run.rx_incomplete, auth, malformed);
  return v.ok;
}

bool
verdict_late_key (Run & run, const GstStructure * ds)
{
  Verdict v;
  gint64 k0 = run.key_index;
  guint interval = run.plan.key_interval;
  v.check (run.decoded_before_key == 0 && run.decrypted_before_key == 0,
      "without the key nothing was decrypted (%" G_GUINT64_FORMAT ") or decoded (%" G_GUINT64_FORMAT ")",
      run.decrypted_before_key, run.decoded_before_key);
  v.check (stat (ds, "key-unit-requests") >= 1, "sframedec asked for a key frame (%" G_GUINT64_FORMAT
      " requests; held %" G_GUINT64_FORMAT ", released %" G_GUINT64_FORMAT ")",
      stat (ds, "key-unit-requests"), stat (ds, "held"), stat (ds, "released"));
  guint64 fku = 0;
  for (guint64 at : run.fku_at)
    fku += static_cast<gint64> (at) > k0;
  v.check (fku >= 1, "key unit requests reached the encoder after the key came: %" G_GUINT64_FORMAT, fku);
  gint64 prev_key = -1, new_key = -1;
  for (gint64 i = 0; i <= run.stop_index; i++) {
    if (!run.sent[i].key)
      continue;
    if (i <= k0)
      prev_key = i;
    else if (new_key < 0)
      new_key = i;
  }
  if (new_key > k0)
    v.check (prev_key >= 0 && new_key - prev_key < interval, "the encoder made a key frame at frame %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT " after the key came, before its own interval (%u after "
        "frame %" G_GINT64_FORMAT ") ran out", new_key, new_key - k0, interval, prev_key);
  else
    v.check (false, "the encoder made no key frame after the key came (frames %" G_GINT64_FORMAT "..%"
        G_GINT64_FORMAT ")", k0 + 1, run.stop_index);
  std::vector<bool> got = received_flags (run);
  std::vector<bool> chain = complete_chains (run, got);
  Comparison cmp = compare_decoded (run, run.reference, chain, 0);
  if (cmp.first_matched > k0)
    v.check (cmp.first_matched - k0 <= interval, "the picture was back (identical to the reference) at "
        "frame %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " frames after the key came (bound: one key frame "
        "interval, %u)", cmp.first_matched, cmp.first_matched - k0, interval);
  else
    v.check (false, "the picture never came back (no decoded frame identical to its reference after "
        "frame %" G_GINT64_FORMAT ")", k0);
  v.check (cmp.mismatched == 0 && cmp.matched >= 30, "%" G_GUINT64_FORMAT " decoded frames identical "
      "to the reference after that, %" G_GUINT64_FORMAT " differ", cmp.matched, cmp.mismatched);
  check_decryption (v, run);
  check_sender (v, run);
  g_print ("RESULT %s late-key: key after frame %" G_GINT64_FORMAT ", key frame at %" G_GINT64_FORMAT
      ", picture back at %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " frames, ~%" G_GINT64_FORMAT " ms)\n",
      run.codec->name, k0, new_key, cmp.first_matched, cmp.first_matched - k0,
      (cmp.first_matched - k0) * 1000 / run.codec->frame_rate);
  return v.ok;
}

/* ------------------------------------------------------------------------
 * Skips: what this codec needs and is not there (yet) */

/* A launch fragment with a missing element gives a (partial) bin and a
 * NO_SUCH_ELEMENT error; FALSE with the reason then. */
bool
fragment_available (const char * fragment, std::string * why)
{
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (fragment, FALSE, &error);
  if (bin)
    gst_object_unref (bin);
  if (!error)
    return true;
  *why = std::string ("'") + fragment + "': " + error->message;
  g_error_free (error);
  return false;
}

bool
sframe_has_layout (const char * media_type)
{
  GstElement *enc = gst_element_factory_make ("sframeenc", nullptr);
  if (!enc)
    return false;
  GstPad *sink = gst_element_get_static_pad (enc, "sink");
  GstCaps *accepted = gst_pad_query_caps (sink, nullptr);
  GstCaps *wanted = gst_caps_new_empty_simple (media_type);
  bool ok = gst_caps_can_intersect (accepted, wanted);
  gst_caps_unref (wanted);
  gst_caps_unref (accepted);
  gst_object_unref (sink);
  gst_object_unref (enc);
  return ok;
}

/* Empty when everything is there, else why the codec is skipped. */
std::string
missing_pieces (const Codec & c)
{
  const char *needed[] = {"webrtcbin", "sframeenc", "sframedec"};
  for (const char *factory : needed) {
    GstElementFactory *f = gst_element_factory_find (factory);
    if (!f)
      return std::string ("element ") + factory + " is not available";
    gst_object_unref (f);
  }
  const char *fragments[] = {c.source, c.encoder, c.payloader, c.depayloader, c.decoder};
  for (const char *fragment : fragments) {
    std::string why;
    /* A trailing element: caps at the end of a fragment are only a filter
     * when something follows them. */
    std::string frag = with_key_interval (fragment, 30) + " ! identity";
    if (!fragment_available (frag.c_str (), &why))
      return why;
  }
  if (!sframe_has_layout (c.media_type))
    return std::string ("sframeenc has no codec-mode layout for ") + c.media_type;
  return {};
}

bool
parse_variant (const char * name, Variant * out)
{
  if (g_str_equal (name, "plain"))
    *out = Variant::plain;
  else if (g_str_equal (name, "loss"))
    *out = Variant::loss;
  else if (g_str_equal (name, "late-key"))
    *out = Variant::late_key;
  else
    return false;
  return true;
}

void
start (Run & run)
{
  run.link = {run.send, run.recv, on_link_error, &run, false};
  if (!peer_link_start (&run.link)) {
    run.fatal = "the ICE agents refused 127.0.0.1";
    return;
  }
  g_signal_connect (run.recv, "pad-added", G_CALLBACK (on_recv_pad_added), &run);
  GstBus *bus = gst_element_get_bus (run.pipeline);
  gst_bus_add_watch (bus, on_bus_message, &run);
  gst_object_unref (bus);
  g_timeout_add (100, on_tick, &run);
  g_timeout_add_seconds (kWatchdogS, on_watchdog, &run);
  gst_element_set_state (run.pipeline, GST_STATE_PLAYING);
  g_main_loop_run (run.loop);
}

bool
evaluate (Run & run)
{
  if (!run.fatal.empty ()) {
    g_print ("  [FAIL] %s\n", run.fatal.c_str ());
    return false;
  }
  /* Stopped: sframedec's counters are final and match what the probes saw. */
  GstStructure *ds = stats_of (receiver_dec (run));
  gchar *text = gst_structure_to_string (ds);
  g_print ("sframedec stats: %s\n", text);
  g_free (text);
  bool ok = false;
  switch (run.variant) {
    case Variant::plain: ok = verdict_plain (run, ds); break;
    case Variant::loss: ok = verdict_loss (run, ds); break;
    case Variant::late_key: ok = verdict_late_key (run, ds); break;
  }
  gst_structure_free (ds);
  return ok;
}

void
cleanup (Run & run)
{
  for (SentFrame & f : run.sent)
    gst_clear_buffer (&f.encoded);
  gst_clear_caps (&run.rx_caps);
  gst_clear_object (&run.dec);
  gst_clear_object (&run.lossy);
  gst_clear_object (&run.enc);
  gst_clear_object (&run.send);
  gst_clear_object (&run.recv);
  gst_clear_object (&run.pipeline);
  g_main_loop_unref (run.loop);
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  Variant variant;
  const Codec *codec = argc == 3 ? find_codec (argv[1]) : nullptr;
  if (!codec || !parse_variant (argv[2], &variant)) {
    g_printerr ("usage: %s CODEC plain|loss|late-key\n", argv[0]);
    return kExitFail;
  }
  lossy_register ();
  std::string missing = missing_pieces (*codec);
  if (!missing.empty ()) {
    g_print ("SKIP %s %s: %s\n", codec->name, argv[2], missing.c_str ());
    return kExitSkip;
  }
  if (variant == Variant::late_key && codec->media != Media::video) {
    g_print ("SKIP %s late-key: only video has key frames to ask for\n", codec->name);
    return kExitSkip;
  }

  Run run;
  run.codec = codec;
  run.variant = variant;
  run.plan = make_plan (*codec, variant);
  run.loop = g_main_loop_new (nullptr, FALSE);
  g_print ("%s %s: window %u frames, key frame interval %u\n", codec->name, argv[2], run.plan.window,
      run.plan.key_interval);
  if (build_sender (run)) {
    start (run);
    gst_element_set_state (run.pipeline, GST_STATE_NULL);
  }
  if (!run.dec && run.fatal.empty ())
    run.fatal = "the receiving webrtcbin never produced a stream";
  bool ok = evaluate (run);
  cleanup (run);
  g_print ("%s %s %s\n", ok ? "PASS" : "FAIL", codec->name, argv[2]);
  return ok ? kExitPass : kExitFail;
}
