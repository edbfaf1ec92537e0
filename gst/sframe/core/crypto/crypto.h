/* The library's one boundary to its crypto library: every primitive the
 * library takes from OpenSSL 3.0 is declared here (random bytes, wiping,
 * digests, Ed25519, X25519, the HPKE message AEADs, base64 blocks) or in
 * the core's aead.h and hkdf.h. The *-openssl.cc files of this folder
 * implement them and are the only files that include OpenSSL; the
 * `layering` test fails on any other. Internal: never installed.
 *
 * Every function is safe on empty inputs, leaves no OpenSSL error queued,
 * and reports failure by its result, never by an exception. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sframe {
namespace crypto {

/* Random bytes from the CSPRNG; false when it failed (`out` is then
 * unusable). Keys are drawn with random_secret_bytes, which OpenSSL feeds
 * from a generator of its own, apart from the one that makes public
 * values (ids, nonces). */
bool random_bytes (uint8_t * out, size_t size);
bool random_secret_bytes (uint8_t * out, size_t size);

/* Overwrites memory in a way the compiler may not drop. */
void wipe (void * data, size_t size);
/* Compares without a time that depends on where the inputs differ. */
bool equal_in_constant_time (const uint8_t * a, const uint8_t * b, size_t size);

constexpr size_t kSha256Size = 32;
constexpr size_t kSha512Size = 64;
/* Writes the digest to `out` (kSha256Size / kSha512Size bytes). */
bool sha256 (ByteView input, uint8_t * out);
bool sha512 (ByteView input, uint8_t * out);

/* Standard base64 with padding, for the base64url codec. Encoding writes
 * (size + 2) / 3 * 4 characters and a NUL; decoding takes whole 4-character
 * groups and writes 3 bytes per group (padding included): false on a
 * character outside the alphabet. */
size_t base64_encode (ByteView bytes, char * out);
bool base64_decode_groups (const char * text, size_t size, uint8_t * out);

/* Ed25519 (RFC 8032, PureEdDSA). */
constexpr size_t kEd25519SeedSize = 32;
constexpr size_t kEd25519PublicKeySize = 32;
constexpr size_t kEd25519SignatureSize = 64;

/* A private key as the backend holds it, made once from its seed: making
 * it derives the public key (a scalar multiplication, as costly as a
 * signature). Immutable; the backend wipes it when the last owner drops
 * it. Defined only in the backend. */
struct Ed25519SigningKey;

/* Null when `seed` is not a 32-byte seed; fills `public_key`. */
std::shared_ptr<const Ed25519SigningKey> ed25519_signing_key (ByteView seed, std::vector<uint8_t> * public_key);
/* Writes kEd25519SignatureSize bytes to `signature`. */
bool ed25519_sign (const Ed25519SigningKey & key, ByteView message, uint8_t * signature);
/* True only for a valid signature of `message` by `public_key`. */
bool ed25519_verify (ByteView public_key, ByteView message, ByteView signature);
/* True when the 32 bytes decode to a point of the curve. */
bool ed25519_public_key_valid (ByteView public_key);

/* SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"); empty when invalid. */
std::string ed25519_public_key_to_pem (ByteView public_key);
/* False unless `pem` is an Ed25519 public key in that form. */
bool ed25519_public_key_from_pem (std::string_view pem, std::vector<uint8_t> * public_key);

/* Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"); empty on failure. */
SecureBytes ed25519_private_key_to_pem (ByteView seed);
enum class PrivateKeyPem {
  ok,
  unreadable,     /* not an unencrypted PKCS#8 PEM private key */
  not_ed25519,
  unusable,       /* an Ed25519 key whose seed cannot be read back */
};
/* Never prompts for a passphrase: an encrypted key is `unreadable`. */
PrivateKeyPem ed25519_private_key_from_pem (ByteView pem, SecureBytes * seed);

/* X25519 (RFC 7748), 32-byte keys. */
constexpr size_t kX25519KeySize = 32;
/* Writes the public key of `private_key` to `public_key`. */
bool x25519_public_key (ByteView private_key, uint8_t * public_key);
/* Writes X25519(private_key, public_key) to `shared`; the caller refuses
 * the all-zero result of a small-order point. */
bool x25519 (ByteView private_key, ByteView public_key, uint8_t * shared);

/* The AEADs of HPKE's messages (RFC 9180 section 7.3): a 12-byte nonce and
 * a 16-byte tag. */
enum class MessageAead { aes_128_gcm, chacha20_poly1305 };
constexpr size_t kMessageNonceSize = 12;
constexpr size_t kMessageTagSize = 16;
size_t message_key_size (MessageAead aead);

/* Each thread keys one context per AEAD for each message: a context kept
 * per channel end (about a kilobyte of OpenSSL state, for tens of
 * thousands of ends) costs more in cache misses than keying a warm one
 * (docs/performance.md, `sframe-aead-context-bench`). `owner` names whose
 * key the thread's context last held, so forget_message_key can free it. */
Status message_seal (MessageAead aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad,
    ByteView plaintext, std::vector<uint8_t> * ciphertext);
/* authentication_failed when the tag does not match. */
Status message_open (MessageAead aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad,
    ByteView ciphertext, SecureBytes * plaintext);
/* Frees (and so wipes) this thread's contexts if they hold `owner`'s key. */
void forget_message_key (const void * owner);

}  // namespace crypto
}  // namespace sframe
