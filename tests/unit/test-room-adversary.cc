/* The adversarial driver (room-adversary.h) over a fixed set of seeds: each
 * seed's bytes choose up to 400 actions of an attacker who controls the
 * bus and holds an expired token's device, an ordinary member's device and
 * a former member's; every invariant is checked after every action. */
#include "room-adversary.h"

#include <gtest/gtest.h>

#include <random>

using namespace roomsim;

namespace {

std::vector<uint8_t>
seed_bytes (uint32_t seed, size_t size)
{
  std::mt19937 rng (seed);
  std::vector<uint8_t> bytes (size);
  for (auto & b : bytes)
    b = static_cast<uint8_t> (rng ());
  return bytes;
}

}  // namespace

class AdversarySeeds : public ::testing::TestWithParam<uint32_t> {};

TEST_P (AdversarySeeds, NoInvariantBreaks)
{
  auto input = seed_bytes (GetParam (), 4096);
  Adversary adversary (input.data (), input.size ());
  AdversaryReport report = adversary.run ();
  for (const auto & v : report.violations)
    ADD_FAILURE () << "seed " << GetParam () << ": " << v;
  EXPECT_GT (report.actions, 100u);
  EXPECT_GT (report.checks, report.actions);
  std::printf ("seed %u: %zu actions, %zu roster checks, %zu frames tried, %zu violations\n", GetParam (),
      report.actions, report.checks, report.frames, report.violations.size ());
}

INSTANTIATE_TEST_SUITE_P (Fixed, AdversarySeeds, ::testing::Range (1u, 41u));
