/* What a janusroomsrc tile shows, worked out from plain numbers so that it
 * can be tested without a pipeline: where each tile goes in the grid, and
 * its label (the sender's name from the signed roster and the state of its
 * decryption). */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

struct TileRect {
  int x = 0, y = 0, width = 0, height = 0;
};

/* Tile `index` of `count` in a grid of ceil(sqrt(count)) columns filling
 * width × height, row by row. */
TileRect grid_tile (size_t index, size_t count, int width, int height);

constexpr uint64_t kNoKeyId = UINT64_MAX;

/* An sframedec's counters (its `stats`), as far as labels need them. */
struct DecryptionCounters {
  uint64_t frames = 0;
  uint64_t auth_failures = 0;
  uint64_t unknown_key = 0;
  uint64_t last_key_id = kNoKeyId;
  uint64_t decrypted_key_id = kNoKeyId;
};

enum class TileState { no_media, decrypting, waiting_for_key, failing };
const char *tile_state_name (TileState state);

struct TileLabel {
  TileState state = TileState::no_media;
  bool verified = false;     /* the key id belongs to a roster member */
  std::string name;          /* theirs, from the roster; empty if unverified */
  uint64_t key_id = kNoKeyId;
  std::string text;          /* what the tile shows */
};

/* `owner_of` gives the roster name of a key id's owner, or nothing. The
 * state comes from what changed between `before` and `now`. Only frames
 * that decrypted name anyone: the key id of frames that fail is the
 * sender's claim, not evidence. */
template <typename OwnerOf>
TileLabel
tile_label (const DecryptionCounters & before, const DecryptionCounters & now, OwnerOf owner_of)
{
  TileLabel label;
  if (now.frames > before.frames)
    label.state = TileState::decrypting;
  else if (now.auth_failures > before.auth_failures)
    label.state = TileState::failing;
  else if (now.unknown_key > before.unknown_key)
    label.state = TileState::waiting_for_key;
  label.key_id = label.state == TileState::decrypting ? now.decrypted_key_id : now.last_key_id;
  if (label.key_id != kNoKeyId && label.state == TileState::decrypting) {
    std::optional<std::string> name = owner_of (label.key_id);
    label.verified = name.has_value ();
    label.name = name.value_or ("");
  }
  std::string who = label.verified ? label.name
      : label.key_id == kNoKeyId ? std::string ("unknown sender")
      : "unverified (key id " + std::to_string (label.key_id) + ")";
  label.text = who + " - " + tile_state_name (label.state);
  return label;
}
