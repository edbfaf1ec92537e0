#include <gst/sframe/core/replay-window.h>

namespace sframe {

bool
ReplayWindow::test_bit (uint64_t counter) const
{
  size_t bit = counter % kSize;
  return (bits_[bit / 64] >> (bit % 64)) & 1;
}

/* Moves the top of the window up to `counter`, clearing the slots that the
 * counters in between reuse. */
void
ReplayWindow::advance_to (uint64_t counter)
{
  uint64_t distance = counter - highest_;
  if (empty_ || distance >= kSize) {
    for (auto & w : bits_)
      w = 0;
  } else {
    for (uint64_t c = highest_ + 1; c <= counter; c++) {
      size_t bit = c % kSize;
      if (bit % 64 == 0 && counter - c >= 63) {
        bits_[bit / 64] = 0;  /* a whole word at once */
        c += 63;
        continue;
      }
      bits_[bit / 64] &= ~(uint64_t {1} << (bit % 64));
    }
  }
  highest_ = counter;
  empty_ = false;
}

bool
ReplayWindow::would_accept (uint64_t counter) const
{
  if (empty_ || counter > highest_)
    return true;
  if (highest_ - counter >= kSize)
    return false;
  return !test_bit (counter);
}

bool
ReplayWindow::check_and_mark (uint64_t counter)
{
  if (empty_ || counter > highest_) {
    advance_to (counter);
  } else if (highest_ - counter >= kSize || test_bit (counter)) {
    return false;
  }
  size_t bit = counter % kSize;
  bits_[bit / 64] |= uint64_t {1} << (bit % 64);
  return true;
}

bool
ReplayWindow::highest (uint64_t * counter) const
{
  if (empty_)
    return false;
  *counter = highest_;
  return true;
}

void
ReplayWindow::refuse_through (uint64_t counter)
{
  if (!empty_ && counter <= highest_)
    return;
  for (auto & w : bits_)
    w = ~uint64_t {0};
  highest_ = counter;
  empty_ = false;
}

}  // namespace sframe
