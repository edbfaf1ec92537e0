/* The key protocol's adversarial driver (tests/unit/room-adversary.h) as a
 * libFuzzer target: the input bytes are the attacker's choices (which
 * action, whom, how long), so the fuzzer searches the space of action
 * sequences for one that breaks an invariant. A violation aborts with the
 * invariant it broke. Each input forms a room of three first, so a run is
 * tens of milliseconds; the seeds of test-room-adversary.cc are a corpus. */
#include "room-adversary.h"

#include <cstdio>
#include <cstdlib>

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  roomsim::Adversary adversary (data, size);
  roomsim::AdversaryReport report = adversary.run (200);
  if (!report.ok ()) {
    for (const auto & violation : report.violations)
      std::fprintf (stderr, "invariant broken: %s\n", violation.c_str ());
    std::abort ();
  }
  return 0;
}
