#include <gst/sframe/random-id.h>

#include <gst/sframe/random.h>

namespace sframe {
namespace room {

uint64_t
random_id ()
{
  return random_nonzero_u64 ();
}

}  // namespace room
}  // namespace sframe
