/* RosterChain alone: what a roster message must say to be read, which
 * changes apply to a roster, and that the state hash a change claims is
 * the one the roster has after it. */
#include <gst/sframe/keys/roster-chain.h>

#include <gtest/gtest.h>

using nlohmann::json;
using sframe::room::ParsedRoster;
using sframe::room::parse_roster;
using sframe::room::RosterChain;

namespace {

const std::string kA (64, 'a');
const std::string kB (64, 'b');
const std::string kC (64, 'c');
const std::string kHello (64, 'e');

/* A snapshot of the whole roster, as a welcome carries it. */
json
snapshot_of (uint64_t epoch, uint64_t next, const json & members, const json & revoked = json ())
{
  json payload = { { "epoch", epoch }, { "next", next }, { "prev", "" }, { "hash", "" }, { "change", "create" },
    { "members", members } };
  if (!revoked.is_null ())
    payload["revoked"] = revoked;
  return payload;
}

/* A change to epoch - 1, as a `roster` message carries it. */
json
change_of (uint64_t epoch, uint64_t next, const json & added, const json & removed)
{
  return { { "epoch", epoch }, { "next", next }, { "prev", "" }, { "hash", "" }, { "change", "join" },
    { "added", added }, { "removed", removed } };
}

/* A chain at epoch 1 with A (index 1) and B (index 2). */
RosterChain
chain_of_two ()
{
  RosterChain chain;
  ParsedRoster first;
  EXPECT_TRUE (parse_roster (snapshot_of (1, 3, json::array ({ { kA, 1u, kHello }, { kB, 2u, kHello } })), true, &first));
  first.hash = chain.state_hash_after (first);
  chain.apply (std::move (first));
  return chain;
}

}  // namespace

TEST (RosterChain, MalformedMemberListsAreNotRead)
{
  ParsedRoster parsed;
  EXPECT_TRUE (parse_roster (snapshot_of (1, 3, json::array ({ { kA, 1u, kHello }, { kB, 2u, kHello } })), true, &parsed));
  const json bad[] = {
    json::array ({ { kA, 1u, kHello }, { kB, 1u, kHello } }),   /* an index twice */
    json::array ({ { kA, 1u, kHello }, { kA, 2u, kHello } }),   /* a member twice */
    json::array ({ { kA, 0u, kHello } }),                      /* index 0 */
    json::array ({ { kA, 3u, kHello } }),                      /* index not below `next` */
    json::array ({ { "not-a-fingerprint", 1u, kHello } }),
    json::array ({ { kA, -1, kHello } }),
    json::array ({ { kA, 1 } }),
    json::array (),                                           /* a snapshot of nobody */
    json ("members"),
  };
  for (const auto & members : bad) {
    ParsedRoster p;
    EXPECT_FALSE (parse_roster (snapshot_of (1, 3, members), true, &p)) << members.dump ();
  }
  ParsedRoster p;
  EXPECT_FALSE (parse_roster (snapshot_of (1, 3, json::array ({ { kA, 1u, kHello } }), json::array ({ kB, kB })), true, &p))
      << "a revocation twice";
}

TEST (RosterChain, AChangeNamesWhoLeftOnlyAmongTheRemoved)
{
  json change = change_of (2, 3, json::array (), json::array ({ kB }));
  change["left"] = json::array ({ kB });
  ParsedRoster parsed;
  ASSERT_TRUE (parse_roster (change, false, &parsed));
  EXPECT_EQ (parsed.left.count (kB), 1u);
  change["left"] = json::array ({ kC });
  ParsedRoster other;
  EXPECT_FALSE (parse_roster (change, false, &other));
  ParsedRoster empty;
  EXPECT_FALSE (parse_roster (change_of (2, 3, json::array (), json::array ()), false, &empty)) << "a change of nothing";
}

TEST (RosterChain, OnlyAChangeOfOurRosterApplies)
{
  RosterChain chain = chain_of_two ();
  auto applies = [&] (const json & change) {
    ParsedRoster parsed;
    return parse_roster (change, false, &parsed) && chain.change_applies (parsed);
  };
  EXPECT_TRUE (applies (change_of (2, 4, json::array ({ { kC, 3u, kHello } }), json::array ())));
  EXPECT_TRUE (applies (change_of (2, 3, json::array (), json::array ({ kB }))));
  EXPECT_FALSE (applies (change_of (2, 3, json::array (), json::array ({ kC })))) << "removes a stranger";
  EXPECT_FALSE (applies (change_of (2, 4, json::array ({ { kB, 3u, kHello } }), json::array ()))) << "adds a member";
  json revokes_a_member_it_keeps = change_of (2, 3, json::array (), json::array ({ kA }));
  revokes_a_member_it_keeps["revoked"] = json::array ({ kB });
  EXPECT_FALSE (applies (revokes_a_member_it_keeps));
}

TEST (RosterChain, ARevokedDeviceIsNeverAddedAgain)
{
  RosterChain chain = chain_of_two ();
  json revoke = change_of (2, 3, json::array (), json::array ({ kB }));
  revoke["revoked"] = json::array ({ kB });
  ParsedRoster parsed;
  ASSERT_TRUE (parse_roster (revoke, false, &parsed));
  parsed.prev = chain.current ().hash;
  parsed.hash = chain.state_hash_after (parsed);
  ASSERT_TRUE (chain.follows (parsed));
  chain.apply (std::move (parsed));
  ParsedRoster back;
  ASSERT_TRUE (parse_roster (change_of (3, 4, json::array ({ { kB, 3u, kHello } }), json::array ()), false, &back));
  EXPECT_FALSE (chain.change_applies (back));
}

/* A member that applied each change and one that took a snapshot hold the
 * same state hash; the chain follows only the next epoch after its hash. */
TEST (RosterChain, ChangesAndSnapshotsAgreeOnTheStateHash)
{
  RosterChain chain = chain_of_two ();
  ParsedRoster join;
  ASSERT_TRUE (parse_roster (change_of (2, 4, json::array ({ { kC, 3u, kHello } }), json::array ({ kA })), false, &join));
  join.prev = chain.current ().hash;
  EXPECT_TRUE (chain.follows (join));
  ParsedRoster skipping = join;
  skipping.epoch = 3;
  EXPECT_FALSE (chain.follows (skipping));
  ParsedRoster elsewhere = join;
  elsewhere.prev = std::string (64, '0');
  EXPECT_FALSE (chain.follows (elsewhere));
  join.hash = chain.state_hash_after (join);
  auto diff = chain.apply (join);
  EXPECT_EQ (diff.removed, (std::set<std::string>{ kA }));
  EXPECT_EQ (diff.joined, (std::set<std::string>{ kC }));

  ParsedRoster copy;
  json snapshot = chain.snapshot ();
  ASSERT_TRUE (parse_roster (snapshot, true, &copy));
  RosterChain late;
  EXPECT_EQ (late.state_hash_after (copy), chain.current ().hash);
  late.apply (copy);
  EXPECT_EQ (late.current ().members, chain.current ().members);
  EXPECT_EQ (late.current ().epoch, 2u);
}

/* A key sent at some epoch is ratcheted for each join after it: the chain
 * says which epochs those were. */
TEST (RosterChain, RemembersTheEpochsAtWhichMembersJoined)
{
  RosterChain chain = chain_of_two ();   /* epoch 1: a snapshot, counted as a join */
  auto next_change = [&] (uint64_t next_index, const json & added, const json & removed) {
    ParsedRoster change;
    json payload = change_of (chain.current ().epoch + 1, next_index, added, removed);
    EXPECT_TRUE (parse_roster (payload, false, &change));
    change.prev = chain.current ().hash;
    change.hash = chain.state_hash_after (change);
    chain.apply (std::move (change));
  };
  next_change (4, json::array ({ { kC, 3u, kHello } }), json::array ());   /* 2: join */
  next_change (4, json::array (), json::array ({ kA }));                   /* 3: leave */
  next_change (5, json::array ({ { kA, 4u, kHello } }), json::array ());   /* 4: join */
  EXPECT_EQ (chain.joins_after (0), (std::vector<uint64_t>{ 1, 2, 4 }));
  EXPECT_EQ (chain.joins_after (2), (std::vector<uint64_t>{ 4 }));
  EXPECT_TRUE (chain.joins_after (4).empty ());
  chain.clear ();
  EXPECT_TRUE (chain.joins_after (0).empty ());
}
