#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsframebase.h"
#include "gstsframesuite.h"

#include <cstring>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY_STATIC (gst_sframe_base_debug);
#define GST_CAT_DEFAULT gst_sframe_base_debug

#define DEFAULT_MODE GST_SFRAME_MODE_CODEC

/* What a codec-mode element accepts: the codecs it has a layout for. */
/* H.264 and H.265 must come as whole access units: the slices of one
 * picture are bound together (docs/wire-format.md). */
#define CODEC_CAPS "audio/x-opus; audio/x-alaw; audio/x-mulaw; video/x-vp8; video/x-vp9; " \
    "video/x-h264, stream-format=(string)byte-stream, alignment=(string)au; " \
    "video/x-h265, stream-format=(string)byte-stream, alignment=(string)au"
#define SFRAME_MEDIA_TYPE "application/x-sframe"

enum {
  PROP_0,
  PROP_CIPHER_SUITE,
  PROP_KEY,
  PROP_MODE,
  PROP_ROOM,
  PROP_KEY_STORE,
};

namespace {

struct Settings {
  GstSFrameCipherSuite suite = kSFrameDefaultSuite;
  sframe::SecureBytes key;
  guint key_writes = 0;   /* bumped by every write of `key` */
  gsize invalid_key_chars = 0;   /* the length of an unusable `key` written last; 0: none */
  GstSFrameMode mode = DEFAULT_MODE;
  std::string room = GST_SFRAME_DEFAULT_ROOM;
};

struct State {
  GstSFrameMode mode = DEFAULT_MODE;
  sframe::FrameFormat format = sframe::FrameFormat::opaque;
};

}  // namespace

struct SFrameBaseImpl {
  std::mutex settings_lock;
  Settings settings;
  guint applied_key_writes = 0;  /* under settings_lock */
  std::mutex state_lock;
  /* From READY to NULL: the room's store, so applications can install keys
   * before data flows. */
  GstSFrameKeyStore *store = nullptr;
  std::string store_room;
  std::unique_ptr<State> state;
};

/* GObject private data is plain C; it points at the C++ part. */
struct GstSFrameBasePrivate {
  SFrameBaseImpl *impl;
};

#define PRIV(self) \
  (static_cast<GstSFrameBasePrivate *> (gst_sframe_base_get_instance_private (self))->impl)

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstSFrameBase, gst_sframe_base, GST_TYPE_BASE_TRANSFORM,
    G_ADD_PRIVATE (GstSFrameBase)
    GST_DEBUG_CATEGORY_INIT (gst_sframe_base_debug, "sframebase", 0, "SFrame element base"));

static Settings
snapshot_settings (GstSFrameBase * self)
{
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->settings_lock);
  return priv->settings;
}

GstSFrameKeyStore *
gst_sframe_base_get_store (GstSFrameBase * self)
{
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->state_lock);
  return priv->store ? GST_SFRAME_KEY_STORE (gst_object_ref (priv->store)) : nullptr;
}

sframe::FrameFormat
gst_sframe_base_get_format (GstSFrameBase * self)
{
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->state_lock);
  return priv->state ? priv->state->format : sframe::FrameFormat::opaque;
}

gboolean
gst_sframe_base_take_static_key (GstSFrameBase * self, GstSFrameStaticKey * out)
{
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->settings_lock);
  const Settings & s = priv->settings;
  if (s.key_writes == priv->applied_key_writes || s.key.empty ())
    return FALSE;
  priv->applied_key_writes = s.key_writes;
  out->suite = s.suite;
  out->key = s.key;
  return TRUE;
}

void
gst_sframe_base_warn_if_keys_mixed (GstSFrameBase * self, const sframe::KeyRing & ring)
{
  size_t keys = ring.distinct_static_keys ();
  if (keys < 2)
    return;
  std::string room;
  {
    std::lock_guard<std::mutex> lock (PRIV (self)->state_lock);
    room = PRIV (self)->store_room;
  }
  GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
      ("Room \"%s\" now holds %" G_GSIZE_FORMAT " different static keys", room.c_str (), keys),
      ("elements of one room share one key store, so each of them decrypts frames protected with "
       "any of these keys; give elements that must not share keys different \"room\" names"));
}

void
gst_sframe_base_post_key_error (GstSFrameBase * self, sframe::Status status)
{
  /* Never echo the key itself. */
  GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("Unusable SFrame key"),
      ("static key: %s", sframe::status_name (status)));
}

/* Names the property and the accepted form, never the value. */
static void
post_invalid_key (GstSFrameBase * self, gsize chars)
{
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Invalid value for property \"key\": expected a base key of 16 to 64 bytes as hex "
       "(32 to 128 hex digits)"),
      ("got %" G_GSIZE_FORMAT " characters that are not an even number of 32 to 128 hex digits", chars));
}

static void
gst_sframe_base_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  auto self = GST_SFRAME_BASE (object);
  auto priv = PRIV (self);
  gsize invalid_key_chars = 0;   /* posted once the lock is released */
  std::unique_lock<std::mutex> lock (priv->settings_lock);
  Settings & s = priv->settings;
  switch (prop_id) {
    case PROP_CIPHER_SUITE:
      s.suite = static_cast<GstSFrameCipherSuite> (g_value_get_enum (value));
      break;
    case PROP_KEY: {
      const gchar *hex = g_value_get_string (value);
      sframe::SecureBytes key = sframe::hex_to_bytes (hex);
      bool usable = !hex || !*hex || (key.size () >= 16 && key.size () <= 64);
      /* An unusable key leaves no key at all: fail closed, and say so. */
      s.key = usable ? std::move (key) : sframe::SecureBytes ();
      s.invalid_key_chars = usable ? 0 : strlen (hex);
      s.key_writes++;
      if (!usable && GST_STATE (self) > GST_STATE_READY)
        invalid_key_chars = s.invalid_key_chars;
      break;
    }
    case PROP_MODE:
      s.mode = static_cast<GstSFrameMode> (g_value_get_enum (value));
      break;
    case PROP_ROOM: {
      const gchar *room = g_value_get_string (value);
      s.room = room && *room ? room : GST_SFRAME_DEFAULT_ROOM;
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  lock.unlock ();
  if (invalid_key_chars)
    post_invalid_key (self, invalid_key_chars);
}

static void
gst_sframe_base_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_SFRAME_BASE (object);
  if (prop_id == PROP_KEY_STORE) {
    GstSFrameKeyStore *store = gst_sframe_base_get_store (self);
    g_value_take_object (value, store);
    return;
  }
  Settings s = snapshot_settings (self);
  switch (prop_id) {
    case PROP_CIPHER_SUITE:
      g_value_set_enum (value, s.suite);
      break;
    case PROP_MODE:
      g_value_set_enum (value, s.mode);
      break;
    case PROP_ROOM:
      g_value_set_string (value, s.room.c_str ());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

/* Looks up (or creates) the store of the configured room, once per room. */
static void
ensure_store (GstSFrameBase * self, const std::string & room)
{
  auto priv = PRIV (self);
  {
    std::lock_guard<std::mutex> lock (priv->state_lock);
    if (priv->store && priv->store_room == room)
      return;
  }
  GstSFrameKeyStore *store = gst_sframe_key_store_obtain (GST_ELEMENT (self), room.c_str ());
  std::lock_guard<std::mutex> lock (priv->state_lock);
  gst_clear_object (&priv->store);
  priv->store = store;
  priv->store_room = room;
}

static void
release_store (GstSFrameBase * self)
{
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->state_lock);
  gst_clear_object (&priv->store);
}

static GstStateChangeReturn
gst_sframe_base_change_state (GstElement * element, GstStateChange transition)
{
  auto self = GST_SFRAME_BASE (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY)
    ensure_store (self, snapshot_settings (self).room);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_sframe_base_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    release_store (self);
  return ret;
}

static gboolean
gst_sframe_base_start (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_BASE (trans);
  auto priv = PRIV (self);
  Settings s;
  {
    std::lock_guard<std::mutex> lock (priv->settings_lock);
    s = priv->settings;
    priv->applied_key_writes = 0;  /* a static key is (re)installed on start */
  }
  if (s.invalid_key_chars) {
    post_invalid_key (self, s.invalid_key_chars);
    return FALSE;
  }
  ensure_store (self, s.room);  /* `room` may have changed in READY */
  auto state = std::make_unique<State> ();
  state->mode = s.mode;
  GST_DEBUG_OBJECT (self, "room %s, mode %s", s.room.c_str (),
      s.mode == GST_SFRAME_MODE_FRAME ? "frame" : "codec");
  std::lock_guard<std::mutex> lock (priv->state_lock);
  priv->state = std::move (state);
  return TRUE;
}

static gboolean
gst_sframe_base_stop (GstBaseTransform * trans)
{
  auto priv = PRIV (GST_SFRAME_BASE (trans));
  std::lock_guard<std::mutex> lock (priv->state_lock);
  priv->state.reset ();
  return TRUE;
}

/* Frame mode wraps the media caps into application/x-sframe on the
 * encrypting side and unwraps them on the decrypting side. original-caps is
 * left open here: string fields only intersect when spelled alike, so the
 * wrapping side chooses it in fixate_caps, comparing as caps. */
static GstCaps *
wrap_caps (GstCaps *)
{
  return gst_caps_new_empty_simple (SFRAME_MEDIA_TYPE);
}

/* Without usable original-caps the media caps may be anything (ANY); a
 * fixed stream with such caps is refused in fixate_caps. */
static GstCaps *
unwrap_caps (GstCaps * caps)
{
  if (gst_caps_is_any (caps))
    return gst_caps_new_any ();
  GstCaps *out = gst_caps_new_empty ();
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    const gchar *original = gst_structure_get_string (gst_caps_get_structure (caps, i), "original-caps");
    GstCaps *inner = original ? gst_caps_from_string (original) : nullptr;
    if (!inner) {
      gst_caps_unref (out);
      return gst_caps_new_any ();
    }
    out = gst_caps_merge (out, inner);
  }
  return out;
}

/* TRUE when `direction`'s caps are media caps and the other side's are
 * application/x-sframe. */
static bool
wraps_towards_other (GstSFrameBase * self, GstPadDirection direction)
{
  return (direction == GST_PAD_SINK) == static_cast<bool> (GST_SFRAME_BASE_GET_CLASS (self)->encrypts);
}

/* Whether the stream's `media` caps fit an original-caps string that
 * downstream asks for. */
static bool
original_fits (GstSFrameBase * self, const gchar * original, GstCaps * media)
{
  GstCaps *wanted = gst_caps_from_string (original);
  if (!wanted) {
    GST_ELEMENT_WARNING (self, CORE, NEGOTIATION, ("Unparsable original-caps in the downstream caps"),
        ("the original-caps field \"%s\" is not caps", original));
    return false;
  }
  bool fits = gst_caps_can_intersect (wanted, media);
  gst_caps_unref (wanted);
  return fits;
}

/* The original-caps string of `s` that `media` fits: the stream's own
 * caps when downstream leaves the field open, else the first of
 * downstream's (a string or a list of them) that matches as caps, kept as
 * spelled so that string comparisons downstream accept it. */
static gchar *
choose_original (GstSFrameBase * self, const GstStructure * s, GstCaps * media)
{
  const GValue *v = gst_structure_get_value (s, "original-caps");
  if (!v)
    return gst_caps_to_string (media);
  if (G_VALUE_HOLDS_STRING (v)) {
    const gchar *original = g_value_get_string (v);
    return original && original_fits (self, original, media) ? g_strdup (original) : nullptr;
  }
  if (GST_VALUE_HOLDS_LIST (v)) {
    for (guint i = 0; i < gst_value_list_get_size (v); i++) {
      const GValue *item = gst_value_list_get_value (v, i);
      if (G_VALUE_HOLDS_STRING (item) && g_value_get_string (item) &&
          original_fits (self, g_value_get_string (item), media))
        return g_value_dup_string (item);
    }
  }
  return nullptr;
}

/* The encrypting side's output caps: what downstream accepts, with
 * original-caps compared as caps rather than as strings. */
static GstCaps *
fixate_wrapped (GstSFrameBase * self, GstPadDirection direction, GstCaps * media, GstCaps * othercaps)
{
  auto trans = GST_BASE_TRANSFORM (self);
  GstPad *otherpad = direction == GST_PAD_SINK ? GST_BASE_TRANSFORM_SRC_PAD (trans) : GST_BASE_TRANSFORM_SINK_PAD (trans);
  GstCaps *choices = gst_pad_peer_query_caps (otherpad, othercaps);
  GstCaps *out = gst_caps_new_empty ();
  if (gst_caps_is_any (choices)) {
    gst_caps_unref (choices);
    choices = gst_caps_new_empty_simple (SFRAME_MEDIA_TYPE);
  }
  for (guint i = 0; i < gst_caps_get_size (choices) && gst_caps_is_empty (out); i++) {
    const GstStructure *s = gst_caps_get_structure (choices, i);
    if (!gst_structure_has_name (s, SFRAME_MEDIA_TYPE))
      continue;
    gchar *original = choose_original (self, s, media);
    if (!original)
      continue;
    GstStructure *chosen = gst_structure_copy (s);
    gst_structure_set (chosen, "original-caps", G_TYPE_STRING, original, nullptr);
    g_free (original);
    gst_caps_append_structure (out, chosen);
  }
  if (gst_caps_is_empty (out) && !gst_caps_is_empty (choices)) {
    gchar *stream = gst_caps_to_string (media);
    GST_ELEMENT_WARNING (self, CORE, NEGOTIATION, ("No original-caps downstream matches the stream"),
        ("stream caps %s; downstream accepts %" GST_PTR_FORMAT, stream, choices));
    g_free (stream);
  }
  gst_caps_unref (choices);
  gst_caps_unref (othercaps);
  return gst_caps_is_empty (out) ? out : gst_caps_fixate (out);
}

/* ANY cannot be fixated (a critical in GstBaseTransform): frames whose
 * original caps are unknown are not negotiated. */
static GstCaps *
gst_sframe_base_fixate_caps (GstBaseTransform * trans, GstPadDirection direction, GstCaps * caps,
    GstCaps * othercaps)
{
  auto self = GST_SFRAME_BASE (trans);
  if (snapshot_settings (self).mode == GST_SFRAME_MODE_FRAME && wraps_towards_other (self, direction))
    return fixate_wrapped (self, direction, caps, othercaps);
  if (gst_caps_is_any (othercaps)) {
    const GstStructure *s = gst_caps_get_size (caps) ? gst_caps_get_structure (caps, 0) : nullptr;
    const gchar *original = s ? gst_structure_get_string (s, "original-caps") : nullptr;
    if (original) {
      GST_ELEMENT_WARNING (self, CORE, NEGOTIATION, ("Unparsable original-caps in the SFrame caps"),
          ("the original-caps field \"%s\" is not caps", original));
    } else {
      GST_ELEMENT_WARNING (self, CORE, NEGOTIATION, ("No original-caps in the SFrame caps"),
          ("cannot restore the media caps from %" GST_PTR_FORMAT, caps));
    }
    gst_caps_unref (othercaps);
    return gst_caps_new_empty ();
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_base_parent_class)->fixate_caps (trans, direction, caps, othercaps);
}

static GstCaps *
gst_sframe_base_transform_caps (GstBaseTransform * trans, GstPadDirection direction,
    GstCaps * caps, GstCaps * filter)
{
  auto self = GST_SFRAME_BASE (trans);
  Settings s = snapshot_settings (self);
  GstCaps *out;
  if (s.mode == GST_SFRAME_MODE_CODEC) {
    GstCaps *codecs = gst_caps_from_string (CODEC_CAPS);
    out = gst_caps_intersect (caps, codecs);
    gst_caps_unref (codecs);
  } else {
    /* Towards the ciphertext side we wrap; towards the media side we unwrap. */
    out = wraps_towards_other (self, direction) ? wrap_caps (caps) : unwrap_caps (caps);
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, out, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (out);
    out = tmp;
  }
  GST_LOG_OBJECT (self, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      direction == GST_PAD_SINK ? "sink" : "src", caps, out);
  return out;
}

/* The layout of each media type CODEC_CAPS admits. */
static const struct {
  const gchar *media_type;
  sframe::FrameFormat format;
} codec_formats[] = {
  {"audio/x-opus", sframe::FrameFormat::opus},
  {"audio/x-alaw", sframe::FrameFormat::g711},
  {"audio/x-mulaw", sframe::FrameFormat::g711},
  {"video/x-vp8", sframe::FrameFormat::vp8},
  {"video/x-vp9", sframe::FrameFormat::vp9},
  {"video/x-h264", sframe::FrameFormat::h264},
  {"video/x-h265", sframe::FrameFormat::h265},
};

static gboolean
format_for_caps (GstCaps * media_caps, sframe::FrameFormat * format)
{
  const gchar *name = gst_structure_get_name (gst_caps_get_structure (media_caps, 0));
  for (const auto & f : codec_formats) {
    if (g_str_equal (name, f.media_type)) {
      *format = f.format;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean
gst_sframe_base_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  auto self = GST_SFRAME_BASE (trans);
  auto priv = PRIV (self);
  std::lock_guard<std::mutex> lock (priv->state_lock);
  if (!priv->state)
    return FALSE;
  if (priv->state->mode == GST_SFRAME_MODE_FRAME) {
    priv->state->format = sframe::FrameFormat::opaque;
  } else {
    GstCaps *media = GST_SFRAME_BASE_GET_CLASS (self)->encrypts ? incaps : outcaps;
    if (!format_for_caps (media, &priv->state->format)) {
      GST_WARNING_OBJECT (self, "no codec layout for %" GST_PTR_FORMAT, media);
      return FALSE;
    }
  }
  GST_DEBUG_OBJECT (self, "layout %s for %" GST_PTR_FORMAT,
      sframe::frame_format_name (priv->state->format), incaps);
  return TRUE;
}

static gboolean
gst_sframe_base_query (GstBaseTransform * trans, GstPadDirection direction, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_CONTEXT) {
    GstSFrameKeyStore *store = gst_sframe_base_get_store (GST_SFRAME_BASE (trans));
    gboolean answered = gst_sframe_key_store_answer_query (store, query);
    gst_clear_object (&store);
    if (answered)
      return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_base_parent_class)->query (trans, direction, query);
}

static void
gst_sframe_base_finalize (GObject * object)
{
  release_store (GST_SFRAME_BASE (object));
  delete PRIV (GST_SFRAME_BASE (object));
  PRIV (GST_SFRAME_BASE (object)) = nullptr;
  G_OBJECT_CLASS (gst_sframe_base_parent_class)->finalize (object);
}

static void
gst_sframe_base_init (GstSFrameBase * self)
{
  PRIV (self) = new SFrameBaseImpl ();
  /* Never hand input through untouched: no key means no output. */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), FALSE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_sframe_base_class_init (GstSFrameBaseClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_sframe_base_set_property;
  gobject_class->get_property = gst_sframe_base_get_property;
  gobject_class->finalize = gst_sframe_base_finalize;
  GST_ELEMENT_CLASS (klass)->change_state = GST_DEBUG_FUNCPTR (gst_sframe_base_change_state);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_sframe_base_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sframe_base_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR (gst_sframe_base_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR (gst_sframe_base_fixate_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_sframe_base_set_caps);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_sframe_base_query);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  /**
   * GstSFrameBase:cipher-suite:
   *
   * The RFC 9605 cipher suite of the key given with #GstSFrameBase:key. Keys
   * from the key store carry their own suite.
   *
   *   gst-launch-1.0 ... ! sframeenc cipher-suite=aes-256-gcm-sha512-128 key=<64 hex digits> ! ...
   */
  g_object_class_install_property (gobject_class, PROP_CIPHER_SUITE,
      g_param_spec_enum ("cipher-suite", "Cipher suite",
          "RFC 9605 cipher suite of the static key", GST_TYPE_SFRAME_CIPHER_SUITE,
          kSFrameDefaultSuite, (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstSFrameBase:key:
   *
   * A static SFrame base key, 16 to 64 bytes as hex. sframeenc encrypts
   * with it under a key id of its own, drawn at random for each session
   * (its read-only key-id), so senders sharing the key and restarts never
   * repeat a nonce; sframedec decrypts every key id with it. The key goes
   * into the key store of #GstSFrameBase:room, which every SFrame element
   * of the pipeline with the same room shares. Write-only: a key is never
   * read back, logged or shown.
   *
   *   gst-launch-1.0 ... ! sframedec key=000102030405060708090a0b0c0d0e0f ! ...
   */
  g_object_class_install_property (gobject_class, PROP_KEY,
      g_param_spec_string ("key", "Key", "Static SFrame base key: 16 to 64 bytes as hex (32 to 128 hex digits); write-only. "
          "Elements with the same room share one key store, and so this key",
          nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstSFrameBase:mode:
   *
   * codec: codec headers stay clear and are authenticated (Opus, G.711,
   * VP8, VP9, H.264 and H.265 byte-stream), caps unchanged. frame: the
   * whole frame is encrypted and caps become application/x-sframe.
   *
   *   gst-launch-1.0 ... ! sframeenc mode=frame key=... ! sframedec mode=frame key=... ! ...
   */
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode", "What of each frame is encrypted",
          GST_TYPE_SFRAME_MODE, DEFAULT_MODE,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  /**
   * GstSFrameBase:room:
   *
   * Name of the room whose key store this element shares (through
   * GstContext) with the other SFrame elements of the pipeline.
   *
   *   gst-launch-1.0 ... ! sframeenc room=board ! ...  ... ! sframedec room=board ! ...
   */
  g_object_class_install_property (gobject_class, PROP_ROOM,
      g_param_spec_string ("room", "Room",
          "Room whose key store is used; SFrame elements and keymanagers of the pipeline with the same room share it",
          GST_SFRAME_DEFAULT_ROOM,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  /**
   * GstSFrameBase:key-store:
   *
   * The room's #GstSFrameKeyStore, available from READY on; applications add
   * and remove keys and choose the sender key through it.
   */
  g_object_class_install_property (gobject_class, PROP_KEY_STORE,
      g_param_spec_object ("key-store", "Key store", "The room's key store (from READY on)",
          GST_TYPE_SFRAME_KEY_STORE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_type_mark_as_plugin_api (GST_TYPE_SFRAME_BASE, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SFRAME_CIPHER_SUITE, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SFRAME_MODE, (GstPluginAPIFlags) 0);
}

GstBuffer *
gst_sframe_base_new_output (GstBuffer * inbuf, gsize size)
{
  GstBuffer *out = gst_buffer_new_allocate (nullptr, size, nullptr);
  gst_buffer_copy_into (out, inbuf, GST_BUFFER_COPY_METADATA, 0, -1);
  return out;
}

bool
DropWarner::note_drop (gint64 now_us, guint64 * count, guint64 drops)
{
  pending_ += drops;
  if (last_us_ >= 0 && now_us - last_us_ < kIntervalUs)
    return false;
  *count = pending_;
  pending_ = 0;
  last_us_ = now_us;
  return true;
}

void
gst_sframe_base_push_gap (GstSFrameBase * self, GstBuffer * dropped)
{
  GstClockTime ts = GST_BUFFER_PTS_IS_VALID (dropped) ? GST_BUFFER_PTS (dropped) : GST_BUFFER_DTS (dropped);
  if (!GST_CLOCK_TIME_IS_VALID (ts))
    return;
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self),
      gst_event_new_gap (ts, GST_BUFFER_DURATION (dropped)));
}
