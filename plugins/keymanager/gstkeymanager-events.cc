#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-events.h"

#include <gst/sframe/bus/bus.h>

GST_DEBUG_CATEGORY_EXTERN (gst_key_manager_debug);
#define GST_CAT_DEFAULT gst_key_manager_debug

namespace keymanager {

namespace {

/* How long an action signal waits for the worker. */
constexpr auto kCommandTimeout = std::chrono::seconds (5);

}  // namespace

const char *
event_name (EventKind kind)
{
  switch (kind) {
    case EventKind::message: return "message";
    case EventKind::reconnected: return "reconnected";
    case EventKind::admit: return "admit";
    case EventKind::revoke: return "revoke";
    case EventKind::rotate: return "rotate";
    case EventKind::stop: return "stop";
  }
  return "?";
}

EventQueue::Outcome
EventQueue::push (Event event)
{
  {
    std::lock_guard<std::mutex> lock (lock_);
    if (closed_)
      return Outcome::closed;
    if (event.kind == EventKind::message) {
      if (messages_ >= kMaxMessages || bytes_ + event.payload.size () > kMaxBytes)
        return Outcome::full;
      messages_++;
      bytes_ += event.payload.size ();
    }
    /* The worker only sleeps on an empty queue: waking it for every
     * message of a burst costs a futex call each. On a bus thread
     * delivering in rounds the wake waits for the end of the round
     * (sframe::DeliveryRound): one per round, however many messages the
     * round brought. */
    bool wake = events_.empty () && commands_.empty () && !wake_pending_;
    if (is_command (event.kind)) {
      commands_.push_back (std::move (event));
      commands_waiting_.store (true, std::memory_order_release);
    } else {
      events_.push_back (std::move (event));
    }
    if (!wake)
      return Outcome::queued;
    wake_pending_ = true;
  }
  /* Outside the lock: outside a round the wake runs right here. */
  sframe::DeliveryRound::wake_later ([self = shared_from_this ()] { self->wake (); });
  return Outcome::queued;
}

void
EventQueue::wake ()
{
  std::lock_guard<std::mutex> lock (lock_);
  wake_pending_ = false;
  cond_.notify_one ();
}

void
EventQueue::wait (std::chrono::steady_clock::time_point deadline, std::deque<Event> & events)
{
  std::unique_lock<std::mutex> lock (lock_);
  cond_.wait_until (lock, deadline, [this] { return !events_.empty () || !commands_.empty (); });
  take_locked (events);
}

void
EventQueue::take_commands (std::deque<Event> & events)
{
  if (!commands_waiting_.load (std::memory_order_acquire))
    return;
  std::lock_guard<std::mutex> lock (lock_);
  move_commands_locked (events);
}

void
EventQueue::move_commands_locked (std::deque<Event> & events)
{
  events.insert (events.begin (), std::make_move_iterator (commands_.begin ()),
      std::make_move_iterator (commands_.end ()));
  commands_.clear ();
  commands_waiting_.store (false, std::memory_order_relaxed);
}

std::deque<Event>
EventQueue::close ()
{
  std::lock_guard<std::mutex> lock (lock_);
  closed_ = true;
  std::deque<Event> rest;
  take_locked (rest);
  return rest;
}

void
EventQueue::take_locked (std::deque<Event> & events)
{
  events.swap (events_);
  move_commands_locked (events);
  messages_ = 0;
  bytes_ = 0;
}

bool
send_command (GstElement * element, const CommandChannel & channel, EventKind kind, const std::string & who)
{
  if (channel.worker == std::this_thread::get_id ()) {
    GST_WARNING_OBJECT (element, "%s from a handler of a keymanager message: emit it from another thread",
        event_name (kind));
    return false;
  }
  auto done = std::make_shared<std::promise<bool>> ();
  std::future<bool> result = done->get_future ();
  Event event;
  event.kind = kind;
  event.subject = who;
  event.done = done;
  if (channel.queue->push (std::move (event)) != EventQueue::Outcome::queued)
    return false;
  if (result.wait_for (kCommandTimeout) != std::future_status::ready) {
    GST_WARNING_OBJECT (element, "%s: no answer from the worker", event_name (kind));
    return false;
  }
  return result.get ();
}

}  // namespace keymanager
