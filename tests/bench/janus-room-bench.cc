/* CPU per member of a room through a real Janus, for rooms of 2, 4 and 6
 * members, each a gst-launch-1.0 process with the member line of
 * docs/rooms.md at 640x360 30 fps VP8 + Opus (E2EE on: it cannot be
 * turned off), and the time from a member's start to decrypting and
 * decoding everyone. Runs in a network namespace of its own (as root), with
 * its own nats-server and Janus on loopback, and stops them.
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
  int seconds = argc > 1 ? std::atoi (argv[1]) : 10;
  ScratchDir dir ("janus-room-bench");
  NatsServers nats;
  JanusServer janus;
  janus.set_ice_interface (kSfuInterface);
  if (!nats.start (1, &error) || !janus.start (&error)) {
    std::fprintf (stderr, "janus-room-bench: %s\n", error.c_str ());
    return 1;
  }
  std::printf ("members  cpu/member (mean)  cpu/member (max)  join to decrypting everyone\n");
  std::vector<size_t> sizes = {2, 4, 6};
  if (argc > 2)
    sizes = {size_t (std::atoi (argv[2]))};
  for (size_t size : sizes) {
    std::string room = "bench-" + std::to_string (size);
    std::vector<std::string> names;
    for (size_t i = 0; i < size; i++)
      names.push_back ("m" + std::to_string (i));
    Credentials credentials;
    std::string sub = dir.path () + "/" + room;
    std::system (("mkdir -p " + sub).c_str ());
    make_credentials (sub, room, names, &credentials);
    std::vector<std::unique_ptr<Member>> members;
    Clock::time_point last_start;
    for (size_t i = 0; i < size; i++) {
      members.push_back (std::make_unique<Member> (names[i], sub + "/" + names[i] + ".log"));
      last_start = Clock::now ();
      if (!members.back ()->start (member_line (room, credentials.devices[i], credentials.authority_path,
                  nats.url (0), janus.ws_url ()), &error)) {
        std::fprintf (stderr, "janus-room-bench: %s\n", error.c_str ());
        return 1;
      }
      std::this_thread::sleep_for (std::chrono::milliseconds (i == 0 ? 1000 : 300));
    }
    auto deadline = Clock::now () + std::chrono::seconds (120);
    while (!everyone_sees_everyone (members) && Clock::now () < deadline)
      std::this_thread::sleep_for (std::chrono::milliseconds (100));
    if (!everyone_sees_everyone (members)) {
      std::printf ("%7zu  the room did not form in 120 s\n", size);
      for (auto & m : members) {
        std::printf ("  %s sees:", m->name ().c_str ());
        for (const auto & t : latest_tiles (*m))
          std::printf (" [%s %s]", t.media.c_str (), t.label.c_str ());
        std::printf ("\n");
        m->stop ();
      }
      continue;
    }
    double join = std::chrono::duration<double> (Clock::now () - last_start).count ();
    std::vector<double> before;
    for (auto & m : members)
      before.push_back (cpu_seconds (m->pid ()));
    auto t0 = Clock::now ();
    std::this_thread::sleep_for (std::chrono::seconds (seconds));
    double wall = std::chrono::duration<double> (Clock::now () - t0).count ();
    double sum = 0, most = 0;
    for (size_t i = 0; i < members.size (); i++) {
      double share = (cpu_seconds (members[i]->pid ()) - before[i]) / wall * 100;
      sum += share;
      most = std::max (most, share);
    }
    std::printf ("%7zu  %16.0f%%  %15.0f%%  %.1f s (the last member to start)\n", size, sum / size, most, join);
    std::fflush (stdout);
    for (auto & m : members)
      m->stop ();
  }
  return 0;
}
