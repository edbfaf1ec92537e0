/* UnattributedStash alone: bounded, aged, and a replay never recurses. */
#include <gst/sframe/keys/unattributed-stash.h>

#include <gtest/gtest.h>

using sframe::room::UnattributedStash;
namespace wire = sframe::room::wire;

namespace {

wire::Envelope
message (const std::string & text)
{
  wire::Envelope envelope;
  envelope.payload = text;
  return envelope;
}

}  // namespace

TEST (UnattributedStash, IsBounded)
{
  UnattributedStash stash (3, 1000);
  for (int i = 0; i < 3; i++)
    EXPECT_TRUE (stash.stash (message ("m"), 0));
  EXPECT_FALSE (stash.stash (message ("m"), 0));
  EXPECT_EQ (stash.size (), 3u);
}

TEST (UnattributedStash, ReplaysInOrderAndDropsWhatIsTooOld)
{
  UnattributedStash stash (10, 1000);
  stash.stash (message ("old"), 0);
  stash.stash (message ("a"), 500);
  stash.stash (message ("b"), 600);
  std::vector<std::string> seen;
  size_t dropped = stash.replay (1200, [&] (const wire::Envelope & e) { seen.push_back (e.payload); });
  EXPECT_EQ (dropped, 1u);
  EXPECT_EQ (seen, (std::vector<std::string>{ "a", "b" }));
  EXPECT_EQ (stash.size (), 0u);
}

/* A message handled in a replay that is still unattributed goes back with
 * its first age, and the replay it may trigger does not run inside. */
TEST (UnattributedStash, StashedAgainItKeepsItsAgeAndReplayDoesNotRecurse)
{
  UnattributedStash stash (10, 1000);
  stash.stash (message ("a"), 100);
  int handled = 0;
  std::function<void (const wire::Envelope &)> handle = [&] (const wire::Envelope & e) {
    handled++;
    stash.stash (e, 900);                       /* still nobody's */
    EXPECT_EQ (stash.replay (900, handle), 0u);  /* as adopting a hello would */
  };
  stash.replay (900, handle);
  EXPECT_EQ (handled, 1);
  EXPECT_EQ (stash.size (), 1u);
  EXPECT_EQ (stash.replay (1101, [&] (const wire::Envelope &) { handled++; }), 1u)
      << "aged from 100, not from 900";
  EXPECT_EQ (handled, 1);
}
