/* HPKE (RFC 9180) for sealing keys to one recipient, composed from OpenSSL
 * 3.0 primitives (3.0 has no HPKE API): DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, and AES-128-GCM or ChaCha20-Poly1305. All four modes. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/status.h>

#include <memory>
#include <vector>

namespace sframe {
namespace hpke {

enum class Mode : uint8_t { base = 0, psk = 1, auth = 2, auth_psk = 3 };
enum class AeadId : uint16_t { aes_128_gcm = 0x0001, chacha20_poly1305 = 0x0003 };

constexpr uint16_t kKemX25519HkdfSha256 = 0x0020;
constexpr uint16_t kKdfHkdfSha256 = 0x0001;
constexpr size_t kPublicKeySize = 32;   /* Npk = Nenc */

struct KeyPair {
  SecureBytes private_key;          /* 32 bytes */
  std::vector<uint8_t> public_key;  /* 32 bytes */
};

GST_SFRAME_API Status generate_key_pair (KeyPair * out);
/* RFC 9180 section 7.1.3 DeriveKeyPair. */
GST_SFRAME_API Status derive_key_pair (ByteView ikm, KeyPair * out);
GST_SFRAME_API Status key_pair_from_private (ByteView private_key, KeyPair * out);

/* What a setup needs beyond the recipient key and info: a PSK (psk modes),
 * the sender's key pair (auth modes, sender side) or public key (auth
 * modes, receiver side), and, for tests only, a fixed ephemeral key. */
struct SetupOptions {
  Mode mode = Mode::base;
  ByteView psk;
  ByteView psk_id;
  const KeyPair *sender_key = nullptr;   /* auth, sender side */
  ByteView sender_public_key;            /* auth, receiver side */
  const KeyPair *ephemeral = nullptr;    /* tests: deterministic encapsulation */
};

/* A sealing or opening context (section 5.2). Not thread-safe. It keeps
 * keys, not OpenSSL contexts: each message keys a context of the calling
 * thread's (hpke.cc), which is wiped when this Context is destroyed on
 * that thread or re-keyed. Not copyable, since that would copy the key. */
class GST_SFRAME_API Context {
public:
  Context () = default;
  ~Context ();
  Context (const Context &) = delete;
  Context & operator= (const Context &) = delete;

  Status seal (ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext);
  Status open (ByteView aad, ByteView ciphertext, SecureBytes * plaintext);
  Status export_secret (ByteView exporter_context, size_t length, SecureBytes * out) const;

  /* Seal and open at an explicit sequence number, for channels whose
   * messages may be lost or reordered: the caller carries `seq` with the
   * ciphertext, never seals twice at one `seq`, and rejects replays (a
   * replay window over `seq`). Leaves the implicit sequence untouched. */
  Status seal_at (uint64_t seq, ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext) const;
  Status open_at (uint64_t seq, ByteView aad, ByteView ciphertext, SecureBytes * plaintext) const;

  /* Key schedule outputs, exposed for test vectors. */
  const SecureBytes & key () const { return key_; }
  const SecureBytes & base_nonce () const { return base_nonce_; }
  const SecureBytes & exporter_secret () const { return exporter_secret_; }

private:
  friend Status key_schedule (AeadId, Mode, ByteView, ByteView, ByteView, ByteView, Context *);
  void nonce (uint64_t seq, uint8_t * out) const;
  Status seal_nonce (const uint8_t * nonce, ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext) const;
  Status open_nonce (const uint8_t * nonce, ByteView aad, ByteView ciphertext, SecureBytes * plaintext) const;

  AeadId aead_ = AeadId::aes_128_gcm;
  SecureBytes key_;
  SecureBytes base_nonce_;
  SecureBytes exporter_secret_;
  uint64_t seq_ = 0;
};

GST_SFRAME_API Status setup_sender (AeadId aead, ByteView recipient_public_key, ByteView info,
    const SetupOptions & options, std::vector<uint8_t> * enc, Context * context);

GST_SFRAME_API Status setup_receiver (AeadId aead, ByteView enc, const KeyPair & recipient,
    ByteView info, const SetupOptions & options, Context * context);

/* Single-shot base mode: enc || ciphertext, and its inverse. */
GST_SFRAME_API Status seal_base (AeadId aead, ByteView recipient_public_key, ByteView info,
    ByteView aad, ByteView plaintext, std::vector<uint8_t> * sealed);
GST_SFRAME_API Status open_base (AeadId aead, const KeyPair & recipient, ByteView info,
    ByteView aad, ByteView sealed, SecureBytes * plaintext);

}  // namespace hpke
}  // namespace sframe
