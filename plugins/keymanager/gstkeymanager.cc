/**
 * SECTION:element-keymanager
 * @title: keymanager
 * @see_also: sframeenc, sframedec
 *
 * Runs the group key protocol of docs/key-protocol.md for one room and keeps
 * that room's key store up to date, so the sframeenc and sframedec elements
 * of the same room (#GstKeyManager:room) in the pipeline always hold the
 * members' current keys. It has no pads: it talks to the other members over
 * a signalling bus (#GstKeyManager:bus) and to the media elements through
 * the shared key store (GstContext).
 *
 * A device joins with its Ed25519 identity (#GstKeyManager:identity) and a
 * join token issued by the room authority (#GstKeyManager:token), and
 * verifies everyone else's against the authority's public key
 * (#GstKeyManager:authority). It runs from READY to NULL.
 *
 * It tells the application what happens through element messages, which
 * `gst-launch-1.0 -m` prints. No message, log line or error ever contains
 * key or token bytes.
 *
 * - `sframe-roster`, whenever the roster changes: `room`; `epoch`
 *   (guint64); `committer` (its device fingerprint); `security-code` (12
 *   groups of 5 digits separated by spaces, empty before epoch 1: members
 *   who read the same code aloud hold the same roster);
 *   `security-code-groups` (the same 12 groups as an array of strings,
 *   which prints without escapes); `member-count` (guint); `names` (array
 *   of `DISPLAY-NAME:FINGERPRINT`, the fingerprint cut to its first 16 hex
 *   digits, which #GstKeyManager::admit and #GstKeyManager::revoke take);
 *   `lobby-count` and `lobby-names` (the same for joiners waiting for a
 *   host); `members` and `lobby` (lists of `member` structures:
 *   `fingerprint`, `member-id`, `display-name`, `role`, `grants`, `index`).
 * - `sframe-key-rotated` (`room`, `key-id` guint64, `reason`: `initial`,
 *   `join`, `leave`, ...): this device sends under a new key.
 * - `sframe-member-refused` (`room`, `who`, `reason`: `wrong-authority`,
 *   `token-expired`, `not-admitted`, ..., `detail`): a device was kept out.
 * - `sframe-left` (`room`, `reason`: "revoked", "token expired", ...): this
 *   device is out of the room.
 * - `sframe-stats`, every #GstKeyManager:stats-interval milliseconds
 *   (5000; 0: never): `room`, `epoch`, `member-count`, `lobby-count`; the
 *   counters of #GstKeyManager:stats (`messages-sent`, `bytes-sent`,
 *   `messages-received`, `bytes-received`, `messages-rejected`,
 *   `refused-members`, `rotations`, `resyncs`, `key-resends`,
 *   `missing-announced`, `publish-failures`, `queue-overflows`, `bus`,
 *   `bus-connected`, `disconnects`, `reconnects`); and the counters of the
 *   sframeenc and sframedec elements in the same pipeline that use this
 *   room's key store, summed: `encoders` and `decoders` (how many),
 *   `frames-encrypted`, `encrypt-dropped`, `frames-decrypted`,
 *   `decrypt-dropped`, `auth-failures`, `unknown-key`, `replayed` (their
 *   `stats` fields `frames`, `dropped`, `auth-failures`, `unknown-key`,
 *   `replayed`).
 *
 * Hosts admit and revoke members with the action signals
 * #GstKeyManager::admit (`gboolean admit (gchar *who)`) and
 * #GstKeyManager::revoke (`gboolean revoke (gchar *who)`), where `who` is a
 * fingerprint (or its first 16 hex digits) or a member id; any member
 * replaces its own sender key with #GstKeyManager::rotate
 * (`gboolean rotate (void)`).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m keymanager room=board bus=nats://127.0.0.1:4222 identity=room-keys/alice.key token-file=room-keys/alice.jwt authority=room-keys/authority.key.pub \
 *     videotestsrc is-live=true ! videoconvert ! vp8enc deadline=1 ! sframeenc room=board ! rtpvp8sframepay ! udpsink host=127.0.0.1 port=5004
 * ]|
 * Alice joins room `board` over the NATS server on this host (`nats-server
 * -a 127.0.0.1`) with her device key and join token, checked against the
 * room authority's public key, and sends a test pattern (v4l2src for a
 * camera) as VP8 encrypted under her sender key to UDP port 5004. `-m`
 * prints the roster (`names`, `security-code-groups`), her key rotations
 * and, every 5 seconds, `sframe-stats`.
 *
 * |[
 * gst-launch-1.0 -m keymanager room=board bus=nats://127.0.0.1:4222 identity=room-keys/bob.key token-file=room-keys/bob.jwt authority=room-keys/authority.key.pub \
 *     udpsrc port=5004 caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96" ! rtpjitterbuffer ! rtpvp8depay ! sframedec room=board ! vp8dec ! videoconvert ! autovideosink
 * ]|
 * Bob joins the same room and shows Alice's video, decrypted with the key
 * her keymanager sent his. `ROOM=board LIFETIME=3600 pipelines/room-keys.sh
 * alice bob` makes the files in room-keys/ (Alice is the host).
 *
 * |[
 * gst-launch-1.0 -m keymanager room=board bus=local://board identity=room-keys/alice.key token-file=room-keys/alice.jwt authority=room-keys/authority.key.pub \
 *     videotestsrc is-live=true ! vp8enc deadline=1 ! sframeenc room=board ! sframedec room=board ! vp8dec ! videoconvert ! autovideosink
 * ]|
 * A room of one in one process, on a bus local to it (`local://board`):
 * the keymanager fills the key store of room `board`, which sframeenc and
 * sframedec share, so the video is encrypted and decrypted again; a quick
 * check of the identity, token and authority files.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager.h"
#include "gstkeymanager-session.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY (gst_key_manager_debug);
#define GST_CAT_DEFAULT gst_key_manager_debug

using keymanager::EventKind;
using keymanager::Session;
using keymanager::Settings;
using keymanager::View;

#define MAX_TIMING_MS 3600000

enum {
  PROP_0,
  PROP_ROOM,
  PROP_BUS,
  PROP_IDENTITY,
  PROP_TOKEN,
  PROP_TOKEN_FILE,
  PROP_AUTHORITY,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_NATS_CREDENTIALS,
  PROP_ROLE,
  PROP_REQUIRE_ADMISSION,
  PROP_CIPHER_SUITE,
  PROP_DISCOVERY_TIMEOUT,
  PROP_SWITCH_TIMEOUT,
  PROP_GRACE_PERIOD,
  PROP_HEARTBEAT_INTERVAL,
  PROP_LIVENESS_TIMEOUT,
  PROP_ACK_DELAY,
  PROP_STATS_INTERVAL,
  PROP_EPOCH,
  PROP_SECURITY_CODE,
  PROP_ROSTER,
  PROP_STATS,
};

enum {
  SIGNAL_ADMIT,
  SIGNAL_REVOKE,
  SIGNAL_ROTATE,
  LAST_SIGNAL,
};

static guint signals[LAST_SIGNAL];

struct KeyManagerImpl {
  std::mutex settings_lock;
  Settings settings;
  bool running = false;               /* under settings_lock: settings are frozen */

  std::mutex session_lock;
  std::unique_ptr<Session> session;   /* from NULL->READY to READY->NULL */

  keymanager::Shared shared;          /* what the session shows the application */
};

struct _GstKeyManager {
  GstElement parent;
  KeyManagerImpl *impl;
};

G_DEFINE_TYPE_WITH_CODE (GstKeyManager, gst_key_manager, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (gst_key_manager_debug, "keymanager", 0, "SFrame room key manager"));
GST_ELEMENT_REGISTER_DEFINE (keymanager, "keymanager", GST_RANK_NONE, GST_TYPE_KEY_MANAGER);

static Settings
snapshot_settings (GstKeyManager * self)
{
  std::lock_guard<std::mutex> lock (self->impl->settings_lock);
  return self->impl->settings;
}

static void
set_running (GstKeyManager * self, bool running)
{
  std::lock_guard<std::mutex> lock (self->impl->settings_lock);
  self->impl->running = running;
}

static bool
start_session (GstKeyManager * self)
{
  auto impl = self->impl;
  Settings s;
  {
    std::lock_guard<std::mutex> lock (impl->settings_lock);
    s = impl->settings;
    impl->running = true;
  }
  auto session = Session::start (GST_ELEMENT (self), s, &impl->shared);
  if (!session) {
    set_running (self, false);
    return false;
  }
  std::lock_guard<std::mutex> lock (impl->session_lock);
  impl->session = std::move (session);
  return true;
}

static void
stop_session (GstKeyManager * self)
{
  auto impl = self->impl;
  std::unique_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock (impl->session_lock);
    session = std::move (impl->session);
  }
  if (session && session->stop ())
    session.release ();   /* stopped from its own worker, which deletes it */
  session.reset ();
  {
    std::lock_guard<std::mutex> lock (impl->shared.view_lock);
    impl->shared.view.role.clear ();
    impl->shared.view.roster = sframe::room::RosterView ();
  }
  set_running (self, false);
}

static GstStateChangeReturn
gst_key_manager_change_state (GstElement * element, GstStateChange transition)
{
  auto self = GST_KEY_MANAGER (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !start_session (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (gst_key_manager_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL ||
      (transition == GST_STATE_CHANGE_NULL_TO_READY && ret == GST_STATE_CHANGE_FAILURE))
    stop_session (self);
  return ret;
}

/* Action signals: run on the worker; FALSE when not running, refused by
 * the provider, or not answered in time. */
static gboolean
run_command (GstKeyManager * self, EventKind kind, const gchar * who)
{
  if (kind != EventKind::rotate && (!who || !*who)) {
    GST_WARNING_OBJECT (self, "%s: say whom (a fingerprint or a member id)", keymanager::event_name (kind));
    return FALSE;
  }
  /* Not held while waiting: a stop must not wait for the command. */
  keymanager::CommandChannel channel;
  {
    std::lock_guard<std::mutex> lock (self->impl->session_lock);
    if (self->impl->session)
      channel = self->impl->session->command_channel ();
  }
  if (!channel.queue) {
    GST_WARNING_OBJECT (self, "%s: not running", keymanager::event_name (kind));
    return FALSE;
  }
  return keymanager::send_command (GST_ELEMENT (self), channel, kind, who ? who : "");
}

static gboolean
gst_key_manager_admit (GstKeyManager * self, const gchar * who)
{
  return run_command (self, EventKind::admit, who);
}

static gboolean
gst_key_manager_revoke (GstKeyManager * self, const gchar * who)
{
  return run_command (self, EventKind::revoke, who);
}

static gboolean
gst_key_manager_rotate (GstKeyManager * self)
{
  return run_command (self, EventKind::rotate, nullptr);
}

static void
gst_key_manager_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  auto self = GST_KEY_MANAGER (object);
  std::lock_guard<std::mutex> lock (self->impl->settings_lock);
  if (self->impl->running) {
    GST_WARNING_OBJECT (self, "cannot change %s while running: set it in the NULL state", pspec->name);
    return;
  }
  Settings & s = self->impl->settings;
  switch (prop_id) {
    case PROP_ROOM: {
      const gchar *room = g_value_get_string (value);
      s.room = room && *room ? room : GST_SFRAME_DEFAULT_ROOM;
      break;
    }
    case PROP_BUS: {
      const gchar *bus = g_value_get_string (value);
      s.bus = bus && *bus ? bus : keymanager::kDefaultBus;
      break;
    }
    case PROP_IDENTITY:
      s.identity = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_TOKEN: {
      const gchar *token = g_value_get_string (value);
      s.token = token ? sframe::SecureBytes ({reinterpret_cast<const uint8_t *> (token), strlen (token)})
          : sframe::SecureBytes ();
      break;
    }
    case PROP_TOKEN_FILE:
      s.token_file = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_AUTHORITY:
      s.authority = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_TLS_CA_FILE:
      s.bus_security.tls_ca_file = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_TLS_CERT_FILE:
      s.bus_security.tls_cert_file = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_TLS_KEY_FILE:
      s.bus_security.tls_key_file = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_NATS_CREDENTIALS:
      s.bus_security.credentials_file = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case PROP_REQUIRE_ADMISSION:
      s.require_admission = g_value_get_boolean (value);
      break;
    case PROP_CIPHER_SUITE:
      s.suite = static_cast<GstSFrameCipherSuite> (g_value_get_enum (value));
      break;
    case PROP_DISCOVERY_TIMEOUT:
      s.discovery_ms = g_value_get_uint (value);
      break;
    case PROP_SWITCH_TIMEOUT:
      s.switch_ms = g_value_get_uint (value);
      break;
    case PROP_GRACE_PERIOD:
      s.grace_ms = g_value_get_uint (value);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      s.heartbeat_ms = g_value_get_uint (value);
      break;
    case PROP_LIVENESS_TIMEOUT:
      s.liveness_ms = g_value_get_uint (value);
      break;
    case PROP_ACK_DELAY:
      s.ack_delay_ms = g_value_get_uint (value);
      break;
    case PROP_STATS_INTERVAL:
      s.stats_ms = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
set_optional_string (GValue * value, const std::string & s)
{
  g_value_set_string (value, s.empty () ? nullptr : s.c_str ());
}

/* The properties the worker keeps up to date. */
static void
get_view_property (GstKeyManager * self, guint prop_id, GValue * value, const std::string & room)
{
  std::lock_guard<std::mutex> lock (self->impl->shared.view_lock);
  const View & view = self->impl->shared.view;
  switch (prop_id) {
    case PROP_ROLE:
      set_optional_string (value, view.role);
      break;
    case PROP_EPOCH:
      g_value_set_uint64 (value, view.roster.epoch);
      break;
    case PROP_SECURITY_CODE:
      set_optional_string (value, view.roster.security_code);
      break;
    case PROP_ROSTER:
      g_value_take_boxed (value, keymanager::roster_structure (room, view.roster));
      break;
    case PROP_STATS:
      g_value_take_boxed (value, keymanager::stats_structure (view.stats,
          keymanager::bus_stats (view.bus, *self->impl->shared.counters)));
      break;
  }
}

static void
gst_key_manager_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  auto self = GST_KEY_MANAGER (object);
  Settings s = snapshot_settings (self);
  switch (prop_id) {
    case PROP_ROOM:
      g_value_set_string (value, s.room.c_str ());
      break;
    case PROP_BUS:
      g_value_set_string (value, s.bus.c_str ());
      break;
    case PROP_IDENTITY:
      set_optional_string (value, s.identity);
      break;
    case PROP_TOKEN_FILE:
      set_optional_string (value, s.token_file);
      break;
    case PROP_AUTHORITY:
      set_optional_string (value, s.authority);
      break;
    case PROP_TLS_CA_FILE:
      set_optional_string (value, s.bus_security.tls_ca_file);
      break;
    case PROP_TLS_CERT_FILE:
      set_optional_string (value, s.bus_security.tls_cert_file);
      break;
    case PROP_TLS_KEY_FILE:
      set_optional_string (value, s.bus_security.tls_key_file);
      break;
    case PROP_NATS_CREDENTIALS:
      set_optional_string (value, s.bus_security.credentials_file);
      break;
    case PROP_REQUIRE_ADMISSION:
      g_value_set_boolean (value, s.require_admission);
      break;
    case PROP_CIPHER_SUITE:
      g_value_set_enum (value, s.suite);
      break;
    case PROP_DISCOVERY_TIMEOUT:
      g_value_set_uint (value, s.discovery_ms);
      break;
    case PROP_SWITCH_TIMEOUT:
      g_value_set_uint (value, s.switch_ms);
      break;
    case PROP_GRACE_PERIOD:
      g_value_set_uint (value, s.grace_ms);
      break;
    case PROP_HEARTBEAT_INTERVAL:
      g_value_set_uint (value, s.heartbeat_ms);
      break;
    case PROP_LIVENESS_TIMEOUT:
      g_value_set_uint (value, s.liveness_ms);
      break;
    case PROP_ACK_DELAY:
      g_value_set_uint (value, s.ack_delay_ms);
      break;
    case PROP_STATS_INTERVAL:
      g_value_set_uint (value, s.stats_ms);
      break;
    case PROP_ROLE:
    case PROP_EPOCH:
    case PROP_SECURITY_CODE:
    case PROP_ROSTER:
    case PROP_STATS:
      get_view_property (self, prop_id, value, s.room);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_key_manager_finalize (GObject * object)
{
  auto self = GST_KEY_MANAGER (object);
  /* Only an application bug disposes of a running element; never leave a
   * worker behind on freed memory. */
  stop_session (self);
  delete self->impl;
  self->impl = nullptr;
  G_OBJECT_CLASS (gst_key_manager_parent_class)->finalize (object);
}

static void
gst_key_manager_init (GstKeyManager * self)
{
  self->impl = new KeyManagerImpl ();
}

static void
install_timing_property (GObjectClass * gobject_class, guint prop_id, const char *name,
    const char *nick, const char *blurb, guint default_ms)
{
  g_object_class_install_property (gobject_class, prop_id,
      g_param_spec_uint (name, nick, blurb, 1, MAX_TIMING_MS, default_ms,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
}

static void
install_path_property (GObjectClass * gobject_class, guint prop_id, const char *name,
    const char *nick, const char *blurb)
{
  g_object_class_install_property (gobject_class, prop_id,
      g_param_spec_string (name, nick, blurb, nullptr,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
}

static void
install_properties (GObjectClass * gobject_class)
{
  /* The defaults are those of a new element's settings. */
  const Settings defaults;

  /**
   * GstKeyManager:room:
   *
   * The room to join. Its name must match the join token's, and it names the
   * key store this element fills: sframeenc and sframedec with the same
   * #GstSFrameBase:room share it.
   *
   *   gst-launch-1.0 keymanager room=board ... ! sframeenc room=board ! ...
   */
  g_object_class_install_property (gobject_class, PROP_ROOM,
      g_param_spec_string ("room", "Room", "The room to join, and whose key store to fill",
          defaults.room.c_str (), (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:bus:
   *
   * The signalling bus: `local://NAME` (members in this process), or
   * `nats://[USER:PASSWORD@]HOST:PORT`, several of them comma-separated for
   * the nodes of one NATS cluster; `tls://` instead of `nats://` requires
   * TLS (so does #GstKeyManager:tls-ca-file). The bus is not trusted with
   * anything secret; a user and password keep outsiders off the server, and
   * never appear in messages or logs (the URI is shown without them).
   *
   *   gst-launch-1.0 keymanager bus=nats://127.0.0.1:4222,nats://127.0.0.1:4223 ...
   *   gst-launch-1.0 keymanager bus=tls://alice:secret@nats.example.org:4222 tls-ca-file=ca.pem ...
   */
  g_object_class_install_property (gobject_class, PROP_BUS,
      g_param_spec_string ("bus", "Bus",
          "Signalling bus URI: local://NAME, nats://[USER:PASSWORD@]HOST:PORT[,...] or tls://...",
          defaults.bus.c_str (), (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:identity:
   *
   * This device's Ed25519 private key file (PKCS#8 PEM, from
   * `gst-sframe-keytool identity new FILE`). A file readable or writable by
   * group or others is refused: `chmod 600 FILE`.
   *
   *   gst-launch-1.0 keymanager identity=/home/me/.config/sframe/device.key ...
   */
  install_path_property (gobject_class, PROP_IDENTITY, "identity", "Identity",
      "This device's Ed25519 private key file (mode 0600)");

  /**
   * GstKeyManager:token:
   *
   * This device's join token (a JWT from the room authority). Write-only: a
   * token is a bearer credential until used, so this element never reads
   * it back or logs it. Wins over #GstKeyManager:token-file. Prefer
   * #GstKeyManager:token-file on command lines: gst-launch-1.0 arguments
   * are visible to other users (ps) and GStreamer's parser logs them at
   * debug level.
   *
   *   gst-launch-1.0 keymanager token="$(cat me.jwt)" ...
   */
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token", "Join token (write-only)", nullptr,
          (GParamFlags) (G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:token-file:
   *
   * A file holding the join token (as `gst-sframe-keytool token issue --out`
   * writes it, mode 0600). It is read again whenever it changes (checked
   * every second): a newer token for the same member, name, role and
   * grants renews the membership, which lasts only as long as a valid
   * token. Write the new token to a temporary file and rename it over this
   * one, so that it is never read half written.
   *
   *   gst-launch-1.0 keymanager token-file=me.jwt ...
   */
  install_path_property (gobject_class, PROP_TOKEN_FILE, "token-file", "Token file",
      "File holding the join token");

  /**
   * GstKeyManager:authority:
   *
   * The room authority's Ed25519 public key file (PEM or base64url). Every
   * member's token must be signed by it.
   *
   *   gst-launch-1.0 keymanager authority=org.pub ...
   */
  install_path_property (gobject_class, PROP_AUTHORITY, "authority", "Authority",
      "The room authority's public key file");

  /**
   * GstKeyManager:tls-ca-file:
   *
   * PEM file of the CA certificates that signed the NATS server's
   * certificate. When set, TLS is required and the server must present a
   * certificate they signed (for its name, when the bus URI names the
   * server by name); a server that does not is refused at start with an
   * error saying so.
   *
   *   gst-launch-1.0 keymanager bus=tls://nats.example.org:4222 tls-ca-file=ca.pem ...
   */
  install_path_property (gobject_class, PROP_TLS_CA_FILE, "tls-ca-file", "TLS CA file",
      "PEM CA certificates the NATS server's certificate must chain to (TLS is then required)");

  /**
   * GstKeyManager:tls-cert-file:
   *
   * PEM certificate chain of this client, for NATS servers that verify
   * clients (`verify: true`); with #GstKeyManager:tls-key-file.
   *
   *   gst-launch-1.0 keymanager tls-cert-file=me.pem tls-key-file=me-key.pem tls-ca-file=ca.pem ...
   */
  install_path_property (gobject_class, PROP_TLS_CERT_FILE, "tls-cert-file", "TLS certificate file",
      "PEM certificate chain of this client, for servers that verify clients");

  /**
   * GstKeyManager:tls-key-file:
   *
   * PEM private key of #GstKeyManager:tls-cert-file.
   */
  install_path_property (gobject_class, PROP_TLS_KEY_FILE, "tls-key-file", "TLS key file",
      "PEM private key of the client certificate");

  /**
   * GstKeyManager:nats-credentials:
   *
   * A NATS credentials file (`.creds`: a user JWT and its nkey seed, as
   * `nsc` writes them) for servers in operator mode.
   *
   *   gst-launch-1.0 keymanager bus=tls://nats.example.org:4222 nats-credentials=alice.creds ...
   */
  install_path_property (gobject_class, PROP_NATS_CREDENTIALS, "nats-credentials", "NATS credentials",
      "NATS credentials file (user JWT and nkey seed)");

  /**
   * GstKeyManager:role:
   *
   * "host" or "member", as this device's token says; NULL until started.
   *
   *   gst-launch-1.0 -v keymanager name=km ...   (read km.role from the application)
   */
  g_object_class_install_property (gobject_class, PROP_ROLE,
      g_param_spec_string ("role", "Role", "This device's role in the room (from its token)", nullptr,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:require-admission:
   *
   * Joiners wait in the lobby until a host admits them
   * (#GstKeyManager::admit).
   *
   *   gst-launch-1.0 keymanager require-admission=true ...
   */
  g_object_class_install_property (gobject_class, PROP_REQUIRE_ADMISSION,
      g_param_spec_boolean ("require-admission", "Require admission",
          "Joiners wait in the lobby until a host emits admit (who: fingerprint or member id)",
          defaults.require_admission,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:cipher-suite:
   *
   * The RFC 9605 cipher suite of every key this element installs. All
   * members of a room must use the same.
   *
   *   gst-launch-1.0 keymanager cipher-suite=aes-256-gcm-sha512-128 ...
   */
  g_object_class_install_property (gobject_class, PROP_CIPHER_SUITE,
      g_param_spec_enum ("cipher-suite", "Cipher suite", "RFC 9605 cipher suite of the room's keys",
          GST_TYPE_SFRAME_CIPHER_SUITE, defaults.suite,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:discovery-timeout:
   *
   * Milliseconds a joiner waits for an existing room before it opens one.
   *
   *   gst-launch-1.0 keymanager discovery-timeout=200 ...
   */
  install_timing_property (gobject_class, PROP_DISCOVERY_TIMEOUT, "discovery-timeout",
      "Discovery timeout", "Milliseconds to wait for an existing room", defaults.discovery_ms);

  /**
   * GstKeyManager:switch-timeout:
   *
   * Milliseconds after which a sender uses its new key even if not every
   * member acknowledged it.
   *
   *   gst-launch-1.0 keymanager switch-timeout=500 ...
   */
  install_timing_property (gobject_class, PROP_SWITCH_TIMEOUT, "switch-timeout", "Switch timeout",
      "Milliseconds before sending with a new key without every ack", defaults.switch_ms);

  /**
   * GstKeyManager:grace-period:
   *
   * Milliseconds a replaced receiver key is kept for frames in flight.
   *
   *   gst-launch-1.0 keymanager grace-period=3000 ...
   */
  install_timing_property (gobject_class, PROP_GRACE_PERIOD, "grace-period", "Grace period",
      "Milliseconds a replaced key is kept", defaults.grace_ms);

  /**
   * GstKeyManager:heartbeat-interval:
   *
   * Milliseconds between liveness messages.
   *
   *   gst-launch-1.0 keymanager heartbeat-interval=500 ...
   */
  install_timing_property (gobject_class, PROP_HEARTBEAT_INTERVAL, "heartbeat-interval",
      "Heartbeat interval", "Milliseconds between liveness messages", defaults.heartbeat_ms);

  /**
   * GstKeyManager:liveness-timeout:
   *
   * Milliseconds of silence after which a member counts as gone.
   *
   *   gst-launch-1.0 keymanager liveness-timeout=10000 ...
   */
  install_timing_property (gobject_class, PROP_LIVENESS_TIMEOUT, "liveness-timeout",
      "Liveness timeout", "Milliseconds of silence before a member counts as gone",
      defaults.liveness_ms);

  /**
   * GstKeyManager:ack-delay:
   *
   * After a leave or revocation, milliseconds a member waits for further
   * fresh keys before it reports those it has to the committer (at once
   * when it has them all; while keys keep coming, at most every five
   * ack delays). Longer means fewer reports in a large, slow room; shorter,
   * a quicker switch when keys are lost.
   *
   *   gst-launch-1.0 keymanager ack-delay=100 ...
   */
  install_timing_property (gobject_class, PROP_ACK_DELAY, "ack-delay", "Ack delay",
      "Milliseconds to wait for further fresh keys before reporting them", defaults.ack_delay_ms);

  /**
   * GstKeyManager:stats-interval:
   *
   * Milliseconds between `sframe-stats` element messages (the counters of
   * #GstKeyManager:stats, the roster's size and the drop counts of the
   * room's sframeenc and sframedec), so that `gst-launch-1.0 -m` shows
   * them; 0: none.
   *
   *   gst-launch-1.0 -m keymanager stats-interval=1000 ...
   */
  g_object_class_install_property (gobject_class, PROP_STATS_INTERVAL,
      g_param_spec_uint ("stats-interval", "Stats interval",
          "Milliseconds between sframe-stats element messages (0: none)", 0, MAX_TIMING_MS,
          defaults.stats_ms, (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:epoch:
   *
   * The roster epoch; 0 until this device is in the room.
   *
   *   gst-launch-1.0 -v keymanager name=km ...   (read km.epoch from the application)
   */
  g_object_class_install_property (gobject_class, PROP_EPOCH,
      g_param_spec_uint64 ("epoch", "Epoch", "Roster epoch (0: not in the room yet)", 0, G_MAXUINT64, 0,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:security-code:
   *
   * 12 groups of 5 digits derived from the members' device keys. Members
   * who read the same code aloud hold the same roster. NULL before epoch 1.
   *
   *   gst-launch-1.0 -v keymanager name=km ...   (read km.security-code from the application)
   */
  g_object_class_install_property (gobject_class, PROP_SECURITY_CODE,
      g_param_spec_string ("security-code", "Security code", "Roster security code to compare aloud",
          nullptr, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:roster:
   *
   * The current roster, shaped as the `sframe-roster` message.
   *
   *   gst-launch-1.0 -v keymanager name=km ...   (read km.roster from the application)
   */
  g_object_class_install_property (gobject_class, PROP_ROSTER,
      g_param_spec_boxed ("roster", "Roster", "Members and lobby, as in sframe-roster",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  /**
   * GstKeyManager:stats:
   *
   * Protocol counters since start (messages-sent, bytes-sent,
   * messages-received, bytes-received, messages-rejected, refused-members,
   * rotations, resyncs, key-resends, missing-announced: as the committer,
   * how often it told a sender who still lacks its key of a rotation) and
   * the bus's (bus, bus-connected, disconnects, reconnects,
   * publish-failures, queue-overflows).
   *
   *   gst-launch-1.0 -v keymanager name=km ...   (read km.stats from the application)
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics", "Protocol and bus counters (also posted as sframe-stats every stats-interval)",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
}

static void
install_signals (GObjectClass * gobject_class)
{
  GType type = G_TYPE_FROM_CLASS (gobject_class);
  auto flags = (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION);

  /**
   * GstKeyManager::admit:
   * @keymanager: the element
   * @who: a device fingerprint (or a unique prefix of at least 16 of its
   *   characters) or a member id, as listed in the lobby of `sframe-roster`
   *
   * A host lets a member waiting in the lobby in (the joiner enters with
   * the next roster, a few milliseconds later; admissions made together
   * share one roster change).
   *
   *   g_signal_emit_by_name (keymanager, "admit", "alice", &admitted);
   *
   * Returns: %TRUE once the admission is taken; %FALSE when this device is
   *   not a host, nobody matches, or the element is not running
   */
  signals[SIGNAL_ADMIT] = g_signal_new_class_handler ("admit", type, flags,
      G_CALLBACK (gst_key_manager_admit), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

  /**
   * GstKeyManager::revoke:
   * @keymanager: the element
   * @who: a device fingerprint (or a unique prefix of at least 16 of its
   *   characters) or a member id
   *
   * A host removes a member (a stolen device, say): everyone else moves to
   * fresh keys the member never sees. Like #GstKeyManager::admit and
   * #GstKeyManager::rotate, the command goes ahead of the bus messages the
   * element has queued, so a rotation in progress in a large room does not
   * hold it up.
   *
   *   g_signal_emit_by_name (keymanager, "revoke", "3f2a9c01d4e5b6a7", &revoked);
   *
   * Returns: %TRUE when done; %FALSE when this device is not a host, nobody
   *   matches, or the element is not running
   */
  signals[SIGNAL_REVOKE] = g_signal_new_class_handler ("revoke", type, flags,
      G_CALLBACK (gst_key_manager_revoke), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);

  /**
   * GstKeyManager::rotate:
   * @keymanager: the element
   *
   * Replaces this member's sender key with a fresh one now (any member
   * may).
   *
   *   g_signal_emit_by_name (keymanager, "rotate", &rotated);
   *
   * Returns: %TRUE when done; %FALSE when the element is not running or
   *   the rotation is refused
   */
  signals[SIGNAL_ROTATE] = g_signal_new_class_handler ("rotate", type, flags,
      G_CALLBACK (gst_key_manager_rotate), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);
}

static void
gst_key_manager_class_init (GstKeyManagerClass * klass)
{
  auto gobject_class = G_OBJECT_CLASS (klass);
  auto element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_key_manager_set_property;
  gobject_class->get_property = gst_key_manager_get_property;
  gobject_class->finalize = gst_key_manager_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_key_manager_change_state);

  install_properties (gobject_class);
  install_signals (gobject_class);

  gst_element_class_set_static_metadata (element_class, "SFrame room key manager",
      "Generic/Network", "Runs the SFrame group key protocol of a room and fills its key store. "
      "Action signals: admit (who) and revoke (who), who = a device fingerprint (or its first 16 hex "
      "digits) or a member id; rotate (). Element messages: sframe-roster, sframe-key-rotated, "
      "sframe-member-refused, sframe-left, sframe-stats (every stats-interval)",
      "gst-sframe developers");
}
