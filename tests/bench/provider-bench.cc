/* The key protocol's own cost per leave: N sender-key providers in the
 * room simulator of the unit tests (tests/unit/room-sim.h: one thread,
 * simulated clock and bus, no GStreamer), with keymanager's default
 * timers. What is measured is the CPU of the protocol alone, summed over
 * every member, without the scheduling of N worker threads and the bus
 * dispatch that sframe-rotation-bench also measures. That makes it steady
 * enough to compare two versions of the protocol on a noisy machine.
 *
 * Per N: the room forms (everyone starts at once, an open room), then
 * `rounds` times the last member leaves; timed from its leave until every
 * remaining member rotated for it (a new sender key, reason "leave"):
 * - CPU: this thread's CPU time inside the simulator's steps (checking
 *   whether everyone rotated is not counted);
 * - simulated time: the protocol's latency with no CPU cost (its timers
 *   and the simulated bus's 2 ms latency);
 * - messages and bytes that crossed the bus meanwhile.
 *
 *   sframe-provider-bench [--sizes 10,50,100,200] [--rounds 3]
 *
 * SFRAME_BENCH_PERF_CTL profiles the leaves only (bench-common.h).
 *
 * Prints a Markdown table; docs/performance.md gives the latest figures. */
#include "../unit/room-sim.h"
#include "bench-common.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

using namespace roomsim;

namespace {

/* keymanager's property defaults (room::Timing, as gstkeymanager-settings.h uses them). */
void
use_keymanager_timing (Sim & sim)
{
  sim.timing.discovery_ms = 500;
  sim.timing.resend_ms = 1000;
  sim.timing.heartbeat_ms = 1000;
  sim.timing.liveness_ms = 5000;
  sim.timing.switch_timeout_ms = 1000;
  sim.timing.grace_ms = 2000;
}

size_t
leave_rotations (const Member & m)
{
  return std::count_if (m.rotations.begin (), m.rotations.end (),
      [] (const auto & r) { return r.second == "leave"; });
}

struct LeaveResult {
  bool done = false;
  double cpu_ms = 0;
  int64_t simulated_ms = 0;
  size_t messages = 0;
  size_t bytes = 0;
};

LeaveResult
time_leave (Sim & sim, std::vector<Member *> & present)
{
  constexpr int64_t kCheckEveryMs = 5;
  constexpr int64_t kTimeoutMs = 60000;
  Member *leaver = present.back ();
  present.pop_back ();
  std::vector<size_t> before;
  for (Member *m : present)
    before.push_back (leave_rotations (*m));
  size_t logged = sim.log.size ();
  LeaveResult result;
  int64_t t0 = sim.now_ms;
  perf_control ("enable");
  sim.stop (*leaver);
  while (sim.now_ms - t0 < kTimeoutMs) {
    double step0 = cpu_clock_ms (CLOCK_THREAD_CPUTIME_ID);
    sim.run_for (kCheckEveryMs);
    result.cpu_ms += cpu_clock_ms (CLOCK_THREAD_CPUTIME_ID) - step0;
    bool all = true;
    for (size_t i = 0; i < present.size () && all; i++)
      all = leave_rotations (*present[i]) > before[i];
    if (all) {
      result.done = true;
      break;
    }
  }
  perf_control ("disable");
  result.simulated_ms = sim.now_ms - t0;
  for (size_t i = logged; i < sim.log.size (); i++) {
    result.messages++;
    result.bytes += sim.log[i].payload.size ();
  }
  return result;
}


bool
run_size (int n, int rounds)
{
  Sim sim;
  use_keymanager_timing (sim);
  std::vector<Member *> present;
  for (int i = 0; i < n; i++)
    present.push_back (&sim.add ("m" + std::to_string (i), i == 0 ? token::Role::host : token::Role::member));
  double form0 = cpu_clock_ms (CLOCK_THREAD_CPUTIME_ID);
  if (!sim.run_until ([&] { return sim.converged (present) && sim.keys_delivered (present); }, 600000)) {
    std::fprintf (stderr, "N=%d: the room did not form\n", n);
    return false;
  }
  double form_cpu_s = (cpu_clock_ms (CLOCK_THREAD_CPUTIME_ID) - form0) / 1e3;
  int64_t formed_at = sim.now_ms;
  sim.run_for (4000);   /* past every grace period of the formation */
  sim.log.clear ();

  std::vector<double> cpu, simulated, messages, bytes;
  for (int r = 0; r < rounds && present.size () > 2; r++) {
    LeaveResult leave = time_leave (sim, present);
    if (!leave.done) {
      std::fprintf (stderr, "N=%d: a leave did not complete within 60 simulated s\n", n);
      return false;
    }
    cpu.push_back (leave.cpu_ms);
    simulated.push_back (static_cast<double> (leave.simulated_ms));
    messages.push_back (static_cast<double> (leave.messages));
    bytes.push_back (static_cast<double> (leave.bytes));
    sim.run_for (4000);
    sim.log.clear ();
  }
  std::printf ("| %d | %.1f s CPU, %.1f simulated s | %s | %s | %s | %s |\n", n, form_cpu_s, formed_at / 1e3,
      describe_sorted (cpu).c_str (), describe_sorted (simulated).c_str (), describe_sorted (messages).c_str (),
      describe_sorted (bytes).c_str ());
  std::fflush (stdout);
  return true;
}


}  // namespace

int
main (int argc, char ** argv)
{
  std::vector<int> sizes { 10, 50, 100, 200 };
  int rounds = 3;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc) {
      sizes = parse_sizes (argv[++i]);
      for (int & size : sizes)
        size = std::max (2, size);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::max (1, std::stoi (argv[++i]));
    } else {
      std::fprintf (stderr, "usage: %s [--sizes 10,50,100,200] [--rounds 3]\n", argv[0]);
      return 2;
    }
  }
  std::printf ("Each leave timed %d times; values sorted.\n\n", rounds);
  std::printf ("| N | room formed in | CPU ms per leave (all members) | simulated ms per leave | messages per leave | "
      "bytes per leave |\n");
  std::printf ("|---:|---|---|---|---|---|\n");
  bool ok = true;
  for (int n : sizes)
    ok = run_size (n, rounds) && ok;
  return ok ? 0 : 1;
}
