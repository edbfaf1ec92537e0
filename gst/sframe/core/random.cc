#include <gst/sframe/core/random.h>

#include <gst/sframe/core/crypto/crypto.h>

namespace sframe {

bool
random_bytes (uint8_t * out, size_t size)
{
  return crypto::random_bytes (out, size);
}

uint64_t
random_nonzero_u64 ()
{
  uint64_t value = 0;
  while (value == 0) {
    if (!random_bytes (reinterpret_cast<uint8_t *> (&value), sizeof value))
      return 0;
  }
  return value;
}

}  // namespace sframe
