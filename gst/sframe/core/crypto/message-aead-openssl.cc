/* crypto.h's HPKE message AEADs over OpenSSL 3.0 EVP, one context per
 * thread and AEAD, keyed for each message. */
#include <gst/sframe/core/crypto/crypto.h>

#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <memory>

namespace sframe {
namespace crypto {

namespace {

struct CipherCtxDeleter {
  void operator() (EVP_CIPHER_CTX * p) const { EVP_CIPHER_CTX_free (p); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const EVP_CIPHER *
cipher_of (MessageAead aead)
{
  return aead == MessageAead::aes_128_gcm ? EVP_aes_128_gcm () : EVP_chacha20_poly1305 ();
}

/* The context holds the last message's key schedule until its owner says
 * to forget it. */
struct ThreadAead {
  CipherCtxPtr ctx;
  const void *keyed_for = nullptr;   /* the owner whose key is in ctx */
};

ThreadAead &
thread_aead (MessageAead aead)
{
  thread_local ThreadAead contexts[2];   /* AES-128-GCM, ChaCha20-Poly1305 */
  return contexts[aead == MessageAead::aes_128_gcm ? 0 : 1];
}

/* The thread's context for `aead`, keyed with `key` and `nonce` for one
 * message in direction `encrypt`; nullptr on failure. */
EVP_CIPHER_CTX *
keyed_context (MessageAead aead, const void * owner, ByteView key, const uint8_t * nonce, bool encrypt)
{
  if (key.size != message_key_size (aead))
    return nullptr;
  ThreadAead & t = thread_aead (aead);
  if (!t.ctx) {
    t.ctx.reset (EVP_CIPHER_CTX_new ());
    if (t.ctx && EVP_CipherInit_ex (t.ctx.get (), cipher_of (aead), nullptr, nullptr, nullptr, 1) != 1)
      t.ctx.reset ();
    if (!t.ctx)
      return nullptr;
  }
  t.keyed_for = owner;
  if (EVP_CipherInit_ex (t.ctx.get (), nullptr, nullptr, key.data, nonce, encrypt ? 1 : 0) != 1)
    return nullptr;
  return t.ctx.get ();
}

}  // namespace

size_t
message_key_size (MessageAead aead)
{
  return aead == MessageAead::aes_128_gcm ? 16 : 32;
}

void
forget_message_key (const void * owner)
{
  for (MessageAead aead : {MessageAead::aes_128_gcm, MessageAead::chacha20_poly1305}) {
    ThreadAead & t = thread_aead (aead);
    if (t.keyed_for == owner) {
      t.ctx.reset ();
      t.keyed_for = nullptr;
    }
  }
}

Status
message_seal (MessageAead aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad,
    ByteView plaintext, std::vector<uint8_t> * ciphertext)
{
  if (plaintext.size > INT_MAX - kMessageTagSize || aad.size > INT_MAX)
    return Status::invalid_argument;
  EVP_CIPHER_CTX *ctx = keyed_context (aead, owner, key, nonce, true);
  std::vector<uint8_t> out (plaintext.size + kMessageTagSize);
  uint8_t *tag = out.data () + plaintext.size;
  int len = 0;
  if (!ctx ||
      (aad.size && EVP_EncryptUpdate (ctx, nullptr, &len, aad.data, static_cast<int> (aad.size)) != 1) ||
      (plaintext.size &&
          EVP_EncryptUpdate (ctx, out.data (), &len, plaintext.data, static_cast<int> (plaintext.size)) != 1) ||
      EVP_EncryptFinal_ex (ctx, tag, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, kMessageTagSize, tag) != 1)
    return Status::crypto_error;
  *ciphertext = std::move (out);
  return Status::ok;
}

Status
message_open (MessageAead aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad,
    ByteView ciphertext, SecureBytes * plaintext)
{
  if (ciphertext.size < kMessageTagSize)
    return Status::authentication_failed;
  if (ciphertext.size > INT_MAX || aad.size > INT_MAX)
    return Status::invalid_argument;
  size_t body = ciphertext.size - kMessageTagSize;
  SecureBytes out (body);
  uint8_t tag[kMessageTagSize];
  std::memcpy (tag, ciphertext.data + body, kMessageTagSize);
  EVP_CIPHER_CTX *ctx = keyed_context (aead, owner, key, nonce, false);
  int len = 0;
  if (!ctx ||
      (aad.size && EVP_DecryptUpdate (ctx, nullptr, &len, aad.data, static_cast<int> (aad.size)) != 1) ||
      (body && EVP_DecryptUpdate (ctx, out.data (), &len, ciphertext.data, static_cast<int> (body)) != 1) ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, kMessageTagSize, tag) != 1)
    return Status::crypto_error;
  if (EVP_DecryptFinal_ex (ctx, out.data () + body, &len) != 1)
    return Status::authentication_failed;
  *plaintext = std::move (out);
  return Status::ok;
}

}  // namespace crypto
}  // namespace sframe
