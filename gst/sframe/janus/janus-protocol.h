/* The Janus API (core and VideoRoom plugin) as typed messages: requests
 * are built as JSON text, and what Janus sends is parsed into a Reply or
 * refused with a reason. Janus is not trusted with keys, and not trusted
 * to send well-formed messages either: parse () accepts only what the
 * API describes and bounds every list it reads.
 *
 * GLib and json-glib; no GStreamer, no network (janus-client.h speaks it
 * over a WebSocket). */
#pragma once

#include <gst/sframe/core/status.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sframe {
namespace janus {

constexpr const char *kVideoRoomPlugin = "janus.plugin.videoroom";
constexpr size_t kMaxMessageSize = 1 << 20;   /* bytes; an SDP is a few KB */
constexpr size_t kMaxPublishers = 256;
constexpr size_t kMaxStreams = 16;            /* per publisher */
constexpr size_t kMaxModules = 64;
constexpr size_t kMaxRooms = 1024;            /* in a "list" reply */            /* plugins or transports in server_info */

/* An SDP offer or answer ("jsep"). `e2ee` marks media Janus must not
 * inspect beyond what the payload format leaves clear. */
struct Jsep {
  std::string type;   /* "offer" or "answer" */
  std::string sdp;
  bool e2ee = false;
};

/* ---- Requests: JSON text, `transaction` chosen by the caller ---------- */

/* The server's description: its plugins and transports. */
std::string info (const std::string & transaction);
std::string create_session (const std::string & transaction);
std::string attach (uint64_t session, const std::string & plugin, const std::string & transaction);
std::string keepalive (uint64_t session, const std::string & transaction);
std::string destroy_session (uint64_t session, const std::string & transaction);
/* A plugin message: `body` is a JSON object (see videoroom::); `jsep`
 * may be null. */
std::string message (uint64_t session, uint64_t handle, const std::string & body, const Jsep * jsep,
    const std::string & transaction);
/* One ICE candidate, or (`candidate` empty) the end of candidates. */
std::string trickle (uint64_t session, uint64_t handle, unsigned mline_index, const std::string & candidate,
    const std::string & transaction);

namespace videoroom {

struct RoomOptions {
  uint64_t room = 0;
  bool require_e2ee = true;
  int publishers = 16;
  std::string admin_key;      /* when the plugin requires one to create rooms */
  bool record = false;        /* Janus records what it forwards (ciphertext) */
  std::string rec_dir;
  std::string videocodec;     /* e.g. "vp8,h264"; empty: Janus's default */
  std::string audiocodec;
};

std::string create_room (const RoomOptions & options);
std::string join_publisher (uint64_t room, const std::string & display);
/* Sent with the publisher's offer. */
std::string configure (bool audio, bool video);
/* Subscribes to every stream of each feed. */
std::string join_subscriber (uint64_t room, const std::vector<uint64_t> & feeds);
/* Sent with the subscriber's answer. */
std::string start ();
std::string leave ();
std::string list_participants (uint64_t room);
std::string list_rooms ();

}  // namespace videoroom

/* ---- What Janus sends ------------------------------------------------ */

enum class Kind {
  success, error, ack, event, webrtcup, media, hangup, slowlink, detached, timeout, trickle, server_info,
};
const char *kind_name (Kind kind);

struct Stream {
  std::string type;   /* "audio", "video", "data" */
  std::string mid;
  std::string codec;
  uint64_t feed = 0;  /* in a subscriber's streams: whose it is */
  bool disabled = false;
};

struct Publisher {
  uint64_t id = 0;
  std::string display;  /* what the publisher claimed: never a verified name */
  std::vector<Stream> streams;
};

/* One room of a "list" reply. */
struct RoomInfo {
  uint64_t room = 0;
  bool require_e2ee = false;
  int participants = 0;
};

/* The VideoRoom part of a reply or event ("plugindata"."data"). */
struct VideoRoomData {
  std::string videoroom;   /* "created", "joined", "event", "attached", "participants", "destroyed", ... */
  uint64_t room = 0;
  uint64_t id = 0;         /* our publisher id, in "joined" */
  std::vector<Publisher> publishers;       /* "joined", "event": new publishers; "participants" */
  std::vector<Stream> streams;             /* "attached", "updated": a subscriber's streams */
  std::vector<RoomInfo> rooms;             /* "success" of "list" */
  uint64_t unpublished = 0;                /* a publisher stopped */
  uint64_t leaving = 0;                    /* a participant left */
  bool configured = false;
  int error_code = 0;
  std::string error;
};

struct Reply {
  Kind kind = Kind::event;
  std::string transaction;   /* empty for unsolicited events */
  uint64_t session = 0;
  uint64_t sender = 0;       /* the handle an event is for */
  uint64_t id = 0;           /* "success" of create and attach: the new id */
  int error_code = 0;        /* "error" */
  std::string error;
  std::string plugin;        /* plugindata.plugin */
  bool has_videoroom = false;
  VideoRoomData videoroom;
  bool has_jsep = false;
  Jsep jsep;
  bool media_receiving = false;  /* "media" */
  std::string media_type;
  std::vector<std::string> plugins;     /* "server_info": package names */
  std::vector<std::string> transports;
};

/* Parses one message from Janus; malformed_frame with the reason when it
 * is not JSON, not an object, too large, of an unknown kind, or has a
 * field of the wrong type. */
Result parse (const std::string & text, Reply * reply);

}  // namespace janus
}  // namespace sframe
