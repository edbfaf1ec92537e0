/* What janusroomsink's publisher and janusroomsrc's subscriber do alike
 * with Janus: a session over a connection of its own (connect, create the
 * session, keep it alive), VideoRoom handles attached to it, and a pause
 * before starting over after a failure, longer with each failure in a
 * row. All on the element's signalling loop. */
#pragma once

#include "signalling-loop.h"

#include <gst/sframe/janus/janus-client.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

/* Why Janus refused a request or did not answer it, for logs and stats. */
std::string janus_reply_error (const sframe::janus::Reply & reply);

class JanusSession {
public:
  using EventHandler = std::function<void (const sframe::janus::Reply &)>;
  using FailureHandler = std::function<void (const std::string & why)>;

  /* `event`: Janus's events (hangup, detached, timeout, ...). `failed`:
   * the session cannot be used any more, and why (for logs and stats). */
  JanusSession (EventHandler event, FailureHandler failed);

  /* Connects to `server`, creates a session, keeps it alive and attaches
   * a first VideoRoom handle: `attached` with its id, or `failed` (at once
   * for a bad URL). */
  void open (const std::string & server, std::function<void (uint64_t handle)> attached);

  /* Attaches another VideoRoom handle: `then` with its id, or `failed`. */
  void attach (std::function<void (uint64_t handle)> then);

  /* Connected, with a session. */
  bool usable () const { return client_->connected () && id_ != 0; }
  uint64_t id () const { return id_; }
  sframe::janus::Client & client () { return *client_; }

private:
  void create (std::function<void (uint64_t handle)> attached);

  EventHandler event_;
  FailureHandler failed_;
  std::unique_ptr<sframe::janus::Client> client_;
  uint64_t id_ = 0;
};

/* Runs work on the loop after a pause of `min_ms` that doubles with each
 * schedule () in a row, up to `max_ms`, until succeeded (). A member of
 * its `owner`, which the pending work keeps alive while it runs and
 * skips once gone. */
class RetryTimer {
public:
  RetryTimer (SignallingLoop & loop, unsigned min_ms, unsigned max_ms)
    : loop_ (loop), min_ms_ (min_ms), max_ms_ (max_ms)
  {
  }
  ~RetryTimer () { cancel (); }
  RetryTimer (const RetryTimer &) = delete;
  RetryTimer & operator= (const RetryTimer &) = delete;

  void schedule (std::weak_ptr<void> owner, std::function<void ()> work);
  void cancel ();
  void succeeded () { pause_ms_ = 0; }

private:
  SignallingLoop & loop_;
  unsigned min_ms_, max_ms_;
  unsigned pause_ms_ = 0;
  GSource *source_ = nullptr;
};
