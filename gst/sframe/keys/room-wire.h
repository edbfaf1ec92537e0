/* The wire form of the key protocol (docs/key-protocol.md): subjects,
 * signed envelopes and channel envelopes. Shared by the sender-key
 * provider and by tests that play a malicious bus. GStreamer-free. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/keys/identity.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sframe {
namespace room {
namespace wire {

constexpr int kVersion = 1;
constexpr size_t kMaxMessageSize = 1 << 20;   /* NATS' default max_payload */

/* Subjects carry a hash of the room name, not the name: NATS subject
 * tokens cannot hold arbitrary text. The bus still learns who talks in
 * which room (metadata). */
GST_SFRAME_API std::string room_token (const std::string & room);
GST_SFRAME_API std::string subject_all (const std::string & room);
GST_SFRAME_API std::string subject_to (const std::string & room, const std::string & fingerprint);

/* {"p": base64url(payload), "s": base64url(Ed25519 sign_for("message", payload))} */
GST_SFRAME_API std::vector<uint8_t> make_signed (const Identity & identity, const std::string & payload);

/* 0x01 | from | to (32 bytes each) | id | n (8 bytes, big-endian) |
 * ciphertext: a message sealed in a pairwise channel (an HPKE context at
 * explicit sequence n). Binary, unlike signed envelopes: a rotation is
 * about 2N of these per member. make_channel returns nothing for a header
 * whose fingerprints are not 64 lowercase hex digits. */
struct ChannelHeader {
  std::string from;   /* sender fingerprint */
  std::string to;     /* recipient fingerprint */
  uint64_t id = 0;    /* channel id, chosen by the sender at setup */
  uint64_t n = 0;     /* sequence number in the channel */
};
GST_SFRAME_API std::vector<uint8_t> make_channel (const ChannelHeader & header, ByteView ciphertext);
/* What the channel AEAD authenticates besides the plaintext. */
GST_SFRAME_API std::vector<uint8_t> channel_aad (const std::string & room, const ChannelHeader & header);
/* The same into *aad, reusing its storage (twice per channel message). */
GST_SFRAME_API void write_channel_aad (const std::string & room, const ChannelHeader & header,
    std::vector<uint8_t> * aad);

/* What a channel carries (the plaintext sealed in it), binary:
 *   key   0x01 | epoch (8) | gen (4) | kid (8) | reason length (1) | reason | key bytes
 *   ack   0x02 | kid (8)
 *   ping  0x03 | epoch (8)
 *   held  0x04 | epoch (8) | count (2) | count x kid (8)
 *   acked 0x05 | epoch (8) | kid (8) | length (2) | lacking (length bytes)
 * integers big-endian. `held` is a member's report to the committer of
 * the fresh keys it now holds (acks of a whole rotation in one message,
 * docs/key-protocol.md); at most kMaxHeldKeys key ids. `acked` is the
 * committer's answer to one sender: with no `lacking`, every member of
 * roster `epoch` holds its key `kid`; otherwise `lacking` is a bitmap over
 * that roster in fingerprint order (most significant bit of the first
 * byte first) of the members that have not reported `kid` (0: no key of
 * this sender was reported at all). The key bytes come last and never pass
 * through anything but SecureBytes, so every copy of them is wiped. */
struct ChannelMessage {
  enum class Type : uint8_t { key = 1, ack = 2, ping = 3, held = 4, acked = 5 };
  Type type = Type::ping;
  uint64_t epoch = 0;        /* key, ping, held, acked */
  uint32_t generation = 0;   /* key */
  uint64_t key_id = 0;       /* key, ack, acked */
  std::string reason;        /* key: join, leave, ... (at most 255 bytes) */
  ByteView secret;           /* key: the key bytes, inside the decoded plaintext */
  std::vector<uint64_t> held;   /* held: key ids */
  std::vector<uint8_t> lacking; /* acked: empty when everyone holds the key */
};
constexpr size_t kMaxHeldKeys = 4096;
/* A roster bitmap of at most kMaxHeldKeys members. */
constexpr size_t kMaxLackingBytes = kMaxHeldKeys / 8;
GST_SFRAME_API SecureBytes encode_channel_message (const ChannelMessage & message);
/* False for anything that is not exactly one of the five forms. */
GST_SFRAME_API bool decode_channel_message (ByteView plaintext, ChannelMessage * message);

struct Envelope {
  enum class Kind { signed_message, channel_message } kind = Kind::signed_message;
  std::string payload;               /* signed: the JSON payload text */
  std::vector<uint8_t> signature;    /* signed */
  ChannelHeader channel;             /* channel */
  std::vector<uint8_t> ciphertext;   /* channel */
};
/* False for anything that is not exactly one of the two forms. Reuses
 * the storage *envelope already has. */
GST_SFRAME_API bool parse_envelope (ByteView message, Envelope * envelope);

/* The roster's state hash, which every member must reach after a change:
 * SHA-256 over the epoch, the next free index, the previous state hash,
 * every member (fingerprint, index, hello hash) in fingerprint order and,
 * when any device was revoked, the label "revoked" and each revoked
 * fingerprint in order. Strings are length-prefixed (8 bytes big-endian),
 * so the encoding is unambiguous: a fingerprint is always 64 bytes long,
 * the label 7. A change carries the hash it leads to, so members that
 * apply it to the roster they hold converge on the same one without the
 * whole list on the wire. Built in one buffer and hashed in one piece. */
class GST_SFRAME_API StateHash {
public:
  StateHash (uint64_t epoch, uint64_t next_index, const std::string & prev, size_t members);
  void member (const std::string & fingerprint, uint32_t index, const std::string & hello_hash);
  /* After every member, in fingerprint order. */
  void revoked (const std::string & fingerprint);
  std::string hex () const;

private:
  void put (const void * data, size_t size);
  void put_u64 (uint64_t value);
  void put_string (const std::string & text);

  std::vector<uint8_t> text_;
  bool revoked_started_ = false;
};

GST_SFRAME_API std::string hex (ByteView bytes);         /* lowercase */
GST_SFRAME_API std::string sha256_hex (ByteView bytes);
GST_SFRAME_API std::string u64_hex (uint64_t value);      /* 16 hex digits */
GST_SFRAME_API bool parse_u64_hex (const std::string & text, uint64_t * value);
GST_SFRAME_API bool is_fingerprint (const std::string & text);

}  // namespace wire
}  // namespace room
}  // namespace sframe
