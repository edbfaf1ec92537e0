/* The adversarial driver (room-adversary.h) over a fixed set of seeds: each
 * seed's bytes choose up to 400 actions of an attacker who controls the
 * bus and holds an expired token's device, an ordinary member's device and
 * a former member's; every invariant is checked after every action. */
#include "room-adversary.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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

/* Inputs that once broke an invariant (tests/unit/adversary-inputs/, each
 * named after what it found), replayed as the fuzzer ran them (200
 * actions). */
TEST (AdversaryFindings, StayFixed)
{
  const char *dir = std::getenv ("ADVERSARY_INPUTS");
  ASSERT_NE (dir, nullptr) << "meson test sets ADVERSARY_INPUTS";
  size_t inputs = 0;
  for (const auto & entry : std::filesystem::directory_iterator (dir)) {
    std::ifstream in (entry.path (), std::ios::binary);
    std::vector<uint8_t> input ((std::istreambuf_iterator<char> (in)), std::istreambuf_iterator<char> ());
    Adversary adversary (input.data (), input.size ());
    AdversaryReport report = adversary.run (200);
    for (const auto & v : report.violations)
      ADD_FAILURE () << entry.path ().filename () << ": " << v;
    inputs++;
  }
  EXPECT_GE (inputs, 1u);
}
