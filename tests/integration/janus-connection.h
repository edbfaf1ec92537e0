/* The library's Janus client (janus-client.h) driven step by step on a
 * main context of the caller's, for tests that speak to a Janus directly:
 * the janus-server tests, and room tests that create a room with options
 * the room elements do not set (recording). */
#pragma once

#include <gst/sframe/janus/janus-client.h>

#include <glib.h>

#include <memory>
#include <string>
#include <vector>

namespace sframe_test {

namespace janus = sframe::janus;

/* The library's Janus client, driven to completion step by step on a
 * main context of the test's own. */
class JanusConnection {
public:
  explicit JanusConnection (const std::string & url)
  {
    /* Connections made while another lives share its context, so that
     * running either runs both. */
    owns_context_ = g_main_context_get_thread_default () == nullptr;
    context_ = owns_context_ ? g_main_context_new () : g_main_context_ref_thread_default ();
    if (owns_context_)
      g_main_context_push_thread_default (context_);
    client_ = std::make_unique<janus::Client> ();
    client_->set_event_handler ([this] (const janus::Reply & e) { events_.push_back (e); });
    client_->set_closed_handler ([this] (const std::string & why) {
      closed_.push_back (why);
    });
    bool done = false;
    client_->connect (url, [&] (sframe::Result r) {
      connect_result_ = r;
      done = true;
    });
    run_until ([&] { return done; });
  }
  ~JanusConnection ()
  {
    client_.reset ();
    if (owns_context_)
      g_main_context_pop_thread_default (context_);
    g_main_context_unref (context_);
  }

  bool connected () const { return client_->connected (); }
  const std::string & error () const { return connect_result_.message; }
  janus::Client & client () { return *client_; }
  const std::vector<janus::Reply> & events () const { return events_; }
  const std::vector<std::string> & closed () const { return closed_; }

  janus::Reply request (const janus::Client::Builder & build, unsigned timeout_ms = 10000)
  {
    janus::Reply reply;
    bool done = false;
    client_->request (build, [&] (const janus::Reply & r) {
      reply = r;
      done = true;
    }, timeout_ms);
    run_until ([&] { return done; });
    return reply;
  }

  /* Runs the context until `done` or 15 s have passed. */
  template <typename Done> void run_until (Done done, gint64 seconds = 15)
  {
    gint64 deadline = g_get_monotonic_time () + seconds * G_TIME_SPAN_SECOND;
    while (!done () && g_get_monotonic_time () < deadline)
      g_main_context_iteration (context_, FALSE) || (g_usleep (1000), true);
  }
  void run_for (gint64 ms)
  {
    gint64 until = g_get_monotonic_time () + ms * 1000;
    run_until ([&] { return g_get_monotonic_time () >= until; }, ms / 1000 + 2);
  }

private:
  GMainContext *context_ = nullptr;
  bool owns_context_ = false;
  std::unique_ptr<janus::Client> client_;
  sframe::Result connect_result_ {sframe::Status::bus_unavailable, "not connected"};
  std::vector<janus::Reply> events_;
  std::vector<std::string> closed_;
};

/* A session with the VideoRoom plugin attached; 0s on failure. */
struct Handle {
  uint64_t session = 0;
  uint64_t handle = 0;
};

inline Handle
attach_videoroom (JanusConnection & c)
{
  Handle h;
  janus::Reply created = c.request ([] (const std::string & t) { return janus::create_session (t); });
  if (created.kind != janus::Kind::success)
    return h;
  h.session = created.id;
  janus::Reply attached = c.request ([&] (const std::string & t) {
    return janus::attach (h.session, janus::kVideoRoomPlugin, t);
  });
  if (attached.kind == janus::Kind::success)
    h.handle = attached.id;
  return h;
}

inline janus::Reply
videoroom (JanusConnection & c, const Handle & h, const std::string & body)
{
  return c.request ([&] (const std::string & t) { return janus::message (h.session, h.handle, body, nullptr, t); });
}

}  // namespace sframe_test
