/* Keys replaced but still installed until their grace period ends, so
 * that frames in flight still decrypt: by key id, with when each goes. */
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

namespace sframe {
namespace room {

class RetiringKeys {
public:
  void add (uint64_t key_id, int64_t erase_at_ms) { erase_at_[key_id] = erase_at_ms; }
  /* It is in use again (a key id that came back). */
  void keep (uint64_t key_id) { erase_at_.erase (key_id); }

  /* The keys whose grace ended, no longer kept: remove them. */
  std::vector<uint64_t> expire (int64_t now_ms)
  {
    std::vector<uint64_t> expired;
    for (auto it = erase_at_.begin (); it != erase_at_.end ();) {
      if (it->second <= now_ms) {
        expired.push_back (it->first);
        it = erase_at_.erase (it);
      } else {
        ++it;
      }
    }
    return expired;
  }
  int64_t next_ms () const
  {
    int64_t next = INT64_MAX;
    for (const auto & key : erase_at_)
      next = std::min (next, key.second);
    return next;
  }
  /* Every key, no longer kept. */
  std::vector<uint64_t> take_all ()
  {
    std::vector<uint64_t> all;
    for (const auto & key : erase_at_)
      all.push_back (key.first);
    erase_at_.clear ();
    return all;
  }

private:
  std::map<uint64_t, int64_t> erase_at_;
};

}  // namespace room
}  // namespace sframe
