/* keymanager: its properties, the files it refuses, and real rooms on an
 * in-process bus (local://, one unique hub per test). Members are harnessed
 * bins of a keymanager and an sframeenc or sframedec of the same room, so
 * they share a key store through GstContext as in a pipeline; what the
 * test asserts is what the media elements can decrypt. Identities, the
 * authority and join tokens are made with the core API in a private
 * temporary directory. Waits are bounded polls on the element messages. */
#include "sframe-check.h"

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/bus/bus.h>
#include <gst/sframe/bus/bus-local.h>
#include <gst/sframe/keys/hpke.h>
#include <gst/sframe/keys/identity.h>
#include <gst/sframe/core/keyring.h>
#include <gst/sframe/keys/room-wire.h>
#include <gst/sframe/keys/token.h>

#include "../../integration/nats-server.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

using namespace check;

namespace {

/* Quick protocol timers, so rooms converge in a fraction of a second. */
constexpr const char *kFastTimers =
    "discovery-timeout=100 switch-timeout=200 grace-period=500 heartbeat-interval=200 liveness-timeout=3000";
constexpr GstClockTime kWait = 20 * GST_SECOND;

/* A device: its identity file and its join token. */
struct Device {
  sframe::Identity identity;
  std::string key_path;
  std::string token;

  std::string fingerprint () const { return identity.fingerprint (); }
};

/* Files in a private directory, a room authority, and a bus name of our
 * own; everything is removed at the end. */
class World {
public:
  World ()
  {
    gchar tmpl[] = "/tmp/keymanager-test-XXXXXX";
    fail_unless (g_mkdtemp (tmpl) != nullptr);
    dir_ = tmpl;
    authority_path_ = new_authority (&authority_, "authority");
    static int count = 0;
    bus_ = "local://keymanager-" + std::to_string (getpid ()) + "-" + std::to_string (++count);
  }

  ~World ()
  {
    for (const auto & f : files_)
      g_remove (f.c_str ());
    g_rmdir (dir_.c_str ());
  }

  const std::string & bus () const { return bus_; }
  const std::string & authority_path () const { return authority_path_; }
  const sframe::Identity & authority () const { return authority_; }

  std::string path (const std::string & name)
  {
    std::string p = dir_ + "/" + name;
    files_.push_back (p);
    return p;
  }

  /* Another authority (its public key file is returned). */
  std::string new_authority (sframe::Identity * id, const std::string & name)
  {
    fail_unless (sframe::Identity::generate (id) == sframe::Status::ok);
    std::string pub = path (name + ".pub");
    fail_unless (sframe::save_public_key (pub, {id->public_key ().data (), id->public_key ().size ()}).ok ());
    return pub;
  }

  /* A device with a token for `room`, issued by `issuer` (default: the
   * world's authority), valid from `iat_offset` seconds from now. */
  Device device (const std::string & name, const std::string & room, sframe::token::Role role,
      const sframe::Identity * issuer = nullptr, int64_t iat_offset = 0)
  {
    Device d;
    fail_unless (sframe::Identity::generate (&d.identity) == sframe::Status::ok);
    d.key_path = path (name + ".key");
    auto saved = d.identity.save (d.key_path);
    fail_unless (saved.ok (), "%s", saved.message.c_str ());
    d.token = token_for (d, name, room, role, sframe::token::kDefaultLifetime, issuer, iat_offset);
    return d;
  }

  /* A (new) token for `d`, named `name`, living `lifetime` seconds. */
  std::string token_for (const Device & d, const std::string & name, const std::string & room,
      sframe::token::Role role, int64_t lifetime, const sframe::Identity * issuer = nullptr, int64_t iat_offset = 0)
  {
    sframe::token::IssueRequest request;
    request.room = room;
    request.member_id = name;
    request.display_name = name;
    request.role = role;
    request.device_public_key = d.identity.public_key ();
    request.lifetime = lifetime;
    std::string token;
    sframe::Result issued = sframe::token::issue (issuer ? *issuer : authority_, request,
        static_cast<int64_t> (time (nullptr)) + iat_offset, &token);
    fail_unless (issued.ok (), "issue: %s", issued.message.c_str ());
    return token;
  }

  /* keymanager properties for `d` in `room`. */
  std::string props (const Device & d, const std::string & room, const std::string & extra = "",
      const std::string & authority = "") const
  {
    return "room=" + room + " bus=" + bus_ + " identity=" + d.key_path + " token=" + d.token +
        " authority=" + (authority.empty () ? authority_path_ : authority) + " " + kFastTimers + " " + extra;
  }

private:
  std::string dir_;
  std::string bus_;
  sframe::Identity authority_;
  std::string authority_path_;
  std::vector<std::string> files_;
};

/* A member: a keymanager (alone, or in a harnessed bin with one sframe
 * element), and the bus its messages arrive on. */
struct Member {
  GstElement *top = nullptr;     /* what changes state: the bin or the keymanager */
  GstHarness *h = nullptr;
  GstElement *km = nullptr;
  GstBus *bus = nullptr;
  std::vector<GstStructure *> seen;   /* every element message so far */

  Member () = default;
  Member (const Member &) = delete;
  Member & operator= (const Member &) = delete;

  ~Member ()
  {
    if (h)
      gst_harness_teardown (h);
    else if (top)
      gst_element_set_state (top, GST_STATE_NULL);
    gst_clear_object (&km);
    gst_clear_object (&top);
    for (auto s : seen)
      gst_structure_free (s);
    gst_clear_object (&bus);
  }

  GstElement *get (const char *name) const
  {
    GstElement *e = gst_bin_get_by_name (GST_BIN (top), name);
    fail_unless (e != nullptr, "no element %s", name);
    return e;
  }

  GstSFrameKeyStore *store (const char *media = "media") const
  {
    GstElement *e = get (media);
    GstSFrameKeyStore *s = nullptr;
    g_object_get (e, "key-store", &s, nullptr);
    gst_object_unref (e);
    fail_unless (s != nullptr);
    return s;
  }
};

/* A keymanager on its own, started to READY. */
void
start_alone (Member & m, const std::string & props)
{
  m.top = make_element ("keymanager", props);
  gst_object_ref_sink (m.top);
  m.km = GST_ELEMENT (gst_object_ref (m.top));
  m.bus = gst_bus_new ();
  gst_element_set_bus (m.top, m.bus);
  fail_unless_equals_int (gst_element_set_state (m.top, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
}

/* "keymanager name=km PROPS" and `media` (one element named media) in a
 * harnessed bin; element messages go to m.bus. */
void
start_in_bin (Member & m, const std::string & props, const std::string & media, GstCaps * caps)
{
  std::string desc = "keymanager name=km " + props + " " + media;
  GError *error = nullptr;
  GstElement *bin = gst_parse_bin_from_description (desc.c_str (), TRUE, &error);
  /* The description holds a token: report the parse error only. */
  fail_unless (bin != nullptr, "cannot parse the member bin: %s", error ? error->message : "?");
  gst_object_ref_sink (bin);
  m.bus = gst_bus_new ();
  gst_element_set_bus (bin, m.bus);
  m.top = bin;
  m.km = m.get ("km");
  m.h = gst_harness_new_with_element (bin, "sink", "src");
  if (caps)
    gst_harness_set_src_caps (m.h, gst_caps_ref (caps));
}

guint
list_size (const GstStructure * s, const char *field)
{
  const GValue *v = gst_structure_get_value (s, field);
  fail_unless (v != nullptr && GST_VALUE_HOLDS_LIST (v), "no list %s", field);
  return gst_value_list_get_size (v);
}

const GstStructure *
list_item (const GstStructure * s, const char *field, guint i)
{
  return gst_value_get_structure (gst_value_list_get_value (gst_structure_get_value (s, field), i));
}

std::string
string_field (const GstStructure * s, const char *field)
{
  const gchar *v = gst_structure_get_string (s, field);
  fail_unless (v != nullptr, "no string %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

void
expect_field (const GstStructure * s, const char *field, const std::string & expected)
{
  std::string value = string_field (s, field);
  fail_unless (value == expected, "%s is '%s', expected '%s'", field, value.c_str (), expected.c_str ());
}

using Match = std::function<bool (const GstStructure *)>;

/* The first element message named `name` at or after index `from` of
 * m.seen that `match` accepts, waiting up to `timeout` for it; nullptr
 * when none came. An error message fails the test. */
const GstStructure *
wait_message (Member & m, const char *name, const Match & match = nullptr, size_t from = 0,
    GstClockTime timeout = kWait)
{
  gint64 deadline = g_get_monotonic_time () + static_cast<gint64> (timeout / GST_USECOND);
  for (size_t i = from;;) {
    for (; i < m.seen.size (); i++) {
      if (gst_structure_has_name (m.seen[i], name) && (!match || match (m.seen[i])))
        return m.seen[i];
    }
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0)
      return nullptr;
    GstMessage *msg = gst_bus_timed_pop_filtered (m.bus, left * GST_USECOND,
        (GstMessageType) (GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR));
    if (!msg)
      return nullptr;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error (msg, &err, nullptr);
      fail ("error from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message);
    }
    const GstStructure *s = gst_message_get_structure (msg);
    if (s)
      m.seen.push_back (gst_structure_copy (s));
    gst_message_unref (msg);
  }
}

Match
members_are (guint n)
{
  return [n] (const GstStructure * s) { return list_size (s, "members") == n; };
}

const GstStructure *
must_wait_roster (Member & m, guint members, const char *who)
{
  const GstStructure *s = wait_message (m, "sframe-roster", members_are (members));
  fail_unless (s != nullptr, "%s never saw a roster of %u member(s)", who, members);
  return s;
}

/* The error a failed state change posted (new reference). */
GError *
pop_error (GstBus * bus, gchar ** debug)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != nullptr, "no error message");
  GError *err = nullptr;
  gst_message_parse_error (msg, &err, debug);
  gst_message_unref (msg);
  return err;
}

/* Expects READY to fail with an error whose message contains `expect`;
 * and neither the message nor the debug text contains `secret`. */
void
expect_start_error (const std::string & props, const std::string & expect, const std::string & secret)
{
  GstElement *km = make_element ("keymanager", props);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (km, bus);
  fail_unless_equals_int (gst_element_set_state (km, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
  gchar *debug = nullptr;
  GError *err = pop_error (bus, &debug);
  std::string text = err->message, dbg = debug ? debug : "";
  fail_unless (text.find (expect) != std::string::npos, "error '%s' does not say '%s'", text.c_str (),
      expect.c_str ());
  if (!secret.empty ()) {
    fail_if (text.find (secret) != std::string::npos, "the error message holds a secret");
    fail_if (dbg.find (secret) != std::string::npos, "the error details hold a secret");
  }
  g_error_free (err);
  g_free (debug);
  gst_element_set_state (km, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (km);
}

/* Key id of an SFrame frame-mode ciphertext. */
guint64
key_id_of (const Bytes & ct)
{
  sframe::Header header;
  size_t len = 0;
  fail_unless (parse_header (ct, 0, &header, &len), "ciphertext without an SFrame header");
  return header.key_id;
}

/* Encrypts at `sender` until a ciphertext comes out under a key id the
 * receiving store holds (the keys travel asynchronously): bounded. */
void
wait_decryptable (Member & sender, GstSFrameKeyStore * receiver, Rng & rng)
{
  gint64 deadline = g_get_monotonic_time () + static_cast<gint64> (kWait / GST_USECOND);
  while (g_get_monotonic_time () < deadline) {
    Bytes ct;
    if (transform (sender.h, random_bytes (rng, 64), &ct) && gst_sframe_key_store_has_key (receiver,
            key_id_of (ct)))
      return;
    g_usleep (20 * 1000);
  }
  fail ("the receiver never got the sender's key");
}

/* Waits until `store` has a sender key. */
void
wait_sender_key (GstSFrameKeyStore * store, guint64 * key_id = nullptr)
{
  gint64 deadline = g_get_monotonic_time () + static_cast<gint64> (kWait / GST_USECOND);
  while (!gst_sframe_key_store_get_sender_key (store, key_id)) {
    fail_unless (g_get_monotonic_time () < deadline, "no sender key was ever set");
    g_usleep (10 * 1000);
  }
}

/* The stats are refreshed after each protocol step, just after the
 * messages that step posted: wait for a counter to reach `at_least`. */
void
wait_stat (GstElement * km, const char *field, guint64 at_least)
{
  gint64 deadline = g_get_monotonic_time () + static_cast<gint64> (kWait / GST_USECOND);
  while (stat (km, field) < at_least) {
    fail_unless (g_get_monotonic_time () < deadline, "%s never reached %" G_GUINT64_FORMAT, field, at_least);
    g_usleep (10 * 1000);
  }
}

GstCaps *
sframe_caps ()
{
  GstCaps *original = gst_caps_from_string (kOpaqueCaps);
  gchar *text = gst_caps_to_string (original);
  GstCaps *caps = gst_caps_new_simple ("application/x-sframe", "original-caps", G_TYPE_STRING, text, nullptr);
  g_free (text);
  gst_caps_unref (original);
  return caps;
}

}  // namespace

/* ------------------------------------------------------------------------
 * Properties and refusals */

GST_START_TEST (test_properties)
{
  GstElement *km = make_element ("keymanager", "");
  gchar *room = nullptr, *bus = nullptr, *role = nullptr, *code = nullptr, *identity = nullptr;
  guint discovery, switch_ms, grace, heartbeat, liveness, ack_delay;
  gboolean admission = TRUE;
  guint64 epoch = 1;
  gint suite = 0;
  g_object_get (km, "room", &room, "bus", &bus, "role", &role, "security-code", &code, "identity", &identity,
      "discovery-timeout", &discovery, "switch-timeout", &switch_ms, "grace-period", &grace,
      "heartbeat-interval", &heartbeat, "liveness-timeout", &liveness, "ack-delay", &ack_delay,
      "require-admission", &admission,
      "epoch", &epoch, "cipher-suite", &suite, nullptr);
  fail_unless_equals_string (room, "default");
  fail_unless_equals_string (bus, "local://default");
  fail_unless (role == nullptr, "a role before start");
  fail_unless (code == nullptr, "a security code before start");
  fail_unless (identity == nullptr);
  fail_unless_equals_int (discovery, 500);
  fail_unless_equals_int (switch_ms, 1000);
  fail_unless_equals_int (grace, 2000);
  fail_unless_equals_int (heartbeat, 1000);
  fail_unless_equals_int (liveness, 5000);
  fail_unless_equals_int (ack_delay, 50);
  guint stats_interval = 0;
  g_object_get (km, "stats-interval", &stats_interval, nullptr);
  fail_unless_equals_int (stats_interval, 5000);
  fail_unless (!admission);
  fail_unless_equals_uint64 (epoch, 0);
  fail_unless_equals_int (suite, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128);
  for (auto p : {room, bus, role, code, identity})
    g_free (p);

  /* The token is a credential: it can be written, never read. */
  GParamSpec *token = g_object_class_find_property (G_OBJECT_GET_CLASS (km), "token");
  fail_unless (token != nullptr);
  fail_unless (token->flags & G_PARAM_WRITABLE);
  fail_if (token->flags & G_PARAM_READABLE, "token is readable");
  for (auto name : {"role", "epoch", "security-code", "roster", "stats"}) {
    GParamSpec *p = g_object_class_find_property (G_OBJECT_GET_CLASS (km), name);
    fail_unless (p != nullptr && (p->flags & G_PARAM_READABLE) && !(p->flags & G_PARAM_WRITABLE),
        "%s should be read-only", name);
  }

  set_props (km, "room=board bus=nats://127.0.0.1:4222,nats://127.0.0.1:4223 token=abc.def.ghi "
      "cipher-suite=aes-256-gcm-sha512-128 require-admission=true liveness-timeout=9000 ack-delay=80");
  g_object_get (km, "room", &room, "bus", &bus, "cipher-suite", &suite, "require-admission", &admission,
      "liveness-timeout", &liveness, "ack-delay", &ack_delay, nullptr);
  fail_unless_equals_string (room, "board");
  fail_unless_equals_string (bus, "nats://127.0.0.1:4222,nats://127.0.0.1:4223");
  fail_unless_equals_int (suite, GST_SFRAME_CIPHER_SUITE_AES_256_GCM_SHA512_128);
  fail_unless (admission);
  fail_unless_equals_int (liveness, 9000);
  fail_unless_equals_int (ack_delay, 80);
  g_free (room);
  g_free (bus);

  /* The read-only structures exist before start, empty. */
  GstStructure *roster = nullptr, *stats = nullptr;
  g_object_get (km, "roster", &roster, "stats", &stats, nullptr);
  fail_unless (roster != nullptr && gst_structure_has_name (roster, "sframe-roster"));
  fail_unless_equals_int (list_size (roster, "members"), 0);
  fail_unless_equals_int (list_size (roster, "lobby"), 0);
  fail_unless (stats != nullptr);
  for (auto field : {"messages-sent", "messages-received", "messages-rejected", "refused-members",
           "rotations", "key-resends", "missing-announced", "publish-failures", "queue-overflows"}) {
    guint64 v = 1;
    fail_unless (gst_structure_get_uint64 (stats, field, &v), "no stats field %s", field);
    fail_unless_equals_uint64 (v, 0);
  }
  gst_structure_free (roster);
  gst_structure_free (stats);

  /* Not running: the actions do nothing. */
  gboolean ok = TRUE;
  g_signal_emit_by_name (km, "rotate", &ok);
  fail_if (ok, "rotate while stopped");
  ok = TRUE;
  g_signal_emit_by_name (km, "admit", "someone", &ok);
  fail_if (ok, "admit while stopped");
  gst_object_unref (km);
}
GST_END_TEST;

/* A device key readable by others is refused, and the error names the file
 * and the fix; it never echoes the token. */
GST_START_TEST (test_identity_readable_by_others)
{
  World world;
  Device alice = world.device ("alice", "r", sframe::token::Role::host);
  fail_unless (g_chmod (alice.key_path.c_str (), 0644) == 0);
  expect_start_error (world.props (alice, "r"), alice.key_path, alice.token);
  expect_start_error (world.props (alice, "r"), "chmod", alice.token);
}
GST_END_TEST;

GST_START_TEST (test_missing_settings)
{
  World world;
  Device alice = world.device ("alice", "r", sframe::token::Role::host);
  std::string base = "room=r bus=" + world.bus ();
  expect_start_error (base + " token=" + alice.token + " authority=" + world.authority_path (), "identity",
      alice.token);
  expect_start_error (base + " identity=" + alice.key_path + " authority=" + world.authority_path (), "token",
      "");
  expect_start_error (base + " identity=" + alice.key_path + " token=" + alice.token, "authority", alice.token);
  expect_start_error (base + " identity=" + world.path ("absent.key") + " token=" + alice.token +
      " authority=" + world.authority_path (), "absent.key", alice.token);
  expect_start_error (world.props (alice, "r", "bus=bogus://x"), "bus", alice.token);
  /* Nothing listens on port 1; the credentials in the URI stay out of the error. */
  expect_start_error (world.props (alice, "r", "bus=nats://alice:pw-secret@127.0.0.1:1"), "bus", "pw-secret");
  /* A token for another room, or expired, does not even start. */
  Device other = world.device ("other", "elsewhere", sframe::token::Role::member);
  expect_start_error (world.props (other, "r"), "room r", other.token);
  Device old = world.device ("old", "r", sframe::token::Role::member, nullptr, -3600);
  expect_start_error (world.props (old, "r"), "room r", old.token);
}
GST_END_TEST;

/* token wins over token-file; token-file alone works; settings are frozen
 * while running. */
GST_START_TEST (test_token_sources)
{
  World world;
  Device alice = world.device ("alice", "r", sframe::token::Role::host);
  {
    Member m;
    start_alone (m, world.props (alice, "r", "token-file=" + world.path ("absent.jwt")));
    gchar *role = nullptr;
    g_object_get (m.km, "role", &role, nullptr);
    fail_unless_equals_string (role, "host");
    g_free (role);

    /* Refused while running. */
    g_object_set (m.km, "room", "elsewhere", "discovery-timeout", 4321u, nullptr);
    gchar *room = nullptr;
    guint discovery = 0;
    g_object_get (m.km, "room", &room, "discovery-timeout", &discovery, nullptr);
    fail_unless_equals_string (room, "r");
    fail_unless_equals_int (discovery, 100);
    g_free (room);
  }
  std::string token_file = world.path ("alice.jwt");
  fail_unless (g_file_set_contents (token_file.c_str (), (alice.token + "\n").c_str (), -1, nullptr));
  fail_unless (g_chmod (token_file.c_str (), 0600) == 0);
  std::string props = "room=r bus=" + world.bus () + " identity=" + alice.key_path + " token-file=" + token_file +
      " authority=" + world.authority_path () + " " + kFastTimers;
  {
    Member m;
    start_alone (m, props);
    must_wait_roster (m, 1, "alice");
  }
  /* An empty token file is refused. */
  std::string empty_file = world.path ("empty.jwt");
  fail_unless (g_file_set_contents (empty_file.c_str (), "\n", -1, nullptr));
  expect_start_error ("room=r bus=" + world.bus () + " identity=" + alice.key_path + " token-file=" + empty_file +
      " authority=" + world.authority_path (), "empty.jwt", "");
}
GST_END_TEST;

/* Membership lasts as long as a valid token. Bob's token lives 6 s and is
 * never renewed: he leaves when it expires (`sframe-left`, "token
 * expired"). Carol's lives 6 s too, but a new one is written to her
 * token-file once the room formed: she is still in the room after bob has
 * gone. (6 s leaves a loaded machine time to form the room first.) */
GST_START_TEST (test_token_renewal_through_the_token_file)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  Device carol_dev = world.device ("carol", "r", sframe::token::Role::member);
  bob_dev.token = world.token_for (bob_dev, "bob", "r", sframe::token::Role::member, 6);
  std::string carol_file = world.path ("carol.jwt");
  auto write_token = [&] (const std::string & token) {
    std::string next = carol_file + ".next";
    fail_unless (g_file_set_contents (next.c_str (), token.c_str (), -1, nullptr));
    fail_unless (g_chmod (next.c_str (), 0600) == 0 && g_rename (next.c_str (), carol_file.c_str ()) == 0);
  };
  write_token (world.token_for (carol_dev, "carol", "r", sframe::token::Role::member, 6));
  gint64 first_token_issued = g_get_monotonic_time ();
  Member alice, bob, carol;
  start_alone (alice, world.props (alice_dev, "r"));
  start_alone (bob, world.props (bob_dev, "r"));
  start_alone (carol, "room=r bus=" + world.bus () + " identity=" + carol_dev.key_path + " token-file=" + carol_file +
      " authority=" + world.authority_path () + " " + kFastTimers);
  must_wait_roster (alice, 3, "alice");
  g_usleep (G_USEC_PER_SEC);   /* the file's modification time must change */
  write_token (world.token_for (carol_dev, "carol", "r", sframe::token::Role::member, 300));
  fail_unless (g_get_monotonic_time () - first_token_issued < 5 * G_USEC_PER_SEC,
      "the room took too long to form: carol's first token ran out before its renewal");

  const GstStructure *left = wait_message (bob, "sframe-left", nullptr, 0, 15 * GST_SECOND);
  fail_unless (left != nullptr, "bob stayed after his token expired");
  expect_field (left, "reason", "token expired");
  fail_unless (wait_message (carol, "sframe-left", nullptr, 0, 3 * GST_SECOND) == nullptr,
      "carol left although she renewed");
  /* Alice still holds carol, past carol's first token's expiry and skew:
   * the committer removes expired members, so she holds the renewal. */
  const GstStructure *roster = must_wait_roster (alice, 2, "alice");
  bool carol_listed = false;
  for (guint i = 0; i < 2; i++)
    carol_listed = carol_listed || string_field (list_item (roster, "members", i), "member-id") == "carol";
  fail_unless (carol_listed, "carol is not in alice's roster");
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Rooms */

/* Alice encrypts, Bob decrypts: once the roster converged, Bob's sframedec
 * decrypts Alice's frames byte for byte with keys only the keymanagers
 * handed out. An sframedec of the same room without a keymanager decrypts
 * none of them. */
GST_START_TEST (test_two_members_exchange_media)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  GstCaps *ct_caps = sframe_caps ();
  GstCaps *pt_caps = gst_caps_from_string (kOpaqueCaps);
  Member alice, bob;
  start_in_bin (alice, world.props (alice_dev, "r"), "sframeenc name=media room=r mode=frame", pt_caps);
  start_in_bin (bob, world.props (bob_dev, "r"), "sframedec name=media room=r mode=frame hold-frames=0",
      ct_caps);

  const GstStructure *ra = must_wait_roster (alice, 2, "alice");
  const GstStructure *rb = must_wait_roster (bob, 2, "bob");
  expect_field (ra, "room", "r");
  std::string code = string_field (ra, "security-code");
  fail_unless (!code.empty ());
  expect_field (rb, "security-code", code);
  guint64 epoch_a = 0, epoch_b = 0;
  fail_unless (gst_structure_get_uint64 (ra, "epoch", &epoch_a) && gst_structure_get_uint64 (rb, "epoch", &epoch_b));
  fail_unless (epoch_a >= 1);
  bool saw_bob = false;
  for (guint i = 0; i < 2; i++) {
    const GstStructure *member = list_item (ra, "members", i);
    if (string_field (member, "fingerprint") == bob_dev.fingerprint ()) {
      saw_bob = true;
      expect_field (member, "member-id", "bob");
      expect_field (member, "role", "member");
      fail_unless (string_field (member, "grants").find ("publish-video") != std::string::npos);
    }
  }
  fail_unless (saw_bob, "bob is not in alice's roster");

  GstSFrameKeyStore *bob_store = bob.store ();
  Rng rng (4000);
  wait_decryptable (alice, bob_store, rng);
  /* Bob's store names the sender of alice's key, as her token says. */
  Bytes sample;
  fail_unless (transform (alice.h, random_bytes (rng, 30), &sample));
  GstStructure *owner = gst_sframe_key_store_get_key_owner (bob_store, key_id_of (sample));
  fail_unless (owner != nullptr, "bob's store does not know whose key alice sends under");
  fail_unless_equals_string (gst_structure_get_string (owner, "member-id"), "alice");
  std::string alice_fp = alice_dev.fingerprint ();
  fail_unless_equals_string (gst_structure_get_string (owner, "fingerprint"), alice_fp.c_str ());
  gst_structure_free (owner);

  GstHarness *outsider = harness_new ("sframedec", "room=r mode=frame hold-frames=0", nullptr);
  gst_harness_set_src_caps (outsider, gst_caps_ref (ct_caps));
  for (int i = 0; i < 20; i++) {
    Bytes pt = random_bytes (rng, 40 + rng () % 200), ct, out;
    fail_unless (transform (alice.h, pt, &ct), "alice dropped frame %d", i);
    fail_if (transform (outsider, ct), "a decrypter without the room's keys decrypted frame %d", i);
    fail_unless (transform (bob.h, ct, &out), "bob could not decrypt frame %d", i);
    fail_unless (out == pt, "frame %d differs", i);
  }
  fail_unless_equals_uint64 (stat (outsider, "frames"), 0);
  GstElement *bob_dec = bob.get ("media");
  fail_unless (stat (bob_dec, "frames") >= 20);
  gst_object_unref (bob_dec);

  /* The properties follow the roster; settings are frozen while running. */
  gchar *km_code = nullptr;
  guint64 epoch = 0;
  g_object_get (bob.km, "security-code", &km_code, "epoch", &epoch, nullptr);
  fail_unless_equals_string (km_code, code.c_str ());
  fail_unless (epoch >= epoch_b);
  g_free (km_code);
  guint64 received = 0;
  GstStructure *stats = nullptr;
  g_object_get (bob.km, "stats", &stats, nullptr);
  fail_unless (gst_structure_get_uint64 (stats, "messages-received", &received) && received > 0);
  gboolean connected = FALSE;
  fail_unless (gst_structure_get_boolean (stats, "bus-connected", &connected) && connected);
  gst_structure_free (stats);

  gst_harness_teardown (outsider);
  gst_object_unref (bob_store);
  gst_caps_unref (ct_caps);
  gst_caps_unref (pt_caps);
}
GST_END_TEST;

/* Carol's token comes from another authority: she can start (her own
 * authority vouches for her), but Alice refuses her and keeps her out. */
GST_START_TEST (test_refused_other_authority)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  sframe::Identity rogue;
  std::string rogue_pub = world.new_authority (&rogue, "rogue");
  Device carol_dev = world.device ("carol", "r", sframe::token::Role::host, &rogue);

  Member alice, carol;
  start_alone (alice, world.props (alice_dev, "r"));
  must_wait_roster (alice, 1, "alice");
  start_alone (carol, world.props (carol_dev, "r", "", rogue_pub));

  std::string carol_fp = carol_dev.fingerprint ();
  const GstStructure *refused = wait_message (alice, "sframe-member-refused",
      [&] (const GstStructure * s) { return string_field (s, "who") == carol_fp; });
  fail_unless (refused != nullptr, "alice never refused carol");
  expect_field (refused, "reason", "wrong-authority");
  expect_field (refused, "room", "r");
  fail_if (string_field (refused, "detail").find (carol_dev.token) != std::string::npos);

  GstStructure *roster = nullptr;
  g_object_get (alice.km, "roster", &roster, nullptr);
  fail_unless_equals_int (list_size (roster, "members"), 1);
  expect_field (list_item (roster, "members", 0), "fingerprint", alice_dev.fingerprint ());
  gst_structure_free (roster);
  wait_stat (alice.km, "refused-members", 1);
}
GST_END_TEST;

/* A device with a valid token for another room announces itself in room r
 * (its own keymanager would not start with it, so the test sends the hello
 * the way one would, signed with the device key): refused as wrong-room. */
GST_START_TEST (test_refused_wrong_room)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device carol_dev = world.device ("carol", "elsewhere", sframe::token::Role::member);
  Member alice;
  start_alone (alice, world.props (alice_dev, "r"));
  must_wait_roster (alice, 1, "alice");

  sframe::hpke::KeyPair session;
  fail_unless (sframe::hpke::generate_key_pair (&session) == sframe::Status::ok);
  std::string hello = "{\"v\":1,\"type\":\"hello\",\"room\":\"r\",\"from\":\"" + carol_dev.fingerprint () +
      "\",\"sid\":\"0123456789abcdef\",\"seq\":1,\"token\":\"" + carol_dev.token + "\",\"hpk\":\"" +
      sframe::base64url_encode ({session.public_key.data (), session.public_key.size ()}) + "\",\"t\":" +
      std::to_string (time (nullptr)) + "}";
  std::vector<uint8_t> message = sframe::room::wire::make_signed (carol_dev.identity, hello);
  fail_unless (!message.empty ());
  std::unique_ptr<sframe::Bus> bus;
  sframe::Result opened = sframe::open_bus (world.bus (), &bus);
  fail_unless (opened.ok () && bus != nullptr, "%s", opened.message.c_str ());
  fail_unless (bus->publish (sframe::room::wire::subject_all ("r"), {message.data (), message.size ()}) ==
      sframe::Status::ok);

  const GstStructure *refused = wait_message (alice, "sframe-member-refused");
  fail_unless (refused != nullptr, "alice never refused the hello");
  expect_field (refused, "who", carol_dev.fingerprint ());
  expect_field (refused, "reason", "wrong-room");
  wait_stat (alice.km, "refused-members", 1);
  GstStructure *roster = nullptr;
  g_object_get (alice.km, "roster", &roster, nullptr);
  fail_unless_equals_int (list_size (roster, "members"), 1);
  gst_structure_free (roster);
}
GST_END_TEST;

/* Two keymanagers for rooms a and b in one bin fill two stores: frames of
 * room a's sframeenc decrypt with room a's store and not with room b's. */
GST_START_TEST (test_two_rooms_keep_keys_apart)
{
  World world;
  Device a_dev = world.device ("alice-a", "a", sframe::token::Role::host);
  Device b_dev = world.device ("alice-b", "b", sframe::token::Role::host);
  GstCaps *pt_caps = gst_caps_from_string (kOpaqueCaps);
  GstCaps *ct_caps = sframe_caps ();
  Member m;
  start_in_bin (m, world.props (a_dev, "a") + " keymanager name=kmb " + world.props (b_dev, "b"),
      "sframeenc name=media room=a mode=frame", pt_caps);
  auto room_is = [] (const char *room) {
    return [room] (const GstStructure * s) {
      return string_field (s, "room") == room && list_size (s, "members") == 1;
    };
  };
  fail_unless (wait_message (m, "sframe-roster", room_is ("a")) != nullptr, "room a never formed");
  fail_unless (wait_message (m, "sframe-roster", room_is ("b")) != nullptr, "room b never formed");

  /* Both rooms' stores are cached in the bin. */
  GstContext *ca = gst_element_get_context (m.top, "gst.sframe.keystore.a");
  GstContext *cb = gst_element_get_context (m.top, "gst.sframe.keystore.b");
  fail_unless (ca && cb, "a room's key store is not shared in the bin");
  GstSFrameKeyStore *sa = gst_sframe_key_store_from_context (ca);
  GstSFrameKeyStore *sb = gst_sframe_key_store_from_context (cb);
  fail_unless (sa && sb && sa != sb);
  GstSFrameKeyStore *enc_store = m.store ();
  fail_unless (enc_store == sa, "sframeenc room=a does not use room a's store");
  wait_sender_key (sa);
  wait_sender_key (sb);

  /* Decrypters outside the bin, each handed its room's store. */
  GstElement *dec_a = make_element ("sframedec", "room=a mode=frame hold-frames=0");
  GstElement *dec_b = make_element ("sframedec", "room=b mode=frame hold-frames=0");
  gst_element_set_context (dec_a, ca);
  gst_element_set_context (dec_b, cb);
  GstHarness *da = harness_wrap (dec_a, nullptr), *db = harness_wrap (dec_b, nullptr);
  gst_object_unref (dec_a);
  gst_object_unref (dec_b);
  gst_harness_set_src_caps (da, gst_caps_ref (ct_caps));
  gst_harness_set_src_caps (db, gst_caps_ref (ct_caps));
  GstSFrameKeyStore *da_store = key_store (da), *db_store = key_store (db);
  fail_unless (da_store == sa && db_store == sb);

  Rng rng (4100);
  int sent = 0;
  for (int i = 0; i < 10; i++) {
    Bytes pt = random_bytes (rng, 80), ct, out;
    if (!transform (m.h, pt, &ct))
      continue;
    sent++;
    fail_if (transform (db, ct), "room b decrypted room a's frame");
    fail_unless (transform (da, ct, &out) && out == pt, "room a could not decrypt its own frame");
  }
  fail_unless_equals_int (sent, 10);
  fail_unless_equals_uint64 (stat (db, "frames"), 0);
  fail_unless_equals_uint64 (stat (db, "dropped"), 10);

  gst_object_unref (da_store);
  gst_object_unref (db_store);
  gst_harness_teardown (da);
  gst_harness_teardown (db);
  gst_object_unref (enc_store);
  gst_object_unref (sa);
  gst_object_unref (sb);
  gst_context_unref (ca);
  gst_context_unref (cb);
  gst_caps_unref (pt_caps);
  gst_caps_unref (ct_caps);
}
GST_END_TEST;

/* An admission room: Bob waits in Alice's lobby until she admits him; a
 * member cannot admit; rotate posts sframe-key-rotated; revoking Bob puts
 * him out (sframe-left) and Alice alone again. */
GST_START_TEST (test_admission_and_revocation)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  Member alice, bob;
  start_alone (alice, world.props (alice_dev, "r", "require-admission=true"));
  must_wait_roster (alice, 1, "alice");
  start_alone (bob, world.props (bob_dev, "r", "require-admission=true"));

  const GstStructure *waiting = wait_message (alice, "sframe-roster",
      [] (const GstStructure * s) { return list_size (s, "lobby") == 1; });
  fail_unless (waiting != nullptr, "bob never showed up in the lobby");
  fail_unless_equals_int (list_size (waiting, "members"), 1);
  expect_field (list_item (waiting, "lobby", 0), "fingerprint", bob_dev.fingerprint ());
  gchar *role = nullptr;
  g_object_get (bob.km, "role", &role, nullptr);
  fail_unless_equals_string (role, "member");
  g_free (role);

  gboolean ok = TRUE;
  g_signal_emit_by_name (bob.km, "admit", "bob", &ok);
  fail_if (ok, "a member admitted someone");
  ok = TRUE;
  g_signal_emit_by_name (alice.km, "admit", "nobody-at-all", &ok);
  fail_if (ok, "admitted nobody");
  g_signal_emit_by_name (alice.km, "admit", "bob", &ok);
  fail_unless (ok, "alice could not admit bob");
  must_wait_roster (alice, 2, "alice");
  must_wait_roster (bob, 2, "bob");

  size_t mark = alice.seen.size ();
  ok = FALSE;
  g_signal_emit_by_name (alice.km, "rotate", &ok);
  fail_unless (ok, "rotate failed");
  const GstStructure *rotated = wait_message (alice, "sframe-key-rotated", nullptr, mark);
  fail_unless (rotated != nullptr, "no sframe-key-rotated after rotate");
  guint64 key_id = 0;
  fail_unless (gst_structure_get_uint64 (rotated, "key-id", &key_id));

  mark = alice.seen.size ();
  ok = FALSE;
  g_signal_emit_by_name (alice.km, "revoke", bob_dev.fingerprint ().c_str (), &ok);
  fail_unless (ok, "alice could not revoke bob");
  fail_unless (wait_message (alice, "sframe-roster", members_are (1), mark) != nullptr,
      "bob is still in alice's roster");
  const GstStructure *left = wait_message (bob, "sframe-left");
  fail_unless (left != nullptr, "bob was not told he is out");
  expect_field (left, "room", "r");
}
GST_END_TEST;

/* A sender key that uses up its counter is rotated at once: the store's
 * key-exhausted signal reaches the keymanager, which makes a new key, and
 * frames flow again under it. The key is moved to the end of its counter
 * space by replacing it in the store (a key id's counter never goes back,
 * so the replacement goes on from there). */
GST_START_TEST (test_exhausted_sender_key_is_rotated)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  GstCaps *pt_caps = gst_caps_from_string (kOpaqueCaps);
  Member alice;
  start_in_bin (alice, world.props (alice_dev, "r"), "sframeenc name=media room=r mode=frame", pt_caps);
  must_wait_roster (alice, 1, "alice");
  GstSFrameKeyStore *store = alice.store ();
  guint64 used_up = 0;
  wait_sender_key (store, &used_up);
  Bytes key = hex_bytes (kKeyHex2);
  fail_unless (gst_sframe_key_store_get_ring (store).add_own_key (sframe::CipherSuite::aes_128_gcm_sha256_128,
      used_up, {key.data (), key.size ()}, G_MAXUINT64 - 2) == sframe::Status::ok);

  Rng rng (4100);
  size_t mark = alice.seen.size ();
  for (int i = 0; i < 2; i++) {
    Bytes ct;
    fail_unless (transform (alice.h, random_bytes (rng, 40), &ct), "frame %d before the end dropped", i);
    fail_unless_equals_uint64 (key_id_of (ct), used_up);
  }
  fail_if (transform (alice.h, random_bytes (rng, 40)), "a frame went out past the last counter");
  auto rotated_away = [used_up] (const GstStructure * s) {
    guint64 key_id = 0;
    return gst_structure_get_uint64 (s, "key-id", &key_id) && key_id != used_up;
  };
  const GstStructure *rotated = wait_message (alice, "sframe-key-rotated", rotated_away, mark);
  fail_unless (rotated != nullptr, "the keymanager did not rotate the used-up key");
  guint64 fresh = 0;
  fail_unless (gst_structure_get_uint64 (rotated, "key-id", &fresh));
  fail_unless (wait_message (alice, "sframe-key-exhausted", nullptr, mark) != nullptr,
      "sframeenc posted no sframe-key-exhausted");
  Bytes ct;
  fail_unless (transform (alice.h, random_bytes (rng, 40), &ct), "no frame after the rotation");
  fail_unless_equals_uint64 (key_id_of (ct), fresh);
  GstElement *enc = alice.get ("media");
  fail_unless_equals_uint64 (stat (enc, "exhausted"), 1);
  gst_object_unref (enc);
  gst_object_unref (store);
  gst_caps_unref (pt_caps);
}
GST_END_TEST;

/* READY->NULL takes out every key the keymanager put in the store, and the
 * sender key with them. */
GST_START_TEST (test_stop_removes_keys)
{
  World world;
  Device alice = world.device ("alice", "r", sframe::token::Role::host);
  std::string desc = "keymanager name=km " + world.props (alice, "r") +
      " fakesrc num-buffers=0 ! sframeenc name=media room=r ! fakesink";
  GstElement *pipeline = gst_parse_launch (desc.c_str (), nullptr);
  fail_unless (pipeline != nullptr);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  GstElement *enc = gst_bin_get_by_name (GST_BIN (pipeline), "media");
  GstSFrameKeyStore *store = nullptr;
  g_object_get (enc, "key-store", &store, nullptr);
  fail_unless (store != nullptr);
  guint64 sender = 0;
  wait_sender_key (store, &sender);
  fail_unless (gst_sframe_key_store_has_key (store, sender));

  /* A key the application added itself stays. */
  add_key (store, 999999, kKeyHex1);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_if (gst_sframe_key_store_get_sender_key (store, nullptr), "the sender key survived the stop");
  auto ids = gst_sframe_key_store_get_ring (store).key_ids ();
  fail_unless_equals_int (ids.size (), 1);
  fail_unless_equals_uint64 (ids[0], 999999);

  gst_object_unref (store);
  gst_object_unref (enc);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* What an application does from a synchronous bus handler, i.e. on the
 * keymanager's worker thread: an action signal there returns FALSE at
 * once (it cannot wait for its own thread), and stopping the element there
 * works (the worker finishes on its own). */
struct HandlerCalls {
  std::atomic<int> admit_calls {0};
  std::atomic<int> admit_results {0};
  std::atomic<int> stops {0};
};

GstBusSyncReply
admit_from_handler (GstBus *, GstMessage * msg, gpointer data)
{
  auto calls = static_cast<HandlerCalls *> (data);
  const GstStructure *s = gst_message_get_structure (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT && gst_structure_has_name (s, "sframe-roster") &&
      list_size (s, "lobby") > 0) {
    gboolean ok = FALSE;
    g_signal_emit_by_name (GST_MESSAGE_SRC (msg), "admit", "bob", &ok);
    calls->admit_calls++;
    calls->admit_results += ok ? 1 : 0;
  }
  return GST_BUS_PASS;
}

GstBusSyncReply
stop_from_handler (GstBus *, GstMessage * msg, gpointer data)
{
  auto calls = static_cast<HandlerCalls *> (data);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (gst_message_get_structure (msg), "sframe-left")) {
    gst_element_set_state (GST_ELEMENT (GST_MESSAGE_SRC (msg)), GST_STATE_NULL);
    calls->stops++;
  }
  return GST_BUS_PASS;
}

GST_START_TEST (test_actions_from_the_worker_thread)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  HandlerCalls calls;
  Member alice, bob;
  start_alone (alice, world.props (alice_dev, "r", "require-admission=true"));
  gst_bus_set_sync_handler (alice.bus, admit_from_handler, &calls, nullptr);
  must_wait_roster (alice, 1, "alice");
  start_alone (bob, world.props (bob_dev, "r", "require-admission=true"));
  gst_bus_set_sync_handler (bob.bus, stop_from_handler, &calls, nullptr);

  fail_unless (wait_message (alice, "sframe-roster",
          [] (const GstStructure * s) { return list_size (s, "lobby") == 1; }) != nullptr);
  fail_unless (calls.admit_calls >= 1);
  fail_unless_equals_int (calls.admit_results, 0);

  gboolean ok = FALSE;
  g_signal_emit_by_name (alice.km, "admit", "bob", &ok);
  fail_unless (ok);
  must_wait_roster (bob, 2, "bob");
  g_signal_emit_by_name (alice.km, "revoke", "bob", &ok);
  fail_unless (ok);
  fail_unless (wait_message (bob, "sframe-left") != nullptr);
  fail_unless_equals_int (calls.stops, 1);
  GstState state = GST_STATE_VOID_PENDING;
  fail_unless_equals_int (gst_element_get_state (bob.km, &state, nullptr, 0), GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (state, GST_STATE_NULL);
  ok = TRUE;
  g_signal_emit_by_name (bob.km, "rotate", &ok);
  fail_if (ok, "rotate after stop");
  gst_bus_set_sync_handler (alice.bus, nullptr, nullptr, nullptr);
  gst_bus_set_sync_handler (bob.bus, nullptr, nullptr, nullptr);

  /* It starts again. */
  Device bob_again = world.device ("bob2", "r", sframe::token::Role::member);
  set_props (bob.km, world.props (bob_again, "r", "require-admission=true"));
  fail_unless_equals_int (gst_element_set_state (bob.km, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
}
GST_END_TEST;

/* Holds the worker that posts the next sframe-key-rotated (a bus sync
 * handler runs on the posting thread) until released. */
struct WorkerBlock {
  std::mutex lock;
  std::condition_variable changed;
  bool armed = false;
  bool blocked = false;
  bool released = false;
};

GstBusSyncReply
block_on_rotation (GstBus *, GstMessage * msg, gpointer data)
{
  auto block = static_cast<WorkerBlock *> (data);
  const GstStructure *s = gst_message_get_structure (msg);
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT || !gst_structure_has_name (s, "sframe-key-rotated"))
    return GST_BUS_PASS;
  std::unique_lock<std::mutex> lock (block->lock);
  if (block->armed && !block->blocked) {
    block->blocked = true;
    block->changed.notify_all ();
    block->changed.wait (lock, [block] { return block->released; });
  }
  return GST_BUS_PASS;
}

/* A host's command does not wait behind the bus. Alice's worker is held
 * while carol's leave reaches its queue; then alice revokes bob, and the
 * worker goes on. Bob is out first, in a roster of his own (with carol);
 * carol's leave, which came before the command, is committed after it.
 * In arrival order both went out in one roster after the leave, and at
 * N = 200 an admit or revoke could wait seconds behind a rotation's
 * messages (and return FALSE after 5 s while still queued). */
GST_START_TEST (test_commands_go_ahead_of_bus_messages)
{
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  Device carol_dev = world.device ("carol", "r", sframe::token::Role::member);
  auto hub = sframe::localbus::hub (world.bus ().substr (std::string ("local://").size ()));
  Member alice, bob, carol;
  start_alone (alice, world.props (alice_dev, "r"));
  must_wait_roster (alice, 1, "alice");
  start_alone (bob, world.props (bob_dev, "r"));
  start_alone (carol, world.props (carol_dev, "r"));
  must_wait_roster (alice, 3, "alice");

  WorkerBlock block;
  gst_bus_set_sync_handler (alice.bus, block_on_rotation, &block, nullptr);
  {
    std::lock_guard<std::mutex> lock (block.lock);
    block.armed = true;
  }
  /* From a thread of its own: the key may be switched (and the worker
   * held) before the command has answered. */
  gboolean rotated = FALSE;
  std::thread rotator ([&] { g_signal_emit_by_name (alice.km, "rotate", &rotated); });
  {
    std::unique_lock<std::mutex> lock (block.lock);
    fail_unless (block.changed.wait_for (lock, std::chrono::seconds (20), [&] { return block.blocked; }),
        "alice never rotated");
  }
  size_t mark = alice.seen.size ();
  gst_element_set_state (carol.top, GST_STATE_NULL);
  hub->flush ();   /* carol's leave is in alice's queue */
  gboolean revoked = FALSE;
  std::thread host ([&] { g_signal_emit_by_name (alice.km, "revoke", bob_dev.fingerprint ().c_str (), &revoked); });
  g_usleep (200 * 1000);   /* the command is queued in microseconds; this is slack */
  {
    std::lock_guard<std::mutex> lock (block.lock);
    block.released = true;
    block.changed.notify_all ();
  }
  host.join ();
  rotator.join ();
  fail_unless (rotated, "rotate failed");
  fail_unless (revoked, "revoke failed");
  fail_unless (wait_message (alice, "sframe-roster", members_are (1), mark) != nullptr, "carol never left");
  const GstStructure *first_roster = wait_message (alice, "sframe-roster", nullptr, mark);
  fail_unless_equals_int (list_size (first_roster, "members"), 2);
  for (guint i = 0; i < 2; i++)
    fail_if (string_field (list_item (first_roster, "members", i), "fingerprint") == bob_dev.fingerprint (),
        "bob was revoked only after the bus message queued before the command");
  gst_bus_set_sync_handler (alice.bus, nullptr, nullptr, nullptr);
}
GST_END_TEST;

/* Over a real nats-server: the room forms, media flows, the server goes
 * away and comes back; both members notice (stats), resynchronise, and a
 * fresh key made after the outage still reaches the other member. */
GST_START_TEST (test_nats_reconnect)
{
  if (sframe_test::find_nats_server ().empty ()) {
    g_print ("SKIP: nats-server is not installed\n");
    return;
  }
  sframe_test::NatsServers servers;
  std::string error;
  fail_unless (servers.start (1, &error), "%s", error.c_str ());
  World world;
  Device alice_dev = world.device ("alice", "r", sframe::token::Role::host);
  Device bob_dev = world.device ("bob", "r", sframe::token::Role::member);
  /* Longer liveness than the outage: nobody is dropped for it. */
  std::string extra = "bus=" + servers.url (0) + " liveness-timeout=15000";
  GstCaps *ct_caps = sframe_caps ();
  GstCaps *pt_caps = gst_caps_from_string (kOpaqueCaps);
  {
    Member alice, bob;
    start_in_bin (alice, world.props (alice_dev, "r", extra), "sframeenc name=media room=r mode=frame", pt_caps);
    start_in_bin (bob, world.props (bob_dev, "r", extra), "sframedec name=media room=r mode=frame hold-frames=0",
        ct_caps);
    must_wait_roster (alice, 2, "alice");
    must_wait_roster (bob, 2, "bob");
    GstSFrameKeyStore *bob_store = bob.store ();
    Rng rng (4200);
    wait_decryptable (alice, bob_store, rng);

    servers.stop (0);
    auto connected = [] (GstElement * km) {
      GstStructure *stats = nullptr;
      g_object_get (km, "stats", &stats, nullptr);
      gboolean up = TRUE;
      gst_structure_get_boolean (stats, "bus-connected", &up);
      gst_structure_free (stats);
      return up != FALSE;
    };
    gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    while (connected (alice.km) || connected (bob.km)) {
      fail_unless (g_get_monotonic_time () < deadline, "the members never noticed the outage");
      g_usleep (20 * 1000);
    }
    fail_unless (servers.restart (0, &error), "%s", error.c_str ());
    wait_stat (alice.km, "reconnects", 1);
    wait_stat (bob.km, "reconnects", 1);

    /* A fresh key after the outage reaches bob. */
    guint64 before = 0;
    GstSFrameKeyStore *alice_store = alice.store ();
    fail_unless (gst_sframe_key_store_get_sender_key (alice_store, &before));
    gboolean ok = FALSE;
    g_signal_emit_by_name (alice.km, "rotate", &ok);
    fail_unless (ok);
    /* Alice switches once bob acked the new key (or after switch-timeout). */
    guint64 after = before;
    deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    while (!gst_sframe_key_store_get_sender_key (alice_store, &after) || after == before) {
      fail_unless (g_get_monotonic_time () < deadline, "rotate never changed the sender key");
      g_usleep (10 * 1000);
    }
    wait_decryptable (alice, bob_store, rng);
    for (int i = 0; i < 10; i++) {
      Bytes pt = random_bytes (rng, 100), ct, out;
      fail_unless (transform (alice.h, pt, &ct));
      fail_unless_equals_uint64 (key_id_of (ct), after);
      fail_unless (transform (bob.h, ct, &out) && out == pt, "frame %d after the outage", i);
    }
    gst_object_unref (alice_store);
    gst_object_unref (bob_store);
  }
  gst_caps_unref (ct_caps);
  gst_caps_unref (pt_caps);
}
GST_END_TEST;

/* A server with TLS (the test's CA) and a password: a keymanager that
 * trusts another CA, or brings no password, fails to start with an error
 * that says which, and never shows the password. */
GST_START_TEST (test_nats_tls_and_credentials_refusals)
{
  if (sframe_test::find_nats_server ().empty ()) {
    g_print ("SKIP: nats-server is not installed\n");
    return;
  }
  sframe_test::TestPki pki;
  std::string error;
  fail_unless (pki.make (&error), "%s", error.c_str ());
  sframe_test::NatsServers servers;
  servers.secure (sframe_test::tls_and_password (pki, "member", "km-pa55"));
  fail_unless (servers.start (1, &error), "%s", error.c_str ());
  World world;
  Device alice = world.device ("alice", "r", sframe::token::Role::host);
  std::string port = std::to_string (servers.client_port (0));
  expect_start_error (world.props (alice, "r", "bus=tls://member:km-pa55@127.0.0.1:" + port + " tls-ca-file=" +
                          pki.other_ca ()), "TLS failed", "km-pa55");
  expect_start_error (world.props (alice, "r", "bus=tls://127.0.0.1:" + port + " tls-ca-file=" + pki.ca ()),
      "refused this client's credentials", "km-pa55");
  /* The right CA and password: it joins (a room of its own). */
  Member m;
  start_alone (m, world.props (alice, "r", "bus=tls://member:km-pa55@127.0.0.1:" + port + " tls-ca-file=" + pki.ca ()));
  must_wait_roster (m, 1, "alice");
  gchar *ca = nullptr;
  g_object_get (m.km, "tls-ca-file", &ca, nullptr);
  std::string expected_ca = pki.ca ();
  fail_unless_equals_string (ca, expected_ca.c_str ());
  g_free (ca);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * What a launch line shows: element messages on the pipeline's bus */

/* The words of a GST_TYPE_ARRAY of strings. */
std::vector<std::string>
string_array (const GstStructure * s, const char *field)
{
  const GValue *v = gst_structure_get_value (s, field);
  fail_unless (v != nullptr && GST_VALUE_HOLDS_ARRAY (v), "no array %s in %" GST_PTR_FORMAT, field, s);
  std::vector<std::string> words;
  for (guint i = 0; i < gst_value_array_get_size (v); i++) {
    const GValue *item = gst_value_array_get_value (v, i);
    fail_unless (G_VALUE_HOLDS_STRING (item), "%s holds a non-string", field);
    words.push_back (g_value_get_string (item));
  }
  return words;
}

guint64
uint64_field (const GstStructure * s, const char *field)
{
  guint64 v = 0;
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no guint64 %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

guint
uint_field (const GstStructure * s, const char *field)
{
  guint v = 0;
  fail_unless (gst_structure_get_uint (s, field, &v), "no guint %s in %" GST_PTR_FORMAT, field, s);
  return v;
}

/* A keymanager in a pipeline, as in a launch line, with an sframeenc and
 * an sframedec of its room: the bus carries an sframe-roster that names
 * the member and spells the security code in readable groups, and
 * sframe-stats messages with the keymanager's counters and the media
 * elements' frame and drop counts. Neither holds the token. */
GST_START_TEST (test_launch_line_messages)
{
  World world;
  Device alice = world.device ("alice", "m", sframe::token::Role::host);
  std::string launch = "keymanager name=km " + world.props (alice, "m", "stats-interval=100") +
      " videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1"
      " ! sframeenc room=m mode=frame ! sframedec room=m mode=frame ! fakesink";
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  /* The description holds a token: report the parse error only. */
  fail_unless (pipeline != nullptr, "cannot parse the pipeline: %s", error ? error->message : "?");
  gst_object_ref_sink (pipeline);
  Member m;
  m.top = pipeline;
  m.km = m.get ("km");
  m.bus = gst_element_get_bus (pipeline);
  fail_if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE);

  const GstStructure *roster = must_wait_roster (m, 1, "alice");
  fail_unless_equals_int (uint_field (roster, "member-count"), 1);
  fail_unless_equals_int (uint_field (roster, "lobby-count"), 0);
  std::vector<std::string> names = string_array (roster, "names");
  fail_unless_equals_int (names.size (), 1);
  std::string expected_name = "alice:" + alice.fingerprint ().substr (0, 16);
  fail_unless_equals_string (names[0].c_str (), expected_name.c_str ());
  fail_unless_equals_int (string_array (roster, "lobby-names").size (), 0);
  std::vector<std::string> groups = string_array (roster, "security-code-groups");
  fail_unless_equals_int (groups.size (), 12);
  std::string joined;
  for (const auto & g : groups) {
    fail_unless (g.size () == 5 && g.find_first_not_of ("0123456789") == std::string::npos,
        "security code group '%s' is not 5 digits", g.c_str ());
    joined += (joined.empty () ? "" : " ") + g;
  }
  gchar *code = nullptr;
  g_object_get (m.km, "security-code", &code, nullptr);
  fail_unless_equals_string (joined.c_str (), code);
  expect_field (roster, "security-code", code);
  g_free (code);

  /* Stats come every 100 ms; wait for one after frames were decrypted. */
  auto decrypted = [] (const GstStructure * s) {
    guint64 frames = 0;
    return gst_structure_get_uint64 (s, "frames-decrypted", &frames) && frames > 0;
  };
  const GstStructure *stats = wait_message (m, "sframe-stats", decrypted);
  fail_unless (stats != nullptr, "no sframe-stats with decrypted frames");
  expect_field (stats, "room", "m");
  fail_unless (uint64_field (stats, "epoch") >= 1);
  fail_unless_equals_int (uint_field (stats, "member-count"), 1);
  fail_unless_equals_int (uint_field (stats, "lobby-count"), 0);
  fail_unless (uint64_field (stats, "rotations") >= 1);
  fail_unless (uint64_field (stats, "messages-sent") > 0);
  for (auto field : {"bytes-sent", "messages-received", "bytes-received", "messages-rejected",
           "refused-members", "resyncs", "key-resends", "missing-announced", "publish-failures",
           "queue-overflows", "disconnects", "reconnects", "frames-encrypted", "encrypt-dropped",
           "decrypt-dropped", "auth-failures", "unknown-key", "replayed"})
    uint64_field (stats, field);
  expect_field (stats, "bus", world.bus ());
  gboolean connected = FALSE;
  fail_unless (gst_structure_get_boolean (stats, "bus-connected", &connected) && connected);
  fail_unless_equals_int (uint_field (stats, "encoders"), 1);
  fail_unless_equals_int (uint_field (stats, "decoders"), 1);
  fail_unless (uint64_field (stats, "frames-encrypted") >= uint64_field (stats, "frames-decrypted"));
  fail_unless_equals_uint64 (uint64_field (stats, "auth-failures"), 0);

  for (auto s : m.seen) {
    gchar *text = gst_structure_to_string (s);
    fail_if (std::string (text).find (alice.token) != std::string::npos, "a message holds the token");
    g_free (text);
  }
}
GST_END_TEST;

static Suite *
keymanager_suite (void)
{
  Suite *s = suite_create ("keymanager");
  TCase *props = tcase_create ("properties");
  suite_add_tcase (s, props);
  tcase_add_test (props, test_properties);
  tcase_add_test (props, test_identity_readable_by_others);
  tcase_add_test (props, test_missing_settings);
  tcase_add_test (props, test_token_sources);

  TCase *rooms = tcase_create ("rooms");
  suite_add_tcase (s, rooms);
  tcase_add_test (rooms, test_two_members_exchange_media);
  tcase_add_test (rooms, test_refused_other_authority);
  tcase_add_test (rooms, test_refused_wrong_room);
  tcase_add_test (rooms, test_two_rooms_keep_keys_apart);
  tcase_add_test (rooms, test_admission_and_revocation);
  tcase_add_test (rooms, test_stop_removes_keys);
  tcase_add_test (rooms, test_exhausted_sender_key_is_rotated);
  tcase_add_test (rooms, test_actions_from_the_worker_thread);
  tcase_add_test (rooms, test_commands_go_ahead_of_bus_messages);
  tcase_add_test (rooms, test_token_renewal_through_the_token_file);
  tcase_add_test (rooms, test_launch_line_messages);

  TCase *nats = tcase_create ("nats");
  suite_add_tcase (s, nats);
  tcase_add_test (nats, test_nats_reconnect);
  tcase_add_test (nats, test_nats_tls_and_credentials_refusals);
  return s;
}

GST_CHECK_MAIN (keymanager);
