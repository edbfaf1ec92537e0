/**
 * SECTION:element-sframedec
 * @title: sframedec
 * @see_also: sframeenc
 *
 * Authenticates and decrypts SFrame (RFC 9605) media frames. It sits between
 * an RTP depayloader and a decoder. Frames it cannot authenticate (tampered,
 * truncated, replayed) are dropped and counted by reason in
 * #GstSFrameDec:stats, with at most one warning every two seconds naming the
 * key id.
 *
 * Frames under a key id it does not have yet are held for a short while
 * (#GstSFrameDec:hold-time, #GstSFrameDec:hold-frames,
 * #GstSFrameDec:hold-bytes): if the key arrives in time they are decrypted
 * and pushed in order, otherwise dropped, counted and warned about. The
 * hold is bounded by the memory its frames keep alive (the allocated size
 * of their memory blocks, so a small frame cut from a large packet counts
 * as that packet), 32 MiB by default. A held frame whose key still has not
 * come is dropped as soon as a later one is pushed, so a frame under a key
 * id that never comes (a forgery) does not hold the others back. Once a
 * key it was missing arrives, sframedec sends an upstream GstForceKeyUnit
 * event so the sender produces a key frame (through webrtcbin: an RTCP
 * PLI). For VP8, VP9, H.264 and H.265 it also sees whether the frames it
 * passes are key frames: until one has passed, from the start of the
 * stream and after missing keys, it asks again once per second of stream
 * time, since a request can be lost or rate-limited on its way.
 *
 * Whenever the sender of the frames it passes changes, sframedec sends a
 * sticky custom event `sframe-sender` downstream: `key-id`, `verified`,
 * and, when the key store knows the roster member who owns the key,
 * `member-id`, `name` and `fingerprint`.
 *
 * With #GstSFrameDec:verify-only it is a second reader of a stream that
 * another sframedec of the room decrypts: it counts and names senders,
 * outputs nothing and leaves the replay window to the other.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96" ! rtpjitterbuffer ! rtpvp8depay ! sframedec key=000102030405060708090a0b0c0d0e0f ! vp8dec ! videoconvert ! autovideosink
 * ]|
 * Receives the VP8 stream of the sframeenc example on UDP port 5004,
 * decrypts it with the same key and shows it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsframedec.h"
#include "../common/gstsframesuite.h"

#include <gst/sframe/core/keyring.h>
#include <gst/video/video.h>

#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

GST_DEBUG_CATEGORY_STATIC (gst_sframe_dec_debug);
#define GST_CAT_DEFAULT gst_sframe_dec_debug

#define DEFAULT_HOLD_TIME_MS 500
#define DEFAULT_HOLD_FRAMES 16

/* How many missing key ids one warning names. */
constexpr size_t kMaxMissingNamed = 8;
/* Room for one frame of rtpsframedepay's largest. */
#define DEFAULT_HOLD_BYTES (G_GUINT64_CONSTANT (32) * 1024 * 1024)
#define MAX_HOLD_BYTES (G_GUINT64_CONSTANT (1024) * 1024 * 1024)

enum {
  PROP_0,
  PROP_STATS,
  PROP_HOLD_TIME,
  PROP_HOLD_FRAMES,
  PROP_HOLD_BYTES,
  PROP_VERIFY_ONLY,
};

namespace {

struct Settings {
  guint hold_time_ms = DEFAULT_HOLD_TIME_MS;
  guint hold_frames = DEFAULT_HOLD_FRAMES;
  guint64 hold_bytes = DEFAULT_HOLD_BYTES;
  bool verify_only = false;
};

constexpr guint64 kNoKeyId = G_MAXUINT64;

struct Stats {
  guint64 frames = 0;   /* decrypted */
  guint64 bytes = 0;    /* plaintext bytes out */
  guint64 auth_failures = 0;
  guint64 unknown_key = 0;
  guint64 replayed = 0;
  guint64 malformed = 0;
  guint64 dropped = 0;
  guint64 held = 0;     /* frames that waited for their key */
  guint64 released = 0; /* held frames decrypted once the key came */
  guint64 key_unit_requests = 0;
  guint64 held_bytes_peak = 0;  /* most memory the held frames kept */
  /* Whose frames these are, for labels: the key id of the last frame
   * whose header parsed, and of the last one decrypted (kNoKeyId: none). */
  guint64 last_key_id = kNoKeyId;
  guint64 decrypted_key_id = kNoKeyId;
};

void
unref_all (std::deque<GstBuffer *> & queue)
{
  for (GstBuffer *b : queue)
    gst_buffer_unref (b);
  queue.clear ();
}

/* Exists only while running. */
struct State {
  GstSFrameKeyStore *store = nullptr;
  std::unique_ptr<sframe::FrameUnprotector> unprotector;
  /* Names senders and counts, outputs nothing, asks upstream for nothing
   * and leaves the replay window to the stream's decrypting sframedec. */
  bool verify_only = false;
  DropWarner warner;
  std::deque<GstBuffer *> held;   /* input frames waiting for their key */
  guint64 held_bytes = 0;         /* their real_size () */
  std::deque<GstBuffer *> ready;  /* decrypted held frames, to push first */
  uint64_t held_generation = 0;   /* key ring generation last tried */
  bool missed_key = false;        /* a key was missing since the last request */
  /* Until a key frame passes (from the start, and after missing keys), the
   * decoder downstream cannot start: see await_key_frame (). */
  bool awaiting_key_frame = true;
  GstClockTime last_request = GST_CLOCK_TIME_NONE;  /* PTS, or monotonic time */
  /* The sender last announced downstream (announce_sender ()). */
  guint64 announced_key_id = kNoKeyId;
  bool announced_verified = false;
  guint64 announced_owners = 0;   /* the store's owners generation then */
  guint64 static_key = 0;         /* handle of our static key in the store, 0: none */
  std::set<guint64> missing;      /* key ids without a key since the last warning (a few) */

  ~State ()
  {
    unref_all (held);
    unref_all (ready);
    if (store && static_key)
      gst_sframe_key_store_remove_static_key (store, static_key);
    gst_clear_object (&store);
  }
};

}  // namespace

struct SFrameDecImpl {
  std::mutex settings_lock;
  Settings settings;
  std::mutex lock;  /* state and stats */
  std::unique_ptr<State> state;
  Stats stats;
  bool last_frame_held = false;
};

struct _GstSFrameDec {
  GstSFrameBase parent;
  SFrameDecImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstSFrameDec, gst_sframe_dec, GST_TYPE_SFRAME_BASE,
    GST_DEBUG_CATEGORY_INIT (gst_sframe_dec_debug, "sframedec", 0, "SFrame decrypter"));
GST_ELEMENT_REGISTER_DEFINE (sframedec, "sframedec", GST_RANK_NONE, GST_TYPE_SFRAME_DEC);

static GstStructure *
stats_structure (const Stats & s, const State * state)
{
  return gst_structure_new ("application/x-sframe-dec-stats",
      "frames", G_TYPE_UINT64, s.frames,
      "bytes", G_TYPE_UINT64, s.bytes,
      "auth-failures", G_TYPE_UINT64, s.auth_failures,
      "unknown-key", G_TYPE_UINT64, s.unknown_key,
      "replayed", G_TYPE_UINT64, s.replayed,
      "malformed", G_TYPE_UINT64, s.malformed,
      "dropped", G_TYPE_UINT64, s.dropped,
      "held", G_TYPE_UINT64, s.held,
      "released", G_TYPE_UINT64, s.released,
      "key-unit-requests", G_TYPE_UINT64, s.key_unit_requests,
      "held-bytes", G_TYPE_UINT64, state ? state->held_bytes : 0,
      "held-bytes-peak", G_TYPE_UINT64, s.held_bytes_peak,
      "last-key-id", G_TYPE_UINT64, s.last_key_id,
      "decrypted-key-id", G_TYPE_UINT64, s.decrypted_key_id, nullptr);
}

static Settings
snapshot_settings (GstSFrameDec * self)
{
  std::lock_guard<std::mutex> lock (self->impl->settings_lock);
  return self->impl->settings;
}

static gboolean
gst_sframe_dec_start (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_DEC (trans);
  if (!GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->start (trans))
    return FALSE;
  auto state = std::make_unique<State> ();
  state->store = gst_sframe_base_get_store (GST_SFRAME_BASE (self));
  state->unprotector = std::make_unique<sframe::FrameUnprotector> (gst_sframe_key_store_get_ring (state->store));
  state->verify_only = snapshot_settings (self).verify_only;
  std::lock_guard<std::mutex> lock (self->impl->lock);
  self->impl->state = std::move (state);
  self->impl->stats = Stats ();
  return TRUE;
}

static gboolean
gst_sframe_dec_stop (GstBaseTransform * trans)
{
  auto self = GST_SFRAME_DEC (trans);
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->state.reset ();
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->stop (trans);
}

static GstFlowReturn
gst_sframe_dec_prepare_output_buffer (GstBaseTransform *, GstBuffer * inbuf,
    GstBuffer ** outbuf)
{
  /* Decryption never grows a frame. */
  *outbuf = gst_sframe_base_new_output (inbuf, gst_buffer_get_size (inbuf));
  return GST_FLOW_OK;
}

static void
note_missing (State & state, guint64 key_id)
{
  if (state.missing.size () < kMaxMissingNamed)
    state.missing.insert (key_id);
}

/* The warning for frames dropped for want of a key names the key ids. */
static bool
warn_missing (GstSFrameDec * self, State & state, guint64 count)
{
  if (state.missing.empty ())
    return false;
  std::string ids;
  for (guint64 id : state.missing)
    ids += (ids.empty () ? "" : ", ") + std::to_string (id);
  state.missing.clear ();
  GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("No SFrame key for key id %s: dropping frames", ids.c_str ()),
      ("%" G_GUINT64_FORMAT " frame(s) dropped; give sframedec a key, or run a keymanager in its room",
          count));
  return true;
}

static void
count_drop (GstSFrameDec * self, State & state, sframe::Status status, const sframe::Header & header,
    bool header_parsed)
{
  Stats & stats = self->impl->stats;
  stats.dropped++;
  switch (status) {
    case sframe::Status::authentication_failed:
      stats.auth_failures++;
      break;
    case sframe::Status::unknown_key:
      stats.unknown_key++;
      break;
    case sframe::Status::replayed:
      stats.replayed++;
      break;
    default:
      stats.malformed++;
      break;
  }
  if (status == sframe::Status::unknown_key)
    note_missing (state, header.key_id);
  guint64 count = 0;
  if (!state.warner.note_drop (g_get_monotonic_time (), &count))
    return;
  if (warn_missing (self, state, count))
    return;
  if (header_parsed) {
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("Dropping frames that cannot be decrypted"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped, last: %s (key id %" G_GUINT64_FORMAT ")",
            count, sframe::status_name (status), header.key_id));
  } else {
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("Dropping frames that cannot be decrypted"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped, last: %s", count, sframe::status_name (status)));
  }
}

static bool
header_parsed (sframe::Status status)
{
  return status != sframe::Status::header_truncated &&
      status != sframe::Status::header_non_minimal && status != sframe::Status::malformed_frame;
}

/* A static key decrypts every key id: each sender draws its own. */
static void
apply_static_key (GstSFrameDec * self, State & state)
{
  GstSFrameStaticKey key;
  if (!gst_sframe_base_take_static_key (GST_SFRAME_BASE (self), &key))
    return;
  uint64_t handle = 0;
  auto & ring = gst_sframe_key_store_get_ring (state.store);
  auto status = ring.add_static_key (gst_sframe_core_suite (key.suite), key.key.view (), &handle);
  if (status != sframe::Status::ok) {
    gst_sframe_base_post_key_error (GST_SFRAME_BASE (self), status);
    return;
  }
  if (state.static_key)
    ring.remove_static_key (state.static_key);
  state.static_key = handle;
  GST_INFO_OBJECT (self, "static key installed");
  gst_sframe_base_warn_if_keys_mixed (GST_SFRAME_BASE (self), ring);
}

/* Decrypts `inbuf` into `outbuf` (at least as large); trims it on success. */
static sframe::Status
decrypt_buffer (State & state, sframe::FrameFormat format, GstBuffer * inbuf, GstBuffer * outbuf,
    sframe::Header * header)
{
  size_t written = 0;
  header->key_id = G_MAXUINT64;
  header->counter = 0;
  sframe::Status status;
  {
    MappedPair mapped (inbuf, outbuf);
    if (!mapped.ok ())
      return sframe::Status::invalid_argument;
    status = state.verify_only ?
        state.unprotector->authenticate (format, mapped.in (), mapped.out (), &written, header) :
        state.unprotector->unprotect (format, mapped.in (), mapped.out (), &written, header);
  }
  if (status == sframe::Status::ok)
    gst_buffer_resize (outbuf, 0, written);
  return status;
}

static void
count_frame (GstSFrameDec * self, GstBuffer * out)
{
  self->impl->stats.frames++;
  self->impl->stats.bytes += gst_buffer_get_size (out);
}

static GstClockTime
buffer_time (GstBuffer * buf)
{
  return GST_BUFFER_PTS_IS_VALID (buf) ? GST_BUFFER_PTS (buf) : GST_BUFFER_DTS (buf);
}

/* The memory a buffer keeps alive: the allocated size of its blocks, not
 * its payload (a small frame may be a part of a large packet). */
static guint64
real_size (GstBuffer * buf)
{
  guint64 total = 0;
  for (guint i = 0; i < gst_buffer_n_memory (buf); i++)
    total += gst_buffer_peek_memory (buf, i)->maxsize;
  return total;
}

static bool
can_hold (const Settings & settings, GstBuffer * buf)
{
  return settings.hold_frames > 0 && settings.hold_time_ms > 0 &&
      real_size (buf) <= settings.hold_bytes;
}

static void
hold (State & state, GstBuffer * buf)
{
  state.held.push_back (buf);
  state.held_bytes += real_size (buf);
}

/* Counts and warns about `n` held frames dropped without their key. */
static void
count_held_drops (GstSFrameDec * self, State & state, guint64 n)
{
  if (n == 0)
    return;
  self->impl->stats.unknown_key += n;
  self->impl->stats.dropped += n;
  guint64 count = 0;
  if (state.warner.note_drop (g_get_monotonic_time (), &count, n) && !warn_missing (self, state, count)) {
    GST_ELEMENT_WARNING (self, STREAM, DECRYPT, ("Dropping frames that cannot be decrypted"),
        ("%" G_GUINT64_FORMAT " frame(s) dropped, last: held for a key that did not come in time",
            count));
  }
}

/* Drops held frames beyond the configured count, time span or memory. */
static void
trim_held (GstSFrameDec * self, State & state, const Settings & settings)
{
  auto too_old = [&] () {
    GstClockTime first = buffer_time (state.held.front ());
    GstClockTime last = buffer_time (state.held.back ());
    return GST_CLOCK_TIME_IS_VALID (first) && GST_CLOCK_TIME_IS_VALID (last) && last > first &&
        last - first > settings.hold_time_ms * GST_MSECOND;
  };
  guint64 dropped = 0;
  while (!state.held.empty () && (state.held.size () > settings.hold_frames ||
          state.held_bytes > settings.hold_bytes || too_old ())) {
    GstBuffer *oldest = state.held.front ();
    state.held.pop_front ();
    state.held_bytes -= real_size (oldest);
    gst_buffer_unref (oldest);
    dropped++;
  }
  Stats & stats = self->impl->stats;
  stats.held_bytes_peak = MAX (stats.held_bytes_peak, state.held_bytes);
  count_held_drops (self, state, dropped);
}

static void
drop_held (GstSFrameDec * self, State & state)
{
  guint64 n = state.held.size ();
  unref_all (state.held);
  state.held_bytes = 0;
  count_held_drops (self, state, n);
}

/* After a key change, decrypts the held frames whose key arrived, in
 * order. One still without its key is dropped once a later one comes out
 * (it could only follow out of order, and a key id that never comes, a
 * forgery say, must not hold the others back); after the last frame out,
 * they stay held. */
static void
retry_held (GstSFrameDec * self, State & state, sframe::FrameFormat format)
{
  uint64_t generation = gst_sframe_key_store_get_ring (state.store).generation ();
  if (state.held.empty () || generation == state.held_generation)
    return;
  state.held_generation = generation;
  std::deque<GstBuffer *> waiting;
  waiting.swap (state.held);
  state.held_bytes = 0;
  for (GstBuffer *in : waiting) {
    GstBuffer *out = gst_sframe_base_new_output (in, gst_buffer_get_size (in));
    sframe::Header header;
    auto status = decrypt_buffer (state, format, in, out, &header);
    if (status == sframe::Status::unknown_key) {
      gst_buffer_unref (out);
      hold (state, in);
      continue;
    }
    drop_held (self, state);   /* earlier ones still without a key: too late now */
    gst_buffer_unref (in);
    if (status == sframe::Status::ok) {
      count_frame (self, out);
      self->impl->stats.decrypted_key_id = header.key_id;
      self->impl->stats.released++;
      state.ready.push_back (out);
    } else {
      gst_buffer_unref (out);
      count_drop (self, state, status, header, header_parsed (status));
    }
  }
}

/* A request for a picture, not for headers: webrtcbin's rtpsession turns
 * it into an RTCP PLI, which SFUs relay to the sender (Janus 1.1.2 relays a
 * subscriber's PLI but not its FIR, the all-headers form). `count` numbers
 * the requests. */
static void
request_key_unit (GstSFrameDec * self, guint64 count)
{
  GST_INFO_OBJECT (self, "asking upstream for a key frame (request %" G_GUINT64_FORMAT ")", count);
  gst_pad_push_event (GST_BASE_TRANSFORM_SINK_PAD (self),
      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, FALSE, (guint) count));
}

/* True for the formats whose key frames sframedec can tell by their clear
 * bytes. */
static bool
tells_key_frames (sframe::FrameFormat format)
{
  using sframe::FrameFormat;
  return format == FrameFormat::vp8 || format == FrameFormat::vp9 || format == FrameFormat::h264 ||
      format == FrameFormat::h265;
}

/* A request for a key frame, or its answer, can be lost or rate-limited on
 * the way (RTCP over UDP, an SFU that forwards one request a second): while
 * the frames passing are not key frames, ask again once a second of stream
 * time (PTS) has gone by. Formats whose key frames cannot be told get the
 * single request made when a missing key arrives. */
static void
await_key_frame (State & state, sframe::FrameFormat format, GstBuffer * out, bool * want_key_unit)
{
  if (*want_key_unit)
    state.awaiting_key_frame = true;
  if (!state.awaiting_key_frame || !tells_key_frames (format))
    return;
  GstMapInfo map;
  if (!gst_buffer_map (out, &map, GST_MAP_READ))
    return;
  bool key = sframe::is_key_frame (format, sframe::ByteView (map.data, map.size));
  gst_buffer_unmap (out, &map);
  if (key) {
    state.awaiting_key_frame = false;
    return;
  }
  /* Frames without a timestamp go by the monotonic clock. */
  GstClockTime now = GST_BUFFER_PTS_IS_VALID (out) ? GST_BUFFER_PTS (out) : g_get_monotonic_time () * GST_USECOND;
  bool second_passed = !GST_CLOCK_TIME_IS_VALID (state.last_request) || now >= state.last_request + GST_SECOND ||
      now < state.last_request;
  if (*want_key_unit || second_passed) {
    *want_key_unit = true;
    state.last_request = now;
  }
}

static GstFlowReturn
gst_sframe_dec_transform_locked (GstSFrameDec * self, GstBuffer * inbuf, GstBuffer * outbuf,
    bool * want_key_unit)
{
  auto format = gst_sframe_base_get_format (GST_SFRAME_BASE (self));
  State *state = self->impl->state.get ();
  if (!state)
    return GST_FLOW_FLUSHING;
  apply_static_key (self, *state);

  sframe::Header header;
  auto status = decrypt_buffer (*state, format, inbuf, outbuf, &header);
  if (header_parsed (status))
    self->impl->stats.last_key_id = header.key_id;
  if (status == sframe::Status::unknown_key) {
    Settings settings = snapshot_settings (self);
    state->missed_key = true;
    if (can_hold (settings, inbuf)) {
      hold (*state, gst_buffer_ref (inbuf));
      note_missing (*state, header.key_id);
      self->impl->stats.held++;
      trim_held (self, *state, settings);
      self->impl->last_frame_held = true;
      return GST_BASE_TRANSFORM_FLOW_DROPPED;
    }
  }
  if (status != sframe::Status::ok) {
    count_drop (self, *state, status, header, header_parsed (status));
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  /* Frames still waiting are older than this one: too late now. */
  drop_held (self, *state);
  if (state->missed_key) {
    state->missed_key = false;
    *want_key_unit = true;
  }
  await_key_frame (*state, format, outbuf, want_key_unit);
  count_frame (self, outbuf);
  self->impl->stats.decrypted_key_id = header.key_id;
  return GST_FLOW_OK;
}

/* Who sent the frames now passing, as the signed roster says: a sticky
 * "sframe-sender" event downstream (key-id, verified and, when a roster
 * member owns the key, member-id, name, fingerprint) whenever it changes.
 * An application that plugs its own chains learns the member behind a
 * track from it. */
static void
announce_sender (GstSFrameDec * self)
{
  guint64 key_id, owners;
  GstSFrameKeyStore *store = nullptr;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    State *state = self->impl->state.get ();
    key_id = self->impl->stats.decrypted_key_id;
    if (!state || !state->store || key_id == kNoKeyId)
      return;
    /* An unverified sender is looked up again only once owners changed. */
    owners = gst_sframe_key_store_get_owners_generation (state->store);
    if (key_id == state->announced_key_id && (state->announced_verified || owners == state->announced_owners))
      return;
    store = GST_SFRAME_KEY_STORE (gst_object_ref (state->store));
  }
  GstStructure *owner = gst_sframe_key_store_get_key_owner (store, key_id);
  gst_object_unref (store);
  bool verified = owner != nullptr;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    State *state = self->impl->state.get ();
    bool same = state && key_id == state->announced_key_id && verified == state->announced_verified;
    if (state) {
      state->announced_owners = owners;
      if (!same) {
        state->announced_key_id = key_id;
        state->announced_verified = verified;
      }
    }
    if (!state || same) {
      if (owner)
        gst_structure_free (owner);
      return;
    }
  }
  GstStructure *info = gst_structure_new ("sframe-sender", "key-id", G_TYPE_UINT64, key_id, "verified",
      G_TYPE_BOOLEAN, verified, nullptr);
  if (owner) {
    for (const char *field : {"member-id", "name", "fingerprint"})
      gst_structure_set (info, field, G_TYPE_STRING, gst_structure_get_string (owner, field), nullptr);
    gst_structure_free (owner);
  }
  gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (self), gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
          info));
}

static GstFlowReturn
gst_sframe_dec_transform (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  auto self = GST_SFRAME_DEC (trans);
  GstFlowReturn ret;
  bool want_key_unit = false, held = false, verify_only = false;
  guint64 request = 0;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    self->impl->last_frame_held = false;
    ret = gst_sframe_dec_transform_locked (self, inbuf, outbuf, &want_key_unit);
    held = self->impl->last_frame_held;
    verify_only = self->impl->state && self->impl->state->verify_only;
    want_key_unit = want_key_unit && !verify_only;
    if (want_key_unit)
      request = ++self->impl->stats.key_unit_requests;
  }
  if (want_key_unit)
    request_key_unit (self, request);
  if (ret == GST_FLOW_OK)
    announce_sender (self);
  if (verify_only)
    return ret == GST_FLOW_OK ? GST_BASE_TRANSFORM_FLOW_DROPPED : ret;
  /* A held frame may still come out later: its time has not passed yet. */
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED && !held)
    gst_sframe_base_push_gap (GST_SFRAME_BASE (self), inbuf);
  return ret;
}

/* Pushes held frames that a newly arrived key unlocked before the frame that
 * just came in (GstBaseTransform calls this until it returns no buffer). */
static GstFlowReturn
gst_sframe_dec_generate_output (GstBaseTransform * trans, GstBuffer ** outbuf)
{
  auto self = GST_SFRAME_DEC (trans);
  auto format = gst_sframe_base_get_format (GST_SFRAME_BASE (self));
  bool want_key_unit = false, verify_only = false, released = false;
  guint64 request = 0;
  *outbuf = nullptr;
  {
    std::lock_guard<std::mutex> lock (self->impl->lock);
    State *state = self->impl->state.get ();
    if (state) {
      verify_only = state->verify_only;
      apply_static_key (self, *state);
      size_t before = state->ready.size ();
      retry_held (self, *state, format);
      if (state->ready.size () > before && state->missed_key && !verify_only) {
        state->missed_key = false;
        state->awaiting_key_frame = true;
        want_key_unit = true;
        request = ++self->impl->stats.key_unit_requests;
      }
      released = !state->ready.empty ();
      if (verify_only) {
        unref_all (state->ready);   /* counted; named below */
      } else if (released) {
        *outbuf = state->ready.front ();
        state->ready.pop_front ();
      }
    }
  }
  if (want_key_unit)
    request_key_unit (self, request);
  if (released)
    announce_sender (self);
  if (*outbuf)
    return GST_FLOW_OK;
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->generate_output (trans, outbuf);
}

static gboolean
gst_sframe_dec_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  auto self = GST_SFRAME_DEC (trans);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_EOS: {
      /* Held frames never get their key now. */
      std::lock_guard<std::mutex> lock (self->impl->lock);
      if (self->impl->state)
        drop_held (self, *self->impl->state);
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_sframe_dec_parent_class)->sink_event (trans, event);
}

static void
gst_sframe_dec_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  auto self = GST_SFRAME_DEC (object);
  std::lock_guard<std::mutex> lock (self->impl->settings_lock);
  switch (prop_id) {
    case PROP_HOLD_TIME:
      self->impl->settings.hold_time_ms = g_value_get_uint (value);
      break;
    case PROP_HOLD_FRAMES:
      self->impl->settings.hold_frames = g_value_get_uint (value);
      break;
    case PROP_HOLD_BYTES:
      self->impl->settings.hold_bytes = g_value_get_uint64 (value);
      break;
    case PROP_VERIFY_ONLY:
      self->impl->settings.verify_only = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_sframe_dec_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_SFRAME_DEC (object);
  switch (prop_id) {
    case PROP_STATS: {
      std::lock_guard<std::mutex> lock (self->impl->lock);
      g_value_take_boxed (value, stats_structure (self->impl->stats, self->impl->state.get ()));
      break;
    }
    case PROP_HOLD_TIME:
      g_value_set_uint (value, snapshot_settings (self).hold_time_ms);
      break;
    case PROP_HOLD_FRAMES:
      g_value_set_uint (value, snapshot_settings (self).hold_frames);
      break;
    case PROP_HOLD_BYTES:
      g_value_set_uint64 (value, snapshot_settings (self).hold_bytes);
      break;
    case PROP_VERIFY_ONLY: {
      /* While running, what is in effect. */
      std::lock_guard<std::mutex> lock (self->impl->lock);
      const State *state = self->impl->state.get ();
      g_value_set_boolean (value, state ? state->verify_only : snapshot_settings (self).verify_only);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_sframe_dec_finalize (GObject * object)
{
  auto self = GST_SFRAME_DEC (object);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_sframe_dec_parent_class)->finalize (object);
}

static void
gst_sframe_dec_init (GstSFrameDec * self)
{
  self->impl = new SFrameDecImpl ();
}

static void
gst_sframe_dec_class_init (GstSFrameDecClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);
  auto trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_sframe_dec_set_property;
  gobject_class->get_property = gst_sframe_dec_get_property;
  gobject_class->finalize = gst_sframe_dec_finalize;
  trans_class->start = GST_DEBUG_FUNCPTR (gst_sframe_dec_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sframe_dec_stop);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_sframe_dec_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_sframe_dec_transform);
  trans_class->generate_output = GST_DEBUG_FUNCPTR (gst_sframe_dec_generate_output);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sframe_dec_sink_event);
  GST_SFRAME_BASE_CLASS (klass)->encrypts = FALSE;

  /**
   * GstSFrameDec:stats:
   *
   * Counters since the element started: frames, bytes (plaintext),
   * auth-failures, unknown-key, replayed, malformed, dropped (their sum),
   * held (frames that waited for their key), released (held frames
   * decrypted once it came), key-unit-requests (upstream key frame requests).
   * Memory: held-bytes (what the held frames keep alive now, as
   * #GstSFrameDec:hold-bytes counts it) and held-bytes-peak (its most).
   * Whose frames: last-key-id (the key id of the last frame whose header
   * parsed, decrypted or not) and decrypted-key-id (of the last frame
   * decrypted); G_MAXUINT64 until there is one.
   *
   *   gst-launch-1.0 ... ! sframedec name=d key=... ! ...   (read d.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Decryption counters by outcome",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstSFrameDec:hold-time:
   *
   * How long (by buffer timestamps, in milliseconds) frames under a key id
   * not installed yet are held in the hope that the key arrives; 0 disables
   * holding.
   *
   *   gst-launch-1.0 ... ! rtpvp8depay ! sframedec hold-time=200 ! vp8dec ! ...
   */
  g_object_class_install_property (gobject_class, PROP_HOLD_TIME,
      g_param_spec_uint ("hold-time", "Hold time", "Milliseconds of frames held waiting for their key",
          0, 10000, DEFAULT_HOLD_TIME_MS,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstSFrameDec:hold-frames:
   *
   * At most this many frames are held waiting for their key; 0 disables
   * holding.
   *
   *   gst-launch-1.0 ... ! rtpopusdepay ! sframedec hold-frames=25 ! opusdec ! ...
   */
  g_object_class_install_property (gobject_class, PROP_HOLD_FRAMES,
      g_param_spec_uint ("hold-frames", "Hold frames", "Most frames held waiting for their key",
          0, 1000, DEFAULT_HOLD_FRAMES,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstSFrameDec:hold-bytes:
   *
   * At most this much memory is kept alive by the frames held waiting for
   * their key: the allocated size of their memory blocks, not their
   * payload. The oldest are dropped first; a frame larger than this alone
   * is not held. 0 disables holding. While held frames are released, their
   * decrypted copies exist besides them.
   *
   *   gst-launch-1.0 ... ! rtpsframedepay ! sframedec mode=frame hold-bytes=8388608 ! ...
   */
  g_object_class_install_property (gobject_class, PROP_HOLD_BYTES,
      g_param_spec_uint64 ("hold-bytes", "Hold bytes",
          "Most memory kept alive by the frames held waiting for their key",
          0, MAX_HOLD_BYTES, DEFAULT_HOLD_BYTES,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  /**
   * GstSFrameDec:verify-only:
   *
   * For a second reader of a stream that another sframedec decrypts:
   * authenticates frames to count them and name their sender (the
   * `sframe-sender` event) and outputs none of them. It asks upstream for
   * no key frame and leaves each frame's counter in the key's replay
   * window, which the two share through the key store, to the decrypting
   * sframedec. It refuses replays in a second window of the key's, which
   * the room's verify-only sframedecs share, so a frame replayed on
   * another stream is refused there too. janusroomsrc uses it to name the
   * senders of the tracks it passes on undecrypted.
   *
   *   ... ! tee name=t ! queue ! rtpvp8depay ! sframedec room=R ! vp8dec ! ...
   *   t. ! queue ! rtpvp8depay ! sframedec room=R verify-only=true ! fakesink
   */
  g_object_class_install_property (gobject_class, PROP_VERIFY_ONLY,
      g_param_spec_boolean ("verify-only", "Verify only",
          "Authenticate, count and name senders, output nothing, and leave the replay window to the stream's "
          "decrypting sframedec", FALSE,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  GstCaps *any = gst_caps_new_any ();
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("sink", GST_PAD_SINK, GST_PAD_ALWAYS, any));
  gst_element_class_add_pad_template (element_class,
      gst_pad_template_new ("src", GST_PAD_SRC, GST_PAD_ALWAYS, any));
  gst_caps_unref (any);

  gst_element_class_set_static_metadata (element_class, "SFrame decrypter",
      "Filter/Network/Decryptor", "Authenticates and decrypts SFrame (RFC 9605) media frames",
      "gst-sframe developers");
}
