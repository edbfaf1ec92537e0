/* Messages from devices whose hello we have not verified yet: a joiner
 * gets the others' messages before its welcome brings their hellos. They
 * are kept for a while, bounded, and handled again when a hello is
 * adopted. A message stashed again while it is replayed keeps its age,
 * and a replay never starts within itself: a replayed message may adopt a
 * hello, which would replay again, each round doubling the work of a bus
 * that sends messages replaying one another. */
#pragma once

#include <gst/sframe/keys/room-wire.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <utility>

namespace sframe {
namespace room {

class UnattributedStash {
public:
  UnattributedStash (size_t capacity, int64_t keep_ms) : capacity_ (capacity), keep_ms_ (keep_ms) {}

  /* False if full: the message is dropped. */
  bool stash (const wire::Envelope & envelope, int64_t now_ms);
  /* Hands each message still young enough to `handle`, oldest first, and
   * returns how many were too old (dropped). Nothing within a replay. */
  size_t replay (int64_t now_ms, const std::function<void (const wire::Envelope &)> & handle);
  size_t size () const { return stashed_.size (); }

private:
  size_t capacity_;
  int64_t keep_ms_;
  std::deque<std::pair<int64_t, wire::Envelope>> stashed_;   /* (stashed at, message) */
  bool replaying_ = false;
  int64_t replayed_at_ms_ = -1;   /* the age of the message being replayed */
};

}  // namespace room
}  // namespace sframe
