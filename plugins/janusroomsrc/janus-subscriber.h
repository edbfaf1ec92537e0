/* One member's view of a Janus VideoRoom: a listener handle that learns
 * which publishers come and go, and for each remote publisher a handle of
 * its own subscribed to all its streams, answered by a webrtcbin of its
 * own (so one publisher leaving renegotiates nothing for the others).
 * Starts over when the connection or the session is lost. Runs on the
 * element's signalling loop. What Janus says about a publisher (its
 * display name) is never used to label it: the element labels tiles from
 * the signed roster. */
#pragma once

#include "../common/janus-session.h"
#include "../common/signalling-loop.h"

#include <gst/sframe/janus/janus-client.h>

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

struct JanusSubscriberSettings {
  std::string server;
  uint64_t room = 0;
  unsigned reconnect_min_ms = 250;
  unsigned reconnect_max_ms = 4000;
  /* A subscription with no track after this is redone. */
  unsigned media_timeout_ms = 10000;
};

struct JanusSubscriberStats {
  guint64 connects = 0;
  guint64 reconnects = 0;
  guint64 subscriptions = 0;   /* publishers subscribed to, in total */
  guint64 resubscriptions = 0; /* of them, redone: no media in time */
  guint publishers = 0;        /* subscribed to now */
  std::string last_error;
};

class JanusSubscriber : public std::enable_shared_from_this<JanusSubscriber> {
public:
  struct Hooks {
    /* A new recvonly webrtcbin in the bin for `feed`. */
    std::function<GstElement * (uint64_t feed)> make_peer;
    /* `feed` is gone: take its webrtcbin (and what hangs off it) out. */
    std::function<void (uint64_t feed, GstElement *)> drop_peer;
    /* Whether `feed`'s webrtcbin gave a track yet. */
    std::function<bool (uint64_t feed)> has_media;
    /* Publishers never to subscribe to (this member's own). */
    std::function<std::set<uint64_t> ()> own_publishers;
  };

  JanusSubscriber (SignallingLoop & loop, JanusSubscriberSettings settings, Hooks hooks);
  ~JanusSubscriber ();

  /* All on the loop thread. */
  void start ();
  void stop (std::function<void ()> done);
  JanusSubscriberStats stats () const;

private:
  struct Feed {
    uint64_t handle = 0;
    GstElement *peer = nullptr;
    GSource *watchdog = nullptr;
    size_t streams = 0;   /* the publisher's, when subscribed */
  };

  void join_listener ();
  void on_publishers (const std::vector<sframe::janus::Publisher> & publishers);
  void subscribe (uint64_t feed, size_t streams);
  void on_offer (uint64_t feed, const sframe::janus::Reply & reply);
  void send_answer (uint64_t feed, GstElement * peer, const std::string & sdp);
  void unsubscribe (uint64_t feed);
  void check_media (uint64_t feed, GstElement * peer);
  void trickle (uint64_t feed, unsigned mline, const std::string & candidate);
  void on_event (const sframe::janus::Reply & event);
  void fail (const std::string & why);
  void drop_all ();

  static void on_ice_candidate (GstElement * webrtc, guint mline, gchar * candidate, gpointer data);
  static void on_answer_created (GstPromise * promise, gpointer data);

  SignallingLoop & loop_;
  JanusSubscriberSettings settings_;
  Hooks hooks_;
  std::unique_ptr<JanusSession> session_;
  uint64_t listener_ = 0;
  std::map<uint64_t, Feed> feeds_;
  bool stopped_ = false;
  bool retrying_ = false;
  RetryTimer retry_;
  JanusSubscriberStats stats_;
};
