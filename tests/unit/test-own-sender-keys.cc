/* OwnSenderKeys alone: generations, the pending key and the switch, the
 * join's ratchet, and replaced keys until their grace ends. */
#include <gst/sframe/core/key.h>
#include <gst/sframe/keys/own-sender-keys.h>
#include <gst/sframe/keys/received-keys.h>

#include <gtest/gtest.h>

using sframe::CipherSuite;
using sframe::SecureBytes;
using sframe::Status;
using sframe::room::OwnSenderKeys;
using sframe::room::RetiringKeys;
using sframe::room::sender_key_id;

namespace {

constexpr CipherSuite kSuite = CipherSuite::aes_128_gcm_sha256_128;
constexpr uint32_t kIndex = 5;

SecureBytes
material (uint8_t fill)
{
  SecureBytes key (32);
  std::fill (key.data (), key.data () + key.size (), fill);
  return key;
}

}  // namespace

TEST (OwnSenderKeys, AFreshKeyIsPendingUntilTheSwitch)
{
  OwnSenderKeys keys;
  EXPECT_FALSE (keys.switch_to_pending (100)) << "nothing pending";
  const auto & first = keys.make_pending (material (1), kIndex, "initial", 100);
  EXPECT_EQ (first.generation, 0u);
  EXPECT_EQ (first.key_id, sender_key_id (kIndex, 0));
  EXPECT_FALSE (keys.current ().valid);
  EXPECT_TRUE (keys.switch_to_pending (100));
  EXPECT_TRUE (keys.current ().valid);
  EXPECT_FALSE (keys.pending ().valid);

  keys.make_pending (material (2), kIndex, "leave", 200);
  EXPECT_STREQ (keys.pending_reason (), "leave");
  EXPECT_EQ (keys.pending ().generation, 1u);
  EXPECT_EQ (keys.awaited ().key_id, keys.pending ().key_id) << "acks are awaited for the pending key";
  EXPECT_EQ (keys.current ().generation, 0u) << "still encrypting with the old one";
}

/* A second removal before the switch: a newer generation again, and the
 * unused pending key retires. */
TEST (OwnSenderKeys, AKeyMadeWhileOneIsPendingTakesTheNextGeneration)
{
  OwnSenderKeys keys;
  keys.make_pending (material (1), kIndex, "initial", 0);
  keys.switch_to_pending (0);
  keys.make_pending (material (2), kIndex, "leave", 100);
  keys.make_pending (material (3), kIndex, "leave", 150);
  EXPECT_EQ (keys.pending ().generation, 2u);
  EXPECT_EQ (keys.expire (150), (std::vector<uint64_t>{ sender_key_id (kIndex, 1) }));
}

TEST (OwnSenderKeys, TheSwitchTimeIsSetOncePerKey)
{
  OwnSenderKeys keys;
  keys.make_pending (material (1), kIndex, "initial", 0);
  keys.switch_by (1000);
  keys.switch_by (2000);
  EXPECT_EQ (keys.switch_at_ms (), 1000);
  keys.switch_to_pending (0);
  EXPECT_EQ (keys.switch_at_ms (), 0);
  keys.switch_by (3000);
  EXPECT_EQ (keys.switch_at_ms (), 3000);
}

TEST (OwnSenderKeys, AJoinRatchetsTheCurrentKeyOneWay)
{
  OwnSenderKeys keys;
  EXPECT_FALSE (keys.ratchet (kSuite, kIndex, 0)) << "no key yet";
  keys.make_pending (material (1), kIndex, "initial", 0);
  keys.switch_to_pending (0);
  SecureBytes expected;
  ASSERT_EQ (sframe::ratchet_base_key (kSuite, keys.current ().key.view (), &expected), Status::ok);
  EXPECT_TRUE (keys.ratchet (kSuite, kIndex, 400));
  EXPECT_EQ (keys.current ().generation, 1u);
  EXPECT_EQ (keys.current ().key_id, sender_key_id (kIndex, 1));
  EXPECT_TRUE (keys.current ().key.equals (expected.view ()));
  EXPECT_EQ (keys.next_expiry_ms (), 400) << "generation 0 retires";
}

TEST (OwnSenderKeys, DroppingForgetsEveryKey)
{
  OwnSenderKeys keys;
  keys.make_pending (material (1), kIndex, "initial", 0);
  keys.switch_to_pending (0);
  keys.make_pending (material (2), kIndex, "leave", 0);
  EXPECT_FALSE (keys.ratchet (kSuite, kIndex, 500)) << "the pending key first";
  keys.switch_to_pending (0);
  EXPECT_TRUE (keys.ratchet (kSuite, kIndex, 500));
  keys.make_pending (material (3), kIndex, "leave", 0);
  auto all = keys.drop_all ();
  std::sort (all.begin (), all.end ());
  EXPECT_EQ (all, (std::vector<uint64_t>{ sender_key_id (kIndex, 0), sender_key_id (kIndex, 1),
                      sender_key_id (kIndex, 2), sender_key_id (kIndex, 3) }));
  EXPECT_FALSE (keys.current ().valid);
  EXPECT_FALSE (keys.pending ().valid);
  EXPECT_EQ (keys.next_expiry_ms (), INT64_MAX);
}

TEST (RetiringKeys, AKeyInUseAgainIsKept)
{
  RetiringKeys retiring;
  retiring.add (1, 100);
  retiring.add (2, 50);
  retiring.keep (1);
  EXPECT_EQ (retiring.next_ms (), 50);
  EXPECT_EQ (retiring.expire (1000), (std::vector<uint64_t>{ 2 }));
  EXPECT_TRUE (retiring.take_all ().empty ());
}
