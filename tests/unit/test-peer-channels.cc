/* PeerChannels alone: what one side seals the other opens, only in the
 * same room; a few channels per peer; early messages bounded. */
#include <gst/sframe/keys/peer-channels.h>

#include <gtest/gtest.h>

using sframe::ByteView;
using sframe::SecureBytes;
using sframe::Status;
using namespace sframe::room;

namespace {

const std::string kRoom = "room-1";

struct Side {
  sframe::hpke::KeyPair keys;
  PeerChannels channels;

  Side () { EXPECT_EQ (sframe::hpke::generate_key_pair (&keys), Status::ok); }
};

std::vector<uint8_t>
seal (OutChannel & channel, const std::string & text)
{
  std::vector<uint8_t> ciphertext;
  const uint8_t aad[] = { 1, 2, 3 };
  EXPECT_EQ (channel.context->seal_at (channel.next_seq, ByteView (aad, sizeof aad),
                 ByteView (reinterpret_cast<const uint8_t *> (text.data ()), text.size ()), &ciphertext),
      Status::ok);
  return ciphertext;
}

bool
opens (InChannel & channel, uint64_t seq, const std::vector<uint8_t> & ciphertext, const std::string & text)
{
  SecureBytes plaintext;
  const uint8_t aad[] = { 1, 2, 3 };
  if (channel.context->open_at (seq, ByteView (aad, sizeof aad), ByteView (ciphertext), &plaintext) != Status::ok)
    return false;
  return std::string (plaintext.data (), plaintext.data () + plaintext.size ()) == text;
}

}  // namespace

TEST (PeerChannels, WhatOneSideSealsTheOtherOpens)
{
  Side alice, bob;
  std::vector<uint8_t> enc;
  OutChannel *out = alice.channels.open (ByteView (bob.keys.public_key), kRoom, &enc);
  ASSERT_NE (out, nullptr);
  EXPECT_NE (out->id, 0u);
  ASSERT_TRUE (bob.channels.accept (out->id, ByteView (enc), bob.keys, kRoom));
  ASSERT_TRUE (bob.channels.has (out->id));
  auto ciphertext = seal (*out, "key");
  EXPECT_TRUE (opens (*bob.channels.in (out->id), 0, ciphertext, "key"));
  EXPECT_FALSE (opens (*bob.channels.in (out->id), 1, ciphertext, "key")) << "at another sequence number";
}

TEST (PeerChannels, AChannelOfAnotherRoomDoesNotOpen)
{
  Side alice, bob;
  std::vector<uint8_t> enc;
  OutChannel *out = alice.channels.open (ByteView (bob.keys.public_key), "room-2", &enc);
  ASSERT_NE (out, nullptr);
  ASSERT_TRUE (bob.channels.accept (out->id, ByteView (enc), bob.keys, kRoom));
  EXPECT_FALSE (opens (*bob.channels.in (out->id), 0, seal (*out, "key"), "key"));
}

TEST (PeerChannels, ASetupThatIsNotAKeyIsRefused)
{
  Side bob;
  std::vector<uint8_t> garbage (31, 0x42);
  EXPECT_FALSE (bob.channels.accept (7, ByteView (garbage), bob.keys, kRoom));
  EXPECT_FALSE (bob.channels.has (7));
}

/* The oldest setup goes, whatever its id: ids are random. */
TEST (PeerChannels, AtMostFourChannelsFromAPeerTheOldestGoes)
{
  Side alice, bob;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; i++) {
    std::vector<uint8_t> enc;
    OutChannel *out = alice.channels.open (ByteView (bob.keys.public_key), kRoom, &enc);
    ASSERT_NE (out, nullptr);
    uint64_t id = i == 0 ? UINT64_MAX : out->id;   /* the first, with the largest id */
    ASSERT_TRUE (bob.channels.accept (id, ByteView (enc), bob.keys, kRoom));
    ids.push_back (id);
  }
  EXPECT_FALSE (bob.channels.has (ids[0]));
  for (int i = 1; i < 5; i++)
    EXPECT_TRUE (bob.channels.has (ids[i]));
}

TEST (PeerChannels, OnlyAnAckOfTheLastKeySentProvesTheChannel)
{
  Side alice, bob;
  std::vector<uint8_t> enc;
  alice.channels.acked (5);
  EXPECT_FALSE (alice.channels.proven ()) << "no channel yet";
  ASSERT_NE (alice.channels.open (ByteView (bob.keys.public_key), kRoom, &enc), nullptr);
  alice.channels.sent_key (5);
  alice.channels.sent_key (6);
  alice.channels.acked (5);
  EXPECT_FALSE (alice.channels.proven ()) << "an older key: maybe sent on an older channel";
  alice.channels.acked (6);
  EXPECT_TRUE (alice.channels.proven ());
  ASSERT_NE (alice.channels.open (ByteView (bob.keys.public_key), kRoom, &enc), nullptr);
  EXPECT_FALSE (alice.channels.proven ()) << "a fresh channel proves nothing yet";
}

TEST (PeerChannels, EarlyMessagesAreBoundedAndTakenOnce)
{
  PeerChannels channels;
  wire::Envelope envelope;
  envelope.kind = wire::Envelope::Kind::channel_message;
  for (int i = 0; i < 100; i++)
    channels.keep_early (envelope);
  EXPECT_TRUE (channels.has_early ());
  EXPECT_EQ (channels.take_early ().size (), 32u);
  EXPECT_FALSE (channels.has_early ());
  EXPECT_TRUE (channels.take_early ().empty ());
}
