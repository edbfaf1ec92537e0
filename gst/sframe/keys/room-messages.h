/* The key protocol's signed messages (docs/key-protocol.md, "Messages"),
 * readable only once their signature verified. Parsing a signed envelope
 * gives an UnverifiedMessage, of which only three things can be read: the
 * sender's fingerprint and session (what finds the key to verify with),
 * the claimed type (to route hellos and welcomes, which carry what they
 * are verified with), and a welcome's carried hellos and renewals (each
 * verified on its own, room-credentials.h). The payload itself is reached
 * only through verify (), which checks the signature under the key the
 * receiver holds for that sender, then the version and room, and gives a
 * VerifiedMessage; the typed values below are parsed from that alone.
 * Internal to the library; GStreamer-free. */
#pragma once

#include <gst/sframe/keys/room-wire.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sframe {
namespace room {

enum class MessageType { hello, renew, roster, welcome, channel, admit, revoke, leave, sync, beat, here, unknown };

class VerifiedMessage {
public:
  MessageType type () const { return type_; }
  const std::string & from () const { return from_; }
  uint64_t sid () const { return sid_; }
  uint64_t seq () const { return seq_; }
  /* The whole payload, signed. */
  const nlohmann::json & body () const { return body_; }
  /* The strings of the array `field` (none when it is not one). */
  std::vector<std::string> strings (const char * field) const;

private:
  friend class UnverifiedMessage;
  MessageType type_ = MessageType::unknown;
  std::string from_;
  uint64_t sid_ = 0;
  uint64_t seq_ = 0;
  nlohmann::json body_;
};

class UnverifiedMessage {
public:
  /* A signed envelope whose payload is a JSON object naming its sender
   * (a fingerprint) and session; false for anything else. The envelope
   * must outlive this object. */
  bool parse (const wire::Envelope & envelope);

  const std::string & sender () const { return sender_; }
  uint64_t session () const { return session_; }
  /* Only to route hellos and welcomes; every other message is dispatched
   * on its verified type. */
  MessageType claimed_type () const { return claimed_; }
  /* A welcome's `hellos` or `renewals`: signed envelopes of their own. */
  std::vector<std::string> carried (const char * field) const;

  /* The payload, when the signature verifies under `device_key` (whose
   * fingerprint must be the sender's) and it is of this protocol version,
   * for `room`, with a sequence number. Moves the payload out: call once. */
  bool verify (const std::vector<uint8_t> & device_key, const std::string & room, VerifiedMessage * out);

private:
  const wire::Envelope *envelope_ = nullptr;
  nlohmann::json payload_;
  std::string sender_;
  uint64_t session_ = 0;
  MessageType claimed_ = MessageType::unknown;
};

MessageType message_type (const std::string & name);

/* A member of a JSON object, when it has that type. */
bool json_string (const nlohmann::json & object, const char * name, std::string * out);
bool json_u64 (const nlohmann::json & object, const char * name, uint64_t * out);
/* The strings of the array `name` (none when it is not one). */
std::vector<std::string> json_strings (const nlohmann::json & object, const char * name);

/* `channel`: opens a pairwise channel to `to`'s session `to_sid`. */
struct ChannelSetup {
  std::string to;
  uint64_t to_sid = 0;
  uint64_t id = 0;
  std::vector<uint8_t> enc;
};
bool parse_channel_setup (const VerifiedMessage & message, ChannelSetup * setup);

/* `admit` and `revoke`: a host's action on a device. */
struct HostAction {
  std::string target;
};
bool parse_host_action (const VerifiedMessage & message, HostAction * action);

/* `beat`: the committer's roster, every heartbeat. */
struct Beat {
  uint64_t epoch = 0;
  std::string hash;
};
bool parse_beat (const VerifiedMessage & message, Beat * beat);

/* `welcome`: to whom, and the roster snapshot (parsed by the roster). */
struct Welcome {
  std::string to;
  uint64_t answers = 0;   /* the newest sequence number of `to` its signer had seen */
  const nlohmann::json *roster = nullptr;   /* inside the message's body */
};
bool parse_welcome (const VerifiedMessage & message, Welcome * welcome);

}  // namespace room
}  // namespace sframe
