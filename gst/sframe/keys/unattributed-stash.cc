/* The stash of unattributed messages (unattributed-stash.h). */
#include <gst/sframe/keys/unattributed-stash.h>

namespace sframe {
namespace room {

bool
UnattributedStash::stash (const wire::Envelope & envelope, int64_t now_ms)
{
  if (stashed_.size () >= capacity_)
    return false;
  stashed_.push_back ({ replaying_ ? replayed_at_ms_ : now_ms, envelope });
  return true;
}

size_t
UnattributedStash::replay (int64_t now_ms, const std::function<void (const wire::Envelope &)> & handle)
{
  if (replaying_)
    return 0;
  replaying_ = true;
  std::deque<std::pair<int64_t, wire::Envelope>> stash;
  stash.swap (stashed_);
  size_t too_old = 0;
  for (const auto & entry : stash) {
    if (now_ms - entry.first > keep_ms_) {
      too_old++;
      continue;
    }
    replayed_at_ms_ = entry.first;
    handle (entry.second);
  }
  replaying_ = false;
  replayed_at_ms_ = -1;
  return too_old;
}

}  // namespace room
}  // namespace sframe
