/* Keys over time and between elements: changing the sender key while
 * PLAYING without losing a frame (also frames still in flight under the old
 * key), two encrypters sharing one sender key never repeating a counter,
 * and rooms keeping their key stores apart. */
#include "sframe-check.h"

#include <atomic>
#include <map>
#include <set>
#include <thread>

using namespace check;

namespace {

/* The key ids of every SFrame in a protected frame, read from the clear
 * layout alone (as an SFU would). */
std::vector<guint64>
key_ids_of (Layout layout, const Bytes & ct)
{
  std::vector<guint64> ids;
  sframe::Header header;
  size_t len = 0;
  if (layout != Layout::h264) {
    fail_unless (parse_header (ct, clear_prefix (layout, ct), &header, &len));
    ids.push_back (header.key_id);
    return ids;
  }
  for (const Nal & nal : split_annexb (ct)) {
    if (h264_type_is_clear (ct[nal.offset]))
      continue;
    Bytes sf = h264_unescape (ct.data () + nal.offset + 1, nal.size - 1);
    fail_unless (parse_header (sf, 0, &header, &len));
    ids.push_back (header.key_id);
  }
  return ids;
}

void
expect_key_id (Layout layout, const Bytes & ct, guint64 key_id)
{
  for (guint64 id : key_ids_of (layout, ct))
    fail_unless_equals_uint64 (id, key_id);
}

struct Sent {
  Bytes pt;
  Bytes ct;
};

const Layout kLayouts[] = {Layout::frame, Layout::opus, Layout::vp8, Layout::h264};

/* Encrypts `n` frames, checking each is under `key_id` (any, when 0). */
std::vector<Sent>
send (GstHarness * enc, Layout layout, Rng & rng, int n, guint64 key_id)
{
  std::vector<Sent> out;
  for (int i = 0; i < n; i++) {
    Sent s;
    s.pt = media_frame (rng, layout, 40 + rng () % 200, i);
    s.ct = must_transform (enc, s.pt);
    if (key_id)
      expect_key_id (layout, s.ct, key_id);
    out.push_back (std::move (s));
  }
  return out;
}

void
receive (GstHarness * dec, const std::vector<Sent> & frames, const char *what)
{
  for (size_t i = 0; i < frames.size (); i++) {
    Bytes out;
    fail_unless (transform (dec, frames[i].ct, &out), "%s frame %zu lost", what, i);
    fail_unless (out == frames[i].pt, "%s frame %zu differs", what, i);
  }
}

}  // namespace

/* The application rotates keys through the store API while PLAYING: the
 * receivers learn key 2, the sender switches to it, then retires key 1.
 * Frames encrypted under key 1 but delivered after the switch still decrypt. */
GST_START_TEST (test_key_change_store_api)
{
  Layout layout = kLayouts[__i__];
  Rng rng (3000 + __i__);
  GstHarness *enc = harness_new ("sframeenc", std::string ("mode=") + layout_mode (layout), layout_caps (layout));
  GstHarness *dec = dec_harness_for (enc, std::string ("mode=") + layout_mode (layout));
  GstSFrameKeyStore *es = key_store (enc), *ds = key_store (dec);
  fail_unless (es != ds, "separate harnesses must not share a store");
  add_own_key (es, 1, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (es, 1, nullptr));
  add_key (ds, 1, kKeyHex1);

  receive (dec, send (enc, layout, rng, 20, 1), "before");
  auto in_flight = send (enc, layout, rng, 10, 1);

  add_key (ds, 2, kKeyHex2);
  add_own_key (es, 2, kKeyHex2);
  fail_unless (gst_sframe_key_store_set_sender_key (es, 2, nullptr));
  auto after = send (enc, layout, rng, 20, 2);
  receive (dec, std::vector<Sent> (after.begin (), after.begin () + 10), "after");
  receive (dec, in_flight, "in flight");
  receive (dec, std::vector<Sent> (after.begin () + 10, after.end ()), "after");

  fail_unless (gst_sframe_key_store_remove_key (es, 1));
  receive (dec, send (enc, layout, rng, 10, 2), "after retiring key 1");

  fail_unless_equals_uint64 (stat (enc, "frames"), 60);
  fail_unless_equals_uint64 (stat (enc, "dropped"), 0);
  fail_unless_equals_uint64 (stat (dec, "frames"), 60);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 0);
  gst_object_unref (ds);
  gst_object_unref (es);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* The key id `enc` sends under with its static key. */
guint64
session_key_id (GstHarness * enc)
{
  guint64 key_id = 0;
  g_object_get (enc->element, "key-id", &key_id, nullptr);
  return key_id;
}

/* The decrypter holds both keys as static keys, as peers given the keys on
 * their launch lines do. */
void
add_static_key (GstSFrameKeyStore * store, const char *hex)
{
  Bytes key = hex_bytes (hex);
  GError *error = nullptr;
  fail_unless (gst_sframe_key_store_add_static_key (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128,
          key.data (), key.size (), nullptr, &error), "%s", error ? error->message : "?");
}

/* The same through the properties: each write of `key` starts a new
 * session under a new key id at once, even a write of the same key. */
GST_START_TEST (test_key_change_properties)
{
  Layout layout = kLayouts[__i__];
  Rng rng (3100 + __i__);
  std::string mode = std::string ("mode=") + layout_mode (layout);
  GstHarness *enc = harness_new ("sframeenc", mode + " key=" + kKeyHex1, layout_caps (layout));
  GstHarness *dec = dec_harness_for (enc, mode);
  GstSFrameKeyStore *ds = key_store (dec);
  add_static_key (ds, kKeyHex1);
  add_static_key (ds, kKeyHex2);

  fail_unless_equals_uint64 (session_key_id (enc), 0);
  Bytes first = must_transform (enc, media_frame (rng, layout, 100, 0));
  guint64 kid1 = session_key_id (enc);
  fail_if (kid1 == 0);
  expect_key_id (layout, first, kid1);
  receive (dec, send (enc, layout, rng, 20, kid1), "before");
  auto in_flight = send (enc, layout, rng, 10, kid1);

  g_object_set (enc->element, "key", kKeyHex1, nullptr);
  auto same_key = send (enc, layout, rng, 3, 0);
  guint64 kid2 = session_key_id (enc);
  fail_if (kid2 == kid1 || kid2 == 0, "a new write of the key keeps the key id");
  for (const auto & sent : same_key)
    expect_key_id (layout, sent.ct, kid2);

  g_object_set (enc->element, "key", kKeyHex2, nullptr);
  auto after = send (enc, layout, rng, 20, 0);
  guint64 kid3 = session_key_id (enc);
  fail_if (kid3 == kid2 || kid3 == kid1 || kid3 == 0);
  for (const auto & sent : after)
    expect_key_id (layout, sent.ct, kid3);

  receive (dec, std::vector<Sent> (after.begin (), after.begin () + 5), "after");
  receive (dec, in_flight, "in flight");
  receive (dec, same_key, "same key, new session");
  receive (dec, std::vector<Sent> (after.begin () + 5, after.end ()), "after");

  fail_unless_equals_uint64 (stat (dec, "frames"), 53);
  fail_unless_equals_uint64 (stat (dec, "dropped"), 0);
  gst_object_unref (ds);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* The switch happens on the application thread while another thread
 * streams frames through the encrypter. Every frame, on either side of the
 * switch, decrypts; the last old-key frames arrive after new-key ones. */
GST_START_TEST (test_key_change_while_streaming)
{
  const bool by_property = __i__ == 1;
  GstHarness *enc = harness_new ("sframeenc",
      by_property ? std::string ("mode=frame key=") + kKeyHex1 : std::string ("mode=frame"),
      kOpaqueCaps);
  GstHarness *dec = dec_harness_for (enc, "mode=frame");
  GstSFrameKeyStore *es = key_store (enc), *ds = key_store (dec);
  guint64 old_id = 1;
  if (by_property) {
    add_static_key (ds, kKeyHex1);
    add_static_key (ds, kKeyHex2);
  } else {
    add_own_key (es, 1, kKeyHex1);
    fail_unless (gst_sframe_key_store_set_sender_key (es, 1, nullptr));
    add_key (ds, 1, kKeyHex1);
    add_key (ds, 2, kKeyHex2);
  }

  std::atomic<int> pushed {0};
  std::atomic<int> pushed_at_switch {-1};
  std::vector<Bytes> plaintexts;
  std::thread streamer ([&] {
    Rng rng (3200);
    /* Keep streaming until 300 frames went in after the switch. */
    for (int i = 0; pushed_at_switch < 0 || i < pushed_at_switch + 300; i++) {
      Bytes pt = random_bytes (rng, 30 + i % 100);
      plaintexts.push_back (pt);
      gst_harness_push (enc, to_buffer (pt));
      pushed = i + 1;
    }
  });
  while (pushed < 300)
    g_usleep (1000);
  if (by_property) {
    old_id = session_key_id (enc);
    g_object_set (enc->element, "key", kKeyHex2, nullptr);
  } else {
    add_own_key (es, 2, kKeyHex2);
    fail_unless (gst_sframe_key_store_set_sender_key (es, 2, nullptr));
  }
  /* The frame being pushed during the switch may still take the old key. */
  pushed_at_switch = pushed.load () + 1;
  streamer.join ();

  /* Collect in send order, then deliver the last 20 old-key frames after
   * the first 20 new-key ones. */
  std::vector<Sent> old_key, new_key;
  for (size_t i = 0; i < plaintexts.size (); i++) {
    GstBuffer *buf = gst_harness_try_pull (enc);
    fail_unless (buf != nullptr, "frame %zu was not encrypted", i);
    Sent s {plaintexts[i], to_bytes (buf)};
    gst_buffer_unref (buf);
    guint64 id = key_ids_of (Layout::frame, s.ct)[0];
    fail_unless (id == old_id || new_key.empty () || id == key_ids_of (Layout::frame, new_key[0].ct)[0]);
    fail_unless (id != old_id || new_key.empty (), "the old key used after the new one");
    (id == old_id ? old_key : new_key).push_back (std::move (s));
  }
  fail_unless (old_key.size () >= 300 && new_key.size () >= 300, "old %zu new %zu", old_key.size (), new_key.size ());
  size_t split = old_key.size () - 20;
  receive (dec, std::vector<Sent> (old_key.begin (), old_key.begin () + split), "old key");
  receive (dec, std::vector<Sent> (new_key.begin (), new_key.begin () + 20), "new key");
  receive (dec, std::vector<Sent> (old_key.begin () + split, old_key.end ()), "in flight");
  receive (dec, std::vector<Sent> (new_key.begin () + 20, new_key.end ()), "new key");
  fail_unless_equals_uint64 (stat (dec, "frames"), plaintexts.size ());
  fail_unless_equals_uint64 (stat (dec, "dropped"), 0);
  fail_unless_equals_uint64 (stat (enc, "dropped"), 0);

  gst_object_unref (ds);
  gst_object_unref (es);
  gst_harness_teardown (dec);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * One sender key, two encrypters */

namespace {

constexpr const char *kSharedRoom = "shared-room";

/* An element of kSharedRoom given `store` before it starts. */
GstHarness *
harness_in_store (const char *factory, GstSFrameKeyStore * store, GstCaps * caps)
{
  GstElement *element = make_element (factory, std::string ("mode=frame room=") + kSharedRoom);
  GstContext *context = gst_sframe_key_store_make_context (store);
  gst_element_set_context (element, context);
  gst_context_unref (context);
  GstHarness *h = harness_wrap (element, nullptr);
  gst_object_unref (element);
  gst_harness_set_src_caps (h, gst_caps_copy (caps));
  GstSFrameKeyStore *used = key_store (h);
  fail_unless (used == store, "%s did not use the store of its context", factory);
  gst_object_unref (used);
  return h;
}

Bytes
tagged_frame (int source, int index)
{
  Bytes pt (24, static_cast<guint8> (source));
  for (int b = 0; b < 4; b++)
    pt[1 + b] = static_cast<guint8> (index >> (8 * b));
  return pt;
}

}  // namespace

/* Audio and video of one participant share the sender key: 10,000 frames
 * through two encrypters, half interleaved on one thread and half from two
 * threads at once, carry 10,000 distinct (key id, counter) pairs, and all
 * decrypt. */
GST_START_TEST (test_shared_sender_key_unique_counters)
{
  GstSFrameKeyStore *store = gst_sframe_key_store_new (kSharedRoom);
  add_own_key (store, 3, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (store, 3, nullptr));
  GstCaps *caps = gst_caps_from_string (kOpaqueCaps);
  GstHarness *enc[2] = {harness_in_store ("sframeenc", store, caps),
    harness_in_store ("sframeenc", store, caps)};

  const int kPerSource = 5000;
  std::set<Bytes> sent;
  for (int i = 0; i < kPerSource / 2; i++) {
    for (int src = 0; src < 2; src++) {
      sent.insert (tagged_frame (src, i));
      gst_harness_push (enc[src], to_buffer (tagged_frame (src, i)));
    }
  }
  std::thread workers[2];
  for (int src = 0; src < 2; src++) {
    workers[src] = std::thread ([&enc, src] {
      for (int i = kPerSource / 2; i < kPerSource; i++)
        gst_harness_push (enc[src], to_buffer (tagged_frame (src, i)));
    });
    for (int i = kPerSource / 2; i < kPerSource; i++)
      sent.insert (tagged_frame (src, i));
  }
  for (auto & w : workers)
    w.join ();

  std::map<guint64, Bytes> by_counter;
  for (int src = 0; src < 2; src++) {
    fail_unless_equals_int (gst_harness_buffers_in_queue (enc[src]), kPerSource);
    GstBuffer *buf;
    while ((buf = gst_harness_try_pull (enc[src]))) {
      Bytes ct = to_bytes (buf);
      gst_buffer_unref (buf);
      sframe::Header header;
      size_t len = 0;
      fail_unless (parse_header (ct, 0, &header, &len));
      fail_unless_equals_uint64 (header.key_id, 3);
      fail_unless (by_counter.emplace (header.counter, ct).second,
          "counter %" G_GUINT64_FORMAT " used twice under key 3", header.counter);
    }
  }
  fail_unless_equals_int (by_counter.size (), 2 * kPerSource);

  /* In counter order (the send order) every frame decrypts, to what went in. */
  GstCaps *sframe_caps = output_caps (enc[0]);
  GstHarness *dec = harness_in_store ("sframedec", store, sframe_caps);
  gst_caps_unref (sframe_caps);
  std::set<Bytes> received;
  for (const auto & kv : by_counter) {
    Bytes out;
    fail_unless (transform (dec, kv.second, &out), "counter %" G_GUINT64_FORMAT " refused", kv.first);
    received.insert (out);
  }
  fail_unless (received == sent, "decrypted frames differ from the frames sent");

  gst_harness_teardown (dec);
  gst_harness_teardown (enc[1]);
  gst_harness_teardown (enc[0]);
  gst_caps_unref (caps);
  gst_object_unref (store);
}
GST_END_TEST;

/* The decrypter of a room meets the static key first (a forged frame
 * reaches it before the encrypter's first frame), and the launch line is
 * run twice with the same key. Each run's encrypter sends under a fresh
 * key id from counter 0, and no (key id, counter) of one run appears in
 * the other: the same key never encrypts twice under one nonce. */
GST_START_TEST (test_decrypter_first_and_restart_never_repeat_a_nonce)
{
  std::set<std::pair<guint64, guint64>> used;
  std::set<guint64> key_ids;
  const int kFrames = 200;
  for (int run = 0; run < 2; run++) {
    GstSFrameKeyStore *store = gst_sframe_key_store_new (kSharedRoom);
    GstCaps *caps = gst_caps_from_string (kOpaqueCaps);
    GstHarness *enc = harness_in_store ("sframeenc", store, caps);
    GstCaps *sframe_caps = output_caps (enc);
    fail_unless (sframe_caps != nullptr);
    GstHarness *dec = harness_in_store ("sframedec", store, sframe_caps);
    gst_caps_unref (sframe_caps);
    g_object_set (dec->element, "key", kKeyHex1, nullptr);
    g_object_set (enc->element, "key", kKeyHex1, nullptr);
    fail_if (transform (dec, Bytes (17, 0x00)), "a forged frame decrypted");

    for (int i = 0; i < kFrames; i++) {
      Bytes ct = must_transform (enc, tagged_frame (run, i));
      sframe::Header header;
      size_t len = 0;
      fail_unless (parse_header (ct, 0, &header, &len));
      if (i == 0)
        fail_unless_equals_uint64 (header.counter, 0);
      key_ids.insert (header.key_id);
      fail_unless (used.emplace (header.key_id, header.counter).second,
          "run %d repeats key id %" G_GUINT64_FORMAT ", counter %" G_GUINT64_FORMAT, run, header.key_id,
          header.counter);
    }
    gst_harness_teardown (dec);
    gst_harness_teardown (enc);
    gst_caps_unref (caps);
    gst_object_unref (store);
  }
  fail_unless_equals_int (key_ids.size (), 2);
  fail_if (key_ids.count (0), "a session used key id 0");
  fail_unless_equals_int (used.size (), 2 * kFrames);
}
GST_END_TEST;

/* A static key's session that uses up its counter moves on to a new key
 * id at once: no frame is lost, the receiver (holding only the key) reads
 * them all, and the application hears of it once. The session is moved to
 * the end of its counter space by re-adding its key there. */
GST_START_TEST (test_static_key_moves_on_when_its_counter_runs_out)
{
  GstHarness *enc = harness_new ("sframeenc", std::string ("mode=frame key=") + kKeyHex1, kOpaqueCaps);
  GstBus *bus = gst_bus_new ();
  gst_element_set_bus (enc->element, bus);
  Rng rng (3400);
  std::vector<Sent> sent;
  Bytes pt = random_bytes (rng, 30);
  sent.push_back ({pt, must_transform (enc, pt)});
  guint64 first = session_key_id (enc);
  GstSFrameKeyStore *es = key_store (enc);
  auto & ring = gst_sframe_key_store_get_ring (es);
  Bytes key = hex_bytes (kKeyHex1);
  fail_unless (ring.remove_key (first));
  fail_unless (ring.add_own_key (sframe::CipherSuite::aes_128_gcm_sha256_128, first, {key.data (), key.size ()},
      G_MAXUINT64 - 2) == sframe::Status::ok);

  for (int i = 0; i < 4; i++) {
    pt = random_bytes (rng, 30);
    sent.push_back ({pt, must_transform (enc, pt)});
  }
  std::vector<sframe::Header> headers;
  for (const auto & s : sent) {
    sframe::Header h;
    size_t len = 0;
    fail_unless (parse_header (s.ct, 0, &h, &len));
    headers.push_back (h);
  }
  guint64 second = session_key_id (enc);
  fail_if (second == first || second == 0);
  fail_unless (headers[1].key_id == first && headers[1].counter == G_MAXUINT64 - 2);
  fail_unless (headers[2].key_id == first && headers[2].counter == G_MAXUINT64 - 1);
  fail_unless (headers[3].key_id == second && headers[3].counter == 0);
  fail_unless (headers[4].key_id == second && headers[4].counter == 1);
  fail_unless_equals_uint64 (stat (enc->element, "frames"), 5);
  fail_unless_equals_uint64 (stat (enc->element, "dropped"), 0);

  int reports = 0;
  while (GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) {
    const GstStructure *st = gst_message_get_structure (msg);
    guint64 key_id = 0, next = 0;
    if (gst_structure_has_name (st, "sframe-key-exhausted")) {
      reports++;
      fail_unless (gst_structure_get_uint64 (st, "key-id", &key_id) && key_id == first);
      fail_unless (gst_structure_get_uint64 (st, "next-key-id", &next) && next == second);
    }
    gst_message_unref (msg);
  }
  fail_unless_equals_int (reports, 1);

  GstHarness *dec = dec_harness_for (enc, std::string ("mode=frame key=") + kKeyHex1);
  receive (dec, sent, "across the move");
  gst_harness_teardown (dec);
  gst_object_unref (es);
  gst_element_set_bus (enc->element, nullptr);
  gst_object_unref (bus);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* The room's sender key (from a key manager or the application) that runs
 * out is not replaced by the element: frames are dropped and counted, and
 * the store's key-exhausted signal fires once for the key manager. */
GST_START_TEST (test_room_sender_key_exhaustion_is_signalled)
{
  GstHarness *enc = harness_new ("sframeenc", "mode=frame", kOpaqueCaps);
  GstSFrameKeyStore *es = key_store (enc);
  Bytes key = hex_bytes (kKeyHex1);
  fail_unless (gst_sframe_key_store_get_ring (es).add_own_key (sframe::CipherSuite::aes_128_gcm_sha256_128, 9,
      {key.data (), key.size ()}, G_MAXUINT64 - 1) == sframe::Status::ok);
  fail_unless (gst_sframe_key_store_set_sender_key (es, 9, nullptr));
  std::vector<guint64> signalled;
  gulong handler = g_signal_connect (es, "key-exhausted", G_CALLBACK (+[] (GstSFrameKeyStore *, guint64 key_id,
      gpointer data) { static_cast<std::vector<guint64> *> (data)->push_back (key_id); }), &signalled);
  Rng rng (3500);
  fail_unless (transform (enc, random_bytes (rng, 20)));
  for (int i = 0; i < 3; i++)
    fail_if (transform (enc, random_bytes (rng, 20)), "a frame went out past the last counter");
  fail_unless_equals_int (signalled.size (), 1);
  fail_unless_equals_uint64 (signalled[0], 9);
  fail_unless_equals_uint64 (stat (enc->element, "exhausted"), 3);
  fail_unless_equals_uint64 (stat (enc->element, "dropped"), 3);
  g_signal_handler_disconnect (es, handler);
  gst_object_unref (es);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* ------------------------------------------------------------------------
 * Rooms */

static GstSFrameKeyStore *
store_of (GstElement * pipeline, const char *name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);
  fail_unless (e != nullptr);
  GstSFrameKeyStore *store = nullptr;
  g_object_get (e, "key-store", &store, nullptr);
  gst_object_unref (e);
  return store;
}

/* One pipeline, two rooms: the elements of a room share one store, the
 * rooms have different stores, and a key of one is not in the other. */
GST_START_TEST (test_two_rooms_in_one_pipeline)
{
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (
      "fakesrc num-buffers=0 ! sframeenc name=ea room=a ! sframedec name=da room=a"
      " ! sframeenc name=eb room=b ! sframedec name=db room=b ! fakesink", &error);
  fail_unless (pipeline != nullptr, "%s", error ? error->message : "?");
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  fail_unless_equals_int (gst_element_get_state (pipeline, nullptr, nullptr, 10 * GST_SECOND),
      GST_STATE_CHANGE_SUCCESS);

  GstSFrameKeyStore *ea = store_of (pipeline, "ea"), *da = store_of (pipeline, "da");
  GstSFrameKeyStore *eb = store_of (pipeline, "eb"), *db = store_of (pipeline, "db");
  fail_unless (ea && da && eb && db, "a key store is missing while PAUSED");
  fail_unless (ea == da, "room a has two stores");
  fail_unless (eb == db, "room b has two stores");
  fail_unless (ea != eb, "rooms a and b share a store");
  fail_unless_equals_string (gst_sframe_key_store_get_room (ea), "a");
  fail_unless_equals_string (gst_sframe_key_store_get_room (eb), "b");

  add_own_key (ea, 5, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (ea, 5, nullptr));
  fail_unless (gst_sframe_key_store_has_key (da, 5));
  fail_if (gst_sframe_key_store_has_key (eb, 5), "room a's key is in room b");
  fail_if (gst_sframe_key_store_get_sender_key (eb, nullptr), "room a's sender key is room b's");
  GError *set_error = nullptr;
  fail_if (gst_sframe_key_store_set_sender_key (db, 5, &set_error));
  g_clear_error (&set_error);

  for (auto s : {ea, da, eb, db})
    gst_object_unref (s);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* The two rooms also keep data apart: a frame of room a cannot be read in
 * room b even though both sit in one pipeline. Harnessed as one bin. */
GST_START_TEST (test_two_rooms_keep_frames_apart)
{
  GstHarness *h = gst_harness_new_parse (
      "sframeenc name=ea room=a mode=frame ! sframedec name=db room=b mode=frame hold-frames=0");
  gst_harness_set_src_caps_str (h, kOpaqueCaps);
  GstElement *ea = gst_bin_get_by_name (GST_BIN (h->element), "ea");
  GstElement *db = gst_bin_get_by_name (GST_BIN (h->element), "db");
  GstSFrameKeyStore *sa = nullptr, *sb = nullptr;
  g_object_get (ea, "key-store", &sa, nullptr);
  g_object_get (db, "key-store", &sb, nullptr);
  fail_unless (sa && sb && sa != sb);
  add_own_key (sa, 1, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (sa, 1, nullptr));

  Rng rng (3300);
  for (int i = 0; i < 10; i++)
    fail_if (transform (h, random_bytes (rng, 50)), "room b decrypted room a's frame");
  fail_unless_equals_uint64 (stat (ea, "frames"), 10);
  fail_unless_equals_uint64 (stat (db, "unknown-key"), 10);
  /* Whose frames they are is known before they can be read (tile labels). */
  fail_unless_equals_uint64 (stat (db, "last-key-id"), 1);
  fail_unless_equals_uint64 (stat (db, "decrypted-key-id"), G_MAXUINT64);

  /* Once room b holds the key as well, the same path works. */
  add_key (sb, 1, kKeyHex1);
  Bytes pt = random_bytes (rng, 50), out;
  fail_unless (transform (h, pt, &out) && out == pt);
  fail_unless_equals_uint64 (stat (db, "decrypted-key-id"), 1);

  gst_object_unref (sb);
  gst_object_unref (sa);
  gst_object_unref (db);
  gst_object_unref (ea);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Downstream learns who sent the frames it gets, from the roster: a sticky
 * sframe-sender event, unverified while no roster member owns the key,
 * named once one does, and again when the sender changes. */
static GstStructure *
sender_event (GstHarness * h)
{
  GstEvent *event = gst_pad_get_sticky_event (h->sinkpad, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  if (!event)
    return nullptr;
  GstStructure *s = gst_structure_copy (gst_event_get_structure (event));
  gst_event_unref (event);
  return s;
}

GST_START_TEST (test_decrypted_frames_name_their_sender)
{
  GstHarness *h = gst_harness_new_parse (
      "sframeenc name=ea room=a mode=frame ! sframedec name=db room=b mode=frame hold-frames=0");
  gst_harness_set_src_caps_str (h, kOpaqueCaps);
  GstSFrameKeyStore *sa = store_of (h->element, "ea"), *sb = store_of (h->element, "db");
  add_own_key (sa, 1, kKeyHex1);
  add_own_key (sa, 2, kKeyHex2);
  fail_unless (gst_sframe_key_store_set_sender_key (sa, 1, nullptr));
  add_key (sb, 1, kKeyHex1);
  add_key (sb, 2, kKeyHex2);
  Rng rng (3400);
  fail_unless (transform (h, random_bytes (rng, 50)));
  GstStructure *sender = sender_event (h);
  fail_unless (sender && gst_structure_has_name (sender, "sframe-sender"));
  guint64 key_id = 0;
  gboolean verified = TRUE;
  fail_unless (gst_structure_get_uint64 (sender, "key-id", &key_id) && key_id == 1);
  fail_unless (gst_structure_get_boolean (sender, "verified", &verified) && !verified);
  fail_if (gst_structure_has_field (sender, "name"), "a name without a roster owner");
  gst_structure_free (sender);

  fail_unless (gst_sframe_key_store_set_key_owner (sb, 1, "alice", "Alice", "ab01"));
  fail_unless (gst_sframe_key_store_set_key_owner (sb, 2, "bob", "Bob", "cd02"));
  fail_unless (transform (h, random_bytes (rng, 50)));
  sender = sender_event (h);
  fail_unless (gst_structure_get_boolean (sender, "verified", &verified) && verified);
  fail_unless_equals_string (gst_structure_get_string (sender, "member-id"), "alice");
  fail_unless_equals_string (gst_structure_get_string (sender, "name"), "Alice");
  fail_unless_equals_string (gst_structure_get_string (sender, "fingerprint"), "ab01");
  gst_structure_free (sender);

  fail_unless (gst_sframe_key_store_set_sender_key (sa, 2, nullptr));
  fail_unless (transform (h, random_bytes (rng, 50)));
  sender = sender_event (h);
  fail_unless_equals_string (gst_structure_get_string (sender, "name"), "Bob");
  gst_structure_free (sender);

  gst_object_unref (sb);
  gst_object_unref (sa);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* Two sframedecs of one room read one stream (tee): `reader` first, then
 * `decrypter`, whose output the harness gets; `reader_out` counts what
 * reaches the reader's fakesink. */
struct TwoReaders {
  GstHarness *h = nullptr;
  GstElement *reader = nullptr, *decrypter = nullptr;
  GstSFrameKeyStore *store = nullptr;
  std::atomic<guint> reader_out {0};
  GstPad *reader_sink = nullptr;

  TwoReaders (GstCaps * caps, const std::string & mode, bool verify_only)
  {
    std::string props = " room=r hold-frames=0 mode=" + mode;
    std::string line = "tee name=t t. ! sframedec name=reader" + props + " verify-only=" +
        (verify_only ? "true" : "false") + " ! fakesink name=out t. ! sframedec name=decrypter" + props;
    h = gst_harness_new_parse (line.c_str ());
    gst_harness_set_src_caps (h, gst_caps_ref (caps));
    reader = gst_bin_get_by_name (GST_BIN (h->element), "reader");
    decrypter = gst_bin_get_by_name (GST_BIN (h->element), "decrypter");
    store = store_of (h->element, "reader");
    GstSFrameKeyStore *other = store_of (h->element, "decrypter");
    fail_unless (store == other, "one room, one key store");
    gst_object_unref (other);
    GstElement *sink = gst_bin_get_by_name (GST_BIN (h->element), "out");
    reader_sink = gst_element_get_static_pad (sink, "sink");
    gst_object_unref (sink);
    gst_pad_add_probe (reader_sink, GST_PAD_PROBE_TYPE_BUFFER, [] (GstPad *, GstPadProbeInfo *, gpointer data) {
      (*static_cast<std::atomic<guint> *> (data))++;
      return GST_PAD_PROBE_OK;
    }, &reader_out, nullptr);
  }
  ~TwoReaders ()
  {
    gst_object_unref (reader_sink);
    gst_object_unref (store);
    gst_object_unref (decrypter);
    gst_object_unref (reader);
    gst_harness_teardown (h);
  }
};

/* janusroomsrc names the sender of a track it passes on undecrypted with
 * a second sframedec, verify-only, beside the application's. Replay
 * windows are shared through the key store, so a plain second reader
 * takes every frame from the decrypter (shown first, as the control); a
 * verify-only one authenticates, counts and names the sender, outputs
 * nothing, asks for no key frame, and leaves each frame to the decrypter,
 * which still decrypts it once and only once. Both refuse a replay (the
 * reader by its own window), and tampering fails in both. */
GST_START_TEST (test_verify_only_leaves_frames_to_the_decrypter)
{
  Layout layout = kLayouts[__i__];
  Rng rng (3600 + __i__);
  GstHarness *enc = harness_new ("sframeenc", std::string ("mode=") + layout_mode (layout), layout_caps (layout));
  GstSFrameKeyStore *es = key_store (enc);
  add_own_key (es, 1, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_sender_key (es, 1, nullptr));
  auto frames = send (enc, layout, rng, 20, 1);
  GstCaps *caps = output_caps (enc);

  {
    TwoReaders plain (caps, layout_mode (layout), false);
    add_key (plain.store, 1, kKeyHex1);
    for (const auto & f : frames)
      fail_if (transform (plain.h, f.ct), "a frame came out twice");
    fail_unless_equals_uint64 (stat (plain.reader, "frames"), 20);
    fail_unless_equals_uint64 (stat (plain.decrypter, "replayed"), 20);
    /* Set while running, it waits for the next start, and says so. */
    g_object_set (plain.reader, "verify-only", TRUE, nullptr);
    gboolean in_effect = TRUE;
    g_object_get (plain.reader, "verify-only", &in_effect, nullptr);
    fail_if (in_effect, "verify-only claims to be in effect while the element still outputs plaintext");
  }

  TwoReaders two (caps, layout_mode (layout), true);
  add_key (two.store, 1, kKeyHex1);
  fail_unless (gst_sframe_key_store_set_key_owner (two.store, 1, "alice", "Alice", "ab01"));
  receive (two.h, frames, "verified first");
  fail_unless_equals_uint64 (stat (two.reader, "frames"), 20);
  fail_unless_equals_uint64 (stat (two.reader, "key-unit-requests"), 0);
  fail_unless_equals_int (two.reader_out.load (), 0);
  GstEvent *event = gst_pad_get_sticky_event (two.reader_sink, GST_EVENT_CUSTOM_DOWNSTREAM_STICKY, 0);
  fail_unless (event != nullptr, "the reader named no sender");
  const GstStructure *sender = gst_event_get_structure (event);
  gboolean verified = FALSE;
  fail_unless (gst_structure_has_name (sender, "sframe-sender"));
  fail_unless (gst_structure_get_boolean (sender, "verified", &verified) && verified);
  fail_unless_equals_string (gst_structure_get_string (sender, "name"), "Alice");
  gst_event_unref (event);

  /* A replay: both refuse it. */
  fail_if (transform (two.h, frames[3].ct), "a replayed frame was decrypted");
  fail_unless_equals_uint64 (stat (two.decrypter, "replayed"), 1);
  fail_unless_equals_uint64 (stat (two.reader, "replayed"), 1);
  fail_unless_equals_uint64 (stat (two.reader, "frames"), 20);
  Bytes tampered = send (enc, layout, rng, 1, 1)[0].ct;
  tampered[tampered.size () - 3] ^= 0x20;
  fail_if (transform (two.h, tampered), "a tampered frame was decrypted");
  fail_unless_equals_uint64 (stat (two.reader, "auth-failures"), 1);
  fail_unless_equals_uint64 (stat (two.decrypter, "auth-failures"), 1);

  gst_caps_unref (caps);
  gst_object_unref (es);
  gst_harness_teardown (enc);
}
GST_END_TEST;

/* The key-store property is available from READY on, so an application can
 * install keys before any data flows; elements of one room share it. */
GST_START_TEST (test_key_store_available_at_ready)
{
  GstElement *pipeline = gst_parse_launch ("fakesrc num-buffers=0 ! sframeenc name=ea ! fakesink", nullptr);
  fail_unless (pipeline != nullptr);
  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  GstSFrameKeyStore *store = store_of (pipeline, "ea");
  fail_unless (store != nullptr, "no key store at READY");
  fail_unless_equals_string (gst_sframe_key_store_get_room (store), "default");
  gst_object_unref (store);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}
GST_END_TEST;

/* The owner of a key: set only for an installed key, read as a copy,
 * forgotten with the key and on clear; none for keys nobody named. */
GST_START_TEST (test_key_owner_follows_its_key)
{
  GstSFrameKeyStore *store = gst_sframe_key_store_new ("owners");
  fail_if (gst_sframe_key_store_set_key_owner (store, 5, "alice", "Alice", "ab01"),
      "an owner was recorded for a key that is not installed");
  add_key (store, 5, kKeyHex1);
  add_key (store, 6, kKeyHex1);
  fail_unless (gst_sframe_key_store_get_key_owner (store, 5) == nullptr);
  guint64 generation = gst_sframe_key_store_get_owners_generation (store);
  fail_unless (gst_sframe_key_store_set_key_owner (store, 5, "alice", "Alice \"A\"", "ab01"));
  fail_unless (gst_sframe_key_store_get_owners_generation (store) != generation, "owners changed unannounced");
  fail_unless (gst_sframe_key_store_set_key_owner (store, 6, "bob", "Bob", "cd02"));

  GstStructure *owner = gst_sframe_key_store_get_key_owner (store, 5);
  fail_unless (owner != nullptr);
  fail_unless (gst_structure_has_name (owner, "sframe-key-owner"));
  fail_unless_equals_string (gst_structure_get_string (owner, "member-id"), "alice");
  fail_unless_equals_string (gst_structure_get_string (owner, "name"), "Alice \"A\"");
  fail_unless_equals_string (gst_structure_get_string (owner, "fingerprint"), "ab01");
  gst_structure_free (owner);

  generation = gst_sframe_key_store_get_owners_generation (store);
  gst_sframe_key_store_remove_key (store, 5);
  fail_unless (gst_sframe_key_store_get_key_owner (store, 5) == nullptr, "the owner outlived its key");
  fail_unless (gst_sframe_key_store_get_owners_generation (store) != generation, "an owner went unannounced");
  add_key (store, 5, kKeyHex1);
  fail_unless (gst_sframe_key_store_get_key_owner (store, 5) == nullptr,
      "a key installed again under an old id inherited the old owner");
  owner = gst_sframe_key_store_get_key_owner (store, 6);
  fail_unless (owner != nullptr);
  gst_structure_free (owner);
  gst_sframe_key_store_clear (store);
  fail_unless (gst_sframe_key_store_get_key_owner (store, 6) == nullptr, "clear kept an owner");
  gst_object_unref (store);
}
GST_END_TEST;

static Suite *
sframe_keys_suite (void)
{
  Suite *s = suite_create ("sframe-keys");
  TCase *change = tcase_create ("key-change");
  suite_add_tcase (s, change);
  tcase_add_loop_test (change, test_key_change_store_api, 0, G_N_ELEMENTS (kLayouts));
  tcase_add_loop_test (change, test_key_change_properties, 0, G_N_ELEMENTS (kLayouts));
  tcase_add_loop_test (change, test_key_change_while_streaming, 0, 2);

  TCase *shared = tcase_create ("shared");
  suite_add_tcase (s, shared);
  tcase_add_test (shared, test_shared_sender_key_unique_counters);
  tcase_add_test (shared, test_decrypter_first_and_restart_never_repeat_a_nonce);
  tcase_add_test (shared, test_static_key_moves_on_when_its_counter_runs_out);
  tcase_add_test (shared, test_room_sender_key_exhaustion_is_signalled);

  TCase *rooms = tcase_create ("rooms");
  suite_add_tcase (s, rooms);
  tcase_add_test (rooms, test_two_rooms_in_one_pipeline);
  tcase_add_test (rooms, test_two_rooms_keep_frames_apart);
  tcase_add_test (rooms, test_decrypted_frames_name_their_sender);
  tcase_add_loop_test (rooms, test_verify_only_leaves_frames_to_the_decrypter, 0, G_N_ELEMENTS (kLayouts));
  tcase_add_test (rooms, test_key_store_available_at_ready);
  tcase_add_test (rooms, test_key_owner_follows_its_key);
  return s;
}

GST_CHECK_MAIN (sframe_keys);
