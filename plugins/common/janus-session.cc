#include "janus-session.h"

#include <algorithm>

namespace janus = sframe::janus;

std::string
janus_reply_error (const janus::Reply & reply)
{
  if (reply.kind == janus::Kind::timeout || reply.kind == janus::Kind::error)
    return reply.error.empty () ? std::string (janus::kind_name (reply.kind)) : reply.error;
  if (reply.has_videoroom && reply.videoroom.error_code)
    return reply.videoroom.error;
  if (reply.has_videoroom)
    return "unexpected VideoRoom reply \"" + reply.videoroom.videoroom + "\"";
  return janus::kind_name (reply.kind);
}

JanusSession::JanusSession (EventHandler event, FailureHandler failed)
  : event_ (std::move (event)), failed_ (std::move (failed)), client_ (std::make_unique<janus::Client> ())
{
  client_->set_event_handler ([this] (const janus::Reply & e) { event_ (e); });
  client_->set_closed_handler ([this] (const std::string & why) { failed_ ("connection lost: " + why); });
}

void
JanusSession::open (const std::string & server, std::function<void (uint64_t handle)> attached)
{
  client_->connect (server, [this, attached = std::move (attached)] (sframe::Result r) {
    if (r.ok ())
      create (attached);
    else
      failed_ (r.message);
  });
}

void
JanusSession::create (std::function<void (uint64_t handle)> attached)
{
  client_->request ([] (const std::string & tx) { return janus::create_session (tx); },
      [this, attached] (const janus::Reply & r) {
        if (r.kind != janus::Kind::success) {
          failed_ ("create session: " + janus_reply_error (r));
          return;
        }
        id_ = r.id;
        client_->keep_alive (id_);
        attach (attached);
      });
}

void
JanusSession::attach (std::function<void (uint64_t handle)> then)
{
  client_->request ([this] (const std::string & tx) { return janus::attach (id_, janus::kVideoRoomPlugin, tx); },
      [this, then] (const janus::Reply & r) {
        if (r.kind != janus::Kind::success) {
          failed_ ("attach: " + janus_reply_error (r));
          return;
        }
        then (r.id);
      });
}

void
RetryTimer::schedule (std::weak_ptr<void> owner, std::function<void ()> work)
{
  cancel ();
  pause_ms_ = pause_ms_ ? std::min (pause_ms_ * 2, max_ms_) : min_ms_;
  source_ = loop_.invoke_after (pause_ms_, [this, owner = std::move (owner), work = std::move (work)] {
    auto alive = owner.lock ();
    if (!alive)
      return;
    g_source_unref (source_);
    source_ = nullptr;
    work ();
  });
}

void
RetryTimer::cancel ()
{
  if (!source_)
    return;
  g_source_destroy (source_);
  g_source_unref (source_);
  source_ = nullptr;
}
