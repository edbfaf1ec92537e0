/* Random identifiers of the key protocol: session ids, channel ids. */
#pragma once

#include <cstdint>

namespace sframe {
namespace room {

/* 64 random bits from the CSPRNG, never 0 (0 means "none" on the wire);
 * 0 only if the CSPRNG failed. */
uint64_t random_id ();

}  // namespace room
}  // namespace sframe
