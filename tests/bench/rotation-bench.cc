/* Key rotation cost and latency with N members, each a real keymanager in
 * its own pipeline (its own key store and worker thread), on the in-process
 * bus (local://) or on NATS (a nats-server this program starts on
 * 127.0.0.1 and stops).
 *
 * Per N: all members join; then, rounds times, one member leaves and we
 * time from its leave to the moment every remaining member posted
 * sframe-key-rotated with reason "leave" (it encrypts with its fresh key),
 * and count the messages and bytes the remaining members sent meanwhile.
 * Also: a joiner's time from start to its first decrypted frame of a
 * member that sends a frame every 10 ms (through sframeenc -> sframedec
 * with the default hold, as in a real receiver).
 *
 *   sframe-rotation-bench [--sizes 2,10,50,200] [--rounds 3] [--nats]
 */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/sframe/identity.h>
#include <gst/sframe/token.h>

#include "../integration/nats-server.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double
ms_since (Clock::time_point t0, Clock::time_point t1)
{
  return std::chrono::duration<double, std::milli> (t1 - t0).count ();
}

struct Member {
  std::string name;
  GstElement *pipeline = nullptr;
  GstElement *keymanager = nullptr;
  std::mutex lock;
  size_t roster_size = 0;
  std::string security_code;
  std::vector<std::pair<Clock::time_point, std::string>> rotations;
};

GstBusSyncReply
on_message (GstBus *, GstMessage * message, gpointer data)
{
  auto *m = static_cast<Member *> (data);
  const GstStructure *s = gst_message_get_structure (message);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    GError *error = nullptr;
    gst_message_parse_error (message, &error, nullptr);
    std::fprintf (stderr, "%s: error: %s\n", m->name.c_str (), error->message);
    g_error_free (error);
  }
  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ELEMENT || !s)
    return GST_BUS_DROP;
  std::lock_guard<std::mutex> guard (m->lock);
  if (gst_structure_has_name (s, "sframe-roster")) {
    const GValue *members = gst_structure_get_value (s, "members");
    m->roster_size = members ? gst_value_list_get_size (members) : 0;
    const char *code = gst_structure_get_string (s, "security-code");
    m->security_code = code ? code : "";
  } else if (gst_structure_has_name (s, "sframe-key-rotated")) {
    const char *reason = gst_structure_get_string (s, "reason");
    m->rotations.push_back ({ Clock::now (), reason ? reason : "" });
  }
  return GST_BUS_DROP;
}

struct Room {
  std::string dir;
  sframe::Identity authority;
  std::string authority_path;
  std::string bus;
  std::string extra;   /* element properties after the launch line */
  std::vector<std::unique_ptr<Member>> members;

  std::string device (int i, sframe::token::Role role, std::string * token)
  {
    sframe::Identity id;
    sframe::Identity::generate (&id);
    std::string path = dir + "/m" + std::to_string (i) + ".key";
    id.save (path);
    sframe::token::IssueRequest request;
    request.room = "bench";
    request.member_id = "m" + std::to_string (i);
    request.display_name = request.member_id;
    request.role = role;
    request.device_public_key = id.public_key ();
    request.lifetime = 3600;
    sframe::token::issue (authority, request, time (nullptr), token);
    return path;
  }

  Member & add (int i, const std::string & media)
  {
    std::string token;
    std::string key = device (i, i == 0 ? sframe::token::Role::host : sframe::token::Role::member, &token);
    auto m = std::make_unique<Member> ();
    m->name = "m" + std::to_string (i);
    std::string launch = "keymanager name=km room=bench bus=" + bus + " identity=" + key + " authority=" +
        authority_path + " " + extra + " " + media;
    GError *error = nullptr;
    m->pipeline = gst_parse_launch_full (launch.c_str (), nullptr, GST_PARSE_FLAG_PLACE_IN_BIN, &error);
    if (!m->pipeline) {
      std::fprintf (stderr, "launch failed: %s\n", error ? error->message : "?");
      std::exit (1);
    }
    m->keymanager = gst_bin_get_by_name (GST_BIN (m->pipeline), "km");
    g_object_set (m->keymanager, "token", token.c_str (), nullptr);
    GstBus *pbus = gst_element_get_bus (m->pipeline);
    gst_bus_set_sync_handler (pbus, on_message, m.get (), nullptr);
    gst_object_unref (pbus);
    members.push_back (std::move (m));
    return *members.back ();
  }

  void stop (Member & m)
  {
    gst_element_set_state (m.pipeline, GST_STATE_NULL);
  }

  ~Room ()
  {
    for (auto & m : members) {
      gst_element_set_state (m->pipeline, GST_STATE_NULL);
      gst_object_unref (m->keymanager);
      gst_object_unref (m->pipeline);
    }
    for (auto & m : members)
      (void) m;
    std::string cmd = "rm -rf '" + dir + "'";
    if (system (cmd.c_str ()) != 0)
      std::fprintf (stderr, "could not remove %s\n", dir.c_str ());
  }
};

bool
wait_for (const std::function<bool ()> & done, double timeout_s)
{
  auto end = Clock::now () + std::chrono::duration<double> (timeout_s);
  while (Clock::now () < end) {
    if (done ())
      return true;
    std::this_thread::sleep_for (std::chrono::milliseconds (5));
  }
  return done ();
}

bool
converged (Room & room, size_t n, const std::vector<Member *> & who)
{
  std::string code;
  for (Member *m : who) {
    std::lock_guard<std::mutex> guard (m->lock);
    if (m->roster_size != n || (!code.empty () && m->security_code != code))
      return false;
    code = m->security_code;
  }
  (void) room;
  return true;
}

guint64
stat_sum (const std::vector<Member *> & who, const char * field)
{
  guint64 sum = 0;
  for (Member *m : who) {
    GstStructure *stats = nullptr;
    g_object_get (m->keymanager, "stats", &stats, nullptr);
    guint64 v = 0;
    if (stats && gst_structure_get_uint64 (stats, field, &v))
      sum += v;
    if (stats)
      gst_structure_free (stats);
  }
  return sum;
}

struct RotationResult {
  double complete_ms = -1;
  double median_ms = -1;
  guint64 messages = 0;
  guint64 bytes = 0;
};

RotationResult
time_leave (Room & room, std::vector<Member *> & present)
{
  RotationResult result;
  Member *leaver = present.back ();
  present.pop_back ();
  std::vector<size_t> before;
  for (Member *m : present) {
    std::lock_guard<std::mutex> guard (m->lock);
    before.push_back (m->rotations.size ());
  }
  guint64 messages0 = stat_sum (present, "messages-sent"), bytes0 = stat_sum (present, "bytes-sent");
  auto t0 = Clock::now ();
  room.stop (*leaver);
  std::vector<double> times (present.size (), -1);
  bool all = wait_for ([&] {
    bool done = true;
    for (size_t i = 0; i < present.size (); i++) {
      std::lock_guard<std::mutex> guard (present[i]->lock);
      for (size_t k = before[i]; k < present[i]->rotations.size () && times[i] < 0; k++)
        if (present[i]->rotations[k].second == "leave")
          times[i] = ms_since (t0, present[i]->rotations[k].first);
      done = done && times[i] >= 0;
    }
    return done;
  }, 30);
  if (!all)
    return result;
  result.complete_ms = *std::max_element (times.begin (), times.end ());
  std::sort (times.begin (), times.end ());
  result.median_ms = times[times.size () / 2];
  result.messages = stat_sum (present, "messages-sent") - messages0;
  result.bytes = stat_sum (present, "bytes-sent") - bytes0;
  return result;
}

/* Start -> first decrypted frame of member 0 at a new joiner. */
double
time_first_frame (Room & room, int index)
{
  const char *caps = "application/x-bench";
  Member & sender = *room.members.front ();
  GstElement *enc_src = gst_bin_get_by_name (GST_BIN (sender.pipeline), "src");
  GstElement *enc_sink = gst_bin_get_by_name (GST_BIN (sender.pipeline), "sink");
  Member & joiner = room.add (index, std::string ("appsrc name=src is-live=true format=time caps=application/x-sframe ! "
                                                   "sframedec room=bench mode=frame ! appsink name=sink sync=false"));
  (void) caps;
  GstElement *dec_src = gst_bin_get_by_name (GST_BIN (joiner.pipeline), "src");
  GstElement *dec_sink = gst_bin_get_by_name (GST_BIN (joiner.pipeline), "sink");
  std::atomic<bool> running { true };
  std::thread pump ([&] {
    while (running) {
      GstBuffer *frame = gst_buffer_new_allocate (nullptr, 1000, nullptr);
      gst_buffer_memset (frame, 0, 0x5a, 1000);
      gst_app_src_push_buffer (GST_APP_SRC (enc_src), frame);
      GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (enc_sink), 20 * GST_MSECOND);
      if (sample) {
        GstCaps *ct_caps = gst_sample_get_caps (sample);
        if (ct_caps)
          g_object_set (dec_src, "caps", ct_caps, nullptr);
        gst_app_src_push_buffer (GST_APP_SRC (dec_src), gst_buffer_ref (gst_sample_get_buffer (sample)));
        gst_sample_unref (sample);
      }
      std::this_thread::sleep_for (std::chrono::milliseconds (10));
    }
  });
  auto t0 = Clock::now ();
  gst_element_set_state (joiner.pipeline, GST_STATE_PLAYING);
  GstSample *first = gst_app_sink_try_pull_sample (GST_APP_SINK (dec_sink), 30 * GST_SECOND);
  double ms = first ? ms_since (t0, Clock::now ()) : -1;
  if (first)
    gst_sample_unref (first);
  running = false;
  pump.join ();
  for (GstElement *e : { enc_src, enc_sink, dec_src, dec_sink })
    gst_object_unref (e);
  return ms;
}

std::vector<int>
parse_sizes (const char * text)
{
  std::vector<int> sizes;
  std::stringstream in (text);
  std::string item;
  while (std::getline (in, item, ','))
    sizes.push_back (std::stoi (item));
  return sizes;
}

void
run_size (int n, int rounds, const std::string & bus, const char * label)
{
  Room room;
  char tmpl[] = "/tmp/sframe-rotation-XXXXXX";
  room.dir = mkdtemp (tmpl);
  sframe::Identity::generate (&room.authority);
  room.authority_path = room.dir + "/authority.pub";
  sframe::save_public_key (room.authority_path, sframe::ByteView (room.authority.public_key ()));
  room.bus = bus;
  /* Liveness long enough that a loaded machine never evicts a live member
   * during the run: we time leaves, not timeouts. */
  room.extra = "discovery-timeout=300 heartbeat-interval=1000 liveness-timeout=60000 switch-timeout=1000 grace-period=2000";

  std::vector<Member *> present;
  auto t_join = Clock::now ();
  for (int i = 0; i < n; i++) {
    std::string media = i == 0 ? "appsrc name=src is-live=true format=time caps=application/x-bench ! "
                                 "sframeenc room=bench mode=frame ! appsink name=sink sync=false"
                               : "";
    Member & m = room.add (i, media);
    gst_element_set_state (m.pipeline, GST_STATE_PLAYING);
    present.push_back (&m);
    if (i == 0)
      wait_for ([&] { return converged (room, 1, present); }, 30);
  }
  bool ok = wait_for ([&] { return converged (room, n, present); }, 600);
  double join_s = ms_since (t_join, Clock::now ()) / 1000;
  if (!ok) {
    std::printf ("| %s | %d | room did not converge in 600 s |\n", label, n);
    return;
  }
  std::this_thread::sleep_for (std::chrono::seconds (4));   /* join ratchets, grace periods */
  std::vector<RotationResult> results;
  for (int r = 0; r < rounds && present.size () > 1; r++) {
    results.push_back (time_leave (room, present));
    std::this_thread::sleep_for (std::chrono::seconds (4));
  }
  double first_frame = time_first_frame (room, n + 100);
  for (size_t r = 0; r < results.size (); r++)
    std::printf ("| %s | %d | %zu | %.0f | %.0f | %llu | %llu | %.1f | %.0f |\n", label, n - static_cast<int> (r), r + 1,
        results[r].complete_ms, results[r].median_ms, static_cast<unsigned long long> (results[r].messages),
        static_cast<unsigned long long> (results[r].bytes), join_s, first_frame);
  std::fflush (stdout);
}

}  // namespace

int
main (int argc, char ** argv)
{
  gst_init (&argc, &argv);
  std::vector<int> sizes { 2, 10, 50, 200 };
  int rounds = 3;
  bool nats = false;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc)
      sizes = parse_sizes (argv[++i]);
    else if (arg == "--rounds" && i + 1 < argc)
      rounds = std::stoi (argv[++i]);
    else if (arg == "--nats")
      nats = true;
  }
  std::printf ("| bus | N (before leave) | round | leave -> all rotated, max ms | median ms | messages | bytes | "
               "room formed in s | joiner start -> first decrypted frame, ms |\n");
  std::printf ("|---|---|---|---|---|---|---|---|---|\n");
  std::unique_ptr<sframe_test::NatsServers> server;
  for (int n : sizes) {
    std::string bus;
    if (nats) {
      if (!server) {
        server = std::make_unique<sframe_test::NatsServers> ();
        std::string error;
        if (!server->start (1, &error)) {
          std::fprintf (stderr, "could not start nats-server: %s\n", error.c_str ());
          return 77;
        }
      }
      bus = server->url (0);
    } else {
      bus = "local://rotation-" + std::to_string (getpid ()) + "-" + std::to_string (n);
    }
    run_size (n, rounds, bus, nats ? "nats" : "local");
  }
  return 0;
}
