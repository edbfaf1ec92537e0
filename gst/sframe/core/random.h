/* Random bytes from the CSPRNG, for everything that draws them. */
#pragma once

#include <gst/sframe/core/api.h>

#include <cstddef>
#include <cstdint>

namespace sframe {

/* False when the CSPRNG failed; `out` is then unusable. */
GST_SFRAME_API bool random_bytes (uint8_t * out, size_t size);

/* 64 random bits, never 0 (0 means "none" where ids are sent); 0 only when
 * the CSPRNG failed. */
GST_SFRAME_API uint64_t random_nonzero_u64 ();

}  // namespace sframe
