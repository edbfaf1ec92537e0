#include <gst/sframe/keys/room-wire.h>

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/core/crypto/crypto.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>

namespace sframe {
namespace room {
namespace wire {

using json = nlohmann::json;

namespace {

constexpr char kHex[] = "0123456789abcdef";

/* Into `out`, reusing its storage: parse_envelope fills the same
 * envelope for every message a member receives. */
void
assign_hex (const uint8_t * data, size_t size, std::string * out)
{
  out->resize (size * 2);
  for (size_t i = 0; i < size; i++) {
    (*out)[2 * i] = kHex[data[i] >> 4];
    (*out)[2 * i + 1] = kHex[data[i] & 0xf];
  }
}

std::string
to_hex (const uint8_t * data, size_t size)
{
  std::string out;
  assign_hex (data, size, &out);
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

/* Channel envelope, binary: every member handles about 2N of these per
 * rotation, and JSON + base64 was a third of that cost.
 *   0x01 | from (32) | to (32) | id (8, big-endian) | n (8) | ciphertext */
constexpr uint8_t kChannelMagic = 0x01;
constexpr size_t kFingerprintBytes = 32;
constexpr size_t kChannelHeaderSize = 1 + 2 * kFingerprintBytes + 16;
constexpr size_t kAeadTagSize = 16;

/* Big-endian, `bytes` wide, at `out`; returns the end. */
uint8_t *
store_be (uint64_t value, size_t bytes, uint8_t * out)
{
  for (size_t i = bytes; i-- > 0;)
    *out++ = static_cast<uint8_t> (value >> (8 * i));
  return out;
}

uint64_t
get_be (const uint8_t * p, size_t bytes)
{
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; i++)
    value = (value << 8) | p[i];
  return value;
}

/* A lowercase hex digit's value, or -1. */
int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* A fingerprint as its 32 bytes, at `out`; false for anything that is
 * not one (is_fingerprint). Checked while decoding: this runs twice per
 * channel message sent. It is public: decoded in place, not through
 * SecureBytes. */
bool
write_fingerprint (const std::string & fp, uint8_t * out)
{
  if (fp.size () != 2 * kFingerprintBytes)
    return false;
  for (size_t i = 0; i < fp.size (); i += 2) {
    int high = hex_value (fp[i]), low = hex_value (fp[i + 1]);
    if (high < 0 || low < 0)
      return false;
    *out++ = static_cast<uint8_t> (high << 4 | low);
  }
  return true;
}

/* `value` as 16 lowercase hex digits, at `out`. */
uint8_t *
write_u64_hex (uint64_t value, uint8_t * out)
{
  for (int shift = 60; shift >= 0; shift -= 4)
    *out++ = static_cast<uint8_t> (kHex[(value >> shift) & 0xf]);
  return out;
}

uint8_t *
write_text (const std::string & text, uint8_t * out)
{
  return std::copy (text.begin (), text.end (), out);
}

bool
parse_channel (ByteView message, Envelope * envelope)
{
  if (message.size < kChannelHeaderSize + kAeadTagSize || message.data[0] != kChannelMagic)
    return false;
  const uint8_t *p = message.data + 1;
  envelope->kind = Envelope::Kind::channel_message;
  envelope->payload.clear ();     /* what a reused envelope held before */
  envelope->signature.clear ();
  assign_hex (p, kFingerprintBytes, &envelope->channel.from);
  assign_hex (p + kFingerprintBytes, kFingerprintBytes, &envelope->channel.to);
  envelope->channel.id = get_be (p + 2 * kFingerprintBytes, 8);
  envelope->channel.n = get_be (p + 2 * kFingerprintBytes + 8, 8);
  envelope->ciphertext.assign (message.data + kChannelHeaderSize, message.data + message.size);
  return true;
}

/* The payload and signature of a signed envelope, however it was spelled. */
bool
decode_signed (std::string_view p, std::string_view s, Envelope * envelope)
{
  std::vector<uint8_t> payload;
  if (!base64url_decode (p, &payload) || !base64url_decode (s, &envelope->signature) ||
      envelope->signature.size () != kEd25519SignatureSize)
    return false;
  envelope->kind = Envelope::Kind::signed_message;
  envelope->payload.assign (payload.begin (), payload.end ());
  envelope->channel = ChannelHeader ();   /* what a reused envelope held before */
  envelope->ciphertext.clear ();
  return true;
}

bool
parse_signed (const json & doc, Envelope * envelope)
{
  std::string p, s;
  return string_member (doc, "p", &p) && string_member (doc, "s", &s) && decode_signed (p, s, envelope);
}

/* make_signed's exact form, {"p":"<base64url>","s":"<base64url>"}, read
 * without a JSON parser: a roster at N = 200 is 35 kB of it, read by every
 * member at every change. False for anything else (escapes included),
 * which then goes through the parser, so what is accepted is unchanged. */
bool
parse_canonical_signed (ByteView message, Envelope * envelope)
{
  static constexpr std::string_view kHead = "{\"p\":\"", kMiddle = "\",\"s\":\"", kTail = "\"}";
  std::string_view text (reinterpret_cast<const char *> (message.data), message.size);
  if (text.substr (0, kHead.size ()) != kHead)
    return false;
  size_t p_end = text.find ('"', kHead.size ());
  if (p_end == std::string_view::npos || text.substr (p_end, kMiddle.size ()) != kMiddle)
    return false;
  size_t s_begin = p_end + kMiddle.size ();
  size_t s_end = text.find ('"', s_begin);
  if (s_end == std::string_view::npos || text.substr (s_end) != kTail)
    return false;
  return decode_signed (text.substr (kHead.size (), p_end - kHead.size ()), text.substr (s_begin, s_end - s_begin),
      envelope);
}

}  // namespace

std::string
hex (ByteView bytes)
{
  return to_hex (bytes.data, bytes.size);
}

std::string
sha256_hex (ByteView bytes)
{
  uint8_t digest[crypto::kSha256Size];
  if (!crypto::sha256 (bytes, digest))
    return {};
  return to_hex (digest, sizeof digest);
}

StateHash::StateHash (uint64_t epoch, uint64_t next_index, const std::string & prev, size_t members)
{
  static const char kLabel[] = "gst-sframe/1 roster";
  text_.reserve (sizeof kLabel + 3 * 8 + prev.size () + members * (3 * 8 + 2 * 64));
  put (kLabel, sizeof kLabel);
  put_u64 (epoch);
  put_u64 (next_index);
  put_string (prev);
}

void
StateHash::member (const std::string & fingerprint, uint32_t index, const std::string & hello_hash)
{
  put_string (fingerprint);
  put_u64 (index);
  put_string (hello_hash);
}

void
StateHash::revoked (const std::string & fingerprint)
{
  if (!revoked_started_)
    put_string ("revoked");
  revoked_started_ = true;
  put_string (fingerprint);
}

std::string
StateHash::hex () const
{
  return sha256_hex (ByteView (text_));
}

void
StateHash::put (const void * data, size_t size)
{
  const uint8_t *bytes = static_cast<const uint8_t *> (data);
  text_.insert (text_.end (), bytes, bytes + size);
}

void
StateHash::put_u64 (uint64_t value)
{
  uint8_t be[8];
  store_be64 (value, be);
  put (be, sizeof be);
}

void
StateHash::put_string (const std::string & text)
{
  put_u64 (text.size ());
  put (text.data (), text.size ());
}

std::string
u64_hex (uint64_t value)
{
  uint8_t be[8];
  store_be64 (value, be);
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
  std::vector<uint8_t> out (kChannelHeaderSize + ciphertext.size);
  uint8_t *p = out.data ();
  *p++ = kChannelMagic;
  if (!write_fingerprint (header.from, p) || !write_fingerprint (header.to, p + kFingerprintBytes))
    return {};
  p += 2 * kFingerprintBytes;
  p = store_be64 (header.id, p);
  p = store_be64 (header.n, p);
  if (ciphertext.size)
    std::copy (ciphertext.data, ciphertext.data + ciphertext.size, p);
  return out;
}

std::vector<uint8_t>
channel_aad (const std::string & room, const ChannelHeader & header)
{
  std::vector<uint8_t> aad;
  write_channel_aad (room, header, &aad);
  return aad;
}

void
write_channel_aad (const std::string & room, const ChannelHeader & header, std::vector<uint8_t> * aad)
{
  /* Fixed-width fields before the room, so the encoding is unambiguous.
   * Built in one buffer: this runs twice per channel message. */
  static const char kLabel[] = "gst-sframe/1 channel";
  aad->resize (sizeof kLabel + header.from.size () + header.to.size () + 32 + room.size ());
  uint8_t *p = std::copy (kLabel, kLabel + sizeof kLabel, aad->data ());   /* with its NUL */
  p = write_text (header.from, p);
  p = write_text (header.to, p);
  p = write_u64_hex (header.id, p);
  p = write_u64_hex (header.n, p);
  write_text (room, p);
}

/* The plaintext's size, or 0 for a message that cannot be encoded. */
size_t
channel_message_size (const ChannelMessage & message)
{
  switch (message.type) {
    case ChannelMessage::Type::key:
      return message.reason.size () > 255 ? 0 : 1 + 8 + 4 + 8 + 1 + message.reason.size () + message.secret.size;
    case ChannelMessage::Type::ack:
    case ChannelMessage::Type::ping:
      return 1 + 8;
    case ChannelMessage::Type::held:
      return message.held.size () > kMaxHeldKeys ? 0 : 1 + 8 + 2 + 8 * message.held.size ();
    case ChannelMessage::Type::acked:
      return message.lacking.size () > kMaxLackingBytes ? 0 : 1 + 8 + 8 + 2 + message.lacking.size ();
  }
  return 0;
}

/* Written in place, at its final size: a message is encoded for every
 * key sent, N x (N - 1) per rotation. */
SecureBytes
encode_channel_message (const ChannelMessage & message)
{
  size_t size = channel_message_size (message);
  if (size == 0)
    return SecureBytes ();
  SecureBytes out (size);
  uint8_t *p = out.data ();
  *p++ = static_cast<uint8_t> (message.type);
  switch (message.type) {
    case ChannelMessage::Type::key:
      p = store_be (message.epoch, 8, p);
      p = store_be (message.generation, 4, p);
      p = store_be (message.key_id, 8, p);
      *p++ = static_cast<uint8_t> (message.reason.size ());
      p = std::copy (message.reason.begin (), message.reason.end (), p);
      std::copy (message.secret.data, message.secret.data + message.secret.size, p);
      break;
    case ChannelMessage::Type::ack:
      store_be (message.key_id, 8, p);
      break;
    case ChannelMessage::Type::ping:
      store_be (message.epoch, 8, p);
      break;
    case ChannelMessage::Type::held:
      p = store_be (message.epoch, 8, p);
      p = store_be (message.held.size (), 2, p);
      for (uint64_t key_id : message.held)
        p = store_be (key_id, 8, p);
      break;
    case ChannelMessage::Type::acked:
      p = store_be (message.epoch, 8, p);
      p = store_be (message.key_id, 8, p);
      p = store_be (message.lacking.size (), 2, p);
      std::copy (message.lacking.begin (), message.lacking.end (), p);
      break;
  }
  return out;
}

bool
decode_channel_message (ByteView plaintext, ChannelMessage * message)
{
  if (plaintext.size < 9)
    return false;
  const uint8_t *p = plaintext.data;
  switch (p[0]) {
    case static_cast<uint8_t> (ChannelMessage::Type::key): {
      constexpr size_t kFixed = 1 + 8 + 4 + 8 + 1;
      if (plaintext.size < kFixed || plaintext.size < kFixed + p[kFixed - 1])
        return false;
      message->type = ChannelMessage::Type::key;
      message->epoch = get_be (p + 1, 8);
      message->generation = static_cast<uint32_t> (get_be (p + 9, 4));
      message->key_id = get_be (p + 13, 8);
      size_t reason = p[kFixed - 1];
      message->reason.assign (reinterpret_cast<const char *> (p + kFixed), reason);
      message->secret = plaintext.from (kFixed + reason);
      return true;
    }
    case static_cast<uint8_t> (ChannelMessage::Type::ack):
    case static_cast<uint8_t> (ChannelMessage::Type::ping):
      if (plaintext.size != 9)
        return false;
      message->type = static_cast<ChannelMessage::Type> (p[0]);
      if (message->type == ChannelMessage::Type::ack)
        message->key_id = get_be (p + 1, 8);
      else
        message->epoch = get_be (p + 1, 8);
      message->secret = ByteView ();
      return true;
    case static_cast<uint8_t> (ChannelMessage::Type::held): {
      if (plaintext.size < 11)
        return false;
      size_t count = get_be (p + 9, 2);
      if (count > kMaxHeldKeys || plaintext.size != 11 + 8 * count)
        return false;
      message->type = ChannelMessage::Type::held;
      message->epoch = get_be (p + 1, 8);
      message->held.resize (count);
      for (size_t i = 0; i < count; i++)
        message->held[i] = get_be (p + 11 + 8 * i, 8);
      message->secret = ByteView ();
      return true;
    }
    case static_cast<uint8_t> (ChannelMessage::Type::acked): {
      constexpr size_t kFixed = 1 + 8 + 8 + 2;
      if (plaintext.size < kFixed)
        return false;
      size_t length = get_be (p + 17, 2);
      if (length > kMaxLackingBytes || plaintext.size != kFixed + length)
        return false;
      message->type = ChannelMessage::Type::acked;
      message->epoch = get_be (p + 1, 8);
      message->key_id = get_be (p + 9, 8);
      message->lacking.assign (p + kFixed, p + kFixed + length);
      message->secret = ByteView ();
      return true;
    }
    default:
      return false;
  }
}

bool
parse_envelope (ByteView message, Envelope * envelope)
{
  if (message.size == 0 || message.size > kMaxMessageSize)
    return false;
  if (message.data[0] == kChannelMagic)
    return parse_channel (message, envelope);
  if (parse_canonical_signed (message, envelope))
    return true;
  json doc = json::parse (message.data, message.data + message.size, nullptr, false);
  if (doc.is_discarded () || !doc.is_object () || doc.size () != 2)
    return false;
  return parse_signed (doc, envelope);
}

}  // namespace wire
}  // namespace room
}  // namespace sframe
