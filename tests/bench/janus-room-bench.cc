/* CPU per member of a room through a real Janus, for rooms of 2, 4 and 6
 * members, at 640x360 30 fps VP8 + Opus, and the time from the last
 * member's start to decoding everyone. Four kinds of member, each room
 * size in turn:
 *   - the member line of docs/rooms.md (gst-launch-1.0, janusroomsrc
 *     decoding and mixing, E2EE);
 *   - raw-room-member, an application with its own receive chains
 *     (janusroomsrc decode=false), E2EE;
 *   - the same with name-senders=false (no decrypted copy naming each
 *     track's sender): what that copy costs;
 *   - raw-room-member --plain, the same without E2EE (no keymanager,
 *     sframeenc or sframedec): the baseline; the E2EE / plain ratio is
 *     what encryption costs a member.
 * Runs in a network namespace of its own (as root), with its own
 * nats-server and Janus on loopback, and stops them.
 *
 *   janus-room-bench [SECONDS [MEMBERS]]   (10 s per size; sizes 2, 4, 6)
 */
#include "../integration/janus-room-member.h"
#include "../integration/janus-server.h"
#include "../integration/media-netns.h"
#include "../integration/nats-server.h"
#include "../integration/room-credentials.h"

#include <gst/gst.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace sframe_test;
using Clock = std::chrono::steady_clock;

/* utime + stime of a process, in seconds. */
double
cpu_seconds (pid_t pid)
{
  std::ifstream in ("/proc/" + std::to_string (pid) + "/stat");
  std::string text ((std::istreambuf_iterator<char> (in)), std::istreambuf_iterator<char> ());
  size_t close = text.rfind (')');
  if (close == std::string::npos)
    return 0;
  std::istringstream fields (text.substr (close + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; i++) {
    if (i == 14)
      utime = std::stoul (f);
    if (i == 15)
      stime = std::stoul (f);
  }
  return double (utime + stime) / double (sysconf (_SC_CLK_TCK));
}

std::string
member_line (const std::string & room, const Device & d, const std::string & authority, const std::string & bus,
    const std::string & server)
{
  return "keymanager room=" + room + " bus=" + bus + " identity=" + d.key_path + " token-file=" + d.token_path +
      " authority=" + authority + " janusroomsink name=pub room=" + room + " server=" + server + " admin-key=" +
      JanusServer::kAdminKey + " local-address=" + kMemberAddress +
      " videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1"
      " ! vp8enc deadline=1 keyframe-max-dist=30 ! sframeenc room=" + room + " ! rtpvp8sframepay ! pub."
      " audiotestsrc is-live=true ! opusenc ! sframeenc room=" + room + " ! rtpopuspay ! pub."
      " janusroomsrc name=sub room=" + room + " server=" + server + " local-address=" + kMemberAddress +
      " width=640 height=360 stats-interval=250 sub.video ! fakesink sync=true sub.audio ! fakesink sync=true";
}

bool
everyone_sees_everyone (const std::vector<std::unique_ptr<Member>> & members)
{
  for (const auto & m : members) {
    std::vector<std::string> others;
    for (const auto & o : members)
      if (o != m)
        others.push_back (o->name ());
    if (!sees_everyone (*m, others))
      return false;
  }
  return true;
}

/* raw-room-member's latest report says every other member's video and
 * audio decoded in the last 500 ms. */
bool
everyone_decodes_everyone (const std::vector<std::unique_ptr<Member>> & members)
{
  std::string want = "decoding=" + std::to_string (2 * (members.size () - 1));
  for (const auto & m : members) {
    auto reports = m->lines ("tracks=");
    if (reports.empty () || reports.back ().find (want) == std::string::npos)
      return false;
  }
  return true;
}

enum class Kind { launch_line, application, unnamed_application, plain_application };
constexpr int kKinds = 4;

const char *
kind_name (Kind kind)
{
  switch (kind) {
    case Kind::launch_line: return "member line (decode mode), E2EE";
    case Kind::application: return "application chains, E2EE";
    case Kind::unnamed_application: return "app chains, E2EE, name-senders=0";
    case Kind::plain_application: return "application chains, no E2EE";
  }
  return "";
}

struct Result {
  bool formed = false;
  double mean = 0, most = 0, join = 0;
};

struct Room {
  std::string dir, bus, server;
  int seconds = 10;
};

std::string
command (Kind kind, const std::string & room, const Device & d, const std::string & authority, const Room & r)
{
  if (kind == Kind::launch_line)
    return "gst-launch-1.0 -m -e " + member_line (room, d, authority, r.bus, r.server);
  std::string line = std::string (RAW_ROOM_MEMBER) + " --room " + room + " --server " + r.server + " --address " +
      kMemberAddress + " --width 640 --height 360";
  if (kind == Kind::plain_application)
    return line + " --plain";
  if (kind == Kind::unnamed_application)
    line += " --no-name-senders";
  return line + " --bus " + r.bus + " --identity " + d.key_path + " --token-file " + d.token_path +
      " --authority " + authority;
}

Result
measure (Kind kind, size_t size, const Room & r)
{
  Result result;
  std::string room = "bench-" + std::to_string (size) + "-" + std::to_string (int (kind));
  std::vector<std::string> names;
  for (size_t i = 0; i < size; i++)
    names.push_back ("m" + std::to_string (i));
  Credentials credentials;
  std::string sub = r.dir + "/" + room;
  std::system (("mkdir -p " + sub).c_str ());
  make_credentials (sub, room, names, &credentials);
  std::vector<std::unique_ptr<Member>> members;
  Clock::time_point last_start;
  std::string error;
  for (size_t i = 0; i < size; i++) {
    members.push_back (std::make_unique<Member> (names[i], sub + "/" + names[i] + ".log"));
    last_start = Clock::now ();
    if (!members.back ()->start_program (command (kind, room, credentials.devices[i], credentials.authority_path,
                r), &error)) {
      std::fprintf (stderr, "janus-room-bench: %s\n", error.c_str ());
      return result;
    }
    std::this_thread::sleep_for (std::chrono::milliseconds (i == 0 ? 1000 : 300));
  }
  auto ready = [&] {
    return kind == Kind::launch_line ? everyone_sees_everyone (members) : everyone_decodes_everyone (members);
  };
  auto deadline = Clock::now () + std::chrono::seconds (120);
  while (!ready () && Clock::now () < deadline)
    std::this_thread::sleep_for (std::chrono::milliseconds (100));
  if (!ready ()) {
    std::printf ("%7zu  %s: the room did not form in 120 s\n", size, kind_name (kind));
    for (auto & m : members)
      m->stop ();
    return result;
  }
  result.formed = true;
  result.join = std::chrono::duration<double> (Clock::now () - last_start).count ();
  std::vector<double> before;
  for (auto & m : members)
    before.push_back (cpu_seconds (m->pid ()));
  auto t0 = Clock::now ();
  std::this_thread::sleep_for (std::chrono::seconds (r.seconds));
  double wall = std::chrono::duration<double> (Clock::now () - t0).count ();
  double sum = 0;
  for (size_t i = 0; i < members.size (); i++) {
    double share = (cpu_seconds (members[i]->pid ()) - before[i]) / wall * 100;
    sum += share;
    result.most = std::max (result.most, share);
  }
  result.mean = sum / double (size);
  for (auto & m : members)
    m->stop ();
  return result;
}

}  // namespace

int
main (int argc, char **argv)
{
  std::string error;
  if (!enter_media_namespace (&error)) {
    std::fprintf (stderr, "janus-room-bench: %s\n", error.c_str ());
    return 2;
  }
  gst_init (&argc, &argv);
  ScratchDir dir ("janus-room-bench");
  NatsServers nats;
  JanusServer janus;
  janus.set_ice_interface (kSfuInterface);
  if (!nats.start (1, &error) || !janus.start (&error)) {
    std::fprintf (stderr, "janus-room-bench: %s\n", error.c_str ());
    return 1;
  }
  Room r {dir.path (), nats.url (0), janus.ws_url (), argc > 1 ? std::atoi (argv[1]) : 10};
  std::vector<size_t> sizes = {2, 4, 6};
  if (argc > 2)
    sizes = {size_t (std::atoi (argv[2]))};
  std::printf ("members  kind                               cpu/member (mean)  (max)  join to decoding everyone\n");
  for (size_t size : sizes) {
    Result results[kKinds];
    for (Kind kind : {Kind::launch_line, Kind::application, Kind::unnamed_application, Kind::plain_application}) {
      Result & res = results[int (kind)];
      res = measure (kind, size, r);
      if (res.formed)
        std::printf ("%7zu  %-33s  %16.0f%%  %4.0f%%  %.1f s\n", size, kind_name (kind), res.mean, res.most, res.join);
      std::fflush (stdout);
    }
    const Result & e2ee = results[int (Kind::application)];
    const Result & unnamed = results[int (Kind::unnamed_application)];
    const Result & plain = results[int (Kind::plain_application)];
    if (e2ee.formed && plain.formed && plain.mean > 0)
      std::printf ("%7zu  E2EE / no E2EE (application chains): %.2f\n", size, e2ee.mean / plain.mean);
    if (unnamed.formed && plain.formed && plain.mean > 0)
      std::printf ("%7zu  E2EE without the naming copy / no E2EE: %.2f\n", size, unnamed.mean / plain.mean);
    std::fflush (stdout);
  }
  return 0;
}
