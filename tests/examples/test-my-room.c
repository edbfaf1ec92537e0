/* An example of testing your own E2EE pipeline with GstHarness and an
 * in-process room (local://). docs/testing.md walks through it; the project
 * runs it as the `example-room` test, so it stays true.
 *
 * It uses only what an application has: the installed plugin, its element
 * properties, and gst-sframe-keytool (found through $SFRAME_KEYTOOL, else
 * on PATH) to make the room authority, two device identities and their
 * join tokens. Alice sends, Bob receives, Mallory has the frames but no
 * place in the room. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <string.h>

#define FRAME_SIZE 1200
/* Quick protocol timers: a test room forms in a fraction of a second. */
#define FAST_TIMERS "discovery-timeout=100 switch-timeout=200 grace-period=500 heartbeat-interval=200"

static gchar *dir;

static gchar *
file_in_dir (const gchar * name)
{
  return g_build_filename (dir, name, NULL);
}

/* Runs gst-sframe-keytool with `args` (space-separated, no quoting). */
static void
keytool (const gchar * args)
{
  const gchar *tool = g_getenv ("SFRAME_KEYTOOL");
  gchar *cmd = g_strdup_printf ("%s %s", tool ? tool : "gst-sframe-keytool", args);
  gchar *err = NULL;
  gint status = 0;
  fail_unless (g_spawn_command_line_sync (cmd, NULL, &err, &status, NULL), "cannot run %s", cmd);
  fail_unless (g_spawn_check_wait_status (status, NULL), "%s failed: %s", cmd, err);
  g_free (err);
  g_free (cmd);
}

/* A device of room "standup": its identity and a token the authority
 * signed for it. */
static void
make_device (const gchar * name, const gchar * role)
{
  gchar *args = g_strdup_printf ("identity new %s/%s.key", dir, name);
  keytool (args);
  g_free (args);
  args = g_strdup_printf ("token issue --authority %s/org.key --room standup --member %s --name %s "
      "--role %s --device %s/%s.key.pub --out %s/%s.jwt", dir, name, name, role, dir, name, dir, name);
  keytool (args);
  g_free (args);
}

static void
setup (void)
{
  dir = g_dir_make_tmp ("my-room-XXXXXX", NULL);
  fail_unless (dir != NULL);
  gchar *args = g_strdup_printf ("authority new %s/org.key", dir);
  keytool (args);
  g_free (args);
  make_device ("alice", "host");
  make_device ("bob", "member");
}

static void
teardown (void)
{
  const gchar *names[] = { "org.key", "org.key.pub", "alice.key", "alice.key.pub", "alice.jwt",
    "bob.key", "bob.key.pub", "bob.jwt" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *path = file_in_dir (names[i]);
    g_remove (path);
    g_free (path);
  }
  g_rmdir (dir);
  g_free (dir);
}

/* A member: its keymanager beside one media element, in one harness, so
 * they share the room's key store. */
static GstHarness *
member (const gchar * name, const gchar * media)
{
  gchar *desc = g_strdup_printf ("keymanager name=km room=standup bus=local://my-room-test "
      "identity=%s/%s.key token-file=%s/%s.jwt authority=%s/org.key.pub " FAST_TIMERS " %s",
      dir, name, dir, name, dir, media);
  GstHarness *h = gst_harness_new_parse (desc);
  g_free (desc);
  return h;
}

static GstElement *
keymanager_of (GstHarness * h)
{
  return gst_bin_get_by_name (GST_BIN (h->element), "km");
}

/* The roster's security code once `h` sees `n` members, NULL on timeout. */
static gchar *
wait_for_room (GstHarness * h, guint n)
{
  GstElement *km = keymanager_of (h);
  gchar *code = NULL;
  for (int i = 0; i < 1000 && !code; i++) {
    GstStructure *roster = NULL;
    g_object_get (km, "roster", &roster, NULL);
    const GValue *members = roster ? gst_structure_get_value (roster, "members") : NULL;
    if (members && gst_value_list_get_size (members) == n)
      g_object_get (km, "security-code", &code, NULL);
    if (roster)
      gst_structure_free (roster);
    if (!code)
      g_usleep (10 * 1000);
  }
  gst_object_unref (km);
  return code;
}

static guint8 plaintext[FRAME_SIZE];

static GstBuffer *
frame (void)
{
  return gst_buffer_new_memdup (plaintext, FRAME_SIZE);
}

GST_START_TEST (test_bob_decrypts_alice_and_mallory_cannot)
{
  GstHarness *alice = member ("alice", "sframeenc room=standup mode=frame");
  GstHarness *bob = member ("bob", "sframedec room=standup mode=frame");
  gst_harness_set_src_caps_str (alice, "video/x-my-codec");
  memset (plaintext, 0x42, sizeof plaintext);

  /* Both hold the same roster: the code they would read to each other. */
  gchar *alice_code = wait_for_room (alice, 2);
  gchar *bob_code = wait_for_room (bob, 2);
  fail_unless (alice_code != NULL && bob_code != NULL, "the room did not form");
  fail_unless_equals_string (alice_code, bob_code);

  /* Keys travel on their own schedule: send until Bob reads a frame. */
  gboolean decrypted = FALSE;
  GstBuffer *ciphertext = NULL;
  for (int i = 0; i < 200 && !decrypted; i++) {
    fail_unless_equals_int (gst_harness_push (alice, frame ()), GST_FLOW_OK);
    GstBuffer *out = gst_harness_try_pull (alice);
    if (!out) {   /* Alice has no key yet: nothing leaves, not even in clear */
      g_usleep (10 * 1000);
      continue;
    }
    fail_if (gst_buffer_memcmp (out, 0, plaintext, FRAME_SIZE) == 0, "plaintext left Alice");
    if (!ciphertext) {
      GstCaps *caps = gst_pad_get_current_caps (alice->sinkpad);
      gst_harness_set_src_caps (bob, caps);
      ciphertext = gst_buffer_copy (out);
    }
    gst_harness_push (bob, out);
    GstBuffer *plain = gst_harness_try_pull (bob);   /* Bob may still wait for the key */
    if (!plain) {
      g_usleep (10 * 1000);
      continue;
    }
    fail_unless_equals_int (gst_buffer_get_size (plain), FRAME_SIZE);
    fail_unless (gst_buffer_memcmp (plain, 0, plaintext, FRAME_SIZE) == 0);
    gst_buffer_unref (plain);
    decrypted = TRUE;
  }
  fail_unless (decrypted, "Bob never decrypted Alice's frames");

  /* Mallory has the ciphertext (she runs the SFU) but no keymanager: her
   * sframedec drops it (at once: no holding for a key that may come),
   * counts it and outputs nothing. */
  GstHarness *mallory = gst_harness_new_parse ("sframedec room=mallory mode=frame hold-frames=0");
  gst_harness_set_src_caps (mallory, gst_pad_get_current_caps (alice->sinkpad));
  gst_harness_push (mallory, ciphertext);
  fail_unless (gst_harness_try_pull (mallory) == NULL);
  GstElement *dec = gst_harness_find_element (mallory, "sframedec");
  GstStructure *stats = NULL;
  g_object_get (dec, "stats", &stats, NULL);
  guint64 unknown = 0;
  fail_unless (gst_structure_get_uint64 (stats, "unknown-key", &unknown));
  fail_unless_equals_uint64 (unknown, 1);
  gst_structure_free (stats);
  gst_object_unref (dec);

  g_free (alice_code);
  g_free (bob_code);
  gst_harness_teardown (mallory);
  gst_harness_teardown (bob);
  gst_harness_teardown (alice);
}

GST_END_TEST;

static Suite *
my_room_suite (void)
{
  Suite *s = suite_create ("my-room");
  TCase *tc = tcase_create ("room");
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_bob_decrypts_alice_and_mallory_cannot);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (my_room);
