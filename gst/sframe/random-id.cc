#include <gst/sframe/random-id.h>

#include <openssl/rand.h>

namespace sframe {
namespace room {

uint64_t
random_id ()
{
  uint64_t id = 0;
  while (id == 0)
    if (RAND_bytes (reinterpret_cast<unsigned char *> (&id), sizeof id) != 1)
      return 0;
  return id;
}

}  // namespace room
}  // namespace sframe
