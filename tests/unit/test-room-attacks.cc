/* Attacks on the key protocol's membership rules, each as it was first
 * demonstrated: an expired token, a member that left, the bus alone, and
 * an ordinary member each try to get a device into someone's roster, and
 * so a key. Each test checks the roster and, where the attacker holds a
 * session key, that no key sealed to it decrypts media sent meanwhile. */
#include "room-attacker.h"

#include <gtest/gtest.h>

#include <cstdio>

using namespace roomsim;

namespace {

/* Tokens live 300 s here (Sim::issue); the skew is the default 30 s. */
constexpr int64_t kLifetimeS = 300;

std::vector<Member *>
form_room (Sim & sim, size_t n)
{
  std::vector<Member *> group = start_room (sim, n);
  EXPECT_EQ (group.size (), n) << "the room did not form";
  return group;
}

/* A token for `device` issued `age_s` seconds ago. */
std::string
old_token (Sim & sim, const Identity & device, int64_t age_s, token::Role role = token::Role::member)
{
  return sim.issue (device, role, token::kDefaultGrants, "", nullptr, sim.now ().unix_s - age_s, kLifetimeS);
}

/* Nobody in `group` lists `fingerprint`, all agree, and no key the
 * attacker opened decrypts a frame any of them sends now. */
void
expect_kept_out (Sim & sim, const std::vector<Member *> & group, const AttackerDevice & attacker)
{
  EXPECT_TRUE (sim.converged (group)) << "the room is split";
  auto keys = attacker.keys_opened (sim);
  for (Member *m : group) {
    EXPECT_FALSE (lists (*m, attacker.fingerprint ())) << m->name << " lists the attacker";
    EXPECT_FALSE (any_key_decrypts (keys, encrypt_frame (*m, random_frame ()))) << "the attacker reads " << m->name;
  }
}

/* `signer` sends each of `group` a welcome to the roster on the bus plus
 * the device of `added` (its hello), one epoch on. */
void
welcome_each_with (Sim & sim, AttackerDevice & signer, const std::vector<Member *> & group, const BusMessage & added,
    const std::string & added_fingerprint)
{
  ObservedRoster roster = observe_roster (sim);
  auto members = roster.members;
  members[added_fingerprint] = { static_cast<uint32_t> (roster.next), hello_hash_of (added) };
  std::vector<BusMessage> hellos { added };
  for (Member *m : group)
    hellos.push_back (last_hello_of (sim, m->fingerprint ()));
  for (Member *m : group)
    sim.inject (forge_welcome (sim, signer, m->fingerprint (), roster.epoch + 1, members, hellos));
}

/* A welcome with a zero signature, carrying `hello`. */
BusMessage
zero_signature_welcome (const Sim & sim, const std::string & from, const std::string & sid, const std::string & to,
    const BusMessage & hello)
{
  json welcome = { { "v", 1 }, { "type", "welcome" }, { "room", sim.room () }, { "from", from }, { "sid", sid },
    { "seq", 999999 }, { "to", to }, { "roster", json::object () },
    { "hellos", json::array ({ std::string (hello.payload.begin (), hello.payload.end ()) }) } };
  std::string text = welcome.dump ();
  std::vector<uint8_t> zeros (64, 0);
  json envelope = { { "p", base64url_encode (text_bytes (text)) }, { "s", base64url_encode (ByteView (zeros)) } };
  std::string bytes = envelope.dump ();
  return { wire::subject_to (sim.room (), to), std::vector<uint8_t> (bytes.begin (), bytes.end ()) };
}

}  // namespace

/* Eve's token expired two hours ago. Her hello is refused; so she sends
 * each member a welcome of her own, signed by her device key, carrying a
 * hello dated inside her token's lifetime and a snapshot that adds her. */
TEST (Attack, ExpiredTokenCannotWelcomeItselfIn)
{
  Sim sim;
  auto group = form_room (sim, 2);
  AttackerDevice eve;
  int64_t age = 2 * 3600 + kLifetimeS;
  eve.token = old_token (sim, eve.identity, age);
  BusMessage eve_hello = eve.hello (sim, sim.now ().unix_s - age + 10);
  sim.inject (eve_hello);
  sim.run_for (500);
  for (Member *m : group)
    EXPECT_TRUE (m->refused (eve.fingerprint (), Refusal::token_expired)) << m->name;

  welcome_each_with (sim, eve, group, eve_hello, eve.fingerprint ());
  sim.run_for (2000);
  expect_kept_out (sim, group, eve);
}

/* Carol leaves. Ten minutes later, her token expired, she signs a new
 * hello with her old session id, a fresh session key and her old time,
 * sends it, and sends it again inside a welcome of her own to everyone. */
TEST (Attack, LeaverCannotComeBackInItsOldSession)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  json old = signed_payload (last_hello_of (sim, carol.fingerprint ()), "hello");
  sim.stop (carol);
  std::vector<Member *> rest { group[0], group[1] };
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest); }));
  sim.on_step = [&] { sim.renew_tokens_every (100 * 1000); };   /* the others stay */
  sim.run_for (10 * 60 * 1000);
  ASSERT_TRUE (sim.converged (rest));

  AttackerDevice thief (carol.identity);
  thief.token = carol.token;
  ASSERT_TRUE (wire::parse_u64_hex (old["sid"].get<std::string> (), &thief.sid));
  thief.seq = old["seq"].get<uint64_t> () + 100;
  BusMessage hello = thief.hello (sim, old["t"].get<int64_t> ());
  sim.inject (hello);
  welcome_each_with (sim, thief, rest, hello, carol.fingerprint ());
  sim.run_for (3000);
  expect_kept_out (sim, rest, thief);
  for (Member *m : rest)
    EXPECT_TRUE (m->refused (carol.fingerprint (), Refusal::token_expired)) << m->name;
}

/* The bus holds no key at all. Carol was in the room twice (two sessions,
 * two tokens) and has left. The bus replays, unchanged, the hello of her
 * first session, inside a welcome whose signature is 64 zero bytes, and
 * again every second. */
TEST (Attack, BusCannotBringBackADepartedSession)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  std::string first_sid = signed_payload (last_hello_of (sim, carol.fingerprint ()), "hello")["sid"];
  BusMessage first_hello = last_hello_of (sim, carol.fingerprint ());
  std::vector<Member *> rest { group[0], group[1] };
  sim.stop (carol);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest); }));
  carol.token = sim.issue (carol.identity, token::Role::member);
  sim.start (carol);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }));
  sim.stop (carol);
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest); }));

  for (int second = 0; second < 5; second++) {
    sim.inject (first_hello);
    for (Member *m : rest)
      sim.inject (zero_signature_welcome (sim, carol.fingerprint (), first_sid, m->fingerprint (), first_hello));
    sim.run_for (1000);
  }
  EXPECT_TRUE (sim.converged (rest));
  for (Member *m : rest)
    EXPECT_FALSE (lists (*m, carol.fingerprint ())) << m->name << " lists the ghost";
}

/* Mallory is an ordinary member, not the committer. He sends the victim a
 * signed snapshot at epoch 1002 that drops the host and adds Eve, whose
 * token expired an hour ago. */
TEST (Attack, OrdinaryMemberCannotRewriteAnothersRoster)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &mallory_member = *group[1], &victim = *group[2];
  ASSERT_EQ (victim.roster ().committer, host.fingerprint ());
  AttackerDevice mallory (mallory_member.identity);
  json mallory_hello = signed_payload (last_hello_of (sim, mallory.fingerprint ()), "hello");
  ASSERT_TRUE (wire::parse_u64_hex (mallory_hello["sid"].get<std::string> (), &mallory.sid));
  mallory.seq = 1u << 30;
  AttackerDevice eve;
  int64_t age = 3600 + kLifetimeS;
  eve.token = old_token (sim, eve.identity, age);
  BusMessage eve_hello = eve.hello (sim, sim.now ().unix_s - age + 10);

  ObservedRoster roster = observe_roster (sim);
  auto members = roster.members;
  members.erase (host.fingerprint ());
  members[eve.fingerprint ()] = { static_cast<uint32_t> (roster.next), hello_hash_of (eve_hello) };
  std::vector<BusMessage> hellos { eve_hello, last_hello_of (sim, mallory.fingerprint ()),
    last_hello_of (sim, victim.fingerprint ()) };
  sim.inject (forge_welcome (sim, mallory, victim.fingerprint (), 1002, members, hellos));
  sim.run_for (30000);
  expect_kept_out (sim, group, eve);
  EXPECT_EQ (victim.roster ().security_code, host.roster ().security_code);
}

/* Mallory, an ordinary member, invites the victim into a room of his own,
 * at a far higher epoch, listing only devices with valid tokens (himself
 * and the victim): a room a host commits outranks any room he commits, so
 * the victim stays in its own. */
TEST (Attack, OrdinaryMemberCannotPullAMemberIntoARoomOfItsOwn)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &mallory_member = *group[1], &victim = *group[2];
  AttackerDevice mallory (mallory_member.identity);
  json mallory_hello = signed_payload (last_hello_of (sim, mallory.fingerprint ()), "hello");
  ASSERT_TRUE (wire::parse_u64_hex (mallory_hello["sid"].get<std::string> (), &mallory.sid));
  mallory.seq = 1u << 30;
  ObservedRoster roster = observe_roster (sim);
  auto members = roster.members;
  members.erase (host.fingerprint ());
  std::vector<BusMessage> hellos { last_hello_of (sim, mallory.fingerprint ()),
    last_hello_of (sim, victim.fingerprint ()) };
  uint64_t rejected = victim.provider->stats ().messages_rejected;
  sim.inject (forge_welcome (sim, mallory, victim.fingerprint (), 1u << 20, members, hellos));
  sim.run_for (5000);
  EXPECT_GT (victim.provider->stats ().messages_rejected, rejected);
  EXPECT_EQ (victim.roster ().committer, host.fingerprint ());
  EXPECT_TRUE (sim.converged (group)) << "the room is split";
}

/* A committer's beat carries its hello, and a joiner that hears a room
 * beating waits for it rather than opening its own. Eve, whose token
 * expired, beats for a room of her own every 100 ms: her hello is refused,
 * so her beats hold nobody back, and the joiner opens its room in time. */
namespace {

/* `device` beats every 100 ms for a room of its own (it never welcomes
 * anyone), with its hello dated `hello_t`. */
void
beat_for_a_room_of_its_own (Sim & sim, AttackerDevice & device, int64_t hello_t)
{
  BusMessage hello = device.hello (sim, hello_t);
  std::string hello_text (hello.payload.begin (), hello.payload.end ());
  sim.on_step = [&sim, &device, hello_text] {
    if (sim.now_ms % 100 != 0)
      return;
    json beat = device.payload (sim, "beat");
    beat["epoch"] = 1000;
    beat["hash"] = std::string (64, 'e');
    beat["hellos"] = { hello_text };
    sim.inject ({ wire::subject_all (sim.room ()), device.sign (beat) });
  };
}

}  // namespace

TEST (Attack, BeatsOfAnExpiredTokenDoNotHoldAJoinerBack)
{
  {
    /* The control: with a valid token, the same beats hold the joiner. */
    Sim sim;
    AttackerDevice mallory;
    mallory.token = sim.issue (mallory.identity, token::Role::host);
    beat_for_a_room_of_its_own (sim, mallory, sim.now ().unix_s);
    sim.run_for (250);
    Member & alice = sim.add ("alice");
    EXPECT_FALSE (sim.run_until ([&] { return sim.converged ({ &alice }); }, 3000));
  }
  Sim sim;
  AttackerDevice eve;
  int64_t age = 3600 + kLifetimeS;
  eve.token = old_token (sim, eve.identity, age, token::Role::host);
  beat_for_a_room_of_its_own (sim, eve, sim.now ().unix_s - age + 10);
  sim.run_for (250);
  Member & alice = sim.add ("alice");
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &alice }); }, 3000))
      << "the joiner waited for a room it cannot verify";
  sim.run_for (500);
  EXPECT_TRUE (alice.refused (eve.fingerprint (), Refusal::token_expired));
  EXPECT_EQ (alice.roster ().committer, alice.fingerprint ());
}

/* A joiner waits in the lobby of an admission room until its token has
 * expired (it keeps sending the same hello); then a host admits it. */
TEST (Attack, LobbyJoinerWhoseTokenExpiredIsNotAdmitted)
{
  Sim sim ("board", true);
  Member & host = sim.add ("host", token::Role::host);
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch >= 1; }));
  Member & bob = sim.add ("bob", token::Role::member, token::kDefaultGrants, false);
  bob.token = sim.issue (bob.identity, token::Role::member, token::kDefaultGrants, "", nullptr, -1, 60);
  ASSERT_TRUE (sim.start (bob));
  sim.run_for (2000);
  ASSERT_EQ (host.roster ().lobby.size (), 1u);
  sim.run_for ((60 + token::kDefaultClockSkew + 5) * 1000);
  ASSERT_EQ (host.provider->admit (bob.fingerprint (), sim.now ()), Status::ok);
  sim.run_for (3000);
  EXPECT_FALSE (lists (host, bob.fingerprint ()));
  EXPECT_FALSE (lists (bob, host.fingerprint ()));
  EXPECT_FALSE (bob.ring.find (host.sender_id ()));
  EXPECT_TRUE (host.refused (bob.fingerprint (), Refusal::token_expired));
}

namespace {

/* Carol goes silent; every `every_ms` the bus sends what `replay` makes of
 * her recorded hello, as if she were still there. She is dropped for
 * liveness all the same, and the replays, going on, do not bring her
 * resting session back. */
void
expect_silent_member_dropped_despite (const std::function<BusMessage (Sim &, const BusMessage &)> & replay,
    int64_t every_ms)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  BusMessage hello = last_hello_of (sim, carol.fingerprint ());
  carol.active = false;
  sim.on_step = [&] {
    if (sim.now_ms % every_ms == 0)
      sim.inject (replay (sim, hello));
  };
  std::vector<Member *> rest { group[0], group[1] };
  EXPECT_TRUE (sim.run_until ([&] { return !lists (*rest[0], carol.fingerprint ()) && sim.converged (rest); },
      3 * sim.timing.liveness_ms));
  sim.run_for (3 * sim.timing.liveness_ms);
  for (Member *m : rest)
    EXPECT_FALSE (lists (*m, carol.fingerprint ())) << m->name;
}

}  // namespace

TEST (Attack, ReplayedHelloDoesNotKeepASilentMemberAlive)
{
  expect_silent_member_dropped_despite ([] (Sim &, const BusMessage & hello) { return hello; }, 500);
}

/* Carol drops off the bus long enough to be removed, while the others send
 * media; she comes back in the same session, heard through her fresh
 * signed messages, and holds no key that opens what was sent while she
 * was out. */
TEST (Attack, MemberBackFromSilenceReadsNothingSentWhileOut)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & alice = *group[0], &carol = *group[2];
  std::string carol_hello = hello_hash_of (last_hello_of (sim, carol.fingerprint ()));
  std::vector<Member *> rest { group[0], group[1] };
  std::vector<uint64_t> keys_before { rest[0]->sender_id (), rest[1]->sender_id () };
  carol.active = false;
  /* Removed, and every other member sends with a fresh key. */
  ASSERT_TRUE (sim.run_until ([&] {
    return sim.converged (rest) && alice.roster ().members.size () == 2u &&
        rest[0]->sender_id () != keys_before[0] && rest[1]->sender_id () != keys_before[1];
  }, 3 * sim.timing.liveness_ms));
  std::vector<std::vector<uint8_t>> sent_while_out;
  for (Member *m : rest)
    sent_while_out.push_back (encrypt_frame (*m, random_frame ()));
  carol.active = true;
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (group) && sim.keys_delivered (group); }, 20000));
  EXPECT_EQ (observe_roster (sim).members.at (carol.fingerprint ()).second, carol_hello) << "a new session";
  sim.run_for (3 * sim.timing.liveness_ms);
  EXPECT_TRUE (sim.converged (group)) << "she did not stay";
  for (const auto & frame : sent_while_out)
    EXPECT_FALSE (any_held_key_decrypts (carol, frame));
  EXPECT_TRUE (any_held_key_decrypts (carol, encrypt_frame (alice, random_frame ())));
}

/* A revocation is part of the roster's history: a host who joined after
 * it, and commits once the revoking host has left, refuses the device. */
TEST (Attack, RevokedDeviceStaysOutForMembersWhoJoinedLater)
{
  Sim sim;
  Member & alice = sim.add ("alice", token::Role::host);
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob, &carol }));
  ASSERT_EQ (alice.provider->revoke (carol.fingerprint (), sim.now ()), Status::ok);
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob }));
  Member & dave = sim.add ("dave", token::Role::host);
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob, &dave }));
  sim.stop (alice);
  ASSERT_TRUE (sim.run_until_formed ({ &bob, &dave }));
  ASSERT_EQ (dave.roster ().committer, dave.fingerprint ());

  carol.token = sim.issue (carol.identity, token::Role::member);
  sim.start (carol);
  sim.run_for (3000);
  for (Member *m : { &bob, &dave }) {
    EXPECT_FALSE (lists (*m, carol.fingerprint ())) << m->name;
    EXPECT_TRUE (m->refused (carol.fingerprint (), Refusal::revoked)) << m->name;
    EXPECT_FALSE (any_held_key_decrypts (carol, encrypt_frame (*m, random_frame ()))) << m->name;
  }
}

/* Mallory, an ordinary member, renews his token with one that makes him a
 * host (the authority issued it, for another purpose): a renewal may only
 * extend a membership, never change it. */
TEST (Attack, RenewalCannotChangeARole)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &mallory_member = *group[1];
  AttackerDevice mallory (mallory_member.identity);
  json hello = signed_payload (last_hello_of (sim, mallory.fingerprint ()), "hello");
  ASSERT_TRUE (wire::parse_u64_hex (hello["sid"].get<std::string> (), &mallory.sid));
  mallory.seq = 1u << 30;
  json renew = mallory.payload (sim, "renew");
  renew["token"] = sim.issue (mallory.identity, token::Role::host);
  renew["hello"] = hello_hash_of (last_hello_of (sim, mallory.fingerprint ()));
  sim.inject ({ wire::subject_all (sim.room ()), mallory.sign (renew) });
  sim.run_for (500);
  for (Member *m : group) {
    if (m == &mallory_member)
      continue;
    EXPECT_TRUE (m->refused (mallory.fingerprint (), Refusal::renewal_mismatch)) << m->name;
    for (const auto & member : m->roster ().members) {
      if (member.fingerprint == mallory.fingerprint ()) {
        EXPECT_EQ (member.role, token::Role::member);
      }
    }
  }
  EXPECT_EQ (group[2]->roster ().committer, host.fingerprint ());
  /* Locally, too: the provider refuses to renew with it. */
  EXPECT_EQ (mallory_member.provider->renew_token (renew["token"], sim.now ()), Status::invalid_argument);
}

/* ---- found by an adversarial review of the rules above ---- */

/* A token's jti is bound to the first (device, session) that used it, in
 * every member's memory, and welcomes carry the sessions that left while
 * their tokens are valid, so the binding outlives the members who saw it.
 * Carol leaves; Dave, a host, joins; Alice, the host who saw Carol's
 * token, leaves, so Dave commits. Carol starts again with her old token,
 * still inside its lifetime: Bob and Dave both refuse it as replayed. */
TEST (Attack, OldTokenStaysUsedAfterTheMembersWhoSawItLeft)
{
  Sim sim;
  Member & alice = sim.add ("alice", token::Role::host);
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob, &carol }));
  sim.stop (carol);
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob }));
  Member & dave = sim.add ("dave", token::Role::host);
  ASSERT_TRUE (sim.run_until_formed ({ &alice, &bob, &dave }));
  sim.stop (alice);
  ASSERT_TRUE (sim.run_until_formed ({ &bob, &dave }));
  ASSERT_EQ (dave.roster ().committer, dave.fingerprint ());

  ASSERT_TRUE (sim.start (carol));   /* a new session, the same (old) token */
  sim.run_for (3000);
  EXPECT_TRUE (bob.refused (carol.fingerprint (), Refusal::token_replayed));
  EXPECT_TRUE (dave.refused (carol.fingerprint (), Refusal::token_replayed)) << "dave took the replayed token";
  EXPECT_FALSE (lists (dave, carol.fingerprint ())) << "dave's roster lists carol again, with her old token";
  EXPECT_FALSE (any_held_key_decrypts (carol, encrypt_frame (dave, random_frame ())))
      << "carol reads dave's media sent after she left";
}

/* Only the roster's `revoked` list revokes. Bea, a host, revokes Carol
 * while Alex, the committer, leaves; Bea commits both in one change (a bus
 * that delays a leave until a revocation lands makes this at will). Alex
 * merely left: it comes back later in a new session with a new token, and
 * nobody refuses it as revoked. */
TEST (Attack, LeavingInTheSameChangeAsARevocationIsNotRevocation)
{
  Sim sim;
  Member & h1 = sim.add ("h1", token::Role::host);
  Member & h2 = sim.add ("h2", token::Role::host);
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  ASSERT_TRUE (sim.run_until_formed ({ &h1, &h2, &bob, &carol }));
  Member & alex = h1.roster ().committer == h1.fingerprint () ? h1 : h2;   /* the committer */
  Member & bea = &alex == &h1 ? h2 : h1;
  ASSERT_EQ (bob.roster ().committer, alex.fingerprint ());

  ASSERT_EQ (bea.provider->revoke (carol.fingerprint (), sim.now ()), Status::ok);
  sim.stop (alex);   /* at the same moment: a clean leave */
  ASSERT_TRUE (sim.run_until_formed ({ &bea, &bob }));
  EXPECT_EQ (carol.left_reason, "revoked");

  /* Alex comes back later: a new session, a new token. */
  sim.run_for (5000);
  alex.token = sim.issue (alex.identity, token::Role::host);
  ASSERT_TRUE (sim.start (alex));
  sim.run_for (3000);
  for (Member *m : { &bea, &bob }) {
    EXPECT_FALSE (m->refused (alex.fingerprint (), Refusal::revoked)) << m->name << " holds alex as revoked";
    EXPECT_TRUE (lists (*m, alex.fingerprint ())) << m->name << " keeps alex out";
  }
}

/* A refusal names the device of an authentic token, never the `from` a
 * message claims: the bus, holding no key, takes Bob's hello and writes
 * Carol's fingerprint in `from`; nobody reports Carol refused. */
TEST (Attack, BusCannotMakeMembersReportADeviceRefused)
{
  Sim sim;
  Member & alice = sim.add ("alice", token::Role::host);
  Member & bob = sim.add ("bob");
  Member & carol = sim.add ("carol");
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged ({ &alice, &bob, &carol }); }));
  BusMessage hello = last_hello_of (sim, bob.fingerprint ());
  wire::Envelope envelope;
  ASSERT_TRUE (wire::parse_envelope (ByteView (hello.payload), &envelope));
  json payload = json::parse (envelope.payload);
  payload["from"] = carol.fingerprint ();
  std::string text = payload.dump ();
  json forged = { { "p", base64url_encode (text_bytes (text)) }, { "s", base64url_encode (ByteView (envelope.signature)) } };
  std::string bytes = forged.dump ();
  sim.inject ({ wire::subject_all (sim.room ()), std::vector<uint8_t> (bytes.begin (), bytes.end ()) });
  sim.run_for (500);
  EXPECT_TRUE (lists (alice, carol.fingerprint ()));
  for (const auto & refusal : alice.refusals)
    EXPECT_NE (std::get<0> (refusal), carol.fingerprint ())
        << "alice reports carol refused (" << refusal_name (std::get<1> (refusal)) << ") for a hello carol never sent";
}

/* A host revokes the committer's stolen device (which keeps running the
 * application): a device with a host's revoke against it is no longer
 * eligible to commit, so the next host commits its removal, and fresh
 * keys follow. */
TEST (Attack, RevokedCommitterIsRemovedByTheNextHost)
{
  Sim sim;
  Member & h1 = sim.add ("h1", token::Role::host);
  Member & h2 = sim.add ("h2", token::Role::host);
  Member & bob = sim.add ("bob");
  ASSERT_TRUE (sim.run_until_formed ({ &h1, &h2, &bob }));
  Member & stolen = h1.roster ().committer == h1.fingerprint () ? h1 : h2;
  Member & other = &stolen == &h1 ? h2 : h1;
  ASSERT_EQ (other.provider->revoke (stolen.fingerprint (), sim.now ()), Status::ok);
  sim.run_for (10000);
  for (Member *m : { &other, &bob }) {
    EXPECT_FALSE (lists (*m, stolen.fingerprint ())) << m->name << " still lists the revoked committer";
    EXPECT_FALSE (any_held_key_decrypts (stolen, encrypt_frame (*m, random_frame ())))
        << "the revoked committer still reads " << m->name;
  }
}

namespace {

/* A `beat` the bus makes up (zero signature, a `from` nobody knows),
 * carrying `hello` (a real signed hello it recorded) in `hellos`. */
BusMessage
forged_beat_carrying (const Sim & sim, const BusMessage & hello, uint64_t seq)
{
  std::string nobody (64, 'b');
  json beat = { { "v", 1 }, { "type", "beat" }, { "room", sim.room () }, { "from", nobody }, { "sid", "0000000000000001" },
    { "seq", seq }, { "epoch", 1 }, { "hash", std::string (64, '0') },
    { "hellos", json::array ({ std::string (hello.payload.begin (), hello.payload.end ()) }) } };
  std::string text = beat.dump ();
  std::vector<uint8_t> zeros (64, 0);
  json envelope = { { "p", base64url_encode (text_bytes (text)) }, { "s", base64url_encode (ByteView (zeros)) } };
  std::string bytes = envelope.dump ();
  return { wire::subject_all (sim.room ()), std::vector<uint8_t> (bytes.begin (), bytes.end ()) };
}

/* Whether a bus message was sent by `fp` (signed `from` or channel from). */
bool
sent_by (const BusMessage & message, const std::string & fp)
{
  wire::Envelope envelope;
  if (!wire::parse_envelope (ByteView (message.payload), &envelope))
    return false;
  if (envelope.kind == wire::Envelope::Kind::channel_message)
    return envelope.channel.from == fp;
  json payload = json::parse (envelope.payload, nullptr, false);
  return payload.is_object () && payload.value ("from", "") == fp;
}

}  // namespace

/* Carol goes silent and is removed (her session rests). The bus wraps her
 * recorded hello in a beat of its own making (no key, zero signature, a
 * sender nobody knows), hoping it is judged as a new hello that refreshes
 * her liveness: a beat carries only its own sender's hello. */
TEST (Attack, BusCannotReviveARestingSessionWithItsHelloInABeat)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &carol = *group[2];
  BusMessage hello = last_hello_of (sim, carol.fingerprint ());
  carol.active = false;
  std::vector<Member *> rest { group[0], group[1] };
  ASSERT_TRUE (sim.run_until ([&] { return !lists (host, carol.fingerprint ()) && sim.converged (rest); },
      3 * sim.timing.liveness_ms));
  sim.run_for (1000);
  sim.inject (forged_beat_carrying (sim, hello, 1));   /* once */
  sim.run_for (500);
  for (Member *m : rest)
    EXPECT_FALSE (lists (*m, carol.fingerprint ())) << m->name << " lists carol (inactive) again";
  EXPECT_FALSE (carol.active);
}

/* The same beat, every 2.5 s, to keep a silent member in the room. */
TEST (Attack, BusCannotKeepASilentMemberAliveWithItsHelloInABeat)
{
  uint64_t seq = 1;
  expect_silent_member_dropped_despite (
      [&seq] (Sim & sim, const BusMessage & hello) { return forged_beat_carrying (sim, hello, seq++); }, 2500);
}

/* Every member renews at 250 s; at 260 s the bus replays Bob's first hello
 * in a forged beat, so that members take it again and forget his renewal
 * (and drop him when his first token expires). */
TEST (Attack, BusCannotEraseARenewalWithAnOldHelloInABeat)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &bob = *group[1];
  BusMessage hello = last_hello_of (sim, bob.fingerprint ());
  sim.on_step = [&] {
    sim.renew_tokens_every (250 * 1000);   /* at 250 s: tokens valid to 550 s */
    if (sim.now_ms == 260 * 1000)
      sim.inject (forged_beat_carrying (sim, hello, 1));
  };
  sim.run_for (270 * 1000);
  ASSERT_TRUE (sim.converged (group));
  sim.run_for ((kLifetimeS + token::kDefaultClockSkew + 5) * 1000 - sim.now_ms);   /* t = 335 s */
  EXPECT_TRUE (lists (host, bob.fingerprint ())) << "bob, holding a valid renewal, was dropped";
  EXPECT_EQ (bob.roster ().members.size (), 3u) << "bob is out of the room";
}

namespace {

/* A member made of an AttackerDevice: says hello and keeps itself heard
 * with a fresh signed sync every second while `*alive`. */
void
run_attacker_member (Sim & sim, AttackerDevice & device, bool * alive)
{
  sim.inject (device.hello (sim, sim.now ().unix_s));
  sim.on_step = [&sim, &device, alive] {
    if (!*alive || sim.now_ms % 1000 != 0)
      return;
    json sync = device.payload (sim, "sync");
    sync["epoch"] = 0;
    sim.inject ({ wire::subject_all (sim.room ()), device.sign (sync) });
  };
}

/* The last welcome on the bus to `to` whose snapshot lists `fp`. */
BusMessage
last_welcome_to_listing (const Sim & sim, const std::string & to, const std::string & fp)
{
  BusMessage found;
  for (const auto & message : sim.log) {
    json payload = signed_payload (message, "welcome");
    if (payload.is_discarded () || payload.value ("to", "") != to)
      continue;
    for (const auto & m : payload["roster"]["members"])
      if (m[0] == fp)
        found = message;
  }
  return found;
}

/* Dave (attacker-held device, valid token) is a member; the bus records a
 * welcome to Carol that lists him; the bus silences Carol (she keeps
 * receiving) until the committer drops her, and she rejoins in the same
 * session. While she is a joiner, `while_out` happens (Dave leaves, or is
 * revoked). Then the bus replays the old welcome to Carol: a joiner checks
 * no epoch and no replay of it, and it is signed in her own session. */
void
stale_welcome_to_rejoiner (bool revoke)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & host = *group[0], &bob = *group[1], &carol = *group[2];
  AttackerDevice dave;
  dave.token = sim.issue (dave.identity, token::Role::member);
  bool dave_alive = true;
  run_attacker_member (sim, dave, &dave_alive);
  ASSERT_TRUE (sim.run_until ([&] {
    return lists (host, dave.fingerprint ()) && lists (bob, dave.fingerprint ()) && lists (carol, dave.fingerprint ());
  }));
  sim.run_for (1000);
  sim.inject (last_hello_of (sim, carol.fingerprint ()));   /* the committer answers with a welcome */
  sim.run_for (200);
  BusMessage old_welcome = last_welcome_to_listing (sim, carol.fingerprint (), dave.fingerprint ());
  ASSERT_FALSE (old_welcome.payload.empty ());

  /* Carol is silenced (nothing she sends goes through) until she rejoins. */
  std::string carol_fp = carol.fingerprint ();
  sim.interceptor = [carol_fp] (BusMessage & m) { return sent_by (m, carol_fp) ? Verdict::drop : Verdict::deliver; };
  bool removed = sim.run_until ([&] { return !lists (host, carol_fp) && carol.roster ().members.empty (); }, 10000);
  ASSERT_TRUE (removed);
  ASSERT_TRUE (carol.left_reason.empty ()) << carol.left_reason;

  std::vector<Member *> rest { &host, &bob };
  if (revoke) {
    ASSERT_EQ (host.provider->revoke (dave.fingerprint (), sim.now ()), Status::ok);
  } else {
    sim.inject ({ wire::subject_all (sim.room ()), dave.sign (dave.payload (sim, "leave")) });
  }
  dave_alive = false;
  ASSERT_TRUE (sim.run_until ([&] { return sim.converged (rest) && !lists (host, dave.fingerprint ()); }));
  sim.run_for (500);
  ASSERT_FALSE (lists (carol, dave.fingerprint ()));

  sim.inject (old_welcome);
  sim.run_for (5);
  sim.interceptor = nullptr;
  EXPECT_FALSE (lists (carol, dave.fingerprint ())) << "carol adopted a stale roster listing dave, who "
                                                    << (revoke ? "was revoked" : "left");
  std::vector<uint8_t> frame = encrypt_frame (carol, random_frame ());
  EXPECT_FALSE (any_key_decrypts (dave.keys_opened (sim), frame))
      << "dave reads what carol sends after he " << (revoke ? "was revoked" : "left");
  sim.run_for (10000);
  EXPECT_TRUE (sim.converged ({ &host, &bob, &carol }));
}

}  // namespace

/* Bus + a member who left: an old welcome to a rejoiner, listing the
 * leaver. A rejoiner takes only a welcome that answers one of its fresh
 * messages. */
TEST (Attack, StaleWelcomeToARejoinerDoesNotLetALeaverRead)
{
  stale_welcome_to_rejoiner (false);
}

/* Bus + a stolen device a host revoked, the same way. */
TEST (Attack, StaleWelcomeToARejoinerDoesNotLetARevokedDeviceRead)
{
  stale_welcome_to_rejoiner (true);
}

/* In an admission room the host admits Bob; Bob drops off (removed for
 * silence: his session rests, and keeps its admission). He restarts: a new
 * session, a new token. An admission is for the session admitted: the new
 * one waits in the lobby. */
TEST (Attack, NewSessionOfARestingDeviceWaitsInTheLobby)
{
  Sim sim ("board", true);
  Member & host = sim.add ("host", token::Role::host);
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch >= 1; }));
  Member & bob = sim.add ("bob");
  sim.run_for (1000);
  ASSERT_EQ (host.provider->admit (bob.fingerprint (), sim.now ()), Status::ok);
  ASSERT_TRUE (sim.run_until_formed ({ &host, &bob }));
  bob.active = false;
  ASSERT_TRUE (sim.run_until ([&] { return !lists (host, bob.fingerprint ()); }, 3 * sim.timing.liveness_ms));
  sim.run_for (1000);
  bob.token = sim.issue (bob.identity, token::Role::member);
  ASSERT_TRUE (sim.start (bob));
  sim.run_for (5000);
  EXPECT_FALSE (lists (host, bob.fingerprint ())) << "bob's new session joined without an admission";
  EXPECT_FALSE (bob.ring.find (host.sender_id ())) << "and holds the host's key";
}

/* The bus, holding no key, sends forged beats (a sender nobody knows,
 * carrying a member's real hello): each is rejected once, however many
 * arrive together, and none is judged again each time another is. */
TEST (Attack, ForgedBeatsCarryingAMembersHelloAreRejectedOnceEach)
{
  Sim sim;
  auto group = form_room (sim, 2);
  BusMessage hello = last_hello_of (sim, group[1]->fingerprint ());
  uint64_t before = group[0]->provider->stats ().messages_rejected;
  constexpr uint64_t kBeats = 24;
  for (uint64_t i = 0; i < kBeats; i++)
    sim.inject (forged_beat_carrying (sim, hello, i + 1));
  sim.run_for (5);
  EXPECT_EQ (group[0]->provider->stats ().messages_rejected - before, kBeats);
  EXPECT_TRUE (sim.converged (group));
}

/* Bus + an ordinary member. The bus silences Carol (she still hears) until
 * the host's room drops her; she rejoins as a joiner, and Mallory (an
 * ordinary member) welcomes her into {Mallory, Carol} and beats for it.
 * Her fresh signed messages there are heard by the host's room (where her
 * session rests), whose committer takes her back with an invitation that
 * outranks Mallory's room. The bus is fair again from the welcome on. */
TEST (Attack, RejoinerCapturedByAnOrdinaryMemberReturnsToTheHostsRoom)
{
  Sim sim;
  Member & host = sim.add ("host", token::Role::host);
  Member & a = sim.add ("a");
  Member & b = sim.add ("b");
  ASSERT_TRUE (sim.run_until_formed ({ &host, &a, &b }));
  Member & mallory_member = a.fingerprint () < b.fingerprint () ? a : b;
  Member & carol = &mallory_member == &a ? b : a;
  AttackerDevice mallory (mallory_member.identity);
  json mallory_hello = signed_payload (last_hello_of (sim, mallory.fingerprint ()), "hello");
  ASSERT_TRUE (wire::parse_u64_hex (mallory_hello["sid"].get<std::string> (), &mallory.sid));
  mallory.seq = 1u << 30;

  std::string carol_fp = carol.fingerprint ();
  sim.interceptor = [carol_fp] (BusMessage & m) { return sent_by (m, carol_fp) ? Verdict::drop : Verdict::deliver; };
  ASSERT_TRUE (sim.run_until ([&] { return !lists (host, carol_fp) && carol.roster ().members.empty (); }, 10000));
  ASSERT_TRUE (carol.left_reason.empty ());

  BusMessage mh = last_hello_of (sim, mallory.fingerprint ()), ch = last_hello_of (sim, carol_fp);
  std::map<std::string, std::pair<uint32_t, std::string>> members { { mallory.fingerprint (), { 1, hello_hash_of (mh) } },
    { carol_fp, { 2, hello_hash_of (ch) } } };
  BusMessage welcome = forge_welcome (sim, mallory, carol_fp, 7, members, { mh, ch });
  json snapshot = signed_payload (welcome, "welcome")["roster"];
  std::string mh_text (mh.payload.begin (), mh.payload.end ());
  auto mallory_beats = [&] {   /* Mallory beats for his room, to Carol's inbox only */
    json beat = mallory.payload (sim, "beat");
    beat["epoch"] = 7;
    beat["hash"] = snapshot["hash"];
    beat["hellos"] = { mh_text };
    sim.inject ({ wire::subject_to (sim.room (), carol_fp), mallory.sign (beat) });
  };
  sim.inject (welcome);
  mallory_beats ();
  sim.run_for (5);
  sim.interceptor = nullptr;
  sim.on_step = [&] {
    if (sim.now_ms % 500 == 0)
      mallory_beats ();
  };
  sim.run_for (30000);
  EXPECT_NE (carol.roster ().committer, mallory.fingerprint ()) << "carol is in mallory's room";
  EXPECT_TRUE (lists (host, carol_fp)) << "after 30 s of a fair bus, the host's room has not taken carol back";
  EXPECT_TRUE (carol.ring.find (host.sender_id ())) << "carol cannot read the host";
}

/* S resyncs past a removal and the joiner's join in one welcome. Until
 * its fresh key (of the removal) takes over, S sends with its current key
 * and answers a sync with it: that key must have gone through the join's
 * ratchet, or the joiner reads what S sent before it came. The first
 * answer is dropped so that the joiner installs the second (a joiner that
 * means harm needs no drop: it opens the answer either way). */
TEST (Attack, AJoinerGetsNoPreJoinKeyFromAMemberThatResyncedPastItsJoin)
{
  Sim sim;
  auto group = start_room (sim, 3);
  ASSERT_EQ (group.size (), 3u);
  Member & host = *group[0];
  Member & s = *group[1];
  Member & z = *group[2];
  auto before = encrypt_frame (s, random_frame ());   /* media before the joiner came */

  bool s_deaf = true;
  cut_off_broadcasts (sim, s, &s_deaf);
  /* S's channel messages to the joiner are lost until the joiner's sync,
   * and so is the first one that answers it (the fresh key). */
  std::string x_fp;
  int drop_after_sync = -1;   /* -1: drop all; then drop this many more */
  sim.interceptor = [&] (BusMessage & message) {
    if (x_fp.empty () || !is_channel_from_to (message, s.fingerprint (), x_fp))
      return Verdict::deliver;
    if (drop_after_sync < 0)
      return Verdict::drop;
    if (drop_after_sync > 0) {
      drop_after_sync--;
      return Verdict::drop;
    }
    return Verdict::deliver;
  };
  uint64_t e0 = host.roster ().epoch;
  sim.stop (z);
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch == e0 + 1; }, 2000));
  Member & x = sim.add ("x");
  x_fp = x.fingerprint ();
  ASSERT_TRUE (sim.run_until ([&] { return host.roster ().epoch == e0 + 2 && lists (host, x.fingerprint ()); }, 2000));
  EXPECT_EQ (s.roster ().epoch, e0);   /* S missed both */
  s_deaf = false;
  ASSERT_TRUE (sim.run_until ([&] { return s.roster ().epoch == e0 + 2; }, 3000));
  /* The joiner asks for a resync (its bus reconnected, say). */
  drop_after_sync = 1;
  x.provider->reconnected (sim.now ());
  sim.run_for (3000);
  EXPECT_FALSE (any_held_key_decrypts (x, before)) << "the joiner reads S's media from before it joined";
}
