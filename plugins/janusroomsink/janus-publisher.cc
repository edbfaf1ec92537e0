#include "janus-publisher.h"

#include <gst/webrtc/webrtc.h>

#include <algorithm>

GST_DEBUG_CATEGORY_EXTERN (gst_janus_room_sink_debug);
#define GST_CAT_DEFAULT gst_janus_room_sink_debug

namespace janus = sframe::janus;

namespace {

/* VideoRoom's "no such room". */
constexpr int kNoSuchRoom = 426;

using WeakPublisher = std::weak_ptr<JanusPublisher>;

void
free_weak (gpointer data)
{
  delete static_cast<WeakPublisher *> (data);
}

}  // namespace

JanusPublisher::JanusPublisher (SignallingLoop & loop, JanusPublisherSettings settings, Hooks hooks)
  : loop_ (loop), settings_ (std::move (settings)), hooks_ (std::move (hooks)),
    retry_ (loop, settings_.reconnect_min_ms, settings_.reconnect_max_ms)
{
}

JanusPublisher::~JanusPublisher ()
{
  disarm_watchdog ();
  drop_peer ();
}

gpointer
JanusPublisher::weak_data ()
{
  return new WeakPublisher (weak_from_this ());
}

void
JanusPublisher::later (std::function<void (JanusPublisher &)> work)
{
  loop_.invoke ([weak = weak_from_this (), work = std::move (work)] {
    if (auto self = weak.lock ())
      work (*self);
  });
}

void
JanusPublisher::start ()
{
  phase_ = Phase::connecting;
  handle_ = 0;
  session_ = std::make_unique<JanusSession> ([this] (const janus::Reply & e) { on_event (e); },
      [this] (const std::string & why) { fail (why); });
  session_->open (settings_.server, [this] (uint64_t handle) {
    handle_ = handle;
    join ();
  });
}

void
JanusPublisher::join ()
{
  std::string body = janus::videoroom::join_publisher (settings_.room, settings_.display);
  session_->client ().request ([this, body] (const std::string & tx) {
        return janus::message (session_->id (), handle_, body, nullptr, tx);
      },
      [this] (const janus::Reply & r) {
        if (r.has_videoroom && r.videoroom.error_code == kNoSuchRoom && !created_room_) {
          create_room ();
          return;
        }
        if (!r.has_videoroom || r.videoroom.videoroom != "joined") {
          fail ("join: " + janus_reply_error (r));
          return;
        }
        GST_INFO ("joined Janus room %" G_GUINT64_FORMAT " as publisher %" G_GUINT64_FORMAT, settings_.room,
            r.videoroom.id);
        phase_ = Phase::joined;
        stats_.publisher_id = r.videoroom.id;
        stats_.connects++;
        retry_.succeeded ();
        if (inputs_ready_)
          publish ();
      });
}

void
JanusPublisher::create_room ()
{
  created_room_ = true;
  janus::videoroom::RoomOptions options;
  options.room = settings_.room;
  options.require_e2ee = true;
  options.admin_key = settings_.admin_key;
  /* Every codec janusroomsrc decodes: each publisher offers one per
   * track, and Janus takes it when the room lists it. */
  options.videocodec = "vp8,vp9,h264,h265";
  options.audiocodec = "opus";
  std::string body = janus::videoroom::create_room (options);
  session_->client ().request ([this, body] (const std::string & tx) {
        return janus::message (session_->id (), handle_, body, nullptr, tx);
      },
      [this] (const janus::Reply & r) {
        /* Another member may have created it meanwhile: join either way. */
        if (!r.has_videoroom)
          GST_WARNING ("creating the room: %s", janus_reply_error (r).c_str ());
        join ();
      });
}

void
JanusPublisher::inputs_ready ()
{
  inputs_ready_ = true;
  if (phase_ == Phase::joined)
    publish ();
}

void
JanusPublisher::publish ()
{
  peer_ = hooks_.make_peer ();
  if (!peer_)
    return;
  phase_ = Phase::offering;
  connect_peer_signals ();
  arm_watchdog ();
  GstPromise *promise = gst_promise_new_with_change_func (on_offer_created, weak_data (), free_weak);
  g_signal_emit_by_name (peer_, "create-offer", nullptr, promise);
}

/* webrtcbin can end a negotiation without ICE ever failing (an answer it
 * could not apply): a PeerConnection that is not up in time is redone. */
void
JanusPublisher::arm_watchdog ()
{
  disarm_watchdog ();
  GstElement *peer = peer_;
  watchdog_ = loop_.invoke_after (settings_.connect_timeout_ms, [weak = weak_from_this (), peer] {
    if (auto self = weak.lock ()) {
      g_source_unref (self->watchdog_);
      self->watchdog_ = nullptr;
      if (self->peer_ == peer && self->phase_ == Phase::offering)
        self->fail ("ICE did not connect in time");
    }
  });
}

void
JanusPublisher::disarm_watchdog ()
{
  if (watchdog_) {
    g_source_destroy (watchdog_);
    g_source_unref (watchdog_);
    watchdog_ = nullptr;
  }
}

void
JanusPublisher::connect_peer_signals ()
{
  g_signal_connect_data (peer_, "on-ice-candidate", G_CALLBACK (on_ice_candidate), weak_data (),
      (GClosureNotify) (void (*) (void)) free_weak, GConnectFlags (0));
  g_signal_connect_data (peer_, "notify::ice-gathering-state", G_CALLBACK (on_gathering_state), weak_data (),
      (GClosureNotify) (void (*) (void)) free_weak, GConnectFlags (0));
  g_signal_connect_data (peer_, "notify::ice-connection-state", G_CALLBACK (on_connection_state), weak_data (),
      (GClosureNotify) (void (*) (void)) free_weak, GConnectFlags (0));
}

void
JanusPublisher::on_offer_created (GstPromise * promise, gpointer data)
{
  auto weak = *static_cast<WeakPublisher *> (data);
  const GstStructure *reply = gst_promise_get_reply (promise);
  GstWebRTCSessionDescription *offer = nullptr;
  if (reply)
    gst_structure_get (reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref (promise);
  auto self = weak.lock ();
  if (!self) {
    if (offer)
      gst_webrtc_session_description_free (offer);
    return;
  }
  if (!offer) {
    self->later ([] (JanusPublisher & p) { p.fail ("webrtcbin made no offer"); });
    return;
  }
  gchar *text = gst_sdp_message_as_text (offer->sdp);
  std::string sdp = text;
  g_free (text);
  GstElement *peer = self->peer_;
  if (peer)
    g_signal_emit_by_name (peer, "set-local-description", offer, nullptr);
  gst_webrtc_session_description_free (offer);
  self->later ([sdp, peer] (JanusPublisher & p) {
    if (p.peer_ == peer)
      p.send_offer (sdp);
  });
}

void
JanusPublisher::send_offer (const std::string & sdp)
{
  janus::Jsep jsep;
  jsep.type = "offer";
  jsep.sdp = sdp;
  jsep.e2ee = true;
  std::string body = janus::videoroom::configure (true, true);
  session_->client ().request ([this, body, jsep] (const std::string & tx) {
        return janus::message (session_->id (), handle_, body, &jsep, tx);
      },
      [this] (const janus::Reply & r) { on_answer (r); });
}

void
JanusPublisher::on_answer (const janus::Reply & r)
{
  if (!r.has_jsep || r.jsep.type != "answer") {
    fail ("configure: no answer (" + janus_reply_error (r) + ")");
    return;
  }
  GstSDPMessage *sdp = nullptr;
  if (gst_sdp_message_new_from_text (r.jsep.sdp.c_str (), &sdp) != GST_SDP_OK) {
    if (sdp)
      gst_sdp_message_free (sdp);
    fail ("Janus's answer is not SDP");
    return;
  }
  GstWebRTCSessionDescription *answer = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
  g_signal_emit_by_name (peer_, "set-remote-description", answer, nullptr);
  gst_webrtc_session_description_free (answer);
  stats_.offers++;
}

void
JanusPublisher::on_ice_candidate (GstElement *, guint mline, gchar * candidate, gpointer data)
{
  if (auto self = static_cast<WeakPublisher *> (data)->lock ()) {
    std::string text = candidate ? candidate : "";
    self->later ([mline, text] (JanusPublisher & p) { p.trickle (mline, text); });
  }
}

void
JanusPublisher::on_gathering_state (GstElement * webrtc, GParamSpec *, gpointer data)
{
  GstWebRTCICEGatheringState state;
  g_object_get (webrtc, "ice-gathering-state", &state, nullptr);
  if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    return;
  if (auto self = static_cast<WeakPublisher *> (data)->lock ())
    self->later ([] (JanusPublisher & p) { p.trickle (0, ""); });
}

void
JanusPublisher::on_connection_state (GstElement * webrtc, GParamSpec *, gpointer data)
{
  GstWebRTCICEConnectionState state;
  g_object_get (webrtc, "ice-connection-state", &state, nullptr);
  auto self = static_cast<WeakPublisher *> (data)->lock ();
  if (!self)
    return;
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    self->later ([webrtc] (JanusPublisher & p) {
      if (p.peer_ == webrtc)
        p.fail ("ICE failed");
    });
  else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
      state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
    self->later ([webrtc] (JanusPublisher & p) {
      if (p.peer_ == webrtc) {
        p.phase_ = Phase::published;
        p.stats_.publishing = true;
      }
    });
}

void
JanusPublisher::trickle (unsigned mline, const std::string & candidate)
{
  if (!session_ || !handle_ || phase_ == Phase::left)
    return;
  if (!candidate.empty ())
    stats_.candidates++;
  session_->client ().send ([this, mline, candidate] (const std::string & tx) {
    return janus::trickle (session_->id (), handle_, mline, candidate, tx);
  });
}

void
JanusPublisher::on_event (const janus::Reply & event)
{
  if (event.kind == janus::Kind::hangup && event.sender == handle_)
    fail ("Janus hung up the PeerConnection");
  else if (event.kind == janus::Kind::detached && event.sender == handle_)
    fail ("Janus detached the handle");
  else if (event.kind == janus::Kind::timeout && session_ && event.session == session_->id ())
    fail ("Janus timed the session out");
}

void
JanusPublisher::fail (const std::string & why)
{
  if (phase_ == Phase::left || phase_ == Phase::waiting_to_retry)
    return;
  GST_WARNING ("publishing to Janus: %s; starting over", why.c_str ());
  stats_.last_error = why;
  retry_later ();
}

void
JanusPublisher::retry_later ()
{
  phase_ = Phase::waiting_to_retry;
  stats_.publishing = false;
  stats_.publisher_id = 0;
  drop_peer ();
  /* The session's client may be calling us: let it unwind before it goes. */
  std::shared_ptr<JanusSession> old (session_.release ());
  loop_.invoke ([old] {});
  retry_.schedule (weak_from_this (), [this] {
    stats_.reconnects++;
    start ();
  });
}

void
JanusPublisher::drop_peer ()
{
  disarm_watchdog ();
  if (!peer_)
    return;
  GstElement *peer = peer_;
  peer_ = nullptr;
  g_signal_handlers_disconnect_matched (peer, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr, (gpointer) on_ice_candidate,
      nullptr);
  g_signal_handlers_disconnect_matched (peer, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
      (gpointer) on_gathering_state, nullptr);
  g_signal_handlers_disconnect_matched (peer, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
      (gpointer) on_connection_state, nullptr);
  hooks_.drop_peer (peer);
}

void
JanusPublisher::leave (std::function<void ()> done)
{
  retry_.cancel ();
  bool in_session = session_ && session_->usable ();
  phase_ = Phase::left;
  if (!in_session) {
    drop_peer ();
    done ();
    return;
  }
  std::string body = janus::videoroom::leave ();
  session_->client ().request ([this, body] (const std::string & tx) {
        return janus::message (session_->id (), handle_, body, nullptr, tx);
      },
      [this, done] (const janus::Reply &) {
        session_->client ().request ([this] (const std::string & tx) {
              return janus::destroy_session (session_->id (), tx);
            },
            [this, done] (const janus::Reply &) {
              drop_peer ();
              done ();
            }, 1000);
      }, 1000);
}
