#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpvpxsframepay.h"

#include "gstsframebase.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include <cstring>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_vpx_sframe_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_vpx_sframe_pay_debug

#define DEFAULT_PICTURE_ID_MODE GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_15BITS
#define DEFAULT_PICTURE_ID_OFFSET (-1)

enum {
  PROP_0,
  PROP_PICTURE_ID_MODE,
  PROP_PICTURE_ID_OFFSET,
  PROP_STATS,
};

GType
gst_rtp_vpx_sframe_pay_picture_id_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue modes[] = {
    {GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_NONE, "No Picture ID", "none"},
    {GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_7BITS, "7-bit Picture ID", "7-bit"},
    {GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_15BITS, "15-bit Picture ID", "15-bit"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstRtpVpxSFramePayPictureIdMode", modes);
    g_once_init_leave (&type, t);
  }
  return type;
}

namespace {

struct Settings {
  GstRtpVpxSFramePayPictureIdMode mode = DEFAULT_PICTURE_ID_MODE;
  gint offset = DEFAULT_PICTURE_ID_OFFSET;
};

struct State {
  guint picture_id = 0;
  bool warned_mismatch = false;
  DropWarner drop_warner;
};

struct Stats {
  guint64 frames = 0;       /* payloaded */
  guint64 key_frames = 0;
  guint64 packets = 0;
  guint64 bytes = 0;        /* frame bytes payloaded */
  guint64 dropped = 0;
  guint64 malformed = 0;
  guint64 key_frame_mismatch = 0;
};

guint
picture_id_bits (GstRtpVpxSFramePayPictureIdMode mode)
{
  switch (mode) {
    case GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_7BITS: return 7;
    case GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_15BITS: return 15;
    default: return 0;
  }
}

guint
wrap_picture_id (GstRtpVpxSFramePayPictureIdMode mode, guint id)
{
  return id & ((1u << picture_id_bits (mode)) - 1);
}

}  // namespace

struct RtpVpxSFramePayImpl {
  std::mutex lock;
  Settings settings;
  State state;
  Stats stats;
};

struct GstRtpVpxSFramePayPrivate {
  RtpVpxSFramePayImpl *impl;
};

#define PRIV(self) \
  (static_cast<GstRtpVpxSFramePayPrivate *> (gst_rtp_vpx_sframe_pay_get_instance_private (self))->impl)

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstRtpVpxSFramePay, gst_rtp_vpx_sframe_pay,
    GST_TYPE_RTP_BASE_PAYLOAD, G_ADD_PRIVATE (GstRtpVpxSFramePay)
    GST_DEBUG_CATEGORY_INIT (gst_rtp_vpx_sframe_pay_debug, "rtpvpxsframepay", 0,
        "VP8/VP9 SFrame RTP payloader base"));

guint
gst_rtp_vpx_sframe_pay_write_picture_id (GstRtpVpxSFramePayPictureIdMode mode, guint picture_id,
    guint8 * out)
{
  switch (mode) {
    case GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_7BITS:
      out[0] = picture_id & 0x7f;                         /* M=0 */
      return 1;
    case GST_RTP_VPX_SFRAME_PAY_PICTURE_ID_15BITS:
      out[0] = 0x80 | ((picture_id >> 8) & 0x7f);         /* M=1 */
      out[1] = picture_id & 0xff;
      return 2;
    default:
      return 0;
  }
}

/* Like rtpvp8pay: the first picture id is the offset, or random with -1. */
static void
reset_picture_id_locked (RtpVpxSFramePayImpl * impl)
{
  const Settings & s = impl->settings;
  guint first = s.offset < 0 ? g_random_int () : static_cast<guint> (s.offset);
  impl->state.picture_id = wrap_picture_id (s.mode, first);
}

static void
next_picture_id_locked (RtpVpxSFramePayImpl * impl)
{
  impl->state.picture_id = wrap_picture_id (impl->settings.mode, impl->state.picture_id + 1);
}

/* ------------------------------------------------------------------------
 * Stats: the base payloader's structure plus our counters. */

static void
add_stats (GstStructure * s, const Stats & stats)
{
  gst_structure_set (s,
      "frames", G_TYPE_UINT64, stats.frames,
      "key-frames", G_TYPE_UINT64, stats.key_frames,
      "packets", G_TYPE_UINT64, stats.packets,
      "bytes", G_TYPE_UINT64, stats.bytes,
      "dropped", G_TYPE_UINT64, stats.dropped,
      "malformed", G_TYPE_UINT64, stats.malformed,
      "key-frame-mismatch", G_TYPE_UINT64, stats.key_frame_mismatch, nullptr);
}

/* GstRTPBasePayload already has `stats` (seqnum, timestamp, ...). We
 * override it and extend the parent's structure, so one property has both. */
static void
get_stats (GstRtpVpxSFramePay * self, GValue * value)
{
  auto parent_class = G_OBJECT_CLASS (gst_rtp_vpx_sframe_pay_parent_class);
  GParamSpec *parent_pspec = g_object_class_find_property (parent_class, "stats");
  GstStructure *s = nullptr;
  if (parent_pspec && parent_pspec->owner_type != GST_TYPE_RTP_VPX_SFRAME_PAY) {
    GValue parent_value = G_VALUE_INIT;
    g_value_init (&parent_value, GST_TYPE_STRUCTURE);
    parent_class->get_property (G_OBJECT (self), parent_pspec->param_id, &parent_value, parent_pspec);
    s = static_cast<GstStructure *> (g_value_dup_boxed (&parent_value));
    g_value_unset (&parent_value);
  }
  if (!s)
    s = gst_structure_new_empty ("application/x-rtp-payload-stats");
  {
    auto impl = PRIV (self);
    std::lock_guard<std::mutex> lock (impl->lock);
    add_stats (s, impl->stats);
  }
  g_value_take_boxed (value, s);
}

/* ------------------------------------------------------------------------
 * Frames */

/* Keeps the metas that still mean something on a packet: those without
 * tags or tagged only "video" (what the stock payloaders copy). */
static gboolean
copy_meta (GstBuffer * frame, GstMeta ** meta, gpointer user_data)
{
  auto packet = static_cast<GstBuffer *> (user_data);
  const GstMetaInfo *info = (*meta)->info;
  const gchar *const *tags = gst_meta_api_type_get_tags (info->api);
  bool plain = !tags || !tags[0] || (g_str_equal (tags[0], GST_META_TAG_VIDEO_STR) && !tags[1]);
  if (plain && info->transform_func) {
    GstMetaTransformCopy copy = {FALSE, 0, static_cast<gsize> (-1)};
    info->transform_func (packet, *meta, frame, _gst_meta_transform_copy, &copy);
  }
  return TRUE;
}

static GstBuffer *
make_packet (GstRtpVpxSFramePay * self, GstBuffer * frame, const guint8 * descriptor,
    guint descriptor_len, gsize offset, gsize len, gboolean last)
{
  GstBuffer *packet = gst_rtp_base_payload_allocate_output_buffer (GST_RTP_BASE_PAYLOAD (self),
      descriptor_len, 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gst_rtp_buffer_map (packet, GST_MAP_WRITE, &rtp);
  std::memcpy (gst_rtp_buffer_get_payload (&rtp), descriptor, descriptor_len);
  gst_rtp_buffer_set_marker (&rtp, last);
  gst_rtp_buffer_unmap (&rtp);
  if (last)
    GST_BUFFER_FLAG_SET (packet, GST_BUFFER_FLAG_MARKER);
  GST_BUFFER_PTS (packet) = GST_BUFFER_PTS (frame);
  GST_BUFFER_DURATION (packet) = GST_BUFFER_DURATION (frame);
  gst_buffer_foreach_meta (frame, copy_meta, packet);
  /* The frame bytes are shared, not copied. */
  return gst_buffer_append (packet, gst_buffer_copy_region (frame, GST_BUFFER_COPY_MEMORY, offset, len));
}

/* Cuts the frame at the MTU: partitions are ciphertext, so no partition
 * alignment. Every packet carries at least one frame byte (depayloaders
 * drop packets that are all descriptor). */
static GstFlowReturn
fragment (GstRtpVpxSFramePay * self, GstBuffer * frame, GstRtpVpxSFramePacket packet,
    GstBufferList * list)
{
  auto klass = GST_RTP_VPX_SFRAME_PAY_GET_CLASS (self);
  const gsize size = gst_buffer_get_size (frame);
  const guint space = gst_rtp_buffer_calc_payload_len (GST_RTP_BASE_PAYLOAD_MTU (self), 0, 0);
  guint8 descriptor[GST_RTP_VPX_SFRAME_PAY_MAX_DESCRIPTOR];
  gsize offset = 0;
  packet.first = TRUE;
  while (offset < size) {
    packet.last = FALSE;
    guint len = klass->write_descriptor (self, &packet, descriptor);
    if (space <= len) {
      GST_ELEMENT_ERROR (self, STREAM, ENCODE, ("MTU too small"),
          ("mtu %u leaves no room after a %u byte descriptor", GST_RTP_BASE_PAYLOAD_MTU (self), len));
      return GST_FLOW_ERROR;
    }
    gsize chunk = MIN (size - offset, static_cast<gsize> (space - len));
    if (offset + chunk == size) {
      packet.last = TRUE;
      klass->write_descriptor (self, &packet, descriptor);
    }
    gst_buffer_list_add (list, make_packet (self, frame, descriptor, len, offset, chunk, packet.last));
    offset += chunk;
    packet.first = FALSE;
  }
  return GST_FLOW_OK;
}

static void
count_malformed (GstRtpVpxSFramePay * self, gsize size)
{
  auto impl = PRIV (self);
  guint64 count = 0;
  bool warn;
  {
    std::lock_guard<std::mutex> lock (impl->lock);
    impl->stats.dropped++;
    impl->stats.malformed++;
    /* A receiver sees the skipped picture id as a lost picture. */
    next_picture_id_locked (impl);
    warn = impl->state.drop_warner.note_drop (g_get_monotonic_time (), &count);
  }
  if (warn) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Dropping malformed %s frames",
            GST_RTP_VPX_SFRAME_PAY_GET_CLASS (self)->encoding_name),
        ("dropped %" G_GUINT64_FORMAT " frame(s), last one %" G_GSIZE_FORMAT " bytes", count, size));
  }
}

/* The clear key-frame bit decides: it is what the receiving depayloader and
 * decoder read, and SFrame authenticates it. The buffer flag must agree;
 * when it does not, the encoder or an element in between is confused. */
static gboolean
cross_check_key_frame (GstRtpVpxSFramePay * self, GstBuffer * frame, gboolean bit_key)
{
  gboolean flag_key = !GST_BUFFER_FLAG_IS_SET (frame, GST_BUFFER_FLAG_DELTA_UNIT);
  if (flag_key == bit_key)
    return bit_key;
  auto impl = PRIV (self);
  bool warn;
  {
    std::lock_guard<std::mutex> lock (impl->lock);
    impl->stats.key_frame_mismatch++;
    warn = !impl->state.warned_mismatch;
    impl->state.warned_mismatch = true;
  }
  if (warn) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Key frame flags disagree with the frames"),
        ("a buffer flagged as %s frame carries a %s frame header; following the header",
            flag_key ? "key" : "delta", bit_key ? "key" : "delta"));
  }
  return bit_key;
}

static GstFlowReturn
gst_rtp_vpx_sframe_pay_handle_buffer (GstRTPBasePayload * payload, GstBuffer * frame)
{
  auto self = GST_RTP_VPX_SFRAME_PAY (payload);
  auto klass = GST_RTP_VPX_SFRAME_PAY_GET_CLASS (self);
  auto impl = PRIV (self);

  GstMapInfo map;
  if (!gst_buffer_map (frame, &map, GST_MAP_READ)) {
    gst_buffer_unref (frame);
    return GST_FLOW_ERROR;
  }
  gboolean bit_key = FALSE;
  gboolean ok = map.size > 0 && klass->read_key_frame (self, map.data, map.size, &bit_key);
  gsize size = map.size;
  gst_buffer_unmap (frame, &map);
  if (!ok) {
    count_malformed (self, size);
    gst_buffer_unref (frame);
    return GST_FLOW_OK;
  }

  GstRtpVpxSFramePacket packet = {};
  packet.key_frame = cross_check_key_frame (self, frame, bit_key);
  packet.droppable = !packet.key_frame && GST_BUFFER_FLAG_IS_SET (frame, GST_BUFFER_FLAG_DROPPABLE);
  {
    std::lock_guard<std::mutex> lock (impl->lock);
    packet.picture_id_mode = impl->settings.mode;
    packet.picture_id = impl->state.picture_id;
    next_picture_id_locked (impl);
  }

  GstBufferList *list = gst_buffer_list_new_sized (size / 1000 + 1);
  GstFlowReturn ret = fragment (self, frame, packet, list);
  guint packets = gst_buffer_list_length (list);
  gst_buffer_unref (frame);
  if (ret != GST_FLOW_OK) {
    gst_buffer_list_unref (list);
    return ret;
  }
  {
    std::lock_guard<std::mutex> lock (impl->lock);
    impl->stats.frames++;
    impl->stats.key_frames += packet.key_frame ? 1 : 0;
    impl->stats.packets += packets;
    impl->stats.bytes += size;
  }
  return gst_rtp_base_payload_push_list (payload, list);
}

static gboolean
gst_rtp_vpx_sframe_pay_sink_event (GstRTPBasePayload * payload, GstEvent * event)
{
  auto type = GST_EVENT_TYPE (event);
  /* Like the stock payloaders: a GAP (sframeenc dropped a frame) or a
   * flush loses a picture, and the picture id says so. */
  if (type == GST_EVENT_GAP || type == GST_EVENT_FLUSH_START) {
    auto impl = PRIV (GST_RTP_VPX_SFRAME_PAY (payload));
    std::lock_guard<std::mutex> lock (impl->lock);
    next_picture_id_locked (impl);
  }
  return GST_RTP_BASE_PAYLOAD_CLASS (gst_rtp_vpx_sframe_pay_parent_class)->sink_event (payload, event);
}

static gboolean
gst_rtp_vpx_sframe_pay_set_caps (GstRTPBasePayload * payload, GstCaps *)
{
  auto klass = GST_RTP_VPX_SFRAME_PAY_GET_CLASS (payload);
  gst_rtp_base_payload_set_options (payload, "video", TRUE, klass->encoding_name, 90000);
  return gst_rtp_base_payload_set_outcaps (payload, nullptr);
}

static GstStateChangeReturn
gst_rtp_vpx_sframe_pay_change_state (GstElement * element, GstStateChange transition)
{
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    auto impl = PRIV (GST_RTP_VPX_SFRAME_PAY (element));
    std::lock_guard<std::mutex> lock (impl->lock);
    impl->state = State ();
    impl->stats = Stats ();
    reset_picture_id_locked (impl);
  }
  return GST_ELEMENT_CLASS (gst_rtp_vpx_sframe_pay_parent_class)->change_state (element, transition);
}

/* ------------------------------------------------------------------------
 * GObject */

static void
gst_rtp_vpx_sframe_pay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  auto impl = PRIV (GST_RTP_VPX_SFRAME_PAY (object));
  std::lock_guard<std::mutex> lock (impl->lock);
  switch (prop_id) {
    case PROP_PICTURE_ID_MODE:
      impl->settings.mode = static_cast<GstRtpVpxSFramePayPictureIdMode> (g_value_get_enum (value));
      reset_picture_id_locked (impl);
      break;
    case PROP_PICTURE_ID_OFFSET:
      impl->settings.offset = g_value_get_int (value);
      reset_picture_id_locked (impl);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtp_vpx_sframe_pay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  auto self = GST_RTP_VPX_SFRAME_PAY (object);
  if (prop_id == PROP_STATS) {
    get_stats (self, value);
    return;
  }
  auto impl = PRIV (self);
  std::lock_guard<std::mutex> lock (impl->lock);
  switch (prop_id) {
    case PROP_PICTURE_ID_MODE:
      g_value_set_enum (value, impl->settings.mode);
      break;
    case PROP_PICTURE_ID_OFFSET:
      g_value_set_int (value, impl->settings.offset);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_rtp_vpx_sframe_pay_finalize (GObject * object)
{
  auto self = GST_RTP_VPX_SFRAME_PAY (object);
  delete PRIV (self);
  PRIV (self) = nullptr;
  G_OBJECT_CLASS (gst_rtp_vpx_sframe_pay_parent_class)->finalize (object);
}

static void
gst_rtp_vpx_sframe_pay_init (GstRtpVpxSFramePay * self)
{
  PRIV (self) = new RtpVpxSFramePayImpl ();
  reset_picture_id_locked (PRIV (self));
}

static void
gst_rtp_vpx_sframe_pay_class_init (GstRtpVpxSFramePayClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto pay_class = GST_RTP_BASE_PAYLOAD_CLASS (klass);

  gobject_class->set_property = gst_rtp_vpx_sframe_pay_set_property;
  gobject_class->get_property = gst_rtp_vpx_sframe_pay_get_property;
  gobject_class->finalize = gst_rtp_vpx_sframe_pay_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtp_vpx_sframe_pay_change_state);
  pay_class->handle_buffer = GST_DEBUG_FUNCPTR (gst_rtp_vpx_sframe_pay_handle_buffer);
  pay_class->sink_event = GST_DEBUG_FUNCPTR (gst_rtp_vpx_sframe_pay_sink_event);
  pay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_vpx_sframe_pay_set_caps);

  /**
   * GstRtpVpxSFramePay:picture-id-mode:
   *
   * Width of the picture id in every payload descriptor, as rtpvp8pay's
   * property of the same name; the default is 15-bit (what libwebrtc sends),
   * where rtpvp8pay's is none.
   *
   *   gst-launch-1.0 ... ! rtpvp8sframepay picture-id-mode=7-bit ! ...
   */
  g_object_class_install_property (gobject_class, PROP_PICTURE_ID_MODE,
      g_param_spec_enum ("picture-id-mode", "Picture ID mode",
          "Picture id field in the payload descriptor", GST_TYPE_RTP_VPX_SFRAME_PAY_PICTURE_ID_MODE,
          DEFAULT_PICTURE_ID_MODE, (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstRtpVpxSFramePay:picture-id-offset:
   *
   * First picture id (wrapped to the mode's width); -1 picks a random one.
   *
   *   gst-launch-1.0 ... ! rtpvp9sframepay picture-id-offset=0 ! ...
   */
  g_object_class_install_property (gobject_class, PROP_PICTURE_ID_OFFSET,
      g_param_spec_int ("picture-id-offset", "Picture ID offset",
          "First picture id (-1 = random)", -1, 0x7fff, DEFAULT_PICTURE_ID_OFFSET,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstRtpVpxSFramePay:stats:
   *
   * The base payloader's statistics (seqnum, timestamp, ...) plus, since
   * the element started: frames, key-frames, packets, bytes (frame bytes),
   * dropped, malformed, key-frame-mismatch (buffer flag and clear key-frame
   * bit disagreed), all guint64.
   *
   *   gst-launch-1.0 ... ! rtpvp8sframepay name=p ! ...   (read p.stats from the application)
   */
  g_object_class_override_property (gobject_class, PROP_STATS, "stats");

  klass->encoding_name = nullptr;
  gst_type_mark_as_plugin_api (GST_TYPE_RTP_VPX_SFRAME_PAY, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_RTP_VPX_SFRAME_PAY_PICTURE_ID_MODE, (GstPluginAPIFlags) 0);
}
