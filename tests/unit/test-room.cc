/* The key protocol on a simulated bus (room-sim.h): membership, forward and
 * backward secrecy, refusals, a hostile bus, and rotations under media. */
#include "room-attacker.h"

#include <gst/sframe/keys/room-messages.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

#include <cstdio>
#include <deque>
#include <functional>

using namespace roomsim;

namespace {

/* A hello as a hostile client would build it, signed by `signer`. */
std::vector<uint8_t>
forge_hello (const Sim & sim, const Identity & signer, const std::string & token, int64_t t)
{
  hpke::KeyPair session;
  hpke::generate_key_pair (&session);
  json hello = { { "v", 1 }, { "type", "hello" }, { "room", sim.room () }, { "from", signer.fingerprint () },
    { "sid", "00000000000000aa" }, { "seq", 1 }, { "token", token },
    { "hpk", base64url_encode (ByteView (session.public_key)) }, { "t", t } };
  return wire::make_signed (signer, hello.dump ());
}

bool
any_message_to (const Sim & sim, const std::string & fp)
{
  std::string subject = wire::subject_to (sim.room (), fp);
  for (const auto & m : sim.log)
    if (m.subject == subject)
      return true;
  return false;
}

/* Forms a room of `n` members (the first a host) and waits for keys. */
std::vector<Member *>
form_room (Sim & sim, size_t n)
{
  std::vector<Member *> group = start_room (sim, n);
  EXPECT_EQ (group.size (), n) << "the room did not form";
  return group;
}

/* Every member of `who` has a new sender key (not the one in `before`,
 * in the same order), the same roster, and every key of the others. */
bool
all_rotated (Sim & sim, const std::vector<Member *> & who, const std::vector<uint64_t> & before)
{
  for (size_t i = 0; i < who.size (); i++)
    if (who[i]->sender_id () == before[i])
      return false;
  return sim.converged (who) && sim.keys_delivered (who);
}

std::vector<uint64_t>
sender_ids (const std::vector<Member *> & who)
{
  std::vector<uint64_t> ids;
  for (const Member *m : who)
    ids.push_back (m->sender_id ());
  return ids;
}

/* The bus holds back every channel message `which` selects (a copy goes
 * to `held`, for the test to let through when it likes). */
void
hold_channel_messages (Sim & sim, std::deque<BusMessage> & held,
    std::function<bool (const wire::ChannelHeader &)> which)
{
  sim.interceptor = [&held, which] (BusMessage & message) {
    wire::Envelope envelope;
    if (wire::parse_envelope (ByteView (message.payload), &envelope) &&
        envelope.kind == wire::Envelope::Kind::channel_message && which (envelope.channel)) {
      held.push_back (message);
      return Verdict::drop;
    }
    return Verdict::deliver;
  };
}

}  // namespace

/* The channel AAD, spelled out: label with its NUL, both fingerprints, id
 * and sequence number as 16 lowercase hex digits each, then the room. */
TEST (Wire, ChannelAadIsFixedWidthFieldsThenTheRoom)
{
  wire::ChannelHeader header { std::string (64, 'a'), std::string (63, '0') + "f", 0x0102030405060708ull, 0xabull };
  std::string expected = std::string ("gst-sframe/1 channel") + '\0' + header.from + header.to +
      "0102030405060708" + "00000000000000ab" + "board";
  auto aad = wire::channel_aad ("board", header);
  EXPECT_EQ (std::string (aad.begin (), aad.end ()), expected);
  /* Written into a buffer that held a longer AAD before: the same bytes. */
  std::vector<uint8_t> reused (500, 0xee);
  wire::write_channel_aad ("board", header, &reused);
  EXPECT_EQ (reused, aad);
}

/* A signed message's payload is reachable only through verify (): under
 * the key whose fingerprint is the named sender, for our room, of this
 * version. Before that, only the sender, its session and the claimed type
 * are readable. */
TEST (Wire, SignedMessagesAreReadOnlyOnceVerified)
{
  Identity alice, bob;
  ASSERT_EQ (Identity::generate (&alice), Status::ok);
  ASSERT_EQ (Identity::generate (&bob), Status::ok);
  auto envelope_of = [] (const std::vector<uint8_t> & bytes) {
    wire::Envelope envelope;
    EXPECT_TRUE (wire::parse_envelope (ByteView (bytes), &envelope));
    return envelope;
  };
  json beat = { { "v", 1 }, { "type", "beat" }, { "room", "board" }, { "from", alice.fingerprint () },
    { "sid", "00000000000000aa" }, { "seq", 7 }, { "epoch", 3 }, { "hash", std::string (64, 'c') } };
  wire::Envelope good = envelope_of (wire::make_signed (alice, beat.dump ()));
  UnverifiedMessage message;
  ASSERT_TRUE (message.parse (good));
  EXPECT_EQ (message.sender (), alice.fingerprint ());
  EXPECT_EQ (message.session (), 0xaau);
  EXPECT_EQ (message.claimed_type (), MessageType::beat);
  VerifiedMessage verified;
  EXPECT_FALSE (message.verify (bob.public_key (), "board", &verified));   /* another key */
  ASSERT_TRUE (message.parse (good));
  EXPECT_FALSE (message.verify (alice.public_key (), "other", &verified));   /* another room */
  ASSERT_TRUE (message.parse (good));
  ASSERT_TRUE (message.verify (alice.public_key (), "board", &verified));
  EXPECT_EQ (verified.type (), MessageType::beat);
  EXPECT_EQ (verified.seq (), 7u);
  Beat parsed;
  ASSERT_TRUE (parse_beat (verified, &parsed));
  EXPECT_EQ (parsed.epoch, 3u);
  /* Bob signs a message naming alice as its sender: his key is not hers. */
  wire::Envelope forged = envelope_of (wire::make_signed (bob, beat.dump ()));
  ASSERT_TRUE (message.parse (forged));
  EXPECT_FALSE (message.verify (bob.public_key (), "board", &verified));
  EXPECT_FALSE (message.verify (alice.public_key (), "board", &verified));
  /* Another version, or no sequence number: refused after the signature. */
  for (const char *field : { "v", "seq" }) {
    json bad = beat;
    bad[field] = field == std::string ("v") ? json (2) : json ("7");
    wire::Envelope envelope = envelope_of (wire::make_signed (alice, bad.dump ()));
    ASSERT_TRUE (message.parse (envelope));
    EXPECT_FALSE (message.verify (alice.public_key (), "board", &verified)) << field;
  }
  /* No sender or session that names a key: not even parsed. */
  for (const char *field : { "from", "sid" }) {
    json bad = beat;
    bad[field] = "x";
    wire::Envelope envelope = envelope_of (wire::make_signed (alice, bad.dump ()));
    EXPECT_FALSE (message.parse (envelope)) << field;
  }
}

/* The provider parses every message into one envelope, reused: nothing
 * of the last message may leak into the next, whatever its form. */
TEST (Wire, AReusedEnvelopeHoldsOnlyTheLastMessage)
{
  Identity signer;
  ASSERT_EQ (Identity::generate (&signer), Status::ok);
  auto signed_bytes = wire::make_signed (signer, R"({"type":"beat"})");
  wire::ChannelHeader header { std::string (64, 'a'), std::string (64, 'b'), 7, 9 };
  std::vector<uint8_t> long_ct (64, 0x11), short_ct (20, 0x22);
  auto long_channel = wire::make_channel (header, {long_ct.data (), long_ct.size ()});
  header.from = std::string (64, 'c');
  auto short_channel = wire::make_channel (header, {short_ct.data (), short_ct.size ()});

  wire::Envelope envelope;
  ASSERT_TRUE (wire::parse_envelope (ByteView (long_channel), &envelope));
  ASSERT_TRUE (wire::parse_envelope (ByteView (short_channel), &envelope));
  EXPECT_EQ (envelope.channel.from, std::string (64, 'c'));
  EXPECT_EQ (envelope.ciphertext, short_ct);
  ASSERT_TRUE (wire::parse_envelope (ByteView (signed_bytes), &envelope));
  EXPECT_EQ (envelope.kind, wire::Envelope::Kind::signed_message);
  EXPECT_TRUE (envelope.channel.from.empty ());
  EXPECT_TRUE (envelope.ciphertext.empty ());
  ASSERT_TRUE (wire::parse_envelope (ByteView (short_channel), &envelope));
  EXPECT_EQ (envelope.kind, wire::Envelope::Kind::channel_message);
  EXPECT_TRUE (envelope.payload.empty ());
  EXPECT_TRUE (envelope.signature.empty ());
}

TEST (Wire, ChannelEnvelopeRoundTripsAndRefusesAnythingElse)
{
  wire::ChannelHeader header { std::string (64, 'a'), std::string (63, '0') + "f", 0x0102030405060708ull, 42 };
  std::vector<uint8_t> ct (40, 0x5c);
  auto bytes = wire::make_channel (header, {ct.data (), ct.size ()});
  wire::Envelope envelope;
  ASSERT_TRUE (wire::parse_envelope ({bytes.data (), bytes.size ()}, &envelope));
  EXPECT_EQ (envelope.kind, wire::Envelope::Kind::channel_message);
  EXPECT_EQ (envelope.channel.from, header.from);
  EXPECT_EQ (envelope.channel.to, header.to);
  EXPECT_EQ (envelope.channel.id, header.id);
  EXPECT_EQ (envelope.channel.n, header.n);
  EXPECT_EQ (envelope.ciphertext, ct);
  /* Shorter than a header and a tag: refused at every length. */
  for (size_t n = 0; n < 81 + 16; n++)
    EXPECT_FALSE (wire::parse_envelope ({bytes.data (), n}, &envelope)) << n;
  /* A fingerprint that is not 64 lowercase hex digits makes no envelope. */
  for (const std::string & bad : { std::string (64, 'G'), std::string (64, 'A'), std::string (63, 'a') + "g",
           std::string (62, 'a'), std::string (66, 'a'), std::string (63, 'a') + ":" }) {
    wire::ChannelHeader bad_from = header, bad_to = header;
    bad_from.from = bad;
    bad_to.to = bad;
    EXPECT_TRUE (wire::make_channel (bad_from, {ct.data (), ct.size ()}).empty ()) << bad;
    EXPECT_TRUE (wire::make_channel (bad_to, {ct.data (), ct.size ()}).empty ()) << bad;
  }
}

/* make_signed's own form is read without the JSON parser; every other
 * spelling of the same object still goes through it, and is read the same. */
TEST (Wire, SignedEnvelopeReadsTheSameInEverySpelling)
{
  Identity signer;
  ASSERT_EQ (Identity::generate (&signer), Status::ok);
  std::string payload = R"({"type":"beat","n":1})";
  auto bytes = wire::make_signed (signer, payload);
  std::string canonical (bytes.begin (), bytes.end ());
  json doc = json::parse (canonical);
  std::string p = doc["p"], sig = doc["s"];
  ASSERT_EQ (canonical, "{\"p\":\"" + p + "\",\"s\":\"" + sig + "\"}");
  char escape[8];
  std::snprintf (escape, sizeof escape, "\\u%04x", static_cast<unsigned> (p[0]));   /* same text, JSON-escaped */
  std::string escaped_p = escape + p.substr (1);
  std::vector<std::string> spellings = { canonical, "{\"s\":\"" + sig + "\",\"p\":\"" + p + "\"}",
    "{ \"p\" : \"" + p + "\", \"s\" : \"" + sig + "\" }\n", "{\"p\":\"" + escaped_p + "\",\"s\":\"" + sig + "\"}" };
  for (const auto & text : spellings) {
    wire::Envelope envelope;
    ASSERT_TRUE (wire::parse_envelope ({reinterpret_cast<const uint8_t *> (text.data ()), text.size ()}, &envelope))
        << text;
    EXPECT_EQ (envelope.kind, wire::Envelope::Kind::signed_message);
    EXPECT_EQ (envelope.payload, payload);
    EXPECT_TRUE (verify_signature_for (ByteView (signer.public_key ()), "message",
        ByteView (reinterpret_cast<const uint8_t *> (envelope.payload.data ()), envelope.payload.size ()),
        ByteView (envelope.signature)));
  }
  /* Refused either way: a short signature, a third member, a cut-off end,
   * a character outside base64url. */
  std::vector<std::string> bad = { "{\"p\":\"" + p + "\",\"s\":\"" + sig.substr (4) + "\"}",
    "{\"p\":\"" + p + "\",\"s\":\"" + sig + "\",\"x\":1}", canonical.substr (0, canonical.size () - 1),
    "{\"p\":\"" + p + "!\",\"s\":\"" + sig + "\"}" };
  for (const auto & text : bad) {
    wire::Envelope envelope;
    EXPECT_FALSE (wire::parse_envelope ({reinterpret_cast<const uint8_t *> (text.data ()), text.size ()}, &envelope))
        << text;
  }
}

TEST (Wire, ChannelMessagesRoundTripAndRefuseMalformedOnes)
{
  std::vector<uint8_t> key (32, 0x6b);
  wire::ChannelMessage m;
  m.type = wire::ChannelMessage::Type::key;
  m.epoch = 7;
  m.generation = 0x01020304;
  m.key_id = 0x0203;
  m.reason = "leave";
  m.secret = {key.data (), key.size ()};
  sframe::SecureBytes bytes = wire::encode_channel_message (m);
  wire::ChannelMessage out;
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_EQ (out.type, m.type);
  EXPECT_EQ (out.epoch, 7u);
  EXPECT_EQ (out.generation, 0x01020304u);
  EXPECT_EQ (out.key_id, 0x0203u);
  EXPECT_EQ (out.reason, "leave");
  EXPECT_EQ (std::vector<uint8_t> (out.secret.data, out.secret.data + out.secret.size), key);
  /* Cut inside the fixed part or the reason: refused. */
  for (size_t n = 0; n < 1 + 8 + 4 + 8 + 1 + 5; n++)
    EXPECT_FALSE (wire::decode_channel_message ({bytes.data (), n}, &out)) << n;

  wire::ChannelMessage ack;
  ack.type = wire::ChannelMessage::Type::ack;
  ack.key_id = 99;
  bytes = wire::encode_channel_message (ack);
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_EQ (out.type, wire::ChannelMessage::Type::ack);
  EXPECT_EQ (out.key_id, 99u);
  std::vector<uint8_t> longer (bytes.data (), bytes.data () + bytes.size ());
  longer.push_back (0);
  EXPECT_FALSE (wire::decode_channel_message ({longer.data (), longer.size ()}, &out));
  longer[0] = 9;   /* no such type */
  longer.pop_back ();
  EXPECT_FALSE (wire::decode_channel_message ({longer.data (), longer.size ()}, &out));
}

namespace {

/* A message whose size its own fields fix: refused one byte short, at
 * every length, and one byte long. */
void
expect_refused_when_cut_or_extended (const sframe::SecureBytes & bytes)
{
  wire::ChannelMessage out;
  for (size_t n = 0; n < bytes.size (); n++)
    EXPECT_FALSE (wire::decode_channel_message ({bytes.data (), n}, &out)) << n;
  std::vector<uint8_t> longer (bytes.data (), bytes.data () + bytes.size ());
  longer.push_back (0);
  EXPECT_FALSE (wire::decode_channel_message ({longer.data (), longer.size ()}, &out));
}

}  // namespace

TEST (Wire, HeldReportsRoundTripAndRefuseMalformedOnes)
{
  wire::ChannelMessage held;
  held.type = wire::ChannelMessage::Type::held;
  held.epoch = 12;
  held.held = { 0x0105, 0x0203, 0xffffffffffffff01ull };
  sframe::SecureBytes bytes = wire::encode_channel_message (held);
  ASSERT_EQ (bytes.size (), 1u + 8 + 2 + 3 * 8);
  wire::ChannelMessage out;
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_EQ (out.type, wire::ChannelMessage::Type::held);
  EXPECT_EQ (out.epoch, 12u);
  EXPECT_EQ (out.held, held.held);
  /* A count that does not match the length, either way: refused. */
  expect_refused_when_cut_or_extended (bytes);
  /* An empty report is well formed; more ids than a report may carry are not. */
  held.held.clear ();
  bytes = wire::encode_channel_message (held);
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_TRUE (out.held.empty ());
  held.held.assign (wire::kMaxHeldKeys + 1, 1);
  EXPECT_TRUE (wire::encode_channel_message (held).empty ());
  std::vector<uint8_t> huge { 0x04, 0, 0, 0, 0, 0, 0, 0, 12, 0xff, 0xff };
  huge.resize (11 + 8 * 0xffff);
  EXPECT_FALSE (wire::decode_channel_message ({huge.data (), huge.size ()}, &out));
}

TEST (Wire, AckedAnswersRoundTripAndRefuseMalformedOnes)
{
  wire::ChannelMessage acked;
  acked.type = wire::ChannelMessage::Type::acked;
  acked.epoch = 9;
  acked.key_id = 0x0305;
  acked.lacking = { 0x80, 0x01 };
  sframe::SecureBytes bytes = wire::encode_channel_message (acked);
  ASSERT_EQ (bytes.size (), 1u + 8 + 8 + 2 + 2);
  wire::ChannelMessage out;
  out.lacking = { 1, 2, 3 };   /* a reused message keeps nothing of the last */
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_EQ (out.type, wire::ChannelMessage::Type::acked);
  EXPECT_EQ (out.epoch, 9u);
  EXPECT_EQ (out.key_id, 0x0305u);
  EXPECT_EQ (out.lacking, acked.lacking);
  /* A length that does not match, either way: refused. */
  expect_refused_when_cut_or_extended (bytes);
  /* "Everyone holds it" has no bitmap. */
  acked.lacking.clear ();
  bytes = wire::encode_channel_message (acked);
  ASSERT_TRUE (wire::decode_channel_message (bytes.view (), &out));
  EXPECT_TRUE (out.lacking.empty ());
  /* No bitmap longer than a roster of kMaxHeldKeys, sent or received. */
  acked.lacking.assign (wire::kMaxLackingBytes + 1, 0xff);
  EXPECT_TRUE (wire::encode_channel_message (acked).empty ());
  std::vector<uint8_t> huge { 0x05, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 3, 5 };
  size_t length = wire::kMaxLackingBytes + 1;
  huge.push_back (static_cast<uint8_t> (length >> 8));
  huge.push_back (static_cast<uint8_t> (length));
  huge.resize (huge.size () + length, 0xff);
  EXPECT_FALSE (wire::decode_channel_message ({huge.data (), huge.size ()}, &out));
}

TEST (Channel, ExplicitSequenceMatchesTheHpkeContextSequence)
{
  hpke::KeyPair recipient;
  ASSERT_EQ (hpke::generate_key_pair (&recipient), Status::ok);
  std::vector<uint8_t> enc, info { 'i' }, aad { 'a' }, pt { 1, 2, 3 };
  hpke::Context sender, receiver;
  ASSERT_EQ (hpke::setup_sender (hpke::AeadId::aes_128_gcm, ByteView (recipient.public_key), ByteView (info),
                 hpke::SetupOptions (), &enc, &sender), Status::ok);
  ASSERT_EQ (hpke::setup_receiver (hpke::AeadId::aes_128_gcm, ByteView (enc), recipient, ByteView (info),
                 hpke::SetupOptions (), &receiver), Status::ok);
  std::vector<uint8_t> at0, at1, implicit0, implicit1;
  ASSERT_EQ (sender.seal_at (0, ByteView (aad), ByteView (pt), &at0), Status::ok);
  ASSERT_EQ (sender.seal_at (1, ByteView (aad), ByteView (pt), &at1), Status::ok);
  ASSERT_EQ (sender.seal (ByteView (aad), ByteView (pt), &implicit0), Status::ok);
  ASSERT_EQ (sender.seal (ByteView (aad), ByteView (pt), &implicit1), Status::ok);
  EXPECT_EQ (at0, implicit0);   /* RFC 9180 nonce for sequence 0 and 1 */
  EXPECT_EQ (at1, implicit1);
  SecureBytes opened;
  EXPECT_EQ (receiver.open_at (1, ByteView (aad), ByteView (at1), &opened), Status::ok);   /* out of order */
  EXPECT_TRUE (opened.equals (ByteView (pt)));
  EXPECT_NE (receiver.open_at (0, ByteView (aad), ByteView (at1), &opened), Status::ok);   /* wrong sequence */
  EXPECT_NE (receiver.open_at (1, ByteView (pt), ByteView (at1), &opened), Status::ok);    /* wrong aad */
}

TEST (Room, TwoMembersAgreeOnRosterAndKeys)
{
  Sim sim;
  auto group = form_room (sim, 2);
  RosterView a = group[0]->roster (), b = group[1]->roster ();
  EXPECT_EQ (a.epoch, b.epoch);
  EXPECT_EQ (a.security_code, b.security_code);
  EXPECT_EQ (a.security_code.size (), 12u * 5 + 11);
  /* What anyone computes from the fingerprints the roster lists. */
  EXPECT_EQ (a.security_code, security_code ({ a.members[1].fingerprint, a.members[0].fingerprint }));
  EXPECT_EQ (a.committer, group[0]->fingerprint ());   /* the host commits */
  auto frame = random_frame ();
  EXPECT_TRUE (decrypts (group[1]->ring, encrypt_frame (*group[0], frame)));
  EXPECT_TRUE (decrypts (group[0]->ring, encrypt_frame (*group[1], frame)));
}

TEST (Room, SecurityCodeDependsOnEveryMember)
{
  std::string a (64, 'a'), b (64, 'b'), c (64, 'c');
  EXPECT_EQ (security_code ({ a, b }), security_code ({ b, a }));
  EXPECT_NE (security_code ({ a, b }), security_code ({ a, b, c }));
  EXPECT_NE (security_code ({ a, b }), security_code ({ a, c }));
  EXPECT_EQ (security_code ({ b, c, a }), security_code_of_sorted ({ a, b, c }));
}

TEST (Room, LateJoinerCannotReadWhatWasSentBefore)
{
  Sim sim;
  auto group = form_room (sim, 2);
  std::vector<std::vector<uint8_t>> before;
  for (Member *m : group)
    before.push_back (encrypt_frame (*m, random_frame ()));

  Member & carol = sim.add ("carol");
  group.push_back (&carol);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  sim.run_for (5000);   /* let every timer and grace period run out */
  for (const auto & frame : before) {
    EXPECT_FALSE (decrypts (carol.ring, frame));
    EXPECT_FALSE (any_held_key_decrypts (carol, frame));
  }
  /* ...and it does read what is sent now. */
  EXPECT_TRUE (decrypts (carol.ring, encrypt_frame (*group[0], random_frame ())));
  EXPECT_TRUE (decrypts (carol.ring, encrypt_frame (*group[1], random_frame ())));
}

TEST (Room, LeaverCannotReadWhatIsSentAfter)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  std::vector<uint64_t> old_senders { group[0]->sender_id (), group[1]->sender_id () };
  sim.stop (carol);
  std::vector<Member *> rest { group[0], group[1] };
  ASSERT_TRUE (sim.run_until ([&] {
    return sim.converged (rest) && group[0]->sender_id () != old_senders[0] &&
        group[1]->sender_id () != old_senders[1] && sim.keys_delivered (rest);
  }));
  for (Member *m : rest) {
    auto frame = encrypt_frame (*m, random_frame ());
    EXPECT_FALSE (any_held_key_decrypts (carol, frame));
    EXPECT_TRUE (decrypts ((m == rest[0] ? rest[1] : rest[0])->ring, frame));
  }
}

/* A removal's fresh keys are acked through the committer: one `held`
 * report per member and one `acked` answer per sender from the
 * committer, instead of one ack per key back to each sender. */
TEST (Room, LeaveIsAckedThroughTheCommitter)
{
  Sim sim;
  const size_t n = 7;
  auto group = form_room (sim, n);
  std::vector<Member *> rest (group.begin (), group.end () - 1);
  std::vector<uint64_t> old_senders;
  uint64_t sent_before = 0;
  for (Member *m : rest) {
    old_senders.push_back (m->sender_id ());
    sent_before += m->provider->stats ().messages_sent;
  }
  sim.stop (*group.back ());
  ASSERT_TRUE (sim.run_until ([&] { return all_rotated (sim, rest, old_senders); }));
  sim.run_for (50);
  uint64_t sent = 0;
  for (Member *m : rest)
    sent += m->provider->stats ().messages_sent;
  sent -= sent_before;
  size_t senders = rest.size (), keys = senders * (senders - 1);
  /* keys + a report and an answer per member + a roster (and a ping or
   * beat, by timing), well under keys + one ack per key. */
  EXPECT_LE (sent, keys + 2 * senders + 4) << "messages sent for the leave";
  EXPECT_LT (sent, 2 * keys);
  for (Member *m : rest)
    EXPECT_EQ (m->provider->stats ().key_resends, 0u);
}

/* A rotation whose keys trickle in (as at N = 200 on one machine, over a
 * second or more) costs each member a report once the keys stop, or every
 * five ack delays (250 ms) while they come, not one per ack delay (50 ms):
 * the keys between the other members are held back and let through one
 * every 4 ms, about 400 ms for all of them. */
TEST (Room, TricklingKeysAreReportedOnceTheyStop)
{
  Sim sim;
  auto group = form_room (sim, 12);
  std::vector<Member *> rest (group.begin (), group.end () - 1);
  const std::string committer = rest[0]->fingerprint ();
  ASSERT_EQ (rest[0]->roster ().committer, committer);
  std::deque<BusMessage> held;
  hold_channel_messages (sim, held, [&] (const wire::ChannelHeader & channel) { return channel.to != committer; });
  std::vector<uint64_t> old_senders = sender_ids (rest);
  size_t log_start = sim.log.size ();
  sim.stop (*group.back ());
  sim.on_step = [&] {
    if (sim.now ().ms % 4 == 0 && !held.empty ()) {
      sim.inject (held.front ());
      held.pop_front ();
    }
  };
  ASSERT_TRUE (sim.run_until ([&] { return held.empty () && all_rotated (sim, rest, old_senders); }));
  sim.on_step = nullptr;
  sim.interceptor = nullptr;
  /* What each member sealed to the committer meanwhile: its fresh key
   * (once: no resends), its reports, and heartbeat pings, told apart by
   * size (a ping is type and epoch: 9 bytes, 25 sealed). */
  std::map<std::string, int> reports;
  for (size_t i = log_start; i < sim.log.size (); i++) {
    wire::Envelope envelope;
    if (wire::parse_envelope (ByteView (sim.log[i].payload), &envelope) &&
        envelope.kind == wire::Envelope::Kind::channel_message && envelope.channel.to == committer &&
        envelope.ciphertext.size () != 25)
      reports[envelope.channel.from]++;
  }
  for (size_t i = 1; i < rest.size (); i++) {
    EXPECT_EQ (rest[i]->provider->stats ().key_resends, 0u) << rest[i]->name;
    int count = reports[rest[i]->fingerprint ()] - 1;   /* less its key */
    EXPECT_GE (count, 1) << rest[i]->name;
    EXPECT_LE (count, 3) << rest[i]->name;
  }
}

/* A slow room pauses: at N = 200 on 2 cores a member may wait hundreds
 * of milliseconds for a CPU, and no report reaches the committer
 * meanwhile. A pause shorter than the rotation so far is not loss: the
 * committer names nobody as missing and nobody resends. The keys between
 * the other members come one every 10 ms for 600 ms, then none for
 * 250 ms (more than half a resend period: 200 ms here), then the rest. */
TEST (Room, PauseShorterThanTheRotationSoFarIsNotLoss)
{
  Sim sim;
  auto group = form_room (sim, 12);
  std::vector<Member *> rest (group.begin (), group.end () - 1);
  const std::string committer = rest[0]->fingerprint ();
  std::deque<BusMessage> held;
  hold_channel_messages (sim, held, [&] (const wire::ChannelHeader & channel) { return channel.to != committer; });
  std::vector<uint64_t> old_senders = sender_ids (rest);
  ASSERT_EQ (rest[0]->roster ().committer, committer);
  uint64_t missing_before = rest[0]->provider->stats ().missing_announced;
  sim.stop (*group.back ());
  const int64_t start = sim.now ().ms;
  sim.on_step = [&] {
    int64_t t = sim.now ().ms - start;
    bool paused = t >= 600 && t < 850;
    if (!paused && t % 10 == 0 && !held.empty ()) {
      sim.inject (held.front ());
      held.pop_front ();
    }
  };
  ASSERT_TRUE (sim.run_until ([&] { return held.empty () && all_rotated (sim, rest, old_senders); }));
  sim.on_step = nullptr;
  sim.interceptor = nullptr;
  ASSERT_GT (sim.now ().ms - start, 850) << "the pause happened before the last key";
  EXPECT_EQ (rest[0]->provider->stats ().missing_announced, missing_before) << "named a late key missing";
  for (Member *m : rest)
    EXPECT_EQ (m->provider->stats ().key_resends, 0u) << m->name;
}

/* A removal starts a new tally: nothing the committer still had due for
 * the last one fires into it. Here the bus loses every key member X sends
 * in the first leave, so the committer names X's key missing (as held by
 * nobody: no key id) and would again every resend period; the second
 * leave comes 300 ms after the first, and its channel messages are held
 * back for 250 ms, then trickle in (a loaded bus). Before the fix, the
 * first leave's next announcement fired into that pause, named all
 * members as lacking X's key, which X took for its new key, and X resent
 * it to everyone. Now the committer names nobody in the second leave, and
 * nobody resends in it. */
TEST (Room, NextRemovalInheritsNoAnnouncementOfTheLast)
{
  Sim sim;
  auto group = form_room (sim, 8);
  const std::string x = group[3]->fingerprint ();
  sim.interceptor = [&] (BusMessage & message) {
    wire::Envelope envelope;
    return wire::parse_envelope (ByteView (message.payload), &envelope) &&
        envelope.kind == wire::Envelope::Kind::channel_message && envelope.channel.from == x
        ? Verdict::drop : Verdict::deliver;
  };
  std::vector<Member *> rest (group.begin (), group.end () - 1);
  Member & committer = *rest[0];
  ASSERT_EQ (committer.roster ().committer, committer.fingerprint ());
  sim.stop (*group.back ());
  sim.run_for (300);
  ASSERT_GT (committer.provider->stats ().missing_announced, 0u) << "X's lost keys were named missing";

  std::deque<BusMessage> held;
  hold_channel_messages (sim, held, [] (const wire::ChannelHeader &) { return true; });
  std::vector<Member *> rest2 (rest.begin (), rest.end () - 1);
  std::vector<uint64_t> resends_before, old_senders;
  for (Member *m : rest2) {
    old_senders.push_back (m->sender_id ());
    resends_before.push_back (m->provider->stats ().key_resends);
  }
  uint64_t missing_before = committer.provider->stats ().missing_announced;
  sim.stop (*rest.back ());
  const int64_t start = sim.now ().ms;
  sim.on_step = [&] {
    if (sim.now ().ms - start >= 250 && sim.now ().ms % 10 == 0 && !held.empty ()) {
      sim.inject (held.front ());
      held.pop_front ();
    }
  };
  ASSERT_TRUE (sim.run_until ([&] { return held.empty () && all_rotated (sim, rest2, old_senders); }));
  sim.on_step = nullptr;
  sim.interceptor = nullptr;
  EXPECT_EQ (committer.provider->stats ().missing_announced, missing_before) << "named missing in the second leave";
  for (size_t i = 0; i < rest2.size (); i++)
    EXPECT_EQ (rest2[i]->provider->stats ().key_resends, resends_before[i]) << rest2[i]->name;
}

/* Keys of a removal that the bus really loses are still named missing
 * (within two resend periods of quiet) and resent. */
TEST (Room, KeysOfALeaveThatAreLostAreResent)
{
  Sim sim;
  auto group = form_room (sim, 6);
  std::vector<Member *> rest (group.begin (), group.end () - 1);
  const std::string committer = rest[0]->fingerprint ();
  const std::string victim = rest[2]->fingerprint ();
  bool dropping = true;
  /* Every key to one member is lost while the removal is first sent. */
  sim.interceptor = [&] (BusMessage & message) {
    wire::Envelope envelope;
    return dropping && wire::parse_envelope (ByteView (message.payload), &envelope) &&
        envelope.kind == wire::Envelope::Kind::channel_message && envelope.channel.to == victim &&
        envelope.channel.from != committer ? Verdict::drop : Verdict::deliver;
  };
  std::vector<uint64_t> old_senders = sender_ids (rest);
  sim.stop (*group.back ());
  sim.run_for (200);
  dropping = false;
  size_t recovery_start = sim.log.size ();
  ASSERT_TRUE (sim.run_until ([&] { return all_rotated (sim, rest, old_senders) && sim.keys_delivered (rest); }));
  uint64_t resends = 0;
  for (Member *m : rest) {
    resends += m->provider->stats ().key_resends;
    /* Narrowed by the committer to the victim: not to all four others. */
    EXPECT_LT (m->provider->stats ().key_resends, rest.size () - 1) << m->name;
  }
  EXPECT_GE (resends, rest.size () - 2) << "each sender but the committer resent to the victim";
  EXPECT_GT (rest[0]->provider->stats ().missing_announced, 0u);
  /* The committer's answers are sealed, but where the senders' messages
   * go is not: from then on, a sender writes to the victim (its key) and
   * the committer (its report) only, never again to the others, who hold
   * its key already. */
  size_t to_victim = 0;
  for (size_t i = recovery_start; i < sim.log.size (); i++) {
    wire::Envelope envelope;
    if (!wire::parse_envelope (ByteView (sim.log[i].payload), &envelope) ||
        envelope.kind != wire::Envelope::Kind::channel_message || envelope.channel.from == committer ||
        envelope.channel.from == victim)
      continue;
    EXPECT_TRUE (envelope.channel.to == victim || envelope.channel.to == committer) << "message " << i;
    to_victim += envelope.channel.to == victim ? 1 : 0;
  }
  EXPECT_GE (to_victim, rest.size () - 2);
}

namespace {

/* The hello a member sent (from the bus log). */
json
hello_of (const Sim & sim, const Member & m)
{
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "hello");
    if (!payload.is_discarded () && payload.value ("from", "") == m.fingerprint ())
      return payload;
  }
  return json::object ();
}

std::string
session_of (const Sim & sim, const Member & m)
{
  return hello_of (sim, m).value ("sid", "");
}

/* What `sender` (a member of the room, whose device key the test holds)
 * could send `recipient` on a channel of its own: the signed setup of a
 * new channel, then `message` sealed in it. A test acting as a malicious
 * member, not as the bus, which can do neither. */
std::vector<BusMessage>
channel_from (const Sim & sim, const Member & sender, const Member & recipient, const wire::ChannelMessage & message,
    uint64_t id = 0x5eed)
{
  std::vector<uint8_t> recipient_key, enc;
  json hello = hello_of (sim, recipient);
  EXPECT_TRUE (base64url_decode (hello.value ("hpk", ""), &recipient_key));
  std::string room_info = std::string ("gst-sframe/1 channel") + '\0' + sim.room ();
  hpke::Context context;
  EXPECT_EQ (hpke::setup_sender (hpke::AeadId::aes_128_gcm, ByteView (recipient_key),
                 ByteView (reinterpret_cast<const uint8_t *> (room_info.data ()), room_info.size ()),
                 hpke::SetupOptions (), &enc, &context),
      Status::ok);
  json setup = { { "v", 1 }, { "type", "channel" }, { "room", sim.room () }, { "from", sender.fingerprint () },
    { "sid", session_of (sim, sender) }, { "seq", (1u << 30) + (id & 0xffff) }, { "to", recipient.fingerprint () },
    { "to_sid", hello.value ("sid", "") }, { "id", wire::u64_hex (id) }, { "enc", base64url_encode (ByteView (enc)) } };
  std::string inbox = wire::subject_to (sim.room (), recipient.fingerprint ());
  wire::ChannelHeader header { sender.fingerprint (), recipient.fingerprint (), id, 0 };
  std::vector<uint8_t> ciphertext;
  SecureBytes plaintext = wire::encode_channel_message (message);
  EXPECT_EQ (context.seal_at (0, ByteView (wire::channel_aad (sim.room (), header)), plaintext.view (), &ciphertext),
      Status::ok);
  return { { inbox, wire::make_signed (sender.identity, setup.dump ()) },
    { inbox, wire::make_channel (header, ByteView (ciphertext)) } };
}

}  // namespace

/* Only the committer's `acked` makes a sender switch early: another
 * member claiming every key was received is refused (the bus cannot
 * even make one: it is sealed in a channel only members can open), and
 * the sender keeps its old key until the switch timeout. */
TEST (MaliciousBus, AckedFromAnyoneButTheCommitterIsRefused)
{
  Sim sim;
  auto group = form_room (sim, 4);
  Member & committer = *group[0], &bob = *group[1], &carol = *group[2];
  ASSERT_EQ (committer.roster ().committer, committer.fingerprint ());
  uint64_t carol_old = carol.sender_id ();
  /* No channel message gets through: no key, no report, no ack. (What
   * the test injects bypasses this.) */
  sim.interceptor = [] (BusMessage & message) {
    return !message.payload.empty () && message.payload[0] == 0x01 ? Verdict::drop : Verdict::deliver;
  };
  sim.stop (*group[3]);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &committer, &bob, &carol }); }));
  wire::ChannelMessage acked;
  acked.type = wire::ChannelMessage::Type::acked;
  acked.epoch = carol.roster ().epoch;
  acked.key_id = carol_old + 1;   /* her fresh key: same index, next generation */
  uint64_t rejected = carol.provider->stats ().messages_rejected;
  for (const auto & message : channel_from (sim, bob, carol, acked))
    sim.inject (message);
  sim.run_for (200);
  EXPECT_EQ (carol.sender_id (), carol_old);
  EXPECT_GT (carol.provider->stats ().messages_rejected, rejected);
  /* The same from the committer: carol switches at once. */
  for (const auto & message : channel_from (sim, committer, carol, acked))
    sim.inject (message);
  sim.run_for (20);
  EXPECT_EQ (carol.sender_id (), carol_old + 1);
}

/* A member cannot pass its key off as another's: a key it seals to a
 * receiver under another member's key id is refused, so the key store's
 * owner of that id (what a tile shows as the sender) cannot be forged by
 * a member, let alone by the bus. The same channel carrying a key under
 * the sender's own next id is accepted (the attack reaches the check). */
TEST (Attack, MemberCannotSendAKeyUnderAnothersKeyId)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & alice = *group[0], &bob = *group[1], &carol = *group[2];
  ASSERT_TRUE (sim.run_until ([&] { return sim.keys_delivered (group); }));
  std::vector<uint8_t> chosen (32, 0xb0);

  wire::ChannelMessage forged;
  forged.type = wire::ChannelMessage::Type::key;
  forged.epoch = carol.roster ().epoch;
  forged.generation = static_cast<uint32_t> ((alice.sender_id () & 0xff) + 1);
  forged.key_id = alice.sender_id () + 1;   /* alice's index, her next generation */
  forged.reason = "leave";
  forged.secret = {chosen.data (), chosen.size ()};
  uint64_t rejected = carol.provider->stats ().messages_rejected;
  for (const auto & message : channel_from (sim, bob, carol, forged, 0xbad1))
    sim.inject (message);
  sim.run_for (200);
  EXPECT_GT (carol.provider->stats ().messages_rejected, rejected);
  EXPECT_EQ (carol.key_owners.count (forged.key_id), 0u) << "carol installed bob's key as alice's";
  EXPECT_EQ (carol.ring.find (forged.key_id), nullptr);

  wire::ChannelMessage own = forged;
  own.generation = static_cast<uint32_t> ((bob.sender_id () & 0xff) + 1);
  own.key_id = bob.sender_id () + 1;
  for (const auto & message : channel_from (sim, bob, carol, own, 0xbad2))
    sim.inject (message);
  sim.run_for (200);
  ASSERT_EQ (carol.key_owners.count (own.key_id), 1u) << "the crafted channel does not reach the key check";
  EXPECT_EQ (carol.key_owners[own.key_id], bob.fingerprint ());
}

/* A member away from the bus while a device was revoked resynchronises
 * through the committer's welcome, whose snapshot names the last change:
 * it rotates for a revocation, and refuses the device from then on. */
TEST (Room, ResyncPastARevocationKnowsItWasOne)
{
  Sim sim;
  auto group = form_room (sim, 4);
  Member & alice = *group[0], &bob = *group[1], &carol = *group[3];
  bob.active = false;   /* misses everything meanwhile, keeps its state */
  ASSERT_EQ (alice.provider->revoke (carol.fingerprint (), sim.now ()), Status::ok);
  ASSERT_TRUE (sim.run_until ([&] { return alice.roster ().members.size () == 3u && !carol.left_reason.empty (); }));
  bob.active = true;
  uint64_t resyncs = bob.provider->stats ().resyncs;
  std::vector<Member *> rest { group[0], group[1], group[2] };
  ASSERT_TRUE (sim.run_until ([&] {
    return sim.converged (rest) && !bob.rotations.empty () && bob.rotations.back ().second == "revoke";
  }));
  EXPECT_GT (bob.provider->stats ().resyncs, resyncs);

  carol.token = sim.issue (carol.identity, token::Role::member);
  sim.start (carol);
  sim.run_for (2000);
  EXPECT_TRUE (bob.refused (carol.fingerprint (), Refusal::revoked));
}

TEST (Room, HostRevokesAStolenDeviceMidMeeting)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & alice = *group[0], &carol = *group[2];
  std::vector<uint64_t> old_senders { group[0]->sender_id (), group[1]->sender_id () };
  ASSERT_EQ (alice.provider->revoke (carol.fingerprint (), sim.now ()), Status::ok);
  std::vector<Member *> rest { group[0], group[1] };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest) && !carol.left_reason.empty (); }));
  EXPECT_EQ (carol.left_reason, "revoked");
  EXPECT_FALSE (carol.has_sender ());   /* its encoders stop */
  ASSERT_TRUE (sim.run_until ([&] {
    return sim.keys_delivered (rest) && group[0]->sender_id () != old_senders[0] &&
        group[1]->sender_id () != old_senders[1];
  }));
  EXPECT_EQ (group[1]->rotations.back ().second, "revoke");
  for (Member *m : rest)
    EXPECT_FALSE (any_held_key_decrypts (carol, encrypt_frame (*m, random_frame ())));

  /* The device cannot come back, even with a fresh token. */
  carol.token = sim.issue (carol.identity, token::Role::member);
  sim.start (carol);
  sim.run_for (2000);
  EXPECT_TRUE (alice.refused (carol.fingerprint (), Refusal::revoked));
  EXPECT_EQ (alice.roster ().members.size (), 2u);
}

TEST (Room, OnlyHostsMayRevokeOrAdmit)
{
  Sim sim;
  auto group = form_room (sim, 3);
  EXPECT_EQ (group[1]->provider->revoke (group[2]->fingerprint (), sim.now ()), Status::invalid_argument);
  EXPECT_EQ (group[0]->provider->revoke ("nobody", sim.now ()), Status::invalid_argument);
}

/* ---- refusals: none of these joiners gets a key, or even a message ---- */

class Refused : public ::testing::Test {
protected:
  void SetUp () override { group = form_room (sim, 2); }

  void expect_refused (const Identity & who, Refusal reason)
  {
    sim.run_for (1500);
    for (Member *m : group) {
      EXPECT_TRUE (m->refused (who.fingerprint (), reason)) << m->name << " did not refuse with " << refusal_name (reason);
      EXPECT_EQ (m->roster ().members.size (), group.size ());
    }
    EXPECT_FALSE (any_message_to (sim, who.fingerprint ()));
  }

  Sim sim;
  std::vector<Member *> group;
};

TEST_F (Refused, ExpiredToken)
{
  Identity eve;
  Identity::generate (&eve);
  std::string token = sim.issue (eve, token::Role::member, token::kDefaultGrants, "", nullptr, sim.now ().unix_s - 1000);
  sim.inject ({ wire::subject_all (sim.room ()), forge_hello (sim, eve, token, sim.now ().unix_s) });
  expect_refused (eve, Refusal::token_expired);
}

TEST_F (Refused, TokenForAnotherRoom)
{
  Identity eve;
  Identity::generate (&eve);
  std::string token = sim.issue (eve, token::Role::host, token::kDefaultGrants, "other-room");
  sim.inject ({ wire::subject_all (sim.room ()), forge_hello (sim, eve, token, sim.now ().unix_s) });
  expect_refused (eve, Refusal::wrong_room);
}

TEST_F (Refused, TokenOfAnotherAuthority)
{
  Identity eve, rogue;
  Identity::generate (&eve);
  Identity::generate (&rogue);
  std::string token = sim.issue (eve, token::Role::host, token::kDefaultGrants, "", &rogue);
  sim.inject ({ wire::subject_all (sim.room ()), forge_hello (sim, eve, token, sim.now ().unix_s) });
  expect_refused (eve, Refusal::wrong_authority);
}

TEST_F (Refused, HelloNotSignedByTheTokensDevice)
{
  /* Eve copies a genuine token for Dave's device and signs with her own
   * key. The refusal names Dave, whose (authentic) token was misused: the
   * name Eve wrote in the hello is only her claim. */
  Identity dave, eve;
  Identity::generate (&dave);
  Identity::generate (&eve);
  std::string token = sim.issue (dave, token::Role::host);
  sim.inject ({ wire::subject_all (sim.room ()), forge_hello (sim, eve, token, sim.now ().unix_s) });
  expect_refused (dave, Refusal::bad_hello_signature);
  EXPECT_FALSE (any_message_to (sim, eve.fingerprint ()));
}

TEST_F (Refused, ReplayedTokenInANewSession)
{
  Member & dave = sim.add ("dave");
  group.push_back (&dave);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group); }));
  sim.stop (dave);
  group.pop_back ();
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group); }));
  sim.start (dave);   /* same token, new session */
  sim.run_for (1500);
  for (Member *m : group) {
    EXPECT_TRUE (m->refused (dave.fingerprint (), Refusal::token_replayed));
    EXPECT_EQ (m->roster ().members.size (), 2u);
    EXPECT_FALSE (any_held_key_decrypts (dave, encrypt_frame (*m, random_frame ())));
  }
}

TEST (Room, AdmissionRoomKeepsJoinersInTheLobbyUntilAHostAdmits)
{
  Sim sim ("board", true);
  Member & host = sim.add ("host", token::Role::host);
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch >= 1; }));
  Member & bob = sim.add ("bob");
  sim.run_for (2000);
  EXPECT_TRUE (host.refused (bob.fingerprint (), Refusal::not_admitted));
  ASSERT_EQ (host.roster ().lobby.size (), 1u);
  EXPECT_EQ (host.roster ().members.size (), 1u);
  EXPECT_TRUE (bob.ever_held.empty ());
  EXPECT_FALSE (any_message_to (sim, bob.fingerprint ()));

  ASSERT_EQ (host.provider->admit (bob.fingerprint ().substr (0, 16), sim.now ()), Status::ok);
  std::vector<Member *> group { &host, &bob };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  EXPECT_TRUE (host.roster ().lobby.empty ());

  /* Admitting a member already in the room succeeds and sends nothing. */
  uint64_t sent = host.provider->stats ().messages_sent;
  EXPECT_EQ (host.provider->admit (bob.fingerprint (), sim.now ()), Status::ok);
  EXPECT_EQ (host.provider->stats ().messages_sent, sent);
}

TEST (Room, MemberWithoutPublishGrantHasNoKeyInstalledAnywhere)
{
  Sim sim;
  Member & alice = sim.add ("alice", token::Role::host);
  Member & viewer = sim.add ("viewer", token::Role::member, token::kGrantSubscribe);
  std::vector<Member *> group { &alice, &viewer };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && viewer.ring.find (alice.sender_id ()); }));
  EXPECT_FALSE (viewer.has_sender ());
  sim.run_for (3000);   /* past the grace period of her pre-ratchet key */
  EXPECT_EQ (alice.ring.key_ids ().size (), 1u);   /* only her own */
}

/* ---- a hostile bus ---- */


TEST (MaliciousBus, ForgedRosterFromOutsiderOrNonCommitterIsIgnored)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Identity eve;
  Identity::generate (&eve);
  uint64_t epoch = group[0]->roster ().epoch;
  uint64_t rejected_before = group[2]->provider->stats ().messages_rejected;

  /* The current state hash, from the last roster change on the bus, so
   * that the forgery names the roster the members hold. */
  std::string hash;
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "roster");
    if (!payload.is_discarded ())
      hash = payload.value ("hash", "");
  }
  ASSERT_FALSE (hash.empty ());
  auto forged_roster = [&] (const Identity & signer, const std::string & sid, uint64_t seq) {
    json added = json::array ({ json::array ({ eve.fingerprint (), 99, std::string (64, '0') }) });
    json roster = { { "v", 1 }, { "type", "roster" }, { "room", sim.room () }, { "from", signer.fingerprint () },
      { "sid", sid }, { "seq", seq }, { "epoch", epoch + 1 }, { "prev", hash }, { "hash", std::string (64, '0') },
      { "next", 100 }, { "added", added }, { "removed", json::array () }, { "change", "join" },
      { "who", { eve.fingerprint () } } };
    return wire::make_signed (signer, roster.dump ());
  };
  sim.inject ({ wire::subject_all (sim.room ()), forged_roster (eve, "0000000000000001", 1) });
  /* Bob is a member, but not the committer: his signature does not do. */
  sim.inject ({ wire::subject_all (sim.room ()), forged_roster (group[1]->identity, session_of (sim, *group[1]), 1u << 30) });
  sim.run_for (2000);
  for (Member *m : group) {
    EXPECT_EQ (m->roster ().epoch, epoch);
    EXPECT_EQ (m->roster ().members.size (), 3u);
  }
  EXPECT_GT (group[2]->provider->stats ().messages_rejected, rejected_before);
}

/* A roster change names the state hash it leads to. One that leads
 * elsewhere (here: signed by the committer itself, so only the hash can
 * tell) is refused by every member, who resynchronise from the
 * committer's welcome and still converge. */
TEST (Room, RosterChangeThatMissesItsStateHashIsRefused)
{
  Sim sim;
  auto group = form_room (sim, 4);
  Member & committer = *group[0];
  ASSERT_EQ (committer.roster ().committer, committer.fingerprint ());
  uint64_t epoch = committer.roster ().epoch;
  int tampered = 0;
  sim.interceptor = [&] (BusMessage & message) {
    json payload = signed_payload (message, "roster");
    if (tampered || payload.is_discarded ())
      return Verdict::deliver;
    std::string hash = payload["hash"].get<std::string> ();
    hash[0] = hash[0] == '0' ? '1' : '0';
    payload["hash"] = hash;
    message.payload = wire::make_signed (committer.identity, payload.dump ());
    tampered++;
    return Verdict::deliver;
  };
  std::vector<Member *> rest { group[0], group[1], group[2] };
  std::vector<uint64_t> rejected, resyncs;
  for (Member *m : rest) {
    rejected.push_back (m->provider->stats ().messages_rejected);
    resyncs.push_back (m->provider->stats ().resyncs);
  }
  sim.stop (*group[3]);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest) && rest[1]->roster ().epoch == epoch + 1; }));
  EXPECT_EQ (tampered, 1);
  for (size_t i = 1; i < rest.size (); i++) {
    EXPECT_GT (rest[i]->provider->stats ().messages_rejected, rejected[i]) << rest[i]->name;
    EXPECT_GT (rest[i]->provider->stats ().resyncs, resyncs[i]) << rest[i]->name;
    EXPECT_EQ (rest[i]->roster ().epoch, epoch + 1) << rest[i]->name;
  }
}

/* The bus may replay a member's hello as often as it likes; the committer
 * answers a repeated hello with a welcome (the joiner's welcome may have
 * been lost), but at most one per half resend period: a welcome is a
 * signature and every member's hello. */
TEST (MaliciousBus, ReplayedHellosCostTheCommitterOneWelcomePerHalfResendPeriod)
{
  Sim sim;
  auto group = form_room (sim, 4);
  Member & target = *group[2];
  BusMessage hello;
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "hello");
    if (!payload.is_discarded () && payload.value ("from", "") == target.fingerprint ())
      hello = message;
  }
  ASSERT_FALSE (hello.payload.empty ());
  sim.run_for (sim.timing.resend_ms);   /* nothing answered lately */
  const std::string inbox = wire::subject_to (sim.room (), target.fingerprint ());
  auto welcomes_since = [&] (size_t start) {
    size_t count = 0;
    for (size_t i = start; i < sim.log.size (); i++)
      count += sim.log[i].subject == inbox && !signed_payload (sim.log[i], "welcome").is_discarded () ? 1 : 0;
    return count;
  };
  size_t start = sim.log.size ();
  for (int i = 0; i < 50; i++) {
    sim.inject (hello);
    sim.run_for (1);
  }
  EXPECT_EQ (welcomes_since (start), 1u) << "within one half resend period";
  /* A joiner whose welcome was lost still gets another, a period later. */
  sim.run_for (sim.timing.resend_ms);
  start = sim.log.size ();
  sim.inject (hello);
  sim.run_for (10);
  EXPECT_EQ (welcomes_since (start), 1u);
}

/* A welcome carries the whole roster and its state hash: a snapshot that
 * does not hash to it (here a different next free index, which nothing
 * else checks) is refused; the joiner's next hello brings a true one. */
TEST (Room, WelcomeWhoseSnapshotMissesItsStateHashIsRefused)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & committer = *group[0];
  int tampered = 0;
  sim.interceptor = [&] (BusMessage & message) {
    json payload = signed_payload (message, "welcome");
    if (tampered || payload.is_discarded ())
      return Verdict::deliver;
    payload["roster"]["next"] = payload["roster"]["next"].get<uint64_t> () + 1;
    message.payload = wire::make_signed (committer.identity, payload.dump ());
    tampered++;
    return Verdict::deliver;
  };
  Member & joiner = sim.add ("joiner");
  group.push_back (&joiner);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  EXPECT_EQ (tampered, 1);
  EXPECT_GT (joiner.provider->stats ().messages_rejected, 0u);
}

/* Signed messages from a device nobody can attribute (an outsider with an
 * authority of its own, or the bus itself) look like an existing room to
 * a joiner; they may delay, but never prevent, the room forming. */
TEST (MaliciousBus, OutsiderChatterDoesNotKeepARoomFromForming)
{
  Sim sim;
  Identity eve;
  Identity::generate (&eve);
  uint64_t seq = 0;
  int64_t next_beat = 0;
  sim.on_step = [&] {
    if (sim.now_ms >= next_beat) {
      next_beat = sim.now_ms + 50;
      json beat = { { "v", 1 }, { "type", "beat" }, { "room", sim.room () }, { "from", eve.fingerprint () },
        { "sid", "0000000000000001" }, { "seq", ++seq }, { "epoch", 7 }, { "hash", std::string (64, '0') } };
      sim.inject ({ wire::subject_all (sim.room ()), wire::make_signed (eve, beat.dump ()) });
    }
  };
  Member & alice = sim.add ("alice");
  Member & bob = sim.add ("bob");
  std::vector<Member *> group { &alice, &bob };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }, 30000));
  EXPECT_EQ (alice.roster ().members.size (), 2u);
  EXPECT_GT (seq, 5u);   /* eve talked all along */
}

TEST (MaliciousBus, ReplayedKeyMessagesDoNotBringOldKeysBack)
{
  Sim sim;
  auto group = form_room (sim, 3);
  std::vector<BusMessage> captured = sim.log;
  Member & alice = *group[0], &bob = *group[1];
  sim.stop (*group[2]);
  std::vector<Member *> rest { &alice, &bob };
  uint64_t old_sender = alice.sender_id ();
  ASSERT_TRUE (sim.run_until ([&] { return alice.sender_id () != old_sender && sim.keys_delivered (rest); }));
  sim.run_for (3000);   /* grace over: old keys erased */
  auto ids_before = bob.ring.key_ids ();
  uint64_t rejected = bob.provider->stats ().messages_rejected;
  for (const auto & m : captured)
    sim.inject (m);
  sim.run_for (1000);
  EXPECT_EQ (bob.ring.key_ids (), ids_before);
  EXPECT_FALSE (bob.ring.find (old_sender));
  EXPECT_GT (bob.provider->stats ().messages_rejected, rejected);
  EXPECT_TRUE (decrypts (bob.ring, encrypt_frame (alice, random_frame ())));
}

TEST (MaliciousBus, ModifiedCiphertextsInstallNothingUntilTheBusBehaves)
{
  Sim sim;
  auto group = form_room (sim, 2);
  sim.interceptor = [] (BusMessage & m) {
    /* One ciphertext bit of every channel message. */
    wire::Envelope envelope;
    if (wire::parse_envelope ({m.payload.data (), m.payload.size ()}, &envelope) &&
        envelope.kind == wire::Envelope::Kind::channel_message) {
      envelope.ciphertext[8] ^= 0x04;
      m.payload = wire::make_channel (envelope.channel, {envelope.ciphertext.data (), envelope.ciphertext.size ()});
    }
    return Verdict::deliver;
  };
  Member & carol = sim.add ("carol");
  group.push_back (&carol);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group); }));
  sim.run_for (1500);
  EXPECT_TRUE (carol.ring.key_ids ().size () <= 1u);   /* at most her own */
  EXPECT_FALSE (carol.ring.find (group[0]->sender_id ()));
  EXPECT_GT (carol.provider->stats ().messages_rejected, 0u);

  sim.interceptor = nullptr;   /* resends on fresh channels get through */
  ASSERT_TRUE (sim.run_until ([&] { return sim.keys_delivered (group); }));
}

/* Every third message dropped, from each of the three phases: a drop
 * pattern decides which key message overtakes which roster change. */
class DroppedMessages : public ::testing::TestWithParam<int> {};

TEST_P (DroppedMessages, AreRecovered)
{
  const int phase = GetParam ();
  Sim sim;
  auto group = form_room (sim, 3);
  int n = 0;
  sim.interceptor = [&] (BusMessage &) { return (n++ % 3 == phase) ? Verdict::drop : Verdict::deliver; };
  sim.latency_ms = 40;
  Member & dave = sim.add ("dave");
  group.push_back (&dave);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }, 60000));
  sim.interceptor = nullptr;
}

INSTANTIATE_TEST_SUITE_P (MaliciousBus, DroppedMessages, ::testing::Values (0, 1, 2));

/* A join's roster change overtakes a fresh key: S rotates (key K, sent at
 * epoch e) and R applies the join at e+1 before K reaches it. S hears of
 * the join only after every ack of K came in, ratchets K for it, and sends
 * the result to the joiner only: R must ratchet K for the join on arrival,
 * or it cannot read S until S's next fresh key. */
TEST (Room, AFreshKeyOvertakenByAJoinIsRatchetedForIt)
{
  Sim sim;
  auto group = start_room (sim, 3);
  ASSERT_EQ (group.size (), 3u);
  Member & host = *group[0];
  Member & s = *group[1];
  Member & r = *group[2];

  /* S misses broadcasts for a while (the join's roster); S's channel
   * messages to R are held back. */
  bool s_deaf = true;
  cut_off_broadcasts (sim, s, &s_deaf);
  std::deque<BusMessage> held;
  sim.interceptor = [&] (BusMessage & message) {
    if (is_channel_from_to (message, s.fingerprint (), r.fingerprint ())) {
      held.push_back (message);
      return Verdict::drop;
    }
    return Verdict::deliver;
  };

  uint64_t epoch_before = r.roster ().epoch;
  ASSERT_EQ (s.provider->rotate (sim.now ()), Status::ok);
  sim.run_for (5);
  Member & x = sim.add ("x");
  ASSERT_TRUE (sim.run_until ([&] { return r.roster ().epoch == epoch_before + 1 && r.roster ().members.size () == 4; }, 2000));
  sim.run_for (20);
  /* The fresh key reaches R only now, after the join. */
  sim.interceptor = nullptr;
  for (const auto & m : held)
    sim.inject (m);
  held.clear ();
  sim.run_for (300);   /* R's ack reaches S: S switches to K */
  s_deaf = false;      /* S hears the beat, resyncs, ratchets K for the join */

  std::vector<Member *> everyone { group[0], group[1], group[2], &x };
  bool formed = sim.run_until ([&] { return sim.converged (everyone); }, 5000);
  EXPECT_TRUE (formed);
  sim.run_for (5000);
  auto frame = encrypt_frame (s, random_frame ());
  EXPECT_TRUE (decrypts (host.ring, frame)) << "host cannot read S";
  EXPECT_TRUE (decrypts (x.ring, frame)) << "joiner cannot read S";
  EXPECT_TRUE (decrypts (r.ring, frame)) << "R cannot read S: it holds S's pre-join key, S sends with its ratchet";
}

/* S misses two joins and catches up with one welcome: the others
 * ratcheted S's key once per join, and must still read S afterwards. */
TEST (Room, AMemberThatMissedTwoJoinsIsReadAfterItsResync)
{
  Sim sim;
  auto group = start_room (sim, 3);
  ASSERT_EQ (group.size (), 3u);
  Member & host = *group[0];
  Member & s = *group[1];
  bool s_deaf = true;
  cut_off_broadcasts (sim, s, &s_deaf);
  uint64_t e0 = host.roster ().epoch;
  Member & x = sim.add ("x");
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch == e0 + 1; }, 3000));
  Member & y = sim.add ("y");
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch == e0 + 2; }, 3000));
  ASSERT_EQ (s.roster ().epoch, e0);
  s_deaf = false;
  std::vector<Member *> everyone { group[0], group[1], group[2], &x, &y };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (everyone); }, 5000));
  sim.run_for (5000);   /* past every grace period */
  auto frame = encrypt_frame (s, random_frame ());
  for (Member *m : everyone) {
    if (m != &s) {
      EXPECT_TRUE (decrypts (m->ring, frame)) << m->name << " cannot read S";
    }
  }
}

TEST (MaliciousBus, NoKeyEverCrossesTheBusUnsealed)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & dave = sim.add ("dave");
  group.push_back (&dave);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  sim.stop (*group[1]);
  group.erase (group.begin () + 1);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  ASSERT_TRUE (group[0]->provider->rotate (sim.now ()) == Status::ok);
  sim.run_for (3000);
  size_t keys = 0;
  for (Member *m : group)
    for (const auto & key : m->ever_held) {
      keys++;
      EXPECT_FALSE (log_contains_secret (sim.log, key));
    }
  EXPECT_GT (keys, 10u);
  EXPECT_GT (sim.log.size (), 50u);
}

/* ---- media keeps flowing through rotations ---- */

TEST (Room, HundredRotationsUnderLiveMediaLoseNoFrame)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & alice = *group[0];
  uint64_t frames = 0, lost = 0;
  /* Alice sends a frame every 10 ms; it reaches the others with the bus
   * latency, like media through an SFU. */
  std::deque<std::pair<int64_t, std::vector<uint8_t>>> in_flight;
  sim.on_step = [&] {
    if (sim.now_ms % 10 == 0)
      in_flight.push_back ({ sim.now_ms + sim.latency_ms, encrypt_frame (alice, random_frame (100)) });
    while (!in_flight.empty () && in_flight.front ().first <= sim.now_ms) {
      for (size_t i = 1; i < 3; i++) {
        frames++;
        if (!decrypts (group[i]->ring, in_flight.front ().second))
          lost++;
      }
      in_flight.pop_front ();
    }
  };
  Member *guest = nullptr;
  int rotations = 0;
  for (int round = 0; round < 50; round++) {
    guest = &sim.add ("guest" + std::to_string (round));
    std::vector<Member *> with_guest { group[0], group[1], group[2], guest };
    ASSERT_TRUE (sim.run_until ([&] { return sim.converged (with_guest) && sim.keys_delivered (with_guest); }));
    rotations++;
    sim.run_for (50);   /* media under the new keys, not only across the switch */
    sim.stop (*guest);
    ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && alice.rotations.back ().second == "leave"; }));
    rotations++;
    sim.run_for (50);
  }
  sim.run_for (500);
  EXPECT_EQ (rotations, 100);
  EXPECT_GT (frames, 1000u);
  EXPECT_EQ (lost, 0u) << lost << " of " << frames << " frames lost";
}

/* Every received key is installed with the member who sends under it:
 * what a receiver shows as a frame's sender comes from the roster, through
 * the sealed channel the key came on, never from what the SFU or the frame
 * says. Across joins (ratchets), a leave (fresh keys) and a late joiner. */
TEST (Room, EveryReceivedKeyNamesTheMemberWhoSendsUnderIt)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & late = sim.add ("late");
  std::vector<Member *> four { group[0], group[1], group[2], &late };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (four) && sim.keys_delivered (four); }));
  sim.stop (*group[2]);
  std::vector<Member *> three { group[0], group[1], &late };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (three) && sim.keys_delivered (three); }));

  std::map<std::string, const Member *> by_fingerprint;
  for (const Member *m : four)
    by_fingerprint[m->fingerprint ()] = m;
  size_t checked = 0;
  for (const Member *m : four) {
    for (const auto & [key_id, owner] : m->key_owners) {
      ASSERT_TRUE (by_fingerprint.count (owner)) << "key " << key_id << " names no member";
      EXPECT_NE (owner, m->fingerprint ()) << "a received key names its receiver";
      EXPECT_TRUE (by_fingerprint[owner]->own_key_ids.count (key_id))
          << m->name << " holds key " << key_id << " as " << by_fingerprint[owner]->name
          << "'s, who never sent under it";
      checked++;
    }
  }
  /* Each of 4 members received at least the others' first keys. */
  EXPECT_GE (checked, 4u * 2u);
}

TEST (Room, CommitterLeavesAndTheNextHostTakesOver)
{
  Sim sim;
  Member & a = sim.add ("a", token::Role::host);
  Member & b = sim.add ("b", token::Role::host);
  Member & c = sim.add ("c");
  std::vector<Member *> all { &a, &b, &c };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (all) && sim.keys_delivered (all); }));
  Member *committer = a.fingerprint () < b.fingerprint () ? &a : &b;
  Member *other = committer == &a ? &b : &a;
  sim.stop (*committer, false);   /* vanishes without a word */
  std::vector<Member *> rest { other, &c };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest) && sim.keys_delivered (rest); }, 30000));
  EXPECT_EQ (c.roster ().committer, other->fingerprint ());
}

/* ---- tokens are short-lived: membership lasts as long as a valid one ---- */

/* Members renew their tokens (300 s here) through a 20-minute meeting; a
 * joiner at the end verifies every member's renewed token itself. */
TEST (Room, MembersWhoRenewStayAndALateJoinerVerifiesTheirRenewals)
{
  Sim sim;
  auto group = form_room (sim, 3);
  sim.on_step = [&] { sim.renew_tokens_every (120 * 1000); };
  sim.run_for (20 * 60 * 1000);
  ASSERT_TRUE (sim.converged (group));
  Member & late = sim.add ("late");
  group.push_back (&late);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  EXPECT_TRUE (late.refusals.empty ());
}

/* A member whose token is not renewed leaves when it expires, and the
 * others rotate away from it; the renewing ones stay. */
TEST (Room, AMemberWhoseTokenExpiresLeavesAndTheOthersRotate)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  sim.on_step = [&] {
    if (sim.now_ms % (120 * 1000) != 0)
      return;
    for (Member *m : { group[0], group[1] }) {
      m->token = sim.issue (m->identity, m->role, m->grants);
      EXPECT_EQ (m->provider->renew_token (m->token, sim.now ()), Status::ok);
    }
  };
  std::vector<Member *> rest { group[0], group[1] };
  std::vector<uint64_t> before = sender_ids (rest);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest) && !carol.left_reason.empty (); }, 400 * 1000));
  EXPECT_EQ (carol.left_reason, "token expired");
  EXPECT_FALSE (carol.has_sender ());
  ASSERT_TRUE (sim.run_until ([&] { return all_rotated (sim, rest, before); }));
  for (Member *m : rest)
    EXPECT_FALSE (any_held_key_decrypts (carol, encrypt_frame (*m, random_frame ())));
}
/* The device a message claims to come from (the signer or the channel's
 * sender), unverified: enough to cut the bus in two. */
std::string
claimed_sender (const BusMessage & message)
{
  wire::Envelope envelope;
  if (!wire::parse_envelope (ByteView (message.payload), &envelope))
    return "";
  if (envelope.kind == wire::Envelope::Kind::channel_message)
    return envelope.channel.from;
  UnverifiedMessage parsed;
  return parsed.parse (envelope) ? parsed.sender () : "";
}

/* Two groups cut apart on the bus each form a room. Once the bus heals,
 * each committer's beat (with its hello) tells the other group of the
 * other room, and the room `winner` commits (which outranks the other)
 * takes everyone in: the members of the other adopt its welcome as
 * joiners would. */
void
expect_rooms_formed_apart_merge (Sim & sim, const std::vector<Member *> & left, const std::vector<Member *> & right)
{
  std::set<std::string> left_side;
  for (Member *m : left)
    left_side.insert (m->fingerprint ());
  sim.reaches = [&] (const BusMessage & message, const Member & to) {
    return left_side.count (claimed_sender (message)) == left_side.count (to.fingerprint ());
  };
  ASSERT_TRUE (sim.run_until ([&] {
    return sim.converged (left) && sim.keys_delivered (left) && sim.converged (right) && sim.keys_delivered (right);
  }));
  ASSERT_NE (left[0]->roster ().security_code, right[0]->roster ().security_code);
  auto rank = [] (const Member & m) {
    const RosterView & r = m.roster ();
    bool hosted = false;
    for (const auto & member : r.members)
      hosted |= member.fingerprint == r.committer && member.role == token::Role::host;
    return std::make_tuple (hosted, r.epoch, std::string (r.committer));
  };
  auto l = rank (*left[0]), r = rank (*right[0]);
  bool left_wins = std::get<0> (l) != std::get<0> (r) ? std::get<0> (l) :
      std::get<1> (l) != std::get<1> (r)              ? std::get<1> (l) > std::get<1> (r) :
                                                       std::get<2> (l) < std::get<2> (r);
  std::vector<Member *> everyone = left;
  everyone.insert (everyone.end (), right.begin (), right.end ());
  std::map<Member *, size_t> rotations_before;
  for (Member *m : everyone)
    rotations_before[m] = m->rotations.size ();

  sim.reaches = nullptr;
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (everyone) && sim.keys_delivered (everyone); }, 30000));
  EXPECT_EQ (everyone[0]->roster ().members.size (), everyone.size ());
  /* The members of the room taken in started over (a first key, as any
   * joiner); those of the other kept their room and ratcheted. */
  for (Member *m : everyone) {
    bool taken_in = std::find (left.begin (), left.end (), m) != left.end () ? !left_wins : left_wins;
    size_t initial = 0;
    for (size_t i = rotations_before[m]; i < m->rotations.size (); i++)
      initial += m->rotations[i].second == "initial";
    EXPECT_EQ (initial, taken_in ? 1u : 0u) << m->name;
  }
}

TEST (Room, RoomsFormedApartMergeIntoTheOneAHostCommits)
{
  Sim sim;
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  Member & alice = sim.add ("alice", token::Role::host);
  Member & dave = sim.add ("dave");
  Member & erin = sim.add ("erin");
  /* The host's room is the smaller one, of the lower epoch. */
  expect_rooms_formed_apart_merge (sim, { &carol, &dave, &erin }, { &alice, &bob });
  EXPECT_EQ (carol.roster ().committer, alice.fingerprint ());
}

TEST (Room, RoomsFormedApartWithoutAHostMergeByEpoch)
{
  Sim sim;
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  Member & dave = sim.add ("dave");
  Member & erin = sim.add ("erin");
  Member & frank = sim.add ("frank");
  expect_rooms_formed_apart_merge (sim, { &bob, &carol }, { &dave, &erin, &frank });
}

/* A room that shrank to one member (the host, at epoch 3) and a new host
 * with a smaller fingerprint: the new host hears the room's beat (with its
 * committer's hello) and waits to be taken in; the room keeps its history
 * and the new host, of the smaller fingerprint, commits from then on. */
TEST (Room, ARoomThatShrankToOneTakesInANewHostOfSmallerFingerprint)
{
  Sim sim;
  Member & alice = sim.add ("alice", token::Role::host);
  Member & bob = sim.add ("bob");
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &alice, &bob }) && sim.keys_delivered ({ &alice, &bob }); }));
  sim.stop (bob);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &alice }); }));
  Member & dave = sim.add ("dave", token::Role::host, token::kDefaultGrants, false);
  while (!(dave.fingerprint () < alice.fingerprint ()))
    Identity::generate (&dave.identity);
  dave.token = sim.issue (dave.identity, token::Role::host);
  ASSERT_TRUE (sim.start (dave));
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &alice, &dave }) && sim.keys_delivered ({ &alice, &dave }); }));
  EXPECT_GT (dave.roster ().epoch, 3u) << "alice's room took dave in";
  EXPECT_EQ (dave.roster ().committer, dave.fingerprint ());
}
