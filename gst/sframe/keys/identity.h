/* Ed25519 identities (RFC 8032): every device has one
 * and so does each room authority (the organisation or the host that admits
 * members, never the operator of the message bus). An identity signs join
 * tokens (authority) or protocol messages such as hellos (device).
 *
 * Key files: the private key is PKCS#8 PEM ("BEGIN PRIVATE KEY"), created
 * with mode 0600 and refused on load when group or others may read or write
 * it; the public key is SubjectPublicKeyInfo PEM or the raw 32 bytes in
 * base64url. Key file results (not_found, io_error, insecure_permissions,
 * already_exists, bad_format) carry a message that names the file and the
 * fix, never key bytes. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/status.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sframe {

namespace crypto {
struct Ed25519SigningKey;
}

constexpr size_t kEd25519PublicKeySize = 32;
constexpr size_t kEd25519PrivateKeySize = 32;  /* the RFC 8032 seed */
constexpr size_t kEd25519SignatureSize = 64;

/* One Ed25519 key pair. Copyable; the private half lives in SecureBytes. */
class GST_SFRAME_API Identity {
public:
  static Status generate (Identity * out);
  /* From the 32-byte RFC 8032 private key (test vectors, key import). */
  static Status from_private_key (ByteView private_key, Identity * out);

  /* Reads a PKCS#8 PEM private key; refuses a file with mode & 077. */
  static Result load (const std::string & path, Identity * out);
  /* Writes PKCS#8 PEM with mode 0600. Refuses an existing file unless
   * `overwrite`; then the old file is replaced atomically. */
  Result save (const std::string & path, bool overwrite = false) const;

  bool valid () const { return public_key_.size () == kEd25519PublicKeySize; }
  const std::vector<uint8_t> & public_key () const { return public_key_; }
  std::string fingerprint () const;        /* 64 lowercase hex characters */
  std::string short_fingerprint () const;  /* its first 16 */

  /* Plain Ed25519 over `message` (JWS EdDSA uses this). */
  Status sign (ByteView message, std::vector<uint8_t> * signature) const;
  /* Ed25519 over "gst-sframe/1 " || purpose || 0x00 || message, so a
   * signature made for one purpose never verifies for another. `purpose`
   * must be non-empty and free of NUL bytes. */
  Status sign_for (std::string_view purpose, ByteView message, std::vector<uint8_t> * signature) const;

private:
  SecureBytes private_key_;
  std::vector<uint8_t> public_key_;
  /* The same key as the crypto library holds it, made once (see
   * crypto::Ed25519SigningKey). Immutable, so copies share it. */
  std::shared_ptr<const crypto::Ed25519SigningKey> signing_key_;
};

/* True only for a valid Ed25519 signature of `message` by `public_key`. */
GST_SFRAME_API bool verify_signature (ByteView public_key, ByteView message, ByteView signature);
/* The counterpart of Identity::sign_for. */
GST_SFRAME_API bool verify_signature_for (ByteView public_key, std::string_view purpose, ByteView message,
    ByteView signature);

/* SHA-256 of the 32-byte raw public key, lowercase hex; the short form is
 * its first 16 characters (64 bits: for display and JWT "kid", never the
 * only check). Empty for a key that is not 32 bytes. */
GST_SFRAME_API std::string fingerprint (ByteView public_key);
GST_SFRAME_API std::string short_fingerprint (ByteView public_key);

/* Public keys as text. */
enum class PublicKeyFormat { pem, base64url };
GST_SFRAME_API std::string public_key_to_text (ByteView public_key, PublicKeyFormat format);
/* Accepts either format (surrounding whitespace ignored); a valid Ed25519
 * public key or false. */
GST_SFRAME_API bool public_key_from_text (std::string_view text, std::vector<uint8_t> * public_key);

/* Public key files (mode 0644 minus umask on save). */
GST_SFRAME_API Result save_public_key (const std::string & path, ByteView public_key,
    PublicKeyFormat format = PublicKeyFormat::pem, bool overwrite = false);
GST_SFRAME_API Result load_public_key (const std::string & path, std::vector<uint8_t> * public_key);

}  // namespace sframe
