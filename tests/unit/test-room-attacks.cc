/* Attacks on the key protocol's membership rules, each as it was first
 * demonstrated: an expired token, a member that left, the bus alone, and
 * an ordinary member each try to get a device into someone's roster, and
 * so a key. Each test checks the roster and, where the attacker holds a
 * session key, that no key sealed to it decrypts media sent meanwhile. */
#include "room-attacker.h"

#include <gtest/gtest.h>

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

/* Carol goes silent. The bus replays her hello every half second, as if
 * she were still there: she is dropped for liveness all the same. */
TEST (Attack, ReplayedHelloDoesNotKeepASilentMemberAlive)
{
  Sim sim;
  auto group = form_room (sim, 3);
  Member & carol = *group[2];
  BusMessage hello = last_hello_of (sim, carol.fingerprint ());
  carol.active = false;
  sim.on_step = [&] {
    if (sim.now_ms % 500 == 0)
      sim.inject (hello);
  };
  std::vector<Member *> rest { group[0], group[1] };
  EXPECT_TRUE (sim.run_until ([&] { return sim.converged (rest); }, 3 * sim.timing.liveness_ms));
  /* Removed for silence, its session rests: the replays go on, and still
   * do not bring it back. */
  sim.run_for (3 * sim.timing.liveness_ms);
  for (Member *m : rest)
    EXPECT_FALSE (lists (*m, carol.fingerprint ())) << m->name;
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
