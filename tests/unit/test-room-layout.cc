/* janusroomsrc's tiles without a pipeline: the grid reflows for any number
 * of members without overlap or gaps outside the frame, and a tile's label
 * names only a roster member, from what its decryptor counted. */
#include "../../plugins/janusroomsrc/room-layout.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace {

TEST (Grid, EveryCountTilesTheFrameWithoutOverlap)
{
  const int width = 1280, height = 720;
  for (size_t count = 1; count <= 12; count++) {
    for (size_t i = 0; i < count; i++) {
      TileRect a = grid_tile (i, count, width, height);
      EXPECT_GT (a.width, 0);
      EXPECT_GT (a.height, 0);
      EXPECT_LE (a.x + a.width, width) << count << " tiles, tile " << i;
      EXPECT_LE (a.y + a.height, height) << count << " tiles, tile " << i;
      for (size_t j = i + 1; j < count; j++) {
        TileRect b = grid_tile (j, count, width, height);
        bool apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y ||
            b.y + b.height <= a.y;
        EXPECT_TRUE (apart) << count << " tiles: " << i << " and " << j << " overlap";
      }
    }
  }
}

TEST (Grid, OneMemberFillsTheFrameAndFourMakeTwoByTwo)
{
  TileRect one = grid_tile (0, 1, 640, 360);
  EXPECT_EQ (one.width, 640);
  EXPECT_EQ (one.height, 360);
  TileRect last = grid_tile (3, 4, 640, 360);
  EXPECT_EQ (last.x, 320);
  EXPECT_EQ (last.y, 180);
  EXPECT_EQ (grid_tile (4, 4, 640, 360).width, 0);   /* no such tile */
}

std::optional<std::string>
roster (uint64_t key_id)
{
  static const std::map<uint64_t, std::string> owners = {{7, "alice"}, {9, "bob"}};
  auto it = owners.find (key_id);
  if (it == owners.end ())
    return std::nullopt;
  return it->second;
}

TEST (Label, FramesDecryptedUnderARosterKeyNameItsOwner)
{
  DecryptionCounters before, now;
  now.frames = 30;
  now.last_key_id = now.decrypted_key_id = 7;
  TileLabel label = tile_label (before, now, roster);
  EXPECT_EQ (label.state, TileState::decrypting);
  EXPECT_TRUE (label.verified);
  EXPECT_EQ (label.text, "alice - decrypting");
}

TEST (Label, AKeyIdNoRosterMemberOwnsIsUnverifiedNeverAName)
{
  DecryptionCounters before, now;
  now.unknown_key = 5;
  now.last_key_id = 1234;
  TileLabel label = tile_label (before, now, roster);
  EXPECT_EQ (label.state, TileState::waiting_for_key);
  EXPECT_FALSE (label.verified);
  EXPECT_TRUE (label.name.empty ());
  EXPECT_EQ (label.text, "unverified (key id 1234) - waiting for key");
}

TEST (Label, TheStateFollowsWhatChangedSinceTheLastLook)
{
  DecryptionCounters before;
  before.frames = 100;
  before.decrypted_key_id = before.last_key_id = 9;
  DecryptionCounters failing = before;
  failing.auth_failures = 3;
  failing.last_key_id = 9;
  EXPECT_EQ (tile_label (before, failing, roster).state, TileState::failing);
  /* bob's key id, but nothing authenticated: a claim names no one. */
  EXPECT_EQ (tile_label (before, failing, roster).text, "unverified (key id 9) - failing");
  EXPECT_FALSE (tile_label (before, failing, roster).verified);
  /* Nothing new at all: no media. */
  EXPECT_EQ (tile_label (before, before, roster).state, TileState::no_media);
  /* A decrypted frame outweighs failures in the same interval. */
  DecryptionCounters both = failing;
  both.frames = 101;
  EXPECT_EQ (tile_label (before, both, roster).state, TileState::decrypting);
}

TEST (Label, NoKeyIdYetIsAnUnknownSender)
{
  DecryptionCounters before, now;
  TileLabel label = tile_label (before, now, roster);
  EXPECT_FALSE (label.verified);
  EXPECT_EQ (label.text, "unknown sender - no media");
}

}  // namespace
