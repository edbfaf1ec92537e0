/* What reaches keymanager's worker thread: bus messages and the
 * application's commands, in one queue the worker waits on. The
 * KeyProvider is single-threaded, so bus handlers and action signals only
 * queue events; the worker alone calls the provider. */
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace keymanager {

enum class EventKind { message, reconnected, admit, revoke, rotate, stop };
const char *event_name (EventKind kind);
/* admit, revoke, rotate and stop: what the application asks for, taken
 * ahead of the bus (EventQueue). */
inline bool
is_command (EventKind kind)
{
  return kind != EventKind::message && kind != EventKind::reconnected;
}

struct Event {
  EventKind kind = EventKind::message;
  std::string subject;             /* admit, revoke: who */
  uint64_t key_id = 0;             /* rotate: only while this is our sender key (0: always) */
  size_t topic = 0;                /* message: its subject, as an index in Session's subjects_ (not copied per message) */
  std::vector<uint8_t> payload;
  std::shared_ptr<std::promise<bool>> done;   /* commands: the outcome */
};

/* What the worker waits on: bus messages in arrival order, and commands
 * (admit, revoke, rotate, stop) ahead of them. A host's revoke must not
 * wait behind the thousands of messages a rotation in a large room
 * queues: the worker takes commands between any two messages. */
class EventQueue : public std::enable_shared_from_this<EventQueue> {
public:
  /* A flood from the bus must not exhaust memory: messages beyond these
   * are dropped (the protocol resends and resynchronises). Commands are
   * always queued. A rotation at N = 200 brings a slow worker a few
   * thousand messages; what is dropped there comes back as resends. */
  static constexpr size_t kMaxMessages = 16384;
  static constexpr size_t kMaxBytes = 16 << 20;

  enum class Outcome { queued, full, closed };

  /* Wakes the worker at once, or at the end of the bus thread's delivery
   * round. The queue must be owned by a shared_ptr. */
  Outcome push (Event event);
  /* Waits until something is queued or `deadline` passes; takes it all,
   * commands first, into `events` (empty): the worker passes the same
   * deque each time, so its memory goes back and forth with the queue's
   * instead of being allocated for every batch. */
  void wait (std::chrono::steady_clock::time_point deadline, std::deque<Event> & events);
  /* Moves the commands queued since to the front of `events`: the worker
   * asks between messages (one atomic load when there are none). */
  void take_commands (std::deque<Event> & events);
  /* Refuses everything from now on; returns what was still queued. */
  std::deque<Event> close ();

private:
  void take_locked (std::deque<Event> & events);
  /* The queued commands, to the front of `events`. */
  void move_commands_locked (std::deque<Event> & events);
  void wake ();

  std::mutex lock_;
  std::condition_variable cond_;
  std::deque<Event> commands_;
  std::atomic<bool> commands_waiting_ {false};
  std::deque<Event> events_;
  size_t messages_ = 0;
  size_t bytes_ = 0;
  bool closed_ = false;
  bool wake_pending_ = false;   /* a wake is deferred to the end of a delivery round */
};

/* How an action signal reaches a running session without holding it. */
struct CommandChannel {
  std::shared_ptr<EventQueue> queue;
  std::thread::id worker;
};

/* Runs admit, revoke or rotate on the worker and waits (bounded) for the
 * outcome. FALSE when refused, not answered in time, stopped meanwhile, or
 * called from the worker itself (it cannot wait for its own thread). */
bool send_command (GstElement * element, const CommandChannel & channel, EventKind kind,
    const std::string & who);

}  // namespace keymanager
