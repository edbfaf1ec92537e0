#include "room-layout.h"

#include <cmath>

TileRect
grid_tile (size_t index, size_t count, int width, int height)
{
  if (count == 0 || index >= count)
    return {};
  size_t columns = (size_t) std::ceil (std::sqrt ((double) count));
  size_t rows = (count + columns - 1) / columns;
  TileRect r;
  r.width = width / (int) columns;
  r.height = height / (int) rows;
  r.x = (int) (index % columns) * r.width;
  r.y = (int) (index / columns) * r.height;
  return r;
}

const char *
tile_state_name (TileState state)
{
  switch (state) {
    case TileState::no_media:
      return "no media";
    case TileState::decrypting:
      return "decrypting";
    case TileState::waiting_for_key:
      return "waiting for key";
    case TileState::failing:
      return "failing";
  }
  return "unknown";
}
