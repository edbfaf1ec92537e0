/* The numeric Janus VideoRoom id both room elements use for a room name,
 * so that a launch line names a room once. */
#pragma once

#include <glib.h>

#include <cstdint>
#include <string>

/* FNV-1a of the name, kept to 53 bits (JavaScript clients read ids as
 * doubles) and never 0. Not a secret and not a security boundary: Janus
 * admits publishers by its own rules, members by the signed roster. */
inline uint64_t
janus_room_id_for (const std::string & name)
{
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  hash &= (uint64_t (1) << 53) - 1;
  return hash ? hash : 1;
}
