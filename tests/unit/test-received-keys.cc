/* ReceivedKeys alone: which of a peer's keys we hold, how a join's
 * ratchet follows the peer's, and when replaced keys go. */
#include <gst/sframe/core/key.h>
#include <gst/sframe/keys/received-keys.h>

#include <gtest/gtest.h>

using sframe::ByteView;
using sframe::CipherSuite;
using sframe::SecureBytes;
using sframe::Status;
using sframe::room::ReceivedKeys;
using sframe::room::sender_key_id;

namespace {

constexpr CipherSuite kSuite = CipherSuite::aes_128_gcm_sha256_128;
constexpr uint32_t kIndex = 3;

SecureBytes
material (uint8_t fill)
{
  SecureBytes key (32);
  std::fill (key.data (), key.data () + key.size (), fill);
  return key;
}

SecureBytes
ratcheted (const SecureBytes & key)
{
  SecureBytes next;
  EXPECT_EQ (sframe::ratchet_base_key (kSuite, key.view (), &next), Status::ok);
  return next;
}

ReceivedKeys::Offer
offer (ReceivedKeys & keys, uint64_t epoch, uint32_t generation, const SecureBytes & key, int64_t retire_at = 100)
{
  return keys.offer (epoch, generation, sender_key_id (kIndex, generation), key.view (), retire_at);
}

}  // namespace

TEST (ReceivedKeys, TheNewestGenerationIsCurrentAndRepeatsAreCounted)
{
  ReceivedKeys keys;
  SecureBytes first = material (1), second = material (2);
  EXPECT_EQ (offer (keys, 4, 0, first), ReceivedKeys::Offer::installed);
  EXPECT_EQ (offer (keys, 4, 0, first), ReceivedKeys::Offer::repeat);
  EXPECT_EQ (offer (keys, 4, 0, first), ReceivedKeys::Offer::repeat);
  EXPECT_EQ (keys.repeats (), 2u);
  EXPECT_EQ (offer (keys, 5, 1, second), ReceivedKeys::Offer::installed);
  EXPECT_EQ (keys.repeats (), 0u);
  EXPECT_EQ (offer (keys, 4, 0, first), ReceivedKeys::Offer::older) << "a delayed older key";
  EXPECT_TRUE (keys.current ().key.equals (second.view ()));
}

/* The peer ratchets at the join of epoch 6 and sends the ratcheted key to
 * the joiner; we ratchet what we hold. Either order ends with the key the
 * peer uses. */
TEST (ReceivedKeys, AJoinRatchetsTheKeyOnce)
{
  SecureBytes base = material (7);
  SecureBytes peers_next = ratcheted (base);

  ReceivedKeys in_order;
  offer (in_order, 5, 0, base);
  EXPECT_TRUE (in_order.ratchet_for_join (kSuite, 6, kIndex, 100));
  EXPECT_EQ (in_order.current ().generation, 1u);
  EXPECT_EQ (in_order.current ().key_id, sender_key_id (kIndex, 1));
  EXPECT_TRUE (in_order.current ().key.equals (peers_next.view ()));
  EXPECT_EQ (offer (in_order, 6, 1, peers_next), ReceivedKeys::Offer::repeat) << "the peer's resend: the same key";

  /* Its ratcheted key (sent at epoch 6) overtook the roster change. */
  ReceivedKeys overtaken;
  offer (overtaken, 5, 0, base);
  EXPECT_EQ (offer (overtaken, 6, 1, peers_next), ReceivedKeys::Offer::installed);
  EXPECT_FALSE (overtaken.ratchet_for_join (kSuite, 6, kIndex, 100)) << "it already covers the join";
  EXPECT_EQ (overtaken.current ().generation, 1u);
  EXPECT_TRUE (overtaken.current ().key.equals (peers_next.view ()));

  EXPECT_TRUE (overtaken.ratchet_for_join (kSuite, 7, kIndex, 100)) << "the next join ratchets again";
  EXPECT_EQ (overtaken.current ().generation, 2u);
}

TEST (ReceivedKeys, NothingHeldNothingRatcheted)
{
  ReceivedKeys keys;
  EXPECT_FALSE (keys.ratchet_for_join (kSuite, 2, kIndex, 100));
  EXPECT_FALSE (keys.has ());
  EXPECT_FALSE (keys.covers (0));
}

TEST (ReceivedKeys, ReplacedKeysGoWhenTheirGraceEnds)
{
  ReceivedKeys keys;
  offer (keys, 1, 0, material (1));
  offer (keys, 2, 1, material (2), 500);          /* generation 0 retires at 500 */
  keys.ratchet_for_join (kSuite, 3, kIndex, 300); /* generation 1 at 300 */
  EXPECT_EQ (keys.next_expiry_ms (), 300);
  EXPECT_TRUE (keys.expire (299).empty ());
  EXPECT_EQ (keys.expire (300), (std::vector<uint64_t>{ sender_key_id (kIndex, 1) }));
  EXPECT_EQ (keys.expire (1000), (std::vector<uint64_t>{ sender_key_id (kIndex, 0) }));
  EXPECT_EQ (keys.next_expiry_ms (), INT64_MAX);
  EXPECT_TRUE (keys.has ());
}

TEST (ReceivedKeys, AForgottenPeerKeepsNothingCurrent)
{
  ReceivedKeys keys;
  offer (keys, 1, 0, material (1));
  keys.forget (200);
  EXPECT_FALSE (keys.has ());
  EXPECT_EQ (keys.expire (200), (std::vector<uint64_t>{ sender_key_id (kIndex, 0) }));

  offer (keys, 2, 1, material (2));
  offer (keys, 3, 2, material (3), 900);
  auto all = keys.drop_all ();
  std::sort (all.begin (), all.end ());
  EXPECT_EQ (all, (std::vector<uint64_t>{ sender_key_id (kIndex, 1), sender_key_id (kIndex, 2) }));
  EXPECT_FALSE (keys.has ());
  EXPECT_TRUE (keys.expire (INT64_MAX).empty ());
}
