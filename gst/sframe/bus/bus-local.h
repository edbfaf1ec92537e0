/* "local://NAME": the in-process bus. Every Bus opened with the same NAME
 * in one process reaches the same hub; a hub lives while a Bus holds it
 * (or a subscription, or a hub () pointer). NAME: 1..64 characters of
 * [A-Za-z0-9_.-]. A local bus never loses its server, so it never calls
 * its state handler.
 *
 * A hub delivers in publish order on its own dispatch thread, so a
 * publisher never re-enters itself. For tests it can act as a malicious
 * bus: an interceptor sees every message in flight and may modify, drop or
 * hold it; held messages are released later (delay, reorder); any message
 * may be injected (forgery, replay); and the hub can keep a log of every
 * message it carried (to scan for leaked keys). */
#pragma once

#include <gst/sframe/bus/bus.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sframe {
namespace localbus {

struct Message {
  std::string subject;
  std::vector<uint8_t> payload;
};

enum class Verdict {
  deliver,   /* as it is now (the interceptor may have modified it) */
  drop,
  hold,      /* kept until release_held () */
};

using Interceptor = std::function<Verdict (Message & message)>;

class Hub;

/* The hub named `name`, created on first use. */
GST_SFRAME_API std::shared_ptr<Hub> hub (const std::string & name);

class GST_SFRAME_API Hub {
public:
  virtual ~Hub ();

  /* Replaces the interceptor (nullptr: deliver everything). It runs on the
   * dispatch thread, one message at a time, and is never copied, so a
   * mutable lambda may keep state. */
  virtual void set_interceptor (Interceptor interceptor) = 0;
  /* Delivers held messages after what is already queued, bypassing the
   * interceptor. Empty `order`: all of them, in the order they were held.
   * Otherwise `order` lists indexes into the held list: those are
   * delivered in that order (an index given twice is delivered twice, a
   * replay), indexes out of range are ignored, and the messages not listed
   * stay held, in their previous order. */
  virtual void release_held (const std::vector<size_t> & order = {}) = 0;
  virtual size_t held_count () const = 0;
  /* Delivers `message` as if published (it bypasses the interceptor and
   * the log). */
  virtual void inject (const Message & message) = 0;

  /* The log of every message published (before interception). */
  virtual void set_logging (bool enabled) = 0;
  virtual std::vector<Message> log () const = 0;

  /* Blocks until every queued message has been handed to its handlers
   * (held messages are not queued). From the dispatch thread (inside a
   * handler or the interceptor) it returns at once. */
  virtual void flush () = 0;
  /* Handler calls made so far (a message with two subscribers counts 2). */
  virtual uint64_t delivered () const = 0;
};

}  // namespace localbus
}  // namespace sframe
