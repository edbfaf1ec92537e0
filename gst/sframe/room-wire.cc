#include <gst/sframe/room-wire.h>

#include <gst/sframe/base64url.h>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace sframe {
namespace room {
namespace wire {

using json = nlohmann::json;

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string
to_hex (const uint8_t * data, size_t size)
{
  std::string out;
  out.reserve (size * 2);
  for (size_t i = 0; i < size; i++) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0xf];
  }
  return out;
}

std::vector<uint8_t>
to_bytes (const std::string & text)
{
  return std::vector<uint8_t> (text.begin (), text.end ());
}

bool
is_lower_hex (const std::string & text)
{
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool
string_member (const json & object, const char * name, std::string * out)
{
  auto it = object.find (name);
  if (it == object.end () || !it->is_string ())
    return false;
  *out = it->get<std::string> ();
  return true;
}

bool
parse_channel (const json & doc, Envelope * envelope)
{
  const json & ch = doc["ch"];
  std::string id, n, ct;
  if (!ch.is_object () || ch.size () != 4 || !string_member (ch, "from", &envelope->channel.from) ||
      !string_member (ch, "to", &envelope->channel.to) || !string_member (ch, "id", &id) ||
      !string_member (ch, "n", &n) || !string_member (doc, "ct", &ct))
    return false;
  if (!is_fingerprint (envelope->channel.from) || !is_fingerprint (envelope->channel.to) ||
      !parse_u64_hex (id, &envelope->channel.id) || !parse_u64_hex (n, &envelope->channel.n))
    return false;
  envelope->kind = Envelope::Kind::channel_message;
  return base64url_decode (ct, &envelope->ciphertext);
}

bool
parse_signed (const json & doc, Envelope * envelope)
{
  std::string p, s;
  std::vector<uint8_t> payload;
  if (!string_member (doc, "p", &p) || !string_member (doc, "s", &s) || !base64url_decode (p, &payload) ||
      !base64url_decode (s, &envelope->signature) || envelope->signature.size () != kEd25519SignatureSize)
    return false;
  envelope->kind = Envelope::Kind::signed_message;
  envelope->payload.assign (payload.begin (), payload.end ());
  return true;
}

}  // namespace

std::string
sha256_hex (ByteView bytes)
{
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest (bytes.data, bytes.size, digest, &len, EVP_sha256 (), nullptr) != 1)
    return {};
  return to_hex (digest, len);
}

std::string
u64_hex (uint64_t value)
{
  uint8_t be[8];
  for (int i = 0; i < 8; i++)
    be[i] = static_cast<uint8_t> (value >> (56 - 8 * i));
  return to_hex (be, sizeof be);
}

bool
parse_u64_hex (const std::string & text, uint64_t * value)
{
  if (text.size () != 16 || !is_lower_hex (text))
    return false;
  *value = std::stoull (text, nullptr, 16);
  return true;
}

bool
is_fingerprint (const std::string & text)
{
  return text.size () == 64 && is_lower_hex (text);
}

std::string
room_token (const std::string & room)
{
  std::string input = "gst-sframe/1 room";
  input.push_back ('\0');
  input += room;
  return sha256_hex (ByteView (reinterpret_cast<const uint8_t *> (input.data ()), input.size ())).substr (0, 32);
}

std::string
subject_all (const std::string & room)
{
  return "sframe." + room_token (room) + ".all";
}

std::string
subject_to (const std::string & room, const std::string & fingerprint)
{
  return "sframe." + room_token (room) + ".to." + fingerprint.substr (0, 32);
}

std::vector<uint8_t>
make_signed (const Identity & identity, const std::string & payload)
{
  ByteView bytes (reinterpret_cast<const uint8_t *> (payload.data ()), payload.size ());
  std::vector<uint8_t> signature;
  if (identity.sign_for ("message", bytes, &signature) != Status::ok)
    return {};
  json doc = { { "p", base64url_encode (bytes) }, { "s", base64url_encode (ByteView (signature)) } };
  return to_bytes (doc.dump ());
}

std::vector<uint8_t>
make_channel (const ChannelHeader & header, ByteView ciphertext)
{
  json doc = {
    { "ch", { { "from", header.from }, { "to", header.to }, { "id", u64_hex (header.id) }, { "n", u64_hex (header.n) } } },
    { "ct", base64url_encode (ciphertext) },
  };
  return to_bytes (doc.dump ());
}

std::vector<uint8_t>
channel_aad (const std::string & room, const ChannelHeader & header)
{
  /* Fixed-width fields after the room, so the encoding is unambiguous. */
  std::string aad = "gst-sframe/1 channel";
  aad.push_back ('\0');
  aad += header.from + header.to + u64_hex (header.id) + u64_hex (header.n) + room;
  return to_bytes (aad);
}

bool
parse_envelope (ByteView message, Envelope * envelope)
{
  if (message.size == 0 || message.size > kMaxMessageSize)
    return false;
  json doc = json::parse (message.data, message.data + message.size, nullptr, false);
  if (doc.is_discarded () || !doc.is_object () || doc.size () != 2)
    return false;
  if (doc.contains ("ch"))
    return parse_channel (doc, envelope);
  return parse_signed (doc, envelope);
}

}  // namespace wire
}  // namespace room
}  // namespace sframe
