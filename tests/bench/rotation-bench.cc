/* Key rotation cost and latency with N members, each a real keymanager in
 * its own pipeline (its own key store and worker thread), on the in-process
 * bus (local://) or on NATS (a nats-server this program starts on
 * 127.0.0.1 and stops).
 *
 * The room requires admission (up to --admission-max members); member 0
 * is the host and admits everyone.
 * Per N:
 * - leave: `rounds` times one member leaves (its pipeline goes to NULL);
 *   timed from that call to the moment every remaining member posted
 *   sframe-key-rotated with reason "leave" (from then on it encrypts with a
 *   fresh key), with the messages and bytes the remaining members sent
 *   meanwhile;
 * - admission: `rounds` times a new member waits in the lobby while the
 *   host encrypts a frame every 10 ms (sframeenc); timed from the host's
 *   `admit` to the joiner's first decrypted frame (its sframedec, default
 *   hold settings, as in a real receiver).
 *
 * Rooms larger than --admission-max (default 50) are open rooms (no lobby):
 * a host admitting 200 joiners one `admit` at a time, each waited for, is
 * not how such a room forms (see docs/performance.md); there the joiner is
 * timed from its start instead.
 *
 *   sframe-rotation-bench [--sizes 2,10,50,200] [--rounds 3] [--nats] [--admission-max 50]
 *
 * Prints a Markdown table; docs/performance.md gives the latest figures. */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/token.h>

#include "../integration/nats-server.h"
#include "bench-common.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double
ms_since (Clock::time_point t0, Clock::time_point t1 = Clock::now ())
{
  return std::chrono::duration<double, std::milli> (t1 - t0).count ();
}

bool
wait_for (const std::function<bool ()> & done, double timeout_s)
{
  auto end = Clock::now () + std::chrono::duration<double> (timeout_s);
  while (Clock::now () < end) {
    if (done ())
      return true;
    std::this_thread::sleep_for (std::chrono::milliseconds (2));
  }
  return done ();
}

/* What one member's element messages said, written on its worker thread. */
struct Member {
  std::string name;
  GstElement *pipeline = nullptr;
  GstElement *keymanager = nullptr;
  std::mutex lock;
  size_t roster_size = 0;
  std::string security_code;
  std::vector<std::string> lobby;   /* member ids */
  std::vector<std::pair<Clock::time_point, std::string>> rotations;
};

std::vector<std::string>
member_ids (const GstStructure * s, const char * field)
{
  std::vector<std::string> ids;
  const GValue *list = gst_structure_get_value (s, field);
  for (guint i = 0; list && i < gst_value_list_get_size (list); i++) {
    auto *m = static_cast<const GstStructure *> (g_value_get_boxed (gst_value_list_get_value (list, i)));
    const char *id = gst_structure_get_string (m, "member-id");
    ids.push_back (id ? id : "");
  }
  return ids;
}

GstBusSyncReply
on_message (GstBus *, GstMessage * message, gpointer data)
{
  auto *m = static_cast<Member *> (data);
  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    GError *error = nullptr;
    gst_message_parse_error (message, &error, nullptr);
    std::fprintf (stderr, "%s: error: %s\n", m->name.c_str (), error->message);
    g_error_free (error);
  }
  const GstStructure *s = gst_message_get_structure (message);
  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ELEMENT || !s)
    return GST_BUS_DROP;
  std::lock_guard<std::mutex> guard (m->lock);
  if (gst_structure_has_name (s, "sframe-roster")) {
    m->roster_size = member_ids (s, "members").size ();
    m->lobby = member_ids (s, "lobby");
    const char *code = gst_structure_get_string (s, "security-code");
    m->security_code = code ? code : "";
  } else if (gst_structure_has_name (s, "sframe-key-rotated")) {
    const char *reason = gst_structure_get_string (s, "reason");
    m->rotations.push_back ({ Clock::now (), reason ? reason : "" });
  }
  return GST_BUS_DROP;
}

/* A room of members in one process: files in a private directory, one
 * authority, one bus. */
class Room {
public:
  Room (const std::string & bus, int n, bool admission) : bus_ (bus), admission_ (admission)
  {
    char tmpl[] = "/tmp/sframe-rotation-XXXXXX";
    dir_ = mkdtemp (tmpl);
    sframe::Identity::generate (&authority_);
    authority_path_ = dir_ + "/authority.pub";
    sframe::save_public_key (authority_path_, sframe::ByteView (authority_.public_key ()));
    /* Liveness long enough that a loaded machine never evicts a live member
     * during the run: we time leaves, not timeouts. */
    extra_ = std::string (admission ? "require-admission=true" : "require-admission=false") +
        " discovery-timeout=300 heartbeat-interval=1000 "
             "liveness-timeout=" + std::to_string (60000 + 200 * n) + " switch-timeout=1000 grace-period=2000";
  }

  ~Room ()
  {
    for (auto & m : members_) {
      gst_element_set_state (m->pipeline, GST_STATE_NULL);
      gst_object_unref (m->keymanager);
      gst_object_unref (m->pipeline);
    }
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (system (cmd.c_str ()) != 0)
      std::fprintf (stderr, "could not remove %s\n", dir_.c_str ());
  }

  Member & host () { return *members_.front (); }
  bool admission () const { return admission_; }

  /* A member m<i> (host for i == 0) with `media` beside its keymanager. */
  Member & add (int i, const std::string & media)
  {
    auto m = std::make_unique<Member> ();
    m->name = "m" + std::to_string (i);
    std::string token;
    std::string key = device (m->name, i == 0 ? sframe::token::Role::host : sframe::token::Role::member, &token);
    std::string launch = "keymanager name=km room=bench bus=" + bus_ + " identity=" + key + " authority=" +
        authority_path_ + " " + extra_ + " " + media;
    /* A pipeline of its own (a bin has no bus), whatever the launch holds. */
    GError *error = nullptr;
    GstElement *bin = gst_parse_bin_from_description (launch.c_str (), FALSE, &error);
    if (!bin || error) {
      std::fprintf (stderr, "launch failed: %s\n", error ? error->message : "?");
      std::exit (1);
    }
    m->pipeline = gst_pipeline_new (m->name.c_str ());
    gst_bin_add (GST_BIN (m->pipeline), bin);
    m->keymanager = gst_bin_get_by_name (GST_BIN (m->pipeline), "km");
    g_object_set (m->keymanager, "token", token.c_str (), nullptr);
    GstBus *pbus = gst_element_get_bus (m->pipeline);
    gst_bus_set_sync_handler (pbus, on_message, m.get (), nullptr);
    gst_object_unref (pbus);
    members_.push_back (std::move (m));
    return *members_.back ();
  }

  /* The host admits whoever waits in its lobby, once each. */
  void admit_lobby ()
  {
    std::vector<std::string> lobby;
    {
      std::lock_guard<std::mutex> guard (host ().lock);
      lobby = host ().lobby;
    }
    for (const auto & id : lobby)
      if (!admitted_.count (id) && admit (id))
        admitted_.insert (id);
  }

  bool admit (const std::string & id)
  {
    gboolean done = FALSE;
    g_signal_emit_by_name (host ().keymanager, "admit", id.c_str (), &done);
    return done;
  }

  bool in_lobby (const std::string & id)
  {
    std::lock_guard<std::mutex> guard (host ().lock);
    return std::find (host ().lobby.begin (), host ().lobby.end (), id) != host ().lobby.end ();
  }

private:
  std::string device (const std::string & id, sframe::token::Role role, std::string * token)
  {
    sframe::Identity identity;
    sframe::Identity::generate (&identity);
    std::string path = dir_ + "/" + id + ".key";
    identity.save (path);
    sframe::token::IssueRequest request;
    request.room = "bench";
    request.member_id = id;
    request.display_name = id;
    request.role = role;
    request.device_public_key = identity.public_key ();
    request.lifetime = 3600;
    sframe::token::issue (authority_, request, time (nullptr), token);
    return path;
  }

  std::string bus_;
  bool admission_;
  std::string dir_;
  sframe::Identity authority_;
  std::string authority_path_;
  std::string extra_;
  std::vector<std::unique_ptr<Member>> members_;
  std::set<std::string> admitted_;
};

bool
converged (size_t n, const std::vector<Member *> & who)
{
  std::string code;
  for (Member *m : who) {
    std::lock_guard<std::mutex> guard (m->lock);
    if (m->roster_size != n || m->security_code.empty () || (!code.empty () && m->security_code != code))
      return false;
    code = m->security_code;
  }
  return true;
}

/* What the host sees, and how many rosters (by size and security code)
 * the members hold: progress, for a room that will not form. */
std::string
describe_views (Member & host, const std::vector<Member *> & who)
{
  std::map<std::pair<size_t, std::string>, int> views;
  for (Member *m : who) {
    std::lock_guard<std::mutex> guard (m->lock);
    views[{ m->roster_size, m->security_code }]++;
  }
  std::string text;
  {
    std::lock_guard<std::mutex> guard (host.lock);
    text = "host sees " + std::to_string (host.roster_size) + " members, " + std::to_string (host.lobby.size ()) +
        " in the lobby; views (members x roster size):";
  }
  for (const auto & view : views)
    text += " " + std::to_string (view.second) + "x" + std::to_string (view.first.first);
  return text;
}

/* The keymanager counters a leave is judged by, summed over members. */
struct Counters {
  static constexpr const char *kFields[] = {"messages-sent", "bytes-sent", "resyncs", "key-resends", "queue-overflows"};
  guint64 value[5] = {};

  guint64 messages () const { return value[0]; }
  guint64 bytes () const { return value[1]; }
  guint64 resyncs () const { return value[2]; }
  guint64 key_resends () const { return value[3]; }
  guint64 overflows () const { return value[4]; }

  Counters operator- (const Counters & other) const
  {
    Counters d;
    for (size_t i = 0; i < 5; i++)
      d.value[i] = value[i] - other.value[i];
    return d;
  }
  Counters & operator+= (const Counters & other)
  {
    for (size_t i = 0; i < 5; i++)
      value[i] += other.value[i];
    return *this;
  }
};

/* One read of each member's stats. */
Counters
read_counters (const std::vector<Member *> & who)
{
  Counters sum;
  for (Member *m : who) {
    GstStructure *stats = nullptr;
    g_object_get (m->keymanager, "stats", &stats, nullptr);
    if (!stats)
      continue;
    for (size_t i = 0; i < 5; i++) {
      guint64 v = 0;
      if (gst_structure_get_uint64 (stats, Counters::kFields[i], &v))
        sum.value[i] += v;
    }
    gst_structure_free (stats);
  }
  return sum;
}

struct LeaveResult {
  size_t members_before = 0;
  double max_ms = -1;
  double median_ms = -1;
  double cpu_ms = -1;   /* the whole process's CPU time from the leave to the last rotation */
  double kernel_ms = -1;   /* ... of which in the kernel (system time) */
  Counters sent;        /* by the remaining members meanwhile */
};

/* The process's system (kernel) CPU time. */
double
process_kernel_ms ()
{
  rusage usage {};
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_stime.tv_sec * 1e3 + usage.ru_stime.tv_usec / 1e3;
}

/* A leave is timed in a settled room: the members' rosters agree well
 * before the last of the formation's work (keys to the last joiners,
 * their channels) is done, and on 2 cores a leave that overlaps that work
 * waits for it. Waits until the process used under a fifth of a core for
 * a second (at most a minute), and says how long on stderr. */
void
wait_until_quiet ()
{
  auto start = Clock::now ();
  for (int i = 0; i < 60; i++) {
    double cpu0 = cpu_clock_ms (CLOCK_PROCESS_CPUTIME_ID);
    std::this_thread::sleep_for (std::chrono::seconds (1));
    if (cpu_clock_ms (CLOCK_PROCESS_CPUTIME_ID) - cpu0 < 200)
      break;
  }
  std::fprintf (stderr, "quiet after %.1f s\n", ms_since (start) / 1000);
}

/* On stderr: what the members rotated for during a leave, and the
 * slowest ones' views. A leave that takes seconds shows here whether
 * members also rejoined (join, initial) meanwhile. */
void
describe_leave (const std::vector<Member *> & present, const std::vector<size_t> & before,
    const std::vector<double> & times)
{
  std::map<std::string, int> reasons;
  std::map<size_t, int> roster_sizes;
  std::vector<std::pair<double, size_t>> slowest;
  for (size_t i = 0; i < present.size (); i++) {
    std::lock_guard<std::mutex> guard (present[i]->lock);
    for (size_t k = before[i]; k < present[i]->rotations.size (); k++)
      reasons[present[i]->rotations[k].second]++;
    roster_sizes[present[i]->roster_size]++;
    slowest.push_back ({ times[i] < 0 ? 1e9 : times[i], i });
  }
  std::sort (slowest.rbegin (), slowest.rend ());
  std::string text = "leave at N=" + std::to_string (present.size () + 1) + ": rotations by reason:";
  for (const auto & r : reasons)
    text += " " + r.first + " " + std::to_string (r.second);
  text += "; roster sizes:";
  for (const auto & r : roster_sizes)
    text += " " + std::to_string (r.second) + "x" + std::to_string (r.first);
  text += "; slowest (ms):";
  for (size_t k = 0; k < std::min<size_t> (3, slowest.size ()); k++)
    text += " " + std::to_string (static_cast<long> (slowest[k].first)) + " (member " +
        std::to_string (slowest[k].second) + ")";
  std::fprintf (stderr, "%s\n", text.c_str ());
}

/* The last member leaves; every other one must rotate. */
LeaveResult
time_leave (std::vector<Member *> & present)
{
  LeaveResult result;
  result.members_before = present.size ();
  Member *leaver = present.back ();
  present.pop_back ();
  std::vector<size_t> before;
  for (Member *m : present) {
    std::lock_guard<std::mutex> guard (m->lock);
    before.push_back (m->rotations.size ());
  }
  Counters before_counters = read_counters (present);
  std::vector<double> times (present.size (), -1);
  perf_control ("enable");
  double cpu0 = cpu_clock_ms (CLOCK_PROCESS_CPUTIME_ID), kernel0 = process_kernel_ms ();
  auto t0 = Clock::now ();
  gst_element_set_state (leaver->pipeline, GST_STATE_NULL);
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
  }, 60);
  result.cpu_ms = cpu_clock_ms (CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  result.kernel_ms = process_kernel_ms () - kernel0;
  perf_control ("disable");
  result.sent = read_counters (present) - before_counters;
  describe_leave (present, before, times);
  if (!all)
    return result;
  std::sort (times.begin (), times.end ());
  result.max_ms = times.back ();
  result.median_ms = times[times.size () / 2];
  return result;
}

/* Pushes a frame into the host's sframeenc every 10 ms and hands what comes
 * out to `target` (the joiner's sframedec), if set. */
class FramePump {
public:
  explicit FramePump (Member & host)
  {
    src_ = gst_bin_get_by_name (GST_BIN (host.pipeline), "src");
    sink_ = gst_bin_get_by_name (GST_BIN (host.pipeline), "sink");
  }
  ~FramePump ()
  {
    stop ();
    gst_object_unref (src_);
    gst_object_unref (sink_);
    if (target_)
      gst_object_unref (target_);
    if (caps_)
      gst_caps_unref (caps_);
  }

  /* The encoder's output caps (what the joiner's appsrc must say). */
  GstCaps *caps ()
  {
    while (!caps_) {
      GstSample *sample = push_and_pull ();
      if (sample && gst_sample_get_caps (sample))
        caps_ = gst_caps_ref (gst_sample_get_caps (sample));
      if (sample)
        gst_sample_unref (sample);
    }
    return caps_;
  }

  void start (GstElement * target)
  {
    target_ = GST_ELEMENT (gst_object_ref (target));
    running_ = true;
    thread_ = std::thread ([this] {
      while (running_) {
        GstSample *sample = push_and_pull ();
        if (sample) {
          gst_app_src_push_buffer (GST_APP_SRC (target_), gst_buffer_ref (gst_sample_get_buffer (sample)));
          gst_sample_unref (sample);
        }
        std::this_thread::sleep_for (std::chrono::milliseconds (10));
      }
    });
  }

  void stop ()
  {
    running_ = false;
    if (thread_.joinable ())
      thread_.join ();
  }

private:
  GstSample *push_and_pull ()
  {
    GstBuffer *frame = gst_buffer_new_allocate (nullptr, 1000, nullptr);
    gst_buffer_memset (frame, 0, 0x5a, 1000);
    GST_BUFFER_PTS (frame) = pts_;
    pts_ += 10 * GST_MSECOND;
    gst_app_src_push_buffer (GST_APP_SRC (src_), frame);
    return gst_app_sink_try_pull_sample (GST_APP_SINK (sink_), 100 * GST_MSECOND);
  }

  GstElement *src_ = nullptr;
  GstElement *sink_ = nullptr;
  GstElement *target_ = nullptr;
  GstCaps *caps_ = nullptr;
  GstClockTime pts_ = 0;
  std::atomic<bool> running_ { false };
  std::thread thread_;
};

/* A joiner waits in the lobby; host admits; its first decrypted frame. */
double
time_admission (Room & room, FramePump & pump, int index)
{
  std::string id = "m" + std::to_string (index);
  gchar *caps = gst_caps_to_string (pump.caps ());
  Member & joiner = room.add (index, std::string ("appsrc name=src is-live=true format=time caps=\"") + caps +
                                         "\" ! sframedec room=bench mode=frame ! appsink name=sink sync=false");
  g_free (caps);
  GstElement *src = gst_bin_get_by_name (GST_BIN (joiner.pipeline), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (joiner.pipeline), "sink");
  double ms = -1;
  if (!room.admission ()) {   /* an open room: from the joiner's start */
    pump.start (src);
    auto t0 = Clock::now ();
    gst_element_set_state (joiner.pipeline, GST_STATE_PLAYING);
    GstSample *first = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 60 * GST_SECOND);
    if (first) {
      ms = ms_since (t0);
      gst_sample_unref (first);
    }
    pump.stop ();
  } else if (gst_element_set_state (joiner.pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE &&
      wait_for ([&] { return room.in_lobby (id); }, 60)) {
    pump.start (src);
    std::this_thread::sleep_for (std::chrono::milliseconds (100));   /* frames it cannot read yet */
    auto t0 = Clock::now ();
    if (room.admit (id)) {
      GstSample *first = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 30 * GST_SECOND);
      if (first) {
        ms = ms_since (t0);
        gst_sample_unref (first);
      }
    }
    pump.stop ();
  }
  gst_element_set_state (joiner.pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (sink);
  return ms;
}


void
run_size (int n, int rounds, const std::string & bus, const char * label, int admission_max)
{
  Room room (bus, n, n <= admission_max);
  std::vector<Member *> present;
  auto t_join = Clock::now ();
  present.push_back (&room.add (0, "appsrc name=src is-live=true format=time caps=application/x-bench ! "
                                   "sframeenc room=bench mode=frame ! appsink name=sink sync=false"));
  gst_element_set_state (room.host ().pipeline, GST_STATE_PLAYING);
  wait_for ([&] { return converged (1, present); }, 30);
  /* Everyone else, kBatch at a time: a crowd of joiners resending hellos
   * at an overloaded committer is a formation benchmark, not this one. */
  constexpr int kBatch = 25;
  auto next_report = Clock::now ();
  bool ok = true;
  for (int first = 1; first < n && ok; first += kBatch) {
    int last = std::min (n, first + kBatch);
    for (int i = first; i < last; i++) {
      present.push_back (&room.add (i, ""));
      gst_element_set_state (present.back ()->pipeline, GST_STATE_PLAYING);
    }
    ok = wait_for ([&] {
      room.admit_lobby ();
      if (Clock::now () >= next_report) {   /* progress, for a room that will not form */
        std::fprintf (stderr, "N=%d, %.0f s: %s\n", n, ms_since (t_join) / 1000, describe_views (room.host (), present).c_str ());
        next_report += std::chrono::seconds (10);
      }
      return converged (present.size (), present);
    }, 900);
  }
  double join_s = ms_since (t_join) / 1000;
  if (!ok) {
    std::printf ("| %s | %d | room did not converge in 900 s |\n", label, n);
    return;
  }
  std::this_thread::sleep_for (std::chrono::seconds (4));   /* join ratchets, grace periods */
  std::vector<LeaveResult> leaves;
  for (int r = 0; r < rounds && present.size () > 1; r++) {
    wait_until_quiet ();
    leaves.push_back (time_leave (present));
    std::this_thread::sleep_for (std::chrono::seconds (4));
  }
  FramePump pump (room.host ());
  std::vector<double> admissions;
  for (int r = 0; r < rounds; r++) {
    admissions.push_back (time_admission (room, pump, n + r));
    std::this_thread::sleep_for (std::chrono::seconds (4));
  }
  std::vector<double> max_ms, median_ms, cpu_ms, kernel_ms;
  Counters total;
  for (const auto & l : leaves) {
    max_ms.push_back (l.max_ms);
    median_ms.push_back (l.median_ms);
    cpu_ms.push_back (l.cpu_ms);
    kernel_ms.push_back (l.kernel_ms);
    total += l.sent;
  }
  size_t count = std::max<size_t> (leaves.size (), 1);
  auto per_leave = [count] (guint64 v) { return static_cast<unsigned long long> (v / count); };
  std::printf ("| %s | %d | %.1f | %s | %s | %s | %s | %llu | %llu | %llu / %llu / %llu | %s |\n", label, n, join_s,
      describe_sorted (max_ms).c_str (), describe_sorted (median_ms).c_str (), describe_sorted (cpu_ms).c_str (), describe_sorted (kernel_ms).c_str (),
      per_leave (total.messages ()), per_leave (total.bytes ()), per_leave (total.resyncs ()),
      per_leave (total.key_resends ()), per_leave (total.overflows ()),
      ((room.admission () ? "admit: " : "open room, start: ") + describe_sorted (admissions)).c_str ());
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
  int admission_max = 50;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc)
      sizes = parse_sizes (argv[++i]);
    else if (arg == "--rounds" && i + 1 < argc)
      rounds = std::max (1, std::stoi (argv[++i]));
    else if (arg == "--nats")
      nats = true;
    else if (arg == "--admission-max" && i + 1 < argc)
      admission_max = std::stoi (argv[++i]);
    else {
      std::fprintf (stderr, "usage: %s [--sizes 2,10,50,200] [--rounds 3] [--nats] [--admission-max 50]\n", argv[0]);
      return 2;
    }
  }
  std::unique_ptr<sframe_test::NatsServers> server;
  if (nats) {
    server = std::make_unique<sframe_test::NatsServers> ();
    std::string error;
    if (!server->start (1, &error)) {
      std::fprintf (stderr, "could not start nats-server: %s\n", error.c_str ());
      return 77;
    }
  }
  std::printf ("Each leave or admission timed %d times; times sorted, in ms.\n\n", rounds);
  std::printf ("| bus | N | room formed in s | leave -> all rotated, max | median member | CPU ms per leave | of which kernel | "
               "messages per leave | bytes per leave | resyncs / key resends / queue overflows per leave | "
               "joiner's first decrypted frame, from |\n");
  std::printf ("|---|---:|---:|---|---|---|---|---:|---:|---|---|\n");
  for (int n : sizes) {
    std::string bus = nats ? server->url (0) : "local://rotation-" + std::to_string (getpid ()) + "-" + std::to_string (n);
    run_size (n, rounds, bus, nats ? "nats" : "local", admission_max);
  }
  return 0;
}
