#include <gst/sframe/keys/random-id.h>

#include <gst/sframe/core/random.h>

namespace sframe {
namespace room {

uint64_t
random_id ()
{
  return random_nonzero_u64 ();
}

}  // namespace room
}  // namespace sframe
