/* Proof that the middle of an SFrame conference sees only ciphertext.
 *
 * Three pipelines in one process, over UDP on 127.0.0.1:
 *   sender    <source> ! <encoder> ! sframeenc key=K ! <payloader> ! udpsink -> P1
 *   relay     udpsrc P1 ! udpsink -> P2      (an SFU's position; records every packet)
 *   receiver  udpsrc P2 ! rtpjitterbuffer ! <depayloader> ! sframedec key=K ! <decoder>
 *
 * Checks, per codec:
 *   (a) the receiver decrypts every frame (sframedec dropped == 0, as many
 *       frames as were encoded) and decodes exactly what a decoder makes of
 *       the clear encoded frames (the "reference decode");
 *   (b) the recording, depayloaded and decoded without the key, gives no
 *       usable media: decoder errors, or pictures far from the reference
 *       (PSNR, checksums) / sound uncorrelated with it. The same recording
 *       decoded through sframedec with the key gives the reference exactly,
 *       which shows the offline path itself works;
 *   (c) no 16-byte window of any encoded frame's protected bytes (everything
 *       but the documented clear header) appears anywhere in the recording,
 *       while every one of them appears in what the receiver's sframedec
 *       outputs. For H.264 / H.265 an SEI user-data NAL carrying a marker
 *       string is added to every access unit before sframeenc: the marker
 *       is in every decrypted access unit and nowhere in the recording.
 *
 * Cases whose elements are missing (not built yet, or no such GStreamer
 * plugin installed) are reported as skipped with the missing element. */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

using Bytes = std::vector<guint8>;

/* A test key (32 bytes, hex), never a real one. */
constexpr const char *kKey = "8f1e6a0d5c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281";
/* What the SEI NAL added to each H.264 / H.265 access unit carries. */
constexpr const char *kMarker = "gst-sframe relay-proof PLAINTEXT MARKER, never on the wire";
constexpr size_t kWindow = 16;

/* How to find a clear frame's protected bytes (docs/wire-format.md). */
enum class Layout { whole, opus, vp8, vp9, h264, h265 };

/* x264 and x265 write their version into an SEI of the first key frame:
 * real encoder output that is plaintext too. */
const char *
encoder_banner (Layout layout)
{
  return layout == Layout::h264 ? "x264 - core" : "x265 (build";
}

struct Case {
  const char *name;
  std::vector<const char *> elements;  /* every factory the case needs */
  const char *codec_caps;              /* what sframeenc must accept in codec mode (or nullptr) */
  bool video;
  std::string source;                  /* ends with the encoder (and its caps) */
  const char *mode;
  std::string pay;
  std::string depay;                   /* up to the media (or x-sframe) frames */
  std::string decoder;
  Layout layout;
  bool sei_marker;
};

const std::string kVideoSrc =
    "videotestsrc num-buffers=60 pattern=smpte ! video/x-raw,width=320,height=240,framerate=30/1 ! ";

const std::vector<Case> &
cases ()
{
  static const std::vector<Case> all = {
    {"opus", {"audiotestsrc", "opusenc", "opusdec", "rtpopuspay", "rtpopusdepay"}, "audio/x-opus",
      false, "audiotestsrc num-buffers=100 samplesperbuffer=960 wave=sine freq=440 volume=0.5 ! "
      "audio/x-raw,rate=48000,channels=1 ! opusenc", "codec", "rtpopuspay", "rtpopusdepay", "opusdec",
      Layout::opus, false},
    {"pcma", {"audiotestsrc", "alawenc", "alawdec", "rtppcmapay", "rtppcmadepay"}, "audio/x-alaw",
      false, "audiotestsrc num-buffers=100 samplesperbuffer=160 wave=sine freq=440 volume=0.5 ! "
      "audio/x-raw,rate=8000,channels=1 ! alawenc", "codec", "rtppcmapay", "rtppcmadepay", "alawdec",
      Layout::whole, false},
    {"pcmu", {"audiotestsrc", "mulawenc", "mulawdec", "rtppcmupay", "rtppcmudepay"}, "audio/x-mulaw",
      false, "audiotestsrc num-buffers=100 samplesperbuffer=160 wave=sine freq=440 volume=0.5 ! "
      "audio/x-raw,rate=8000,channels=1 ! mulawenc", "codec", "rtppcmupay", "rtppcmudepay", "mulawdec",
      Layout::whole, false},
    {"vp8", {"videotestsrc", "vp8enc", "vp8dec", "rtpvp8sframepay", "rtpvp8depay"}, "video/x-vp8",
      true, kVideoSrc + "vp8enc deadline=1 keyframe-max-dist=15", "codec", "rtpvp8sframepay",
      "rtpvp8depay", "vp8dec", Layout::vp8, false},
    {"vp9", {"videotestsrc", "vp9enc", "vp9dec", "rtpvp9sframepay", "rtpvp9depay"}, "video/x-vp9",
      true, kVideoSrc + "vp9enc deadline=1 cpu-used=8 keyframe-max-dist=15", "codec", "rtpvp9sframepay",
      "rtpvp9depay", "vp9dec", Layout::vp9, false},
    {"h264", {"videotestsrc", "x264enc", "avdec_h264", "rtph264pay", "rtph264depay"},
      "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au", true,
      kVideoSrc + "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=slices=2 ! "
      "video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline", "codec",
      "rtph264pay", "rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au",
      "avdec_h264", Layout::h264, true},
    {"h265", {"videotestsrc", "x265enc", "avdec_h265", "rtph265pay", "rtph265depay"},
      "video/x-h265, stream-format=(string)byte-stream, alignment=(string)au", true,
      kVideoSrc + "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=15 option-string=repeat-headers=1 ! "
      "video/x-h265,stream-format=byte-stream,alignment=au", "codec",
      "rtph265pay", "rtph265depay ! video/x-h265,stream-format=byte-stream,alignment=au",
      "avdec_h265", Layout::h265, true},
    /* Frame mode: the generic SFrame RTP format; the whole frame is secret. */
    {"frame-vp8", {"videotestsrc", "vp8enc", "vp8dec", "rtpsframepay", "rtpsframedepay"}, nullptr,
      true, kVideoSrc + "vp8enc deadline=1 keyframe-max-dist=15", "frame", "rtpsframepay",
      "rtpsframedepay", "vp8dec", Layout::whole, false},
    {"frame-opus", {"audiotestsrc", "opusenc", "opusdec", "rtpsframepay", "rtpsframedepay"}, nullptr,
      false, "audiotestsrc num-buffers=100 samplesperbuffer=960 wave=sine freq=440 volume=0.5 ! "
      "audio/x-raw,rate=48000,channels=1 ! opusenc", "frame", "rtpsframepay", "rtpsframedepay",
      "opusdec", Layout::whole, false},
  };
  return all;
}

void
ensure_gst ()
{
  static const bool done = (gst_init (nullptr, nullptr), true);
  (void) done;
}

/* The first thing the case needs that this installation lacks, or "". */
std::string
missing_for (const Case & c)
{
  for (const char *name : c.elements) {
    GstElementFactory *f = gst_element_factory_find (name);
    if (!f)
      return std::string ("element ") + name;
    gst_object_unref (f);
  }
  for (const char *name : {"sframeenc", "sframedec", "udpsrc", "udpsink", "rtpjitterbuffer", "appsrc"}) {
    GstElementFactory *f = gst_element_factory_find (name);
    if (!f)
      return std::string ("element ") + name;
    gst_object_unref (f);
  }
  if (!c.codec_caps)
    return "";
  /* Codec mode must know the layout: a codec-mode sframeenc refuses caps
   * it has none for. */
  GstElement *enc = gst_element_factory_make ("sframeenc", nullptr);
  gst_util_set_object_arg (G_OBJECT (enc), "mode", "codec");
  GstPad *sink = gst_element_get_static_pad (enc, "sink");
  GstCaps *want = gst_caps_from_string (c.codec_caps);
  bool ok = gst_pad_query_accept_caps (sink, want);
  gst_caps_unref (want);
  gst_object_unref (sink);
  gst_object_unref (enc);
  return ok ? "" : std::string ("a codec-mode layout for ") + c.codec_caps;
}

/* ------------------------------------------------------------------------
 * Recording what passes a pad */

struct Frame {
  Bytes data;
  GstClockTime pts;
};

/* The buffers seen on one pad. With `luma`, decoded video frames are kept
 * as their packed Y plane only (what the picture comparisons use). */
struct Tap {
  bool luma = false;
  std::mutex lock;
  std::vector<Frame> frames;
  GstCaps *caps = nullptr;
  int width = 0, height = 0;

  ~Tap () { gst_clear_caps (&caps); }
};

Bytes
buffer_bytes (GstBuffer * buffer)
{
  Bytes out (gst_buffer_get_size (buffer));
  if (!out.empty ())
    gst_buffer_extract (buffer, 0, out.data (), out.size ());
  return out;
}

void
tap_buffer (Tap * tap, GstBuffer * buffer)
{
  if (!tap->luma) {
    tap->frames.push_back ({buffer_bytes (buffer), GST_BUFFER_PTS (buffer)});
    return;
  }
  GstVideoInfo info;
  GstVideoFrame frame;
  if (!tap->caps || !gst_video_info_from_caps (&info, tap->caps) ||
      !gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ)) {
    ADD_FAILURE () << "cannot map a decoded video frame";
    return;
  }
  int w = GST_VIDEO_FRAME_COMP_WIDTH (&frame, 0), h = GST_VIDEO_FRAME_COMP_HEIGHT (&frame, 0);
  int stride = GST_VIDEO_FRAME_COMP_STRIDE (&frame, 0);
  auto y = static_cast<const guint8 *> (GST_VIDEO_FRAME_COMP_DATA (&frame, 0));
  Bytes plane;
  plane.reserve (static_cast<size_t> (w) * h);
  for (int row = 0; row < h; row++)
    plane.insert (plane.end (), y + row * stride, y + row * stride + w);
  gst_video_frame_unmap (&frame);
  tap->width = w;
  tap->height = h;
  tap->frames.push_back ({std::move (plane), GST_BUFFER_PTS (buffer)});
}

GstPadProbeReturn
tap_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  auto tap = static_cast<Tap *> (user_data);
  std::lock_guard<std::mutex> lock (tap->lock);
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    tap_buffer (tap, GST_PAD_PROBE_INFO_BUFFER (info));
  } else if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST (info);
    for (guint i = 0; i < gst_buffer_list_length (list); i++)
      tap_buffer (tap, gst_buffer_list_get (list, i));
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

GstPad *
pad_of (GstElement * bin, const char *element, const char *pad_name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), element);
  if (!e)
    return nullptr;
  GstPad *pad = gst_element_get_static_pad (e, pad_name);
  gst_object_unref (e);
  return pad;
}

void
add_tap (GstElement * bin, const char *element, const char *pad_name, Tap * tap)
{
  GstPad *pad = pad_of (bin, element, pad_name);
  ASSERT_NE (pad, nullptr) << element << ":" << pad_name;
  gst_pad_add_probe (pad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER |
          GST_PAD_PROBE_TYPE_BUFFER_LIST | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM), tap_probe, tap,
      nullptr);
  gst_object_unref (pad);
}

/* ------------------------------------------------------------------------
 * Annex B access units and the SEI marker */

struct Nal {
  size_t offset;  /* of the NAL header */
  size_t size;    /* trailing zero bytes excluded */
};

std::vector<Nal>
split_annexb (const Bytes & au)
{
  std::vector<size_t> starts;
  for (size_t i = 0; i + 2 < au.size (); i++) {
    if (au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1)
      starts.push_back (i);
  }
  std::vector<Nal> nals;
  for (size_t k = 0; k < starts.size (); k++) {
    size_t begin = starts[k] + 3;
    size_t end = k + 1 < starts.size () ? starts[k + 1] : au.size ();
    while (end > begin && au[end - 1] == 0)
      end--;
    nals.push_back ({begin, end - begin});
  }
  return nals;
}

int
nal_type (Layout layout, guint8 header)
{
  return layout == Layout::h264 ? header & 0x1f : (header >> 1) & 0x3f;
}

bool
nal_is_vcl (Layout layout, int type)
{
  return layout == Layout::h264 ? (type >= 1 && type <= 5) : type < 32;
}

/* The NAL units codec mode leaves in clear (docs/wire-format.md): parameter
 * sets, delimiters, end of sequence / stream, filler. */
bool
nal_is_clear (Layout layout, int type)
{
  if (layout == Layout::h264)
    return (type >= 7 && type <= 13) || type == 15;
  return type >= 32 && type <= 38;
}

/* An SEI NAL with one user_data_unregistered message (payload type 5):
 * a 16-byte UUID then the marker; no byte pattern needs emulation
 * prevention (no zeros). */
Bytes
marker_sei (Layout layout)
{
  Bytes nal = {0x00, 0x00, 0x00, 0x01};
  if (layout == Layout::h264)
    nal.push_back (0x06);
  else
    nal.insert (nal.end (), {0x4e, 0x01});  /* PREFIX_SEI_NUT, layer 0, tid 1 */
  size_t len = 16 + strlen (kMarker);
  nal.insert (nal.end (), {0x05, static_cast<guint8> (len)});
  for (int i = 0; i < 16; i++)
    nal.push_back (static_cast<guint8> (0x51 + i));
  nal.insert (nal.end (), kMarker, kMarker + strlen (kMarker));
  nal.push_back (0x80);
  return nal;
}

/* Adds the marker SEI just before the first slice of each access unit
 * (SEI must precede the picture's VCL NAL units). */
GstPadProbeReturn
sei_probe (GstPad *, GstPadProbeInfo * info, gpointer user_data)
{
  Layout layout = *static_cast<Layout *> (user_data);
  GstBuffer *in = GST_PAD_PROBE_INFO_BUFFER (info);
  Bytes au = buffer_bytes (in);
  for (const Nal & nal : split_annexb (au)) {
    if (!nal_is_vcl (layout, nal_type (layout, au[nal.offset])))
      continue;
    size_t at = nal.offset - 3;
    if (at > 0 && au[at - 1] == 0)
      at--;  /* a 4-byte start code */
    Bytes sei = marker_sei (layout);
    au.insert (au.begin () + at, sei.begin (), sei.end ());
    GstBuffer *out = gst_buffer_new_memdup (au.data (), au.size ());
    gst_buffer_copy_into (out, in, (GstBufferCopyFlags) (GST_BUFFER_COPY_FLAGS |
            GST_BUFFER_COPY_TIMESTAMPS | GST_BUFFER_COPY_META), 0, -1);
    gst_buffer_unref (in);
    GST_PAD_PROBE_INFO_DATA (info) = out;
    break;
  }
  return GST_PAD_PROBE_OK;
}

bool
contains (const Bytes & hay, const char *needle)
{
  auto end = needle + strlen (needle);
  return std::search (hay.begin (), hay.end (), needle, end) != hay.end ();
}

/* ------------------------------------------------------------------------
 * Which bytes of a clear frame must never be seen in the middle */

struct Range {
  size_t begin, end;
};

/* The protected byte ranges of a clear encoded frame; `protected_frame`
 * is what sframeenc made of it (prefix layouts: the clear prefix is the
 * part both share, at most what the layout documents). */
std::vector<Range>
protected_ranges (Layout layout, const Bytes & clear, const Bytes & protected_frame)
{
  switch (layout) {
    case Layout::whole:
      return {{0, clear.size ()}};
    case Layout::opus:
      return {{std::min<size_t> (1, clear.size ()), clear.size ()}};
    case Layout::vp8: {
      size_t prefix = !clear.empty () && (clear[0] & 1) == 0 ? 10 : 3;
      return {{std::min (prefix, clear.size ()), clear.size ()}};
    }
    case Layout::vp9: {
      /* The clear part is the uncompressed header's leading fields, in
       * whole bytes: the prefix the two frames share. */
      size_t prefix = 0;
      while (prefix < clear.size () && prefix < protected_frame.size () &&
          clear[prefix] == protected_frame[prefix])
        prefix++;
      return {{prefix, clear.size ()}};
    }
    case Layout::h264:
    case Layout::h265: {
      size_t header = layout == Layout::h264 ? 1 : 2;
      std::vector<Range> out;
      for (const Nal & nal : split_annexb (clear)) {
        if (nal.size > header && !nal_is_clear (layout, nal_type (layout, clear[nal.offset])))
          out.push_back ({nal.offset + header, nal.offset + nal.size});
      }
      return out;
    }
  }
  return {};
}

/* 16-byte windows as two 64-bit halves, for a set of everything seen. */
struct Window {
  guint64 a, b;
  bool operator== (const Window & o) const { return a == o.a && b == o.b; }
};

struct WindowHash {
  size_t operator() (const Window & w) const { return std::hash<guint64> () (w.a * 0x9e3779b97f4a7c15ull ^ w.b); }
};

Window
window_at (const guint8 * p)
{
  Window w;
  memcpy (&w.a, p, 8);
  memcpy (&w.b, p + 8, 8);
  return w;
}

std::unordered_set<Window, WindowHash>
all_windows (const std::vector<Frame> & frames)
{
  std::unordered_set<Window, WindowHash> set;
  for (const Frame & f : frames) {
    for (size_t i = 0; i + kWindow <= f.data.size (); i++)
      set.insert (window_at (f.data.data () + i));
  }
  return set;
}

/* ------------------------------------------------------------------------
 * Running pipelines */

struct Pipeline {
  GstElement *element = nullptr;

  explicit Pipeline (const std::string & launch)
  {
    GError *error = nullptr;
    element = gst_parse_launch (launch.c_str (), &error);
    if (!element || error) {
      ADD_FAILURE () << "cannot parse '" << launch << "': " << (error ? error->message : "?");
      g_clear_error (&error);
    }
  }
  ~Pipeline ()
  {
    if (element) {
      gst_element_set_state (element, GST_STATE_NULL);
      gst_object_unref (element);
    }
  }
  Pipeline (const Pipeline &) = delete;
  Pipeline & operator= (const Pipeline &) = delete;

  GstElement *get (const char *name) const
  {
    GstElement *e = gst_bin_get_by_name (GST_BIN (element), name);
    if (e)
      gst_object_unref (e);  /* the pipeline keeps it alive */
    return e;
  }

  /* The next message of the given types, or nullptr (unref it). */
  GstMessage *pop (GstMessageType types, GstClockTime timeout = 0) const
  {
    GstBus *bus = gst_element_get_bus (element);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, timeout, types);
    gst_object_unref (bus);
    return msg;
  }
};

std::string
describe_error (GstMessage * msg)
{
  GError *err = nullptr;
  gchar *dbg = nullptr;
  gst_message_parse_error (msg, &err, &dbg);
  std::string out = std::string (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg))) + ": " + err->message +
      " (" + (dbg ? dbg : "") + ")";
  g_error_free (err);
  g_free (dbg);
  return out;
}

/* Empty when the pipeline posted no error yet. */
std::string
pending_error (const Pipeline & p)
{
  GstMessage *msg = p.pop (GST_MESSAGE_ERROR);
  if (!msg)
    return "";
  std::string out = describe_error (msg);
  gst_message_unref (msg);
  return out;
}

guint64
stat (GstElement * element, const char *field)
{
  GstStructure *s = nullptr;
  g_object_get (element, "stats", &s, nullptr);
  guint64 value = G_MAXUINT64;
  if (!s || !gst_structure_get_uint64 (s, field, &value))
    ADD_FAILURE () << "no stats field " << field;
  if (s)
    gst_structure_free (s);
  return value;
}

/* Pushes `frames` through appsrc (caps `caps`) ! `chain` ! fakesink and
 * records what reaches the sink. Stops at EOS or at the first error, which
 * is returned in `*error`. */
void
run_offline (GstCaps * caps, const std::vector<Frame> & frames, const std::string & chain, Tap * out,
    std::string * error)
{
  Pipeline p ("appsrc name=src format=time ! " + chain + " ! fakesink name=sink sync=false");
  ASSERT_NE (p.element, nullptr);
  g_object_set (p.get ("src"), "caps", caps, nullptr);
  add_tap (p.element, "sink", "sink", out);
  ASSERT_NE (gst_element_set_state (p.element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  for (const Frame & f : frames) {
    GstBuffer *buf = gst_buffer_new_memdup (f.data.data (), f.data.size ());
    GST_BUFFER_PTS (buf) = f.pts;
    GstFlowReturn ret;
    g_signal_emit_by_name (p.get ("src"), "push-buffer", buf, &ret);
    gst_buffer_unref (buf);
    if (ret != GST_FLOW_OK)
      break;
  }
  GstFlowReturn ret;
  g_signal_emit_by_name (p.get ("src"), "end-of-stream", &ret);
  GstMessage *msg = p.pop ((GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR), 60 * GST_SECOND);
  ASSERT_NE (msg, nullptr) << "offline run '" << chain << "' did not finish";
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    *error = describe_error (msg);
  gst_message_unref (msg);
}

/* RTP packets as depayloader input, timestamped from their RTP timestamp. */
std::vector<Frame>
timestamped_packets (const std::vector<Frame> & packets, int clock_rate)
{
  std::vector<Frame> out;
  guint32 first = 0;
  for (const Frame & p : packets) {
    if (p.data.size () < 12)
      continue;
    guint32 ts = GST_READ_UINT32_BE (p.data.data () + 4);
    if (out.empty ())
      first = ts;
    out.push_back ({p.data, gst_util_uint64_scale (static_cast<guint32> (ts - first), GST_SECOND, clock_rate)});
  }
  return out;
}

/* ------------------------------------------------------------------------
 * Comparing decoded media */

double
psnr (const Bytes & a, const Bytes & b)
{
  if (a.size () != b.size () || a.empty ())
    return 0.0;
  double sum = 0;
  for (size_t i = 0; i < a.size (); i++) {
    double d = static_cast<double> (a[i]) - b[i];
    sum += d * d;
  }
  if (sum == 0)
    return INFINITY;
  return 10.0 * std::log10 (255.0 * 255.0 * a.size () / sum);
}

std::vector<gint16>
samples (const std::vector<Frame> & frames)
{
  std::vector<gint16> out;
  for (const Frame & f : frames) {
    for (size_t i = 0; i + 1 < f.data.size (); i += 2)
      out.push_back (static_cast<gint16> (GST_READ_UINT16_LE (f.data.data () + i)));
  }
  return out;
}

/* Normalized correlation at lag 0 over the common length; 0 when either
 * side is silent. */
double
correlation (const std::vector<gint16> & a, const std::vector<gint16> & b)
{
  size_t n = std::min (a.size (), b.size ());
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++) {
    ab += static_cast<double> (a[i]) * b[i];
    aa += static_cast<double> (a[i]) * a[i];
    bb += static_cast<double> (b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt (aa * bb) : 0.0;
}

bool
same_media (const Case & c, const Tap & a, const Tap & b, std::string * why)
{
  if (!c.video) {
    if (samples (a.frames) == samples (b.frames))
      return true;
    *why = "samples differ (" + std::to_string (samples (a.frames).size ()) + " vs " +
        std::to_string (samples (b.frames).size ()) + ")";
    return false;
  }
  if (a.frames.size () != b.frames.size ()) {
    *why = std::to_string (a.frames.size ()) + " vs " + std::to_string (b.frames.size ()) + " frames";
    return false;
  }
  for (size_t i = 0; i < a.frames.size (); i++) {
    if (a.frames[i].data != b.frames[i].data) {
      *why = "frame " + std::to_string (i) + " differs";
      return false;
    }
  }
  return true;
}

/* S16 interleaved is what the audio decoders here produce; the
 * comparisons assume it. */
void
expect_s16 (const Tap & tap)
{
  ASSERT_NE (tap.caps, nullptr);
  const gchar *format = gst_structure_get_string (gst_caps_get_structure (tap.caps, 0), "format");
  ASSERT_STREQ (format, "S16LE");
}

/* ------------------------------------------------------------------------
 * The live run: sender -> relay -> receiver */

struct Live {
  Tap clear;       /* sender: sframeenc input (with the SEI marker, if any) */
  Tap protected_;  /* sender: sframeenc output */
  Tap sent;        /* sender: payloader output (RTP packets) */
  Tap recording;   /* relay: every packet forwarded */
  Tap decrypted;   /* receiver: sframedec output */
  Tap decoded;     /* receiver: decoder output */
  GstCaps *rtp_caps = nullptr;
  guint64 enc_frames = 0, enc_dropped = 0;
  guint64 dec_frames = 0, dec_dropped = 0, dec_auth = 0, dec_unknown = 0, dec_replayed = 0,
      dec_malformed = 0;

  ~Live () { gst_clear_caps (&rtp_caps); }
};

int
bound_port (const Pipeline & p)
{
  int port = 0;
  g_object_get (p.get ("in"), "port", &port, nullptr);
  return port;
}

/* Waits for `pred`, failing (FALSE) on an error from any pipeline. */
bool
wait_for (const std::vector<const Pipeline *> & all, std::chrono::seconds limit,
    const std::function<bool ()> & pred, const char *what)
{
  auto deadline = std::chrono::steady_clock::now () + limit;
  while (!pred ()) {
    for (const Pipeline *p : all) {
      std::string error = pending_error (*p);
      if (!error.empty ()) {
        ADD_FAILURE () << "error while waiting for " << what << ": " << error;
        return false;
      }
    }
    if (std::chrono::steady_clock::now () > deadline) {
      ADD_FAILURE () << "timed out waiting for " << what;
      return false;
    }
    std::this_thread::sleep_for (std::chrono::milliseconds (20));
  }
  return true;
}

void
run_live (const Case & c, Live * live)
{
  const std::string key = std::string (" key=") + kKey + " mode=" + c.mode;
  Pipeline receiver ("udpsrc name=in port=0 address=127.0.0.1 buffer-size=1048576 ! "
      "rtpjitterbuffer latency=300 ! " + c.depay + " ! sframedec name=sd" + key + " ! " +
      c.decoder + " name=mdec ! fakesink sync=false");
  Pipeline relay ("udpsrc name=in port=0 address=127.0.0.1 buffer-size=1048576 ! "
      "udpsink name=out host=127.0.0.1 sync=false async=false");
  Pipeline sender (c.source + " ! sframeenc name=se" + key + " ! " + c.pay +
      " name=pay ! udpsink name=out host=127.0.0.1 sync=true");
  ASSERT_TRUE (receiver.element && relay.element && sender.element);

  /* Bind both listening sockets first, then point each hop at the next. */
  ASSERT_NE (gst_element_set_state (receiver.element, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE (gst_element_set_state (relay.element, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  int receiver_port = bound_port (receiver), relay_port = bound_port (relay);
  ASSERT_GT (receiver_port, 0);
  ASSERT_GT (relay_port, 0);
  g_object_set (relay.get ("out"), "port", receiver_port, nullptr);
  g_object_set (sender.get ("out"), "port", relay_port, nullptr);

  Layout layout = c.layout;
  if (c.sei_marker) {
    GstPad *pad = pad_of (sender.element, "se", "sink");
    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sei_probe, &layout, nullptr);
    gst_object_unref (pad);
  }
  add_tap (sender.element, "se", "sink", &live->clear);
  add_tap (sender.element, "se", "src", &live->protected_);
  add_tap (sender.element, "pay", "src", &live->sent);
  add_tap (relay.element, "out", "sink", &live->recording);
  add_tap (receiver.element, "sd", "src", &live->decrypted);
  live->decoded.luma = c.video;
  add_tap (receiver.element, "mdec", "src", &live->decoded);

  /* Preroll the sender (udpsink sync=true sends nothing before PLAYING) to
   * learn the RTP caps, which the receiver's udpsrc needs, as from SDP. */
  ASSERT_NE (gst_element_set_state (sender.element, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ (gst_element_get_state (sender.element, nullptr, nullptr, 30 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS) << pending_error (sender);
  GstPad *pay_src = pad_of (sender.element, "pay", "src");
  live->rtp_caps = gst_pad_get_current_caps (pay_src);
  gst_object_unref (pay_src);
  ASSERT_NE (live->rtp_caps, nullptr);
  g_object_set (receiver.get ("in"), "caps", live->rtp_caps, nullptr);

  ASSERT_NE (gst_element_set_state (receiver.element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE (gst_element_set_state (relay.element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE (gst_element_set_state (sender.element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);

  std::vector<const Pipeline *> all = {&sender, &relay, &receiver};
  bool sender_done = false;
  ASSERT_TRUE (wait_for (all, std::chrono::seconds (60), [&] {
    GstMessage *eos = sender.pop (GST_MESSAGE_EOS);
    sender_done = sender_done || eos;
    if (eos)
      gst_message_unref (eos);
    return sender_done;
  }, "the sender's EOS"));

  /* Everything sent reaches sframedec (the jitter buffer holds packets for
   * its latency); then EOS drains jitter buffer and decoder, so the counts
   * below are exact. */
  GstElement *se = sender.get ("se"), *sd = receiver.get ("sd");
  guint64 encrypted = stat (se, "frames");
  ASSERT_TRUE (wait_for (all, std::chrono::seconds (20), [&] {
    return stat (sd, "frames") + stat (sd, "dropped") >= encrypted;
  }, "sframedec to see every frame"));
  gst_element_send_event (receiver.element, gst_event_new_eos ());
  ASSERT_TRUE (wait_for (all, std::chrono::seconds (20), [&] {
    GstMessage *eos = receiver.pop (GST_MESSAGE_EOS);
    if (eos)
      gst_message_unref (eos);
    return eos != nullptr;
  }, "the receiver's EOS"));

  live->enc_frames = encrypted;
  live->enc_dropped = stat (se, "dropped");
  live->dec_frames = stat (sd, "frames");
  live->dec_dropped = stat (sd, "dropped");
  live->dec_auth = stat (sd, "auth-failures");
  live->dec_unknown = stat (sd, "unknown-key");
  live->dec_replayed = stat (sd, "replayed");
  live->dec_malformed = stat (sd, "malformed");
}

/* ------------------------------------------------------------------------
 * The test */

class RelayProof : public ::testing::TestWithParam<Case> {
protected:
  void SetUp () override { ensure_gst (); }
};

void
check_case (const Case & c)
{
  Live live;
  ASSERT_NO_FATAL_FAILURE (run_live (c, &live));
  size_t n = live.clear.frames.size ();
  ASSERT_GT (n, 10u) << "the encoder produced too little to prove anything";
  ASSERT_NE (live.clear.caps, nullptr);

  /* (a) Every frame encrypted, forwarded and decrypted. */
  EXPECT_EQ (live.enc_frames, n);
  EXPECT_EQ (live.enc_dropped, 0u);
  EXPECT_EQ (live.recording.frames.size (), live.sent.frames.size ()) << "packets lost in the relay";
  EXPECT_EQ (live.dec_frames, n);
  EXPECT_EQ (live.dec_dropped, 0u);
  EXPECT_EQ (live.dec_auth + live.dec_unknown + live.dec_replayed + live.dec_malformed, 0u);
  ASSERT_EQ (live.decrypted.frames.size (), n);

  Tap reference;
  reference.luma = c.video;
  std::string error;
  ASSERT_NO_FATAL_FAILURE (run_offline (live.clear.caps, live.clear.frames, c.decoder, &reference,
          &error));
  ASSERT_EQ (error, "") << "the clear stream does not decode";
  ASSERT_FALSE (reference.frames.empty ());
  if (c.video)
    EXPECT_EQ (reference.frames.size (), n);
  else
    ASSERT_NO_FATAL_FAILURE (expect_s16 (reference));
  std::string why;
  EXPECT_TRUE (same_media (c, live.decoded, reference, &why)) << "receiver vs reference: " << why;
  g_print ("[%s] %zu frames encoded, %" G_GUINT64_FORMAT " encrypted, %zu RTP packets relayed, %"
      G_GUINT64_FORMAT " decrypted (0 dropped), %zu decoded buffers equal to the reference decode\n",
      c.name, n, live.enc_frames, live.recording.frames.size (), live.dec_frames,
      live.decoded.frames.size ());

  /* (b) The recording without the key. First the control: the very same
   * offline path through sframedec gives the reference. */
  int clock_rate = 0;
  gst_structure_get_int (gst_caps_get_structure (live.rtp_caps, 0), "clock-rate", &clock_rate);
  ASSERT_GT (clock_rate, 0);
  Tap depayloaded;
  ASSERT_NO_FATAL_FAILURE (run_offline (live.rtp_caps, timestamped_packets (live.recording.frames,
              clock_rate), c.depay, &depayloaded, &error));
  ASSERT_EQ (error, "") << "the recording does not depayload";
  ASSERT_EQ (depayloaded.frames.size (), n);
  ASSERT_NE (depayloaded.caps, nullptr);

  Tap control;
  control.luma = c.video;
  ASSERT_NO_FATAL_FAILURE (run_offline (depayloaded.caps, depayloaded.frames, std::string ("sframedec key=") +
          kKey + " mode=" + c.mode + " ! " + c.decoder, &control, &error));
  ASSERT_EQ (error, "");
  EXPECT_TRUE (same_media (c, control, reference, &why)) << "control (recording + key) vs reference: " << why;

  /* Then the same frames straight into the decoder, as the media type it
   * would expect (frame mode: the original caps). */
  Tap keyless;
  keyless.luma = c.video;
  GstCaps *media_caps = g_str_equal (c.mode, "frame") ? live.clear.caps : depayloaded.caps;
  std::string keyless_error;
  ASSERT_NO_FATAL_FAILURE (run_offline (media_caps, depayloaded.frames, c.decoder + " max-errors=-1",
          &keyless, &keyless_error));
  if (c.video) {
    std::set<Bytes> reference_pictures;
    for (const Frame & f : reference.frames)
      reference_pictures.insert (f.data);
    double best = 0;
    size_t equal = 0;
    for (const Frame & f : keyless.frames) {
      equal += reference_pictures.count (f.data);
      for (const Frame & r : reference.frames)
        best = std::max (best, psnr (f.data, r.data));
    }
    EXPECT_EQ (equal, 0u) << "a picture decoded without the key equals a reference picture";
    EXPECT_LT (best, 20.0) << "a picture decoded without the key resembles the reference";
    std::string comparison = keyless.frames.empty () ? std::string ("no picture to compare") :
        "0 equal to a reference picture; best luma PSNR against any reference picture " +
        std::to_string (best) + " dB";
    g_print ("[%s] without the key: %zu of %zu pictures decoded%s%s; %s (control with the key: "
        "identical to the reference)\n", c.name, keyless.frames.size (), n,
        keyless_error.empty () ? "" : ", decoder error: ", keyless_error.c_str (),
        comparison.c_str ());
  } else {
    std::vector<gint16> ref = samples (reference.frames), got = samples (keyless.frames);
    double r = correlation (got, ref);
    EXPECT_NE (got, ref);
    EXPECT_LT (std::fabs (r), 0.1) << "sound decoded without the key correlates with the reference";
    g_print ("[%s] without the key: %zu samples decoded (reference %zu)%s%s; correlation with "
        "the reference %.4f (control with the key: identical to the reference)\n", c.name,
        got.size (), ref.size (), keyless_error.empty () ? "" : ", decoder error: ",
        keyless_error.c_str (), r);
  }

  /* (c) No protected 16-byte window of any clear frame in the recording;
   * all of them in what the receiver decrypted (so the search works). */
  auto on_wire = all_windows (live.recording.frames);
  auto after_dec = all_windows (live.decrypted.frames);
  size_t checked = 0, leaked = 0, not_restored = 0;
  for (size_t i = 0; i < n; i++) {
    const Bytes & clear = live.clear.frames[i].data;
    const Bytes & prot = i < live.protected_.frames.size () ? live.protected_.frames[i].data : Bytes ();
    for (const Range & r : protected_ranges (c.layout, clear, prot)) {
      for (size_t at = r.begin; at + kWindow <= r.end; at++) {
        Window w = window_at (clear.data () + at);
        checked++;
        leaked += on_wire.count (w);
        not_restored += after_dec.count (w) == 0;
      }
    }
  }
  EXPECT_GT (checked, n) << "too few protected bytes to check";
  EXPECT_EQ (leaked, 0u) << "clear media bytes seen in the middle";
  EXPECT_EQ (not_restored, 0u) << "windows missing after sframedec: the search is broken";
  g_print ("[%s] %zu protected 16-byte windows of the clear frames: %zu found among %zu "
      "recorded packets, all %zu found after sframedec\n", c.name, checked, leaked,
      live.recording.frames.size (), checked - not_restored);

  if (c.sei_marker) {
    const char *banner = encoder_banner (c.layout);
    size_t marked = 0, banners = 0;
    for (const Frame & f : live.decrypted.frames) {
      marked += contains (f.data, kMarker);
      banners += contains (f.data, banner);
    }
    EXPECT_EQ (marked, n) << "the marker SEI is missing after sframedec";
    EXPECT_GT (banners, 0u) << "the encoder's SEI banner is missing after sframedec";
    size_t on_wire_marker = 0, on_wire_banner = 0;
    for (const Frame & p : live.recording.frames) {
      on_wire_marker += contains (p.data, kMarker);
      on_wire_banner += contains (p.data, banner);
    }
    EXPECT_EQ (on_wire_marker, 0u) << "the plaintext marker crossed the relay";
    EXPECT_EQ (on_wire_banner, 0u) << "the encoder's SEI banner crossed the relay";
    g_print ("[%s] marker \"%s\": in %zu of %zu access units after sframedec, in %zu of %zu "
        "recorded packets; encoder banner \"%s\": in %zu access units after sframedec, in %zu "
        "recorded packets\n", c.name, kMarker, marked, n, on_wire_marker,
        live.recording.frames.size (), banner, banners, on_wire_banner);
  }
}

TEST_P (RelayProof, MiddleSeesOnlyCiphertext)
{
  const Case & c = GetParam ();
  std::string missing = missing_for (c);
  if (!missing.empty ()) {
    GTEST_SKIP () << c.name << ": SKIPPED, no " << missing;
  }
  check_case (c);
}

INSTANTIATE_TEST_SUITE_P (Codecs, RelayProof, ::testing::ValuesIn (cases ()),
    [] (const ::testing::TestParamInfo<Case> & info) {
      std::string name = info.param.name;
      std::replace (name.begin (), name.end (), '-', '_');
      return name;
    });

}  // namespace
