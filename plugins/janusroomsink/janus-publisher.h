/* One member's publishing to a Janus VideoRoom: the signalling (session,
 * attach, join as publisher, configure with webrtcbin's offer marked
 * end-to-end encrypted, trickle, keepalives), and starting over when the
 * connection, the session or ICE is lost. Everything here runs on the
 * element's signalling loop; webrtcbin's callbacks come back to it. The
 * media it publishes is already SFrame ciphertext: nothing here sees a
 * key. */
#pragma once

#include "../common/janus-session.h"
#include "../common/signalling-loop.h"

#include <gst/sframe/janus/janus-client.h>

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct JanusPublisherSettings {
  std::string server;        /* ws:// URL of Janus's WebSocket transport */
  uint64_t room = 0;         /* Janus's numeric room id */
  std::string display;       /* what Janus shows; never trusted by members */
  std::string admin_key;     /* to create the room when it does not exist */
  unsigned reconnect_min_ms = 250;
  unsigned reconnect_max_ms = 4000;
  /* An offer whose ICE has not connected after this is started over. */
  unsigned connect_timeout_ms = 10000;
};

struct JanusPublisherStats {
  guint64 publisher_id = 0;   /* ours in the room now; 0: not joined */
  guint64 connects = 0;       /* sessions joined */
  guint64 reconnects = 0;     /* starts after a loss */
  guint64 offers = 0;         /* offers Janus answered */
  guint64 candidates = 0;     /* local candidates trickled */
  bool publishing = false;    /* ICE connected for the current offer */
  std::string last_error;
};

class JanusPublisher : public std::enable_shared_from_this<JanusPublisher> {
public:
  struct Hooks {
    /* A new webrtcbin in the bin with every input linked (sendonly), or
     * null when the inputs are not ready. */
    std::function<GstElement * ()> make_peer;
    /* Takes a webrtcbin out of the bin and shuts it down. */
    std::function<void (GstElement *)> drop_peer;
    /* Something a retry cannot fix (the room refuses us). */
    std::function<void (const std::string &)> fatal;
  };

  JanusPublisher (SignallingLoop & loop, JanusPublisherSettings settings, Hooks hooks);
  ~JanusPublisher ();

  /* All on the loop thread. */
  void start ();
  /* Every input has caps: publish once joined. */
  void inputs_ready ();
  /* Leaves the room and closes the session; `done` when Janus answered
   * or gave up. */
  void leave (std::function<void ()> done);
  JanusPublisherStats stats () const { return stats_; }

private:
  enum class Phase { idle, connecting, joined, offering, published, waiting_to_retry, left };

  void join ();
  void create_room ();
  void publish ();
  void send_offer (const std::string & sdp);
  void on_answer (const sframe::janus::Reply & reply);
  void trickle (unsigned mline, const std::string & candidate);
  void on_event (const sframe::janus::Reply & event);
  void fail (const std::string & why);
  void retry_later ();
  void drop_peer ();
  void connect_peer_signals ();
  void arm_watchdog ();
  void disarm_watchdog ();

  static void on_ice_candidate (GstElement * webrtc, guint mline, gchar * candidate, gpointer data);
  static void on_gathering_state (GstElement * webrtc, GParamSpec *, gpointer data);
  static void on_connection_state (GstElement * webrtc, GParamSpec *, gpointer data);
  static void on_offer_created (GstPromise * promise, gpointer data);
  /* Runs `work` on the loop if this publisher still exists then. */
  void later (std::function<void (JanusPublisher &)> work);
  gpointer weak_data ();

  SignallingLoop & loop_;
  JanusPublisherSettings settings_;
  Hooks hooks_;
  std::unique_ptr<JanusSession> session_;
  Phase phase_ = Phase::idle;
  uint64_t handle_ = 0;
  bool inputs_ready_ = false;
  bool created_room_ = false;
  GstElement *peer_ = nullptr;
  RetryTimer retry_;
  GSource *watchdog_ = nullptr;
  JanusPublisherStats stats_;
};
