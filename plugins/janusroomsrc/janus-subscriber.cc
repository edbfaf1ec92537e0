#include "janus-subscriber.h"

#include <gst/webrtc/webrtc.h>

#include <algorithm>

GST_DEBUG_CATEGORY_EXTERN (gst_janus_room_src_debug);
#define GST_CAT_DEFAULT gst_janus_room_src_debug

namespace janus = sframe::janus;

namespace {

/* What a webrtcbin callback needs to find its subscription again. */
struct PeerData {
  std::weak_ptr<JanusSubscriber> subscriber;
  uint64_t feed;
  GstElement *peer;
};

void
free_peer_data (gpointer data, GClosure * = nullptr)
{
  delete static_cast<PeerData *> (data);
}

}  // namespace

JanusSubscriber::JanusSubscriber (SignallingLoop & loop, JanusSubscriberSettings settings, Hooks hooks)
  : loop_ (loop), settings_ (std::move (settings)), hooks_ (std::move (hooks)),
    retry_ (loop, settings_.reconnect_min_ms, settings_.reconnect_max_ms)
{
}

JanusSubscriber::~JanusSubscriber ()
{
  drop_all ();
}

JanusSubscriberStats
JanusSubscriber::stats () const
{
  JanusSubscriberStats s = stats_;
  s.publishers = feeds_.size ();
  return s;
}

void
JanusSubscriber::start ()
{
  retrying_ = false;
  listener_ = 0;
  session_ = std::make_unique<JanusSession> ([this] (const janus::Reply & e) { on_event (e); },
      [this] (const std::string & why) { fail (why); });
  session_->open (settings_.server, [this] (uint64_t handle) {
    listener_ = handle;
    join_listener ();
  });
}

/* The listener joins as a publisher that never publishes: Janus then
 * tells it of every publisher that comes and goes. */
void
JanusSubscriber::join_listener ()
{
  std::string body = janus::videoroom::join_publisher (settings_.room, "");
  session_->client ().request ([this, body] (const std::string & tx) {
        return janus::message (session_->id (), listener_, body, nullptr, tx);
      },
      [this] (const janus::Reply & r) {
        if (!r.has_videoroom || r.videoroom.videoroom != "joined") {
          /* The room may not exist yet: its first publisher creates it. */
          fail ("join: " + janus_reply_error (r));
          return;
        }
        stats_.connects++;
        retry_.succeeded ();
        on_publishers (r.videoroom.publishers);
      });
}

void
JanusSubscriber::on_publishers (const std::vector<janus::Publisher> & publishers)
{
  std::set<uint64_t> own = hooks_.own_publishers ();
  for (const auto & p : publishers) {
    if (p.streams.empty () || own.count (p.id))
      continue;
    auto it = feeds_.find (p.id);
    if (it != feeds_.end () && it->second.streams >= p.streams.size ())
      continue;
    /* New, or it added a stream since (its audio after its video):
     * subscribe to all of them. */
    if (it != feeds_.end ())
      unsubscribe (p.id);
    subscribe (p.id, p.streams.size ());
  }
}

void
JanusSubscriber::subscribe (uint64_t feed, size_t streams)
{
  feeds_[feed] = Feed ();
  feeds_[feed].streams = streams;
  stats_.subscriptions++;
  session_->attach ([this, feed] (uint64_t handle) {
    auto it = feeds_.find (feed);
    if (it == feeds_.end ())
      return;   /* left meanwhile; its handle dies with the session */
    it->second.handle = handle;
    std::string body = janus::videoroom::join_subscriber (settings_.room, {feed});
    session_->client ().request ([this, handle, body] (const std::string & tx) {
          return janus::message (session_->id (), handle, body, nullptr, tx);
        },
        [this, feed] (const janus::Reply & r) { on_offer (feed, r); });
  });
}

void
JanusSubscriber::on_offer (uint64_t feed, const janus::Reply & r)
{
  auto it = feeds_.find (feed);
  if (it == feeds_.end ())
    return;
  if (!r.has_jsep || r.jsep.type != "offer") {
    GST_WARNING ("subscribing to publisher %" G_GUINT64_FORMAT ": %s", feed, janus_reply_error (r).c_str ());
    feeds_.erase (it);
    return;
  }
  GstSDPMessage *sdp = nullptr;
  if (gst_sdp_message_new_from_text (r.jsep.sdp.c_str (), &sdp) != GST_SDP_OK) {
    if (sdp)
      gst_sdp_message_free (sdp);
    GST_WARNING ("Janus's offer for publisher %" G_GUINT64_FORMAT " is not SDP", feed);
    feeds_.erase (it);
    return;
  }
  GstElement *peer = hooks_.make_peer (feed);
  it->second.peer = peer;
  /* webrtcbin can end a negotiation with no track and no ICE failure (an
   * m-line it did not accept): a subscription without media is redone. */
  it->second.watchdog = loop_.invoke_after (settings_.media_timeout_ms, [weak = weak_from_this (), feed, peer] {
    if (auto self = weak.lock ())
      self->check_media (feed, peer);
  });
  g_signal_connect_data (peer, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
      new PeerData {weak_from_this (), feed, peer}, free_peer_data, GConnectFlags (0));
  GstWebRTCSessionDescription *offer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  g_signal_emit_by_name (peer, "set-remote-description", offer, nullptr);
  gst_webrtc_session_description_free (offer);
  GstPromise *promise = gst_promise_new_with_change_func (on_answer_created,
      new PeerData {weak_from_this (), feed, peer}, [] (gpointer d) { free_peer_data (d); });
  g_signal_emit_by_name (peer, "create-answer", nullptr, promise);
}

void
JanusSubscriber::on_answer_created (GstPromise * promise, gpointer data)
{
  PeerData d = *static_cast<PeerData *> (data);
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *answer = nullptr;
  if (reply)
    gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref (promise);
  auto self = d.subscriber.lock ();
  if (!self || !answer) {
    if (answer)
      gst_webrtc_session_description_free (answer);
    return;
  }
  g_signal_emit_by_name (d.peer, "set-local-description", answer, nullptr);
  gchar *text = gst_sdp_message_as_text (answer->sdp);
  std::string sdp = text;
  g_free (text);
  gst_webrtc_session_description_free (answer);
  self->loop_.invoke ([weak = d.subscriber, feed = d.feed, peer = d.peer, sdp] {
    if (auto s = weak.lock ())
      s->send_answer (feed, peer, sdp);
  });
}

void
JanusSubscriber::send_answer (uint64_t feed, GstElement * peer, const std::string & sdp)
{
  auto it = feeds_.find (feed);
  if (it == feeds_.end () || it->second.peer != peer || !session_)
    return;
  janus::Jsep jsep;
  jsep.type = "answer";
  jsep.sdp = sdp;
  jsep.e2ee = true;
  uint64_t handle = it->second.handle;
  std::string body = janus::videoroom::start ();
  session_->client ().request ([this, handle, body, jsep] (const std::string & tx) {
        return janus::message (session_->id (), handle, body, &jsep, tx);
      },
      [feed] (const janus::Reply & r) {
        if (r.has_videoroom && r.videoroom.error_code)
          GST_WARNING ("starting publisher %" G_GUINT64_FORMAT ": %s", feed, r.videoroom.error.c_str ());
      });
}

void
JanusSubscriber::on_ice_candidate (GstElement *, guint mline, gchar * candidate, gpointer data)
{
  auto *d = static_cast<PeerData *> (data);
  if (auto self = d->subscriber.lock ()) {
    std::string text = candidate ? candidate : "";
    self->loop_.invoke ([weak = d->subscriber, feed = d->feed, mline, text] {
      if (auto s = weak.lock ())
        s->trickle (feed, mline, text);
    });
  }
}

void
JanusSubscriber::trickle (uint64_t feed, unsigned mline, const std::string & candidate)
{
  auto it = feeds_.find (feed);
  if (it == feeds_.end () || !it->second.handle || !session_)
    return;
  uint64_t handle = it->second.handle;
  session_->client ().send ([this, handle, mline, candidate] (const std::string & tx) {
    return janus::trickle (session_->id (), handle, mline, candidate, tx);
  });
}

void
JanusSubscriber::check_media (uint64_t feed, GstElement * peer)
{
  auto it = feeds_.find (feed);
  if (it == feeds_.end () || it->second.peer != peer)
    return;
  g_source_unref (it->second.watchdog);
  it->second.watchdog = nullptr;
  if (hooks_.has_media (feed))
    return;
  GST_WARNING ("no media from publisher %" G_GUINT64_FORMAT " in %u ms: subscribing again", feed,
      settings_.media_timeout_ms);
  stats_.resubscriptions++;
  size_t streams = it->second.streams;
  unsubscribe (feed);
  subscribe (feed, streams);
}

void
JanusSubscriber::unsubscribe (uint64_t feed)
{
  auto it = feeds_.find (feed);
  if (it == feeds_.end ())
    return;
  Feed f = it->second;
  feeds_.erase (it);
  if (f.watchdog) {
    g_source_destroy (f.watchdog);
    g_source_unref (f.watchdog);
  }
  if (f.peer) {
    g_signal_handlers_disconnect_matched (f.peer, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
        (gpointer) on_ice_candidate, nullptr);
    hooks_.drop_peer (feed, f.peer);
  }
  if (f.handle && session_)
    session_->client ().send ([this, handle = f.handle] (const std::string & tx) {
      return janus::message (session_->id (), handle, janus::videoroom::leave (), nullptr, tx);
    });
}

void
JanusSubscriber::on_event (const janus::Reply & event)
{
  if (event.kind == janus::Kind::timeout && session_ && event.session == session_->id ()) {
    fail ("Janus timed the session out");
    return;
  }
  if (!event.has_videoroom)
    return;
  const auto & v = event.videoroom;
  if (event.sender == listener_) {
    if (!v.publishers.empty ())
      on_publishers (v.publishers);
    if (v.unpublished)
      unsubscribe (v.unpublished);
    if (v.leaving)
      unsubscribe (v.leaving);
  }
}

void
JanusSubscriber::drop_all ()
{
  while (!feeds_.empty ())
    unsubscribe (feeds_.begin ()->first);
}

void
JanusSubscriber::fail (const std::string & why)
{
  if (stopped_ || retrying_)
    return;
  GST_WARNING ("subscribing through Janus: %s; starting over", why.c_str ());
  stats_.last_error = why;
  retrying_ = true;
  /* The session's client may be calling us: let it unwind before it goes. */
  std::shared_ptr<JanusSession> old (session_.release ());
  drop_all ();
  loop_.invoke ([old] {});
  retry_.schedule (weak_from_this (), [this] {
    stats_.reconnects++;
    start ();
  });
}

void
JanusSubscriber::stop (std::function<void ()> done)
{
  stopped_ = true;
  retry_.cancel ();
  drop_all ();
  if (!session_ || !session_->usable ()) {
    done ();
    return;
  }
  session_->client ().request ([this] (const std::string & tx) { return janus::destroy_session (session_->id (), tx); },
      [done] (const janus::Reply &) { done (); }, 1000);
}
