/* A room of three members in three separate processes (room-member) over
 * real nats-server processes on 127.0.0.1: one server; a three-node cluster
 * with each member on a different node; and one server restarted mid-meeting
 * on the same port. Each member runs keymanager, sframeenc and sframedec in
 * its own pipeline, publishes its encrypted frames on a NATS subject that
 * stands in for the SFU and decrypts everyone else's; the test reads what
 * each one reports (JSON lines on its stdout) and asserts that all three
 * converge on one roster and one security code, that every member decrypts
 * each other member's frames, and that no decrypted frame differs from what
 * its sender made. The authority, identities and join tokens are made here
 * with the core API, in a private temporary directory.
 *
 * Deadlines are generous and only reached when something is broken; the
 * test prints how long each phase took (and, with ROOM_NATS_VERBOSE set,
 * every event each member reported). Skipped when nats-server is not
 * installed. */
#include "nats-server.h"
#include "room-credentials.h"

#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/key-provider.h>
#include <gst/sframe/keys/token.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ROOM_MEMBER_PATH
#define ROOM_MEMBER_PATH "room-member"
#endif

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using sframe_test::Credentials;
using sframe_test::Device;
using sframe_test::make_credentials;
using sframe_test::write_private_file;

constexpr const char *kRoom = "board";
/* Frames each member must decrypt from each other member (per phase). */
constexpr int64_t kMinFrames = 50;
constexpr auto kConvergeTimeout = std::chrono::seconds (45);
constexpr auto kStopTimeout = std::chrono::seconds (15);
constexpr auto kPoll = milliseconds (50);
/* How long the broker stays down in the restart test. */
constexpr auto kOutage = milliseconds (1500);

/* Protocol timers, short for test speed. The liveness timeout must exceed
 * the broker outage plus the time to notice it and reconnect: the committer
 * removes a member it has not heard from for that long, and during the
 * outage it hears nobody. The outage is kOutage (1.5 s), plus the server's
 * start (< 1 s here), plus libnats' reconnect wait (200 ms, with jitter),
 * plus a heartbeat (300 ms) before the first ping arrives: about 3 s. 8 s
 * leaves a wide margin for a loaded machine and costs nothing, since nobody
 * leaves uncleanly in these tests. */
const std::vector<std::string> kTimers = {
  "--discovery-timeout", "300",
  "--heartbeat-interval", "300",
  "--liveness-timeout", "8000",
};

const std::vector<std::string> kNames = {"alice", "bob", "carol"};

double
seconds_since (Clock::time_point start)
{
  return std::chrono::duration<double> (Clock::now () - start).count ();
}

void
report_timing (const std::string & what, double seconds)
{
  std::printf ("[   TIME   ] %s: %.2f s\n", what.c_str (), seconds);
  std::fflush (stdout);
  testing::Test::RecordProperty (what, std::to_string (seconds));
}

std::string
member_program ()
{
  if (const char *env = std::getenv ("ROOM_MEMBER"))
    return env;
  return ROOM_MEMBER_PATH;
}

/* A private (0700) temporary directory, removed with everything in it. */
class TempDir {
public:
  TempDir ()
  {
    std::string templ = (fs::temp_directory_path () / "gst-sframe-room-nats-XXXXXX").string ();
    if (mkdtemp (&templ[0]))
      path_ = templ;
  }
  ~TempDir ()
  {
    if (!path_.empty ()) {
      std::error_code ec;
      fs::remove_all (path_, ec);
    }
  }
  TempDir (const TempDir &) = delete;
  TempDir & operator= (const TempDir &) = delete;

  const std::string & path () const { return path_; }

private:
  std::string path_;
};

/* One room-member process: its stdin (closing it stops the member), its
 * stdout read line by line as JSON on a thread of ours, its stderr in a
 * file for failure messages. Killed and reaped when this object goes, and
 * by the kernel should the test die first (PR_SET_PDEATHSIG). */
class MemberProcess {
public:
  explicit MemberProcess (std::string name) : name_ (std::move (name)) {}
  ~MemberProcess () { kill_now (); }
  MemberProcess (const MemberProcess &) = delete;
  MemberProcess & operator= (const MemberProcess &) = delete;

  const std::string & name () const { return name_; }

  bool spawn (const std::vector<std::string> & args, const std::string & stderr_path, std::string * error)
  {
    stderr_path_ = stderr_path;
    int in[2], out[2];
    if (pipe2 (in, O_CLOEXEC) != 0)
      return fail (error, "pipe");
    if (pipe2 (out, O_CLOEXEC) != 0) {
      close (in[0]);
      close (in[1]);
      return fail (error, "pipe");
    }
    int err = open (stderr_path.c_str (), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::vector<std::string> argv_storage = args;
    std::vector<char *> argv;
    for (auto & a : argv_storage)
      argv.push_back (&a[0]);
    argv.push_back (nullptr);

    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
      /* Only async-signal-safe calls between fork and exec. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (127);
      dup2 (in[0], STDIN_FILENO);
      dup2 (out[1], STDOUT_FILENO);
      if (err >= 0)
        dup2 (err, STDERR_FILENO);
      execv (argv[0], argv.data ());
      _exit (127);
    }
    int fork_errno = errno;
    close (in[0]);
    close (out[1]);
    if (err >= 0)
      close (err);
    if (pid < 0) {
      close (in[1]);
      close (out[0]);
      errno = fork_errno;
      return fail (error, "fork");
    }
    pid_ = pid;
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];
    reader_ = std::thread (&MemberProcess::read_lines, this);
    return true;
  }

  /* Asks the member to stop (it leaves the room and exits). */
  void close_stdin ()
  {
    if (stdin_fd_ >= 0)
      close (stdin_fd_);
    stdin_fd_ = -1;
  }

  /* Its exit status (as waitpid), or false if it is still running at the
   * deadline. */
  bool wait_exit (Clock::time_point deadline, int * status)
  {
    while (pid_ > 0) {
      pid_t r = waitpid (pid_, status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        join_reader ();
        return true;
      }
      if (r < 0 && errno != EINTR)
        return false;
      if (Clock::now () >= deadline)
        return false;
      std::this_thread::sleep_for (milliseconds (20));
    }
    return false;
  }

  void kill_now ()
  {
    close_stdin ();
    if (pid_ > 0) {
      kill (pid_, SIGKILL);
      waitpid (pid_, nullptr, 0);
      pid_ = -1;
    }
    join_reader ();
  }

  json last_progress () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return last_progress_;
  }
  size_t progress_count () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return progress_count_;
  }
  json stopped () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return stopped_;
  }
  std::vector<json> history () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return history_;
  }
  /* Every line but the progress ones. */
  std::vector<json> events () const
  {
    std::lock_guard<std::mutex> lock (lock_);
    return events_;
  }

  /* For failure messages: what it said last, and its stderr's tail. */
  std::string describe () const
  {
    std::ostringstream out;
    out << "--- " << name_ << " ---\n";
    {
      std::lock_guard<std::mutex> lock (lock_);
      out << "last progress: " << last_progress_.dump () << "\n";
      size_t from = events_.size () > 12 ? events_.size () - 12 : 0;
      for (size_t i = from; i < events_.size (); i++)
        out << "event: " << events_[i].dump () << "\n";
      if (unparsed_)
        out << unparsed_ << " line(s) were not JSON\n";
    }
    std::ifstream in (stderr_path_);
    std::stringstream err;
    err << in.rdbuf ();
    std::string text = err.str ();
    if (text.size () > 3000)
      text = "..." + text.substr (text.size () - 3000);
    out << "stderr:\n" << text << "\n";
    return out.str ();
  }

private:
  static bool fail (std::string * error, const char *what)
  {
    *error = std::string (what) + ": " + std::strerror (errno);
    return false;
  }

  void read_lines ()
  {
    std::string pending;
    char buf[4096];
    for (;;) {
      ssize_t n = read (stdout_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      pending.append (buf, static_cast<size_t> (n));
      size_t eol;
      while ((eol = pending.find ('\n')) != std::string::npos) {
        take_line (pending.substr (0, eol));
        pending.erase (0, eol + 1);
      }
    }
    close (stdout_fd_);
  }

  void take_line (const std::string & line)
  {
    json j = json::parse (line, nullptr, false);
    std::lock_guard<std::mutex> lock (lock_);
    if (j.is_discarded () || !j.is_object () || !j.contains ("event")) {
      unparsed_++;
      return;
    }
    if (j["event"] == "progress") {
      history_.push_back (j);
      last_progress_ = std::move (j);
      progress_count_++;
      return;
    }
    if (j["event"] == "stopped")
      stopped_ = j;
    events_.push_back (std::move (j));
  }

  void join_reader ()
  {
    if (reader_.joinable ())
      reader_.join ();
  }

  std::string name_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::thread reader_;

  mutable std::mutex lock_;
  json last_progress_;
  std::vector<json> history_;   /* every progress line */
  json stopped_;
  std::vector<json> events_;
  size_t progress_count_ = 0;
  size_t unparsed_ = 0;
};

int64_t
number_of (const json & object, const char *field)
{
  if (!object.is_object () || !object.contains (field) || !object[field].is_number ())
    return -1;
  return object[field].get<int64_t> ();
}

int64_t
count_of (const json & progress, const char *field, const std::string & key)
{
  if (!progress.is_object () || !progress.contains (field) || !progress[field].is_object ())
    return 0;
  return std::max<int64_t> (number_of (progress[field], key.c_str ()), 0);
}

/* Fields of a member's line, whatever it holds (it may be garbled). */
std::string
text_of (const json & object, const char *field)
{
  if (!object.is_object () || !object.contains (field) || !object[field].is_string ())
    return {};
  return object[field].get<std::string> ();
}

bool
flag_of (const json & object, const char *field, bool otherwise)
{
  if (!object.is_object () || !object.contains (field) || !object[field].is_boolean ())
    return otherwise;
  return object[field].get<bool> ();
}

std::string
dump_of (const json & object, const char *field)
{
  if (!object.is_object () || !object.contains (field))
    return "null";
  return object[field].dump ();
}

std::vector<std::string>
strings_of (const json & object, const char *field)
{
  std::vector<std::string> out;
  if (object.is_object () && object.contains (field) && object[field].is_array ()) {
    for (const auto & item : object[field])
      out.push_back (item.is_string () ? item.get<std::string> () : std::string ());
  }
  return out;
}

/* A counter of the keymanager ("km") or sframedec ("dec") stats in a
 * progress line; -1 when absent. */
int64_t
stats_counter (const json & progress, const char *element, const char *counter)
{
  if (!progress.is_object () || !progress.contains (element))
    return -1;
  return number_of (progress[element], counter);
}

int64_t
km_counter (const json & progress, const char *counter)
{
  return stats_counter (progress, "km", counter);
}

int64_t
dec_counter (const json & progress, const char *counter)
{
  return stats_counter (progress, "dec", counter);
}

/* Servers, credentials and three member processes; the members die before
 * the servers do. */
class RoomNats : public testing::Test {
protected:
  void SetUp () override
  {
    if (sframe_test::find_nats_server ().empty ())
      GTEST_SKIP () << "nats-server is not installed";
    ASSERT_FALSE (dir_.path ().empty ()) << "mkdtemp: " << std::strerror (errno);
    ASSERT_NO_FATAL_FAILURE (make_credentials (dir_.path (), kRoom, kNames, &credentials_));
    /* What the three must read aloud: the code of exactly these devices. */
    expected_code_ = sframe::room::security_code (credentials_.fingerprints);
    ASSERT_FALSE (expected_code_.empty ());
    media_subject_ = "media.test" + std::to_string (getpid ()) + "." + kRoom;
  }

  void TearDown () override
  {
    for (auto & m : members_)
      m->kill_now ();
    members_.clear ();
  }

  void start_servers (size_t nodes)
  {
    auto start = Clock::now ();
    std::string error;
    ASSERT_TRUE (servers_.start (nodes, &error)) << error;
    report_timing (std::to_string (nodes) + " nats-server(s) up", seconds_since (start));
  }

  /* Starts the three members at once; member i on bus_uris[i]. */
  void spawn_members (const std::vector<std::string> & bus_uris, const std::vector<std::string> & extra = {})
  {
    for (size_t i = 0; i < credentials_.devices.size (); i++) {
      const Device & d = credentials_.devices[i];
      std::vector<std::string> args = {member_program (), "--room", kRoom, "--bus", bus_uris[i],
        "--identity", d.key_path, "--token-file", d.token_path, "--authority", credentials_.authority_path,
        "--name", d.name, "--media-subject", media_subject_};
      args.insert (args.end (), kTimers.begin (), kTimers.end ());
      args.insert (args.end (), extra.begin (), extra.end ());
      members_.push_back (std::make_unique<MemberProcess> (d.name));
      std::string error;
      ASSERT_TRUE (members_.back ()->spawn (args, dir_.path () + "/" + d.name + ".stderr", &error))
          << d.name << ": " << error;
    }
  }

  std::vector<json> progress () const
  {
    std::vector<json> out;
    for (const auto & m : members_)
      out.push_back (m->last_progress ());
    return out;
  }

  std::string describe_all () const
  {
    std::string out;
    for (const auto & m : members_)
      out += m->describe ();
    return out;
  }

  /* Polls the members' progress until `done` holds for it or the deadline
   * passes; *why says what was still missing. */
  bool wait_until (const std::function<bool (const std::vector<json> &, std::string *)> & done,
      std::chrono::seconds timeout, std::string * why)
  {
    auto deadline = Clock::now () + timeout;
    for (;;) {
      if (done (progress (), why))
        return true;
      if (Clock::now () >= deadline)
        return false;
      std::this_thread::sleep_for (kPoll);
    }
  }

  /* All three list the three members, in one epoch, with the security code
   * of exactly their three devices, and member m decrypted at least
   * min[m][o] frames from member o whose highest seq is at least
   * min_seq[o]. */
  bool in_step (const std::vector<json> & p, const std::vector<std::vector<int64_t>> & min_frames,
      const std::vector<int64_t> & min_seq, std::string * why) const
  {
    for (size_t m = 0; m < p.size (); m++) {
      if (!p[m].is_object ()) {
        *why = kNames[m] + " has not reported progress yet";
        return false;
      }
      std::vector<std::string> names = strings_of (p[m], "names");
      std::sort (names.begin (), names.end ());
      if (names != kNames) {
        *why = kNames[m] + "'s roster is not alice, bob and carol";
        return false;
      }
      if (text_of (p[m], "security-code") != expected_code_ || number_of (p[m], "epoch") != number_of (p[0], "epoch")) {
        *why = "the members' security codes or epochs differ";
        return false;
      }
      for (size_t o = 0; o < p.size (); o++) {
        if (o == m)
          continue;
        if (count_of (p[m], "decrypted", kNames[o]) < min_frames[m][o] ||
            count_of (p[m], "last-seq", kNames[o]) < min_seq[o]) {
          *why = kNames[m] + " has decrypted " + std::to_string (count_of (p[m], "decrypted", kNames[o])) +
              " frame(s) of " + kNames[o] + " (up to seq " +
              std::to_string (count_of (p[m], "last-seq", kNames[o])) + "), waiting for " +
              std::to_string (min_frames[m][o]) + " (and seq " + std::to_string (min_seq[o]) + ")";
          return false;
        }
      }
    }
    return true;
  }

  /* Waits for one roster, one security code and kMinFrames frames from
   * everyone at everyone. */
  void wait_for_meeting (const std::string & what)
  {
    auto start = Clock::now ();
    std::vector<std::vector<int64_t>> min (kNames.size (), std::vector<int64_t> (kNames.size (), kMinFrames));
    std::vector<int64_t> no_seq (kNames.size (), 0);
    std::string why;
    ASSERT_TRUE (wait_until ([&] (const std::vector<json> & p, std::string * w) {
      return in_step (p, min, no_seq, w);
    }, kConvergeTimeout, &why)) << what << ": " << why << "\n" << describe_all ();
    report_timing (what, seconds_since (start));
    /* Frames may fail authentication while the room forms: two members
     * that each started a lone room both used key id 256 (index 1, first
     * generation) for different keys until the rooms merged. From here on
     * none may. */
    auth_failures_in_meeting_.clear ();
    for (const auto & m : members_)
      auth_failures_in_meeting_.push_back (dec_counter (m->last_progress (), "auth-failures"));
  }

  /* Stops every member (closing stdin), expects each to exit 0 with final
   * counters showing no wrong, duplicated or unexpected frame. */
  void stop_members ()
  {
    auto start = Clock::now ();
    for (auto & m : members_)
      m->close_stdin ();
    auto deadline = Clock::now () + kStopTimeout;
    for (auto & m : members_) {
      int status = 0;
      ASSERT_TRUE (m->wait_exit (deadline, &status)) << m->name () << " did not stop\n" << describe_all ();
      EXPECT_TRUE (WIFEXITED (status) && WEXITSTATUS (status) == 0)
          << m->name () << " exited with status " << status << "\n" << m->describe ();
    }
    report_timing ("members stopped", seconds_since (start));
    for (size_t i = 0; i < members_.size (); i++)
      check_final (*members_[i], i);
    if (std::getenv ("ROOM_NATS_VERBOSE")) {
      for (auto & m : members_) {
        for (const json & e : m->events ())
          std::printf ("[  EVENT   ] %s: %s\n", m->name ().c_str (), e.dump ().c_str ());
        for (const json & p : m->history ()) {
          std::printf ("[ PROGRESS ] %s: t %lld epoch %lld connected %d decrypted %s dec %s km %s\n",
              m->name ().c_str (), static_cast<long long> (number_of (p, "t-ms")),
              static_cast<long long> (number_of (p, "epoch")), flag_of (p, "bus-connected", false) ? 1 : 0,
              dump_of (p, "decrypted").c_str (), dump_of (p, "dec").c_str (), dump_of (p, "km").c_str ());
        }
      }
    }
  }

  /* What no member may ever report: a decrypted frame other than the one
   * its sender made, one decrypted twice, a replayed or malformed frame, a
   * frame failing authentication once the meeting was up, an error, a
   * refusal, being put out of the room. */
  void check_final (const MemberProcess & m, size_t index)
  {
    bool failed_before = HasFailure ();
    json last = m.stopped ();
    ASSERT_TRUE (last.is_object ()) << m.name () << " printed no final counters\n" << m.describe ();
    EXPECT_EQ (number_of (last, "mismatches"), 0) << m.name ();
    EXPECT_EQ (number_of (last, "duplicates"), 0) << m.name ();
    EXPECT_EQ (number_of (last, "bad-envelopes"), 0) << m.name ();
    EXPECT_EQ (dec_counter (last, "replayed"), 0) << m.name ();
    EXPECT_EQ (dec_counter (last, "malformed"), 0) << m.name ();
    if (index < auth_failures_in_meeting_.size ()) {
      EXPECT_EQ (dec_counter (last, "auth-failures"), auth_failures_in_meeting_[index])
          << m.name () << ": frames failed authentication during the meeting";
    }
    EXPECT_FALSE (flag_of (last, "failed", true)) << m.name ();
    for (const json & e : m.events ()) {
      const std::string type = text_of (e, "event");
      EXPECT_NE (type, "error") << m.name () << ": " << e.dump ();
      EXPECT_NE (type, "refused") << m.name () << ": " << e.dump ();
      EXPECT_NE (type, "left") << m.name () << ": " << e.dump ();
      EXPECT_NE (type, "mismatch") << m.name () << ": " << e.dump ();
    }
    std::printf ("[  MEMBER  ] %s: decrypted %s, dec %s, km %s\n", m.name ().c_str (),
        dump_of (last, "decrypted").c_str (), dump_of (last, "dec").c_str (), dump_of (last, "km").c_str ());
    if (HasFailure () && !failed_before)
      std::printf ("%s", m.describe ().c_str ());
    std::fflush (stdout);
  }

  TempDir dir_;
  Credentials credentials_;
  std::vector<int64_t> auth_failures_in_meeting_;
  std::string media_subject_;
  std::string expected_code_;
  sframe_test::NatsServers servers_;
  std::vector<std::unique_ptr<MemberProcess>> members_;
};

TEST_F (RoomNats, ThreeProcessesOneServer)
{
  auto start = Clock::now ();
  ASSERT_NO_FATAL_FAILURE (start_servers (1));
  ASSERT_NO_FATAL_FAILURE (spawn_members ({servers_.url (0), servers_.url (0), servers_.url (0)}));
  ASSERT_NO_FATAL_FAILURE (wait_for_meeting ("one server: roster agreed and 50 frames from each at each"));
  ASSERT_NO_FATAL_FAILURE (stop_members ());
  report_timing ("one server: whole test", seconds_since (start));
}

/* The server the test secured: TLS with a certificate of the test's own CA
 * (openssl), and a user and password. The members trust that CA and log
 * in; the room forms and media decrypts as without. */
TEST_F (RoomNats, ThreeProcessesOverTlsWithAPassword)
{
  auto start = Clock::now ();
  sframe_test::TestPki pki;
  std::string error;
  ASSERT_TRUE (pki.make (&error)) << error;
  servers_.secure (sframe_test::tls_and_password (pki, "member", "room-pa55"));
  ASSERT_NO_FATAL_FAILURE (start_servers (1));
  std::string uri = "tls://member:room-pa55@127.0.0.1:" + std::to_string (servers_.client_port (0));
  ASSERT_NO_FATAL_FAILURE (spawn_members ({uri, uri, uri}, {"--tls-ca-file", pki.ca ()}));
  ASSERT_NO_FATAL_FAILURE (wait_for_meeting ("tls: roster agreed and 50 frames from each at each"));
  ASSERT_NO_FATAL_FAILURE (stop_members ());
  report_timing ("tls: whole test", seconds_since (start));
}

TEST_F (RoomNats, ThreeProcessesThreeNodeCluster)
{
  auto start = Clock::now ();
  ASSERT_NO_FATAL_FAILURE (start_servers (3));
  /* Each member on its own node (one URL each, so the client cannot pick
   * another): keys and media cross the cluster's routes. */
  ASSERT_NO_FATAL_FAILURE (spawn_members ({servers_.url (0), servers_.url (1), servers_.url (2)}));
  ASSERT_NO_FATAL_FAILURE (wait_for_meeting ("cluster: roster agreed and 50 frames from each at each"));
  ASSERT_NO_FATAL_FAILURE (stop_members ());
  report_timing ("cluster: whole test", seconds_since (start));
}

TEST_F (RoomNats, BrokerRestartMidMeeting)
{
  auto start = Clock::now ();
  ASSERT_NO_FATAL_FAILURE (start_servers (1));
  ASSERT_NO_FATAL_FAILURE (spawn_members ({servers_.url (0), servers_.url (0), servers_.url (0)}));
  ASSERT_NO_FATAL_FAILURE (wait_for_meeting ("restart: meeting up before the outage"));

  std::vector<json> before = progress ();
  std::vector<size_t> lines_before;
  for (const auto & m : members_)
    lines_before.push_back (m->progress_count ());

  auto outage = Clock::now ();
  servers_.stop (0);
  std::this_thread::sleep_for (kOutage);
  std::string error;
  ASSERT_TRUE (servers_.restart (0, &error)) << error;
  report_timing ("restart: broker down (stop, wait, start again)", seconds_since (outage));

  /* A progress line written after the restart says how far each sender had
   * got by then (frames made during the outage were buffered by libnats
   * and are delivered late): the frames that must come through now are
   * frames made after the broker came back. */
  std::vector<json> after_restart;
  std::string why;
  ASSERT_TRUE (wait_until ([&] (const std::vector<json> &, std::string * w) {
    for (size_t i = 0; i < members_.size (); i++) {
      if (members_[i]->progress_count () < lines_before[i] + 2) {
        *w = kNames[i] + " wrote no progress since the restart";
        return false;
      }
    }
    return true;
  }, kConvergeTimeout, &why)) << why << "\n" << describe_all ();
  after_restart = progress ();
  std::vector<std::vector<int64_t>> min (kNames.size (), std::vector<int64_t> (kNames.size (), 0));
  std::vector<int64_t> min_seq (kNames.size (), 0);
  for (size_t m = 0; m < kNames.size (); m++) {
    min_seq[m] = number_of (after_restart[m], "last-published-seq") + kMinFrames;
    for (size_t o = 0; o < kNames.size (); o++)
      min[m][o] = count_of (after_restart[m], "decrypted", kNames[o]) + kMinFrames;
  }

  auto resumed = Clock::now ();
  ASSERT_TRUE (wait_until ([&] (const std::vector<json> & p, std::string * w) {
    return in_step (p, min, min_seq, w);
  }, kConvergeTimeout, &why)) << "after the restart: " << why << "\n" << describe_all ();
  report_timing ("restart: 50 frames made after the restart, from each at each", seconds_since (resumed));
  report_timing ("restart: from the broker stop to media flowing again", seconds_since (outage));

  std::vector<json> after = progress ();
  for (size_t m = 0; m < kNames.size (); m++) {
    EXPECT_EQ (text_of (after[m], "security-code"), expected_code_) << kNames[m] << ": another roster after the restart";
    EXPECT_GE (km_counter (after[m], "disconnects"), 1) << kNames[m] << " never saw the broker go";
    EXPECT_GE (km_counter (after[m], "reconnects"), 1) << kNames[m] << " never reconnected";
    EXPECT_GT (km_counter (after[m], "resyncs"), km_counter (before[m], "resyncs"))
        << kNames[m] << " did not resynchronise after reconnecting";
    std::printf ("[  MEMBER  ] %s: epoch %lld -> %lld, resyncs %lld -> %lld\n", kNames[m].c_str (),
        static_cast<long long> (number_of (before[m], "epoch")), static_cast<long long> (number_of (after[m], "epoch")),
        static_cast<long long> (km_counter (before[m], "resyncs")),
        static_cast<long long> (km_counter (after[m], "resyncs")));
  }
  ASSERT_NO_FATAL_FAILURE (stop_members ());
  report_timing ("restart: whole test", seconds_since (start));
}

}  // namespace

int
main (int argc, char **argv)
{
  testing::InitGoogleTest (&argc, argv);
  /* A member that dies must not take the test with it on a write. */
  std::signal (SIGPIPE, SIG_IGN);
  return RUN_ALL_TESTS ();
}
