/**
 * SECTION:element-rtpsframedepay
 * @title: rtpsframedepay
 * @see_also: rtpsframepay, sframedec
 *
 * Reassembles whole-frame SFrame ciphertexts from RTP packets in the
 * generic SFrame payload format of draft-ietf-avtcore-rtp-sframe-02
 * (section 5.2): a frame is a run of packets with consecutive sequence
 * numbers from one with the S bit to one with the E bit, all with the same
 * timestamp, SSRC and payload type. A frame missing any packet is dropped
 * whole and counted; a partial frame is never output. Packets must arrive
 * in order (put an rtpjitterbuffer in front on a real network): a packet
 * out of order ends the frame being assembled, so reordering costs frames
 * but never mixes pieces of different frames.
 *
 * Memory is bounded by what a frame really holds, not by its payload: the
 * fragments of a frame are copied out of their packets into one block
 * (grown by doubling), so no packet stays referenced however small its
 * fragment. A frame whose block would exceed 32 MiB, or that spans more
 * than 32768 packets (half the RTP sequence number space), is dropped
 * whole, counted as `oversized` and warned about (at most once every two
 * seconds). `buffered-bytes` in #GstRtpSFrameDepay:stats is the block's
 * size (0 between frames). A frame in a single packet is output without a
 * copy, as a part of that packet.
 *
 * Outputs `application/x-sframe, original-caps=...` for
 * `sframedec mode=frame`, taking the original caps from the RTP caps
 * (`original-caps`, as rtpsframepay sets them) or from
 * #GstRtpSFrameDepay:media-caps.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=SFRAME,payload=96" ! rtpjitterbuffer ! rtpsframedepay media-caps=video/x-vp8 ! sframedec mode=frame key=000102030405060708090a0b0c0d0e0f ! vp8dec ! videoconvert ! autovideosink
 * ]|
 * Receives the stream of the rtpsframepay example on UDP port 5004,
 * reassembles each frame from its packets, decrypts it with the same key
 * and shows the VP8 video (media-caps says what the frames hold, since
 * these RTP caps do not).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpsframedepay.h"
#include "../common/gstsframebase.h"
#include "../rtpsframepay/rtpsframe-format.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <cstring>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_sframe_depay_debug);
#define GST_CAT_DEFAULT gst_rtp_sframe_depay_debug

#define DEFAULT_CLOCK_RATE 90000

/* The memory a sender can make us hold (one frame's block), and how long a
 * frame may run: past half the sequence number space its packets no longer
 * compare in order. Powers of two, so doubling reaches the cap exactly. */
constexpr gsize kMaxFrameMemory = 32 * 1024 * 1024;
constexpr gsize kFirstBlockSize = 16 * 1024;
constexpr guint kMaxFramePackets = 32768;

enum {
  PROP_0,
  PROP_MEDIA_CAPS,
  PROP_STATS,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media=(string){ video, audio, application }, "
        "clock-rate=(int)[ 1, MAX ], encoding-name=(string)SFRAME"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS ("application/x-sframe"));

namespace {

struct Settings {
  GstCaps *media_caps = nullptr;
};

struct Stats {
  guint64 frames = 0;              /* frames output */
  guint64 bytes = 0;               /* SFrame bytes output */
  guint64 packets = 0;             /* RTP packets received */
  guint64 incomplete_dropped = 0;  /* frames with packets missing or out of order */
  guint64 malformed = 0;           /* packets / frames violating the format */
  guint64 oversized = 0;           /* frames over kMaxFrameMemory or kMaxFramePackets */
  guint64 buffered_peak = 0;       /* largest frame block held */
};

/* Identifies the frame a packet belongs to. */
struct FrameId {
  guint32 timestamp = 0;
  guint32 ssrc = 0;
  guint8 pt = 0;

  bool operator== (const FrameId & o) const
  {
    return timestamp == o.timestamp && ssrc == o.ssrc && pt == o.pt;
  }
};

/* The frame being reassembled, and the one being thrown away (so its
 * remaining packets do not count as further losses). The frame's bytes
 * are copies in `block`, so it pins no packet: its memory is `capacity`. */
struct State {
  guint8 *block = nullptr;  /* g_malloc'd */
  gsize capacity = 0;
  gsize size = 0;
  guint packets = 0;
  bool assembling = false;
  FrameId frame;
  guint16 next_seq = 0;
  bool discarding = false;
  FrameId discarded;
  bool discont = true;  /* mark the next output DISCONT */

  State () = default;
  State (const State &) = delete;
  State & operator= (const State &) = delete;
  ~State () { g_free (block); }
};

}  // namespace

struct RtpSFrameDepayImpl {
  std::mutex lock;
  Settings settings;
  State state;
  Stats stats;
  DropWarner oversized_warner;

  ~RtpSFrameDepayImpl () { gst_clear_caps (&settings.media_caps); }
};

struct _GstRtpSFrameDepay {
  GstRTPBaseDepayload parent;
  RtpSFrameDepayImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstRtpSFrameDepay, gst_rtp_sframe_depay, GST_TYPE_RTP_BASE_DEPAYLOAD,
    GST_DEBUG_CATEGORY_INIT (gst_rtp_sframe_depay_debug, "rtpsframedepay", 0,
        "SFrame RTP depayloader"));
GST_ELEMENT_REGISTER_DEFINE (rtpsframedepay, "rtpsframedepay", GST_RANK_NONE,
    GST_TYPE_RTP_SFRAME_DEPAY);

static GstStructure *
stats_structure (const Stats & s, const State & state)
{
  return gst_structure_new ("application/x-rtp-sframe-depay-stats",
      "frames", G_TYPE_UINT64, s.frames,
      "bytes", G_TYPE_UINT64, s.bytes,
      "packets", G_TYPE_UINT64, s.packets,
      "incomplete-dropped", G_TYPE_UINT64, s.incomplete_dropped,
      "malformed", G_TYPE_UINT64, s.malformed,
      "oversized", G_TYPE_UINT64, s.oversized,
      "buffered-bytes", G_TYPE_UINT64, static_cast<guint64> (state.capacity),
      "buffered-bytes-peak", G_TYPE_UINT64, s.buffered_peak, nullptr);
}

/* ------------------------------------------------------------------------
 * Reassembly; all under impl->lock */

static void
forget_frame (State & state)
{
  g_clear_pointer (&state.block, g_free);
  state.capacity = state.size = 0;
  state.packets = 0;
  state.assembling = false;
}

/* The frame being assembled can no longer complete; it counts as
 * incomplete unless it was counted otherwise already. */
static void
drop_frame (RtpSFrameDepayImpl * impl, bool count = true)
{
  State & state = impl->state;
  if (!state.assembling)
    return;
  GST_DEBUG ("dropping incomplete frame (timestamp %u, %" G_GSIZE_FORMAT " bytes so far)",
      state.frame.timestamp, state.size);
  if (count)
    impl->stats.incomplete_dropped++;
  state.discarding = true;
  state.discarded = state.frame;
  state.discont = true;
  forget_frame (state);
}

/* A packet that is not the start of a frame, with no frame being
 * assembled: its frame lost its start (count it once) or was dropped
 * already. */
static void
orphan_packet (RtpSFrameDepayImpl * impl, const FrameId & id)
{
  State & state = impl->state;
  if (state.discarding && state.discarded == id)
    return;
  impl->stats.incomplete_dropped++;
  state.discarding = true;
  state.discarded = id;
  state.discont = true;
}

static void
malformed (RtpSFrameDepayImpl * impl, const char *why)
{
  GST_DEBUG ("malformed: %s", why);
  impl->stats.malformed++;
  drop_frame (impl);
}

/* Drops the frame for exceeding a bound; `*warn` becomes the number of
 * drops a warning is due for (0: none yet). */
static void
oversized (RtpSFrameDepayImpl * impl, guint64 * warn)
{
  GST_DEBUG ("frame over %" G_GSIZE_FORMAT " bytes or %u packets", kMaxFrameMemory,
      kMaxFramePackets);
  impl->stats.oversized++;
  drop_frame (impl, false);
  if (!impl->oversized_warner.note_drop (g_get_monotonic_time (), warn))
    *warn = 0;
}

/* Makes room for `needed` bytes, doubling the block; FALSE past the cap. */
static bool
reserve (RtpSFrameDepayImpl * impl, gsize needed)
{
  State & state = impl->state;
  if (needed <= state.capacity)
    return true;
  if (needed > kMaxFrameMemory)
    return false;
  gsize capacity = MAX (state.capacity, kFirstBlockSize);
  while (capacity < needed)
    capacity *= 2;
  state.block = static_cast<guint8 *> (g_realloc (state.block, capacity));
  state.capacity = capacity;
  impl->stats.buffered_peak = MAX (impl->stats.buffered_peak, capacity);
  return true;
}

static bool
append_fragment (RtpSFrameDepayImpl * impl, const guint8 * data, gsize len, guint64 * warn)
{
  State & state = impl->state;
  if (++state.packets > kMaxFramePackets || !reserve (impl, state.size + len)) {
    oversized (impl, warn);
    return false;
  }
  if (len > 0)
    std::memcpy (state.block + state.size, data, len);
  state.size += len;
  return true;
}

/* Every SFrame has a header: an empty one is not a frame. */
static GstBuffer *
output_frame (RtpSFrameDepayImpl * impl, GstBuffer * out)
{
  State & state = impl->state;
  state.assembling = false;
  if (!out) {
    impl->stats.malformed++;
    state.discont = true;
    return nullptr;
  }
  if (state.discont)
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
  state.discont = false;
  impl->stats.frames++;
  impl->stats.bytes += gst_buffer_get_size (out);
  return out;
}

/* Hands the block over, trimmed to the frame. */
static GstBuffer *
finish_frame (RtpSFrameDepayImpl * impl)
{
  State & state = impl->state;
  GstBuffer *out = nullptr;
  if (state.size > 0) {
    out = gst_buffer_new_wrapped (g_realloc (state.block, state.size), state.size);
    state.block = nullptr;
  }
  forget_frame (state);
  return output_frame (impl, out);
}

static GstBuffer *
process_locked (RtpSFrameDepayImpl * impl, GstRTPBuffer * rtp, guint64 * warn)
{
  State & state = impl->state;
  impl->stats.packets++;
  guint len = gst_rtp_buffer_get_payload_len (rtp);
  if (len < rtpsframe::kDescriptorSize) {
    malformed (impl, "no payload descriptor");
    return nullptr;
  }
  auto payload = static_cast<const guint8 *> (gst_rtp_buffer_get_payload (rtp));
  guint8 descriptor = payload[0];
  if (descriptor & rtpsframe::kPacketizedBit) {
    /* Per-packet SFrame needs the media depacketizer after decryption. */
    malformed (impl, "T=1 (per-packet SFrame) is not supported");
    return nullptr;
  }
  /* The five reserved bits are ignored (reserved for future use). */
  FrameId id {gst_rtp_buffer_get_timestamp (rtp), gst_rtp_buffer_get_ssrc (rtp),
    gst_rtp_buffer_get_payload_type (rtp)};
  guint16 seq = gst_rtp_buffer_get_seq (rtp);

  /* Only the next packet of the same frame continues it. */
  if (state.assembling && (seq != state.next_seq || !(id == state.frame)))
    drop_frame (impl);
  if (descriptor & rtpsframe::kStartBit) {
    drop_frame (impl);  /* a new start before the end */
    state.assembling = true;
    state.frame = id;
    state.discarding = false;
  } else if (!state.assembling) {
    orphan_packet (impl, id);
    if (descriptor & rtpsframe::kEndBit)
      state.discarding = false;
    return nullptr;
  }
  state.next_seq = seq + 1;

  guint body = len - rtpsframe::kDescriptorSize;
  if ((descriptor & rtpsframe::kStartBit) && (descriptor & rtpsframe::kEndBit)) {
    /* A whole frame in one packet: no copy, it leaves at once. */
    return output_frame (impl, body > 0 ?
        gst_rtp_buffer_get_payload_subbuffer (rtp, rtpsframe::kDescriptorSize, -1) : nullptr);
  }
  if (!append_fragment (impl, payload + rtpsframe::kDescriptorSize, body, warn))
    return nullptr;
  if (descriptor & rtpsframe::kEndBit)
    return finish_frame (impl);
  return nullptr;
}

static GstBuffer *
gst_rtp_sframe_depay_process_rtp_packet (GstRTPBaseDepayload * depay, GstRTPBuffer * rtp)
{
  auto self = GST_RTP_SFRAME_DEPAY (depay);
  guint64 warn = 0;
  GstBuffer *out;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    out = process_locked (self->impl, rtp, &warn);
  }
  if (warn > 0) {
    GST_ELEMENT_WARNING (self, STREAM, DEMUX, ("Dropping oversized frames"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped: over %" G_GSIZE_FORMAT " bytes of memory or "
            "%u packets", warn, kMaxFrameMemory, kMaxFramePackets));
  }
  return out;
}

static void
reset_state (GstRtpSFrameDepay * self, bool count_incomplete)
{
  std::lock_guard<std::mutex> lock (self->impl->lock);
  if (count_incomplete)
    drop_frame (self->impl);
  forget_frame (self->impl->state);
  self->impl->state.discarding = false;
  self->impl->state.discont = true;
}

/* ------------------------------------------------------------------------
 * Caps and events */

/* The media caps of the protected stream: the media-caps property wins
 * over the RTP caps. FALSE when the RTP caps name unparsable ones. */
static gboolean
original_caps (GstRtpSFrameDepay * self, GstStructure * rtp_caps, GstCaps ** out)
{
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    if (self->impl->settings.media_caps) {
      *out = gst_caps_ref (self->impl->settings.media_caps);
      return TRUE;
    }
  }
  *out = nullptr;
  const gchar *field = gst_structure_get_string (rtp_caps, rtpsframe::kOriginalCapsField);
  if (!field)
    return TRUE;
  *out = gst_caps_from_string (rtpsframe::unescape_caps (field).c_str ());
  return *out != nullptr;
}

static gboolean
gst_rtp_sframe_depay_set_caps (GstRTPBaseDepayload * depay, GstCaps * caps)
{
  auto self = GST_RTP_SFRAME_DEPAY (depay);
  GstStructure *s = gst_caps_get_structure (caps, 0);
  gint clock_rate = DEFAULT_CLOCK_RATE;
  gst_structure_get_int (s, "clock-rate", &clock_rate);
  depay->clock_rate = clock_rate;

  GstCaps *media = nullptr;
  if (!original_caps (self, s, &media)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Invalid original-caps in the RTP caps"),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  GstCaps *out = gst_caps_new_empty_simple (rtpsframe::kSFrameMediaType);
  if (media) {
    gchar *str = gst_caps_to_string (media);
    gst_caps_set_simple (out, rtpsframe::kOriginalCapsField, G_TYPE_STRING, str, nullptr);
    g_free (str);
    gst_caps_unref (media);
  } else {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Unknown media caps"),
        ("no original-caps in the RTP caps and no media-caps set; sframedec cannot restore "
            "the media caps"));
  }
  GST_DEBUG_OBJECT (self, "clock rate %d, output caps %" GST_PTR_FORMAT, clock_rate, out);
  reset_state (self, true);
  gboolean ok = gst_pad_set_caps (GST_RTP_BASE_DEPAYLOAD_SRCPAD (depay), out);
  gst_caps_unref (out);
  return ok;
}

static gboolean
gst_rtp_sframe_depay_handle_event (GstRTPBaseDepayload * depay, GstEvent * event)
{
  auto self = GST_RTP_SFRAME_DEPAY (depay);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      reset_state (self, false);
      break;
    case GST_EVENT_EOS:
      /* A frame still open will never complete. */
      reset_state (self, true);
      break;
    default:
      break;
  }
  return GST_RTP_BASE_DEPAYLOAD_CLASS (gst_rtp_sframe_depay_parent_class)->handle_event (depay, event);
}

static GstStateChangeReturn
gst_rtp_sframe_depay_change_state (GstElement * element, GstStateChange transition)
{
  auto self = GST_RTP_SFRAME_DEPAY (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    reset_state (self, false);
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->stats = Stats ();
    self->impl->oversized_warner = DropWarner ();
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_rtp_sframe_depay_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    reset_state (self, false);
  return ret;
}

/* ------------------------------------------------------------------------
 * GObject */

static void
gst_rtp_sframe_depay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  auto self = GST_RTP_SFRAME_DEPAY (object);
  switch (prop_id) {
    case PROP_MEDIA_CAPS: {
      const GstCaps *caps = gst_value_get_caps (value);
      GstCaps *copy = caps && !gst_caps_is_empty (caps) && !gst_caps_is_any (caps) ?
          gst_caps_copy (caps) : nullptr;
      std::lock_guard<std::mutex> lock (self->impl->lock);
      gst_caps_take (&self->impl->settings.media_caps, copy);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtp_sframe_depay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto self = GST_RTP_SFRAME_DEPAY (object);
  std::lock_guard<std::mutex> lock (self->impl->lock);
  switch (prop_id) {
    case PROP_MEDIA_CAPS:
      gst_value_set_caps (value, self->impl->settings.media_caps);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, stats_structure (self->impl->stats, self->impl->state));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtp_sframe_depay_finalize (GObject * object)
{
  auto self = GST_RTP_SFRAME_DEPAY (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_rtp_sframe_depay_parent_class)->finalize (object);
}

static void
gst_rtp_sframe_depay_init (GstRtpSFrameDepay * self)
{
  self->impl = new RtpSFrameDepayImpl ();
}

static void
gst_rtp_sframe_depay_class_init (GstRtpSFrameDepayClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto depay_class = GST_RTP_BASE_DEPAYLOAD_CLASS (klass);

  gobject_class->set_property = gst_rtp_sframe_depay_set_property;
  gobject_class->get_property = gst_rtp_sframe_depay_get_property;
  gobject_class->finalize = gst_rtp_sframe_depay_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtp_sframe_depay_change_state);
  depay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_sframe_depay_set_caps);
  depay_class->process_rtp_packet = GST_DEBUG_FUNCPTR (gst_rtp_sframe_depay_process_rtp_packet);
  depay_class->handle_event = GST_DEBUG_FUNCPTR (gst_rtp_sframe_depay_handle_event);

  /**
   * GstRtpSFrameDepay:media-caps:
   *
   * Caps of the media inside the SFrames, for RTP caps that do not carry
   * them (`original-caps`), typically udpsrc caps written by hand. When set
   * they win over the RTP caps. Takes effect at the next caps event.
   *
   *   gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=audio,clock-rate=48000,encoding-name=SFRAME,payload=96" ! rtpjitterbuffer ! rtpsframedepay media-caps="audio/x-opus,channel-mapping-family=0,channels=2,rate=48000" ! sframedec mode=frame key=... ! opusdec ! autoaudiosink
   */
  g_object_class_install_property (gobject_class, PROP_MEDIA_CAPS,
      g_param_spec_boxed ("media-caps", "Media caps",
          "Caps of the media inside the SFrames when the RTP caps do not carry them",
          GST_TYPE_CAPS,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstRtpSFrameDepay:stats:
   *
   * Counters since the element started: frames and bytes output, packets
   * received, incomplete-dropped (frames with a packet missing or out of
   * order: dropped whole), malformed (packets without descriptor, with
   * T=1, empty frames), oversized (frames whose block would pass 32 MiB or
   * that span more than 32768 packets). Memory: buffered-bytes (the block
   * of the frame being assembled, now) and buffered-bytes-peak (its
   * largest size).
   *
   *   gst-launch-1.0 -v ... ! rtpsframedepay name=d ! ...   (read d.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Reassembly counters",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP SFrame depayloader",
      "Codec/Depayloader/Network/RTP",
      "Reassembles SFrame-encrypted frames from RTP (draft-ietf-avtcore-rtp-sframe)",
      "gst-sframe developers");
}
