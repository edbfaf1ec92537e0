/* Signed messages, verified before they are read (room-messages.h). */
#include <gst/sframe/keys/room-messages.h>

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/keys/identity.h>

namespace sframe {
namespace room {

using json = nlohmann::json;

bool
json_string (const json & object, const char * name, std::string * out)
{
  auto it = object.find (name);
  if (it == object.end () || !it->is_string ())
    return false;
  *out = it->get<std::string> ();
  return true;
}

bool
json_u64 (const json & object, const char * name, uint64_t * out)
{
  auto it = object.find (name);
  if (it == object.end () || !it->is_number_unsigned ())
    return false;
  *out = it->get<uint64_t> ();
  return true;
}

std::vector<std::string>
json_strings (const json & object, const char * name)
{
  std::vector<std::string> texts;
  auto list = object.find (name);
  if (list == object.end () || !list->is_array ())
    return texts;
  for (const auto & text : *list)
    if (text.is_string ())
      texts.push_back (text.get<std::string> ());
  return texts;
}

namespace {

bool
hex_field (const json & object, const char * name, uint64_t * out)
{
  std::string text;
  return json_string (object, name, &text) && wire::parse_u64_hex (text, out);
}

}  // namespace

MessageType
message_type (const std::string & name)
{
  static const std::pair<const char *, MessageType> kTypes[] = { { "hello", MessageType::hello },
    { "renew", MessageType::renew }, { "roster", MessageType::roster }, { "welcome", MessageType::welcome },
    { "channel", MessageType::channel }, { "admit", MessageType::admit }, { "revoke", MessageType::revoke },
    { "leave", MessageType::leave }, { "sync", MessageType::sync }, { "beat", MessageType::beat },
    { "here", MessageType::here } };
  for (const auto & type : kTypes)
    if (name == type.first)
      return type.second;
  return MessageType::unknown;
}

std::vector<std::string>
VerifiedMessage::strings (const char * field) const
{
  return json_strings (body_, field);
}

bool
UnverifiedMessage::parse (const wire::Envelope & envelope)
{
  if (envelope.kind != wire::Envelope::Kind::signed_message)
    return false;
  payload_ = json::parse (envelope.payload, nullptr, false);
  std::string type;
  if (!payload_.is_object () || !json_string (payload_, "from", &sender_) || !wire::is_fingerprint (sender_) ||
      !hex_field (payload_, "sid", &session_) || !json_string (payload_, "type", &type))
    return false;
  envelope_ = &envelope;
  claimed_ = message_type (type);
  return true;
}

std::vector<std::string>
UnverifiedMessage::carried (const char * field) const
{
  return json_strings (payload_, field);
}

bool
UnverifiedMessage::verify (const std::vector<uint8_t> & device_key, const std::string & room, VerifiedMessage * out)
{
  if (!envelope_ || wire::sha256_hex (ByteView (device_key)) != sender_ ||
      !verify_signature_for (ByteView (device_key), "message",
          ByteView (reinterpret_cast<const uint8_t *> (envelope_->payload.data ()), envelope_->payload.size ()),
          ByteView (envelope_->signature)))
    return false;
  /* Signed by the sender: from here on, its word. */
  uint64_t version = 0;
  std::string type, in_room;
  if (!json_u64 (payload_, "v", &version) || version != wire::kVersion || !json_string (payload_, "room", &in_room) ||
      in_room != room || !json_string (payload_, "type", &type) || !json_u64 (payload_, "seq", &out->seq_))
    return false;
  out->type_ = message_type (type);
  out->from_ = sender_;
  out->sid_ = session_;
  out->body_ = std::move (payload_);
  envelope_ = nullptr;
  return true;
}

bool
parse_channel_setup (const VerifiedMessage & message, ChannelSetup * setup)
{
  std::string enc;
  return message.type () == MessageType::channel && json_string (message.body (), "to", &setup->to) &&
      hex_field (message.body (), "to_sid", &setup->to_sid) && hex_field (message.body (), "id", &setup->id) &&
      json_string (message.body (), "enc", &enc) && base64url_decode (enc, &setup->enc);
}

bool
parse_host_action (const VerifiedMessage & message, HostAction * action)
{
  return (message.type () == MessageType::admit || message.type () == MessageType::revoke) &&
      json_string (message.body (), "target", &action->target) && wire::is_fingerprint (action->target);
}

bool
parse_beat (const VerifiedMessage & message, Beat * beat)
{
  return message.type () == MessageType::beat && json_u64 (message.body (), "epoch", &beat->epoch) &&
      json_string (message.body (), "hash", &beat->hash);
}

bool
parse_welcome (const VerifiedMessage & message, Welcome * welcome)
{
  auto roster = message.body ().find ("roster");
  if (message.type () != MessageType::welcome || !json_string (message.body (), "to", &welcome->to) ||
      roster == message.body ().end ())
    return false;
  welcome->roster = &*roster;
  return json_u64 (message.body (), "answers", &welcome->answers);
}

}  // namespace room
}  // namespace sframe
