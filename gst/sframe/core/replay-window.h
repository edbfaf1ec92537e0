/* A sliding anti-replay window over SFrame counters (after RFC 6479): it
 * remembers the highest counter accepted and which of the kSize counters
 * below it were seen. Anything older than the window is refused. */
#pragma once

#include <gst/sframe/core/api.h>

#include <cstddef>
#include <cstdint>

namespace sframe {

class GST_SFRAME_API ReplayWindow {
public:
  /* Wide enough for audio and video of one sender (one counter space)
   * arriving through separate jitter buffers with a second of skew. */
  static constexpr size_t kSize = 2048;

  /* True when `counter` was not seen and is not too old; marks it seen. */
  bool check_and_mark (uint64_t counter);

  /* True when `counter` would be accepted; changes nothing. */
  bool would_accept (uint64_t counter) const;

  /* The highest counter accepted; false while nothing was. */
  bool highest (uint64_t * counter) const;

  /* Refuses every counter up to and including `counter` from now on: what a
   * window forgotten and rebuilt must still refuse. */
  void refuse_through (uint64_t counter);

private:
  static constexpr size_t kWords = kSize / 64;

  bool test_bit (uint64_t counter) const;
  void advance_to (uint64_t counter);

  uint64_t bits_[kWords] = {};
  uint64_t highest_ = 0;
  bool empty_ = true;
};

}  // namespace sframe
