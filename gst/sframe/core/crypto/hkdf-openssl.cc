#include <gst/sframe/core/hkdf.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace sframe {

namespace {

struct KdfCtxDeleter {
  void operator() (EVP_KDF_CTX * ctx) const { EVP_KDF_CTX_free (ctx); }
};
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;

struct MacCtxDeleter {
  void operator() (EVP_MAC_CTX * ctx) const { EVP_MAC_CTX_free (ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

const char *
digest_name (HashAlgorithm hash)
{
  return hash == HashAlgorithm::sha512 ? "SHA512" : "SHA256";
}

/* OSSL_PARAM wants non-const pointers; OpenSSL does not write through them. */
void *
param_bytes (ByteView bytes)
{
  static uint8_t empty = 0;
  return bytes.size ? const_cast<uint8_t *> (bytes.data) : &empty;
}

/* One HKDF-Expand context per thread and hash, with the mode and digest
 * set once: fetching the HKDF and the digest by name costs more than the
 * derivation, and a room rotation derives keys for every member. (OpenSSL
 * 3.0 cannot duplicate an HKDF context, so it is reused.) After each
 * derivation the key is replaced by one zero byte, which makes OpenSSL
 * clear and free the secret one: nothing secret stays behind. */
EVP_KDF_CTX *
expand_context (HashAlgorithm hash)
{
  thread_local KdfCtxPtr contexts[2];
  KdfCtxPtr & slot = contexts[hash == HashAlgorithm::sha512 ? 1 : 0];
  if (slot)
    return slot.get ();
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (!kdf)
    return nullptr;
  KdfCtxPtr ctx (EVP_KDF_CTX_new (kdf));
  EVP_KDF_free (kdf);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_int (OSSL_KDF_PARAM_MODE, &mode),
    OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST, const_cast<char *> (digest_name (hash)), 0),
    OSSL_PARAM_construct_end (),
  };
  if (!ctx || EVP_KDF_CTX_set_params (ctx.get (), params) != 1)
    return nullptr;
  slot = std::move (ctx);
  return slot.get ();
}

/* HKDF-Extract is HMAC-Hash(salt, IKM) (RFC 5869 section 2.2). OpenSSL
 * 3.0's HKDF runs its extract step through EVP_Q_mac, which fetches HMAC
 * and the digest by name on every call: more than the HMAC itself costs.
 * One HMAC context per thread and hash instead, digest set once. */
EVP_MAC_CTX *
hmac_context (HashAlgorithm hash)
{
  thread_local MacCtxPtr contexts[2];
  MacCtxPtr & slot = contexts[hash == HashAlgorithm::sha512 ? 1 : 0];
  if (slot)
    return slot.get ();
  EVP_MAC *mac = EVP_MAC_fetch (nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (!mac)
    return nullptr;
  MacCtxPtr ctx (EVP_MAC_CTX_new (mac));
  EVP_MAC_free (mac);
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, const_cast<char *> (digest_name (hash)), 0),
    OSSL_PARAM_construct_end (),
  };
  if (!ctx || EVP_MAC_CTX_set_params (ctx.get (), params) != 1)
    return nullptr;
  slot = std::move (ctx);
  return slot.get ();
}

Status
run_hmac (HashAlgorithm hash, ByteView key, ByteView message, SecureBytes * out)
{
  EVP_MAC_CTX *ctx = hmac_context (hash);
  if (!ctx)
    return Status::crypto_error;
  size_t written = 0;
  int ok = EVP_MAC_init (ctx, static_cast<const unsigned char *> (param_bytes (key)), key.size, nullptr) == 1 &&
      EVP_MAC_update (ctx, message.data, message.size) == 1 &&
      EVP_MAC_final (ctx, out->data (), &written, out->size ()) == 1 && written == out->size ();
  /* Re-keying replaces all of the context's digest state, so nothing of
   * this message (or its MAC) stays in the thread's context. */
  uint8_t zero = 0;
  EVP_MAC_init (ctx, &zero, 1, nullptr);
  return ok ? Status::ok : Status::crypto_error;
}

Status
run_expand (HashAlgorithm hash, ByteView prk, ByteView info, SecureBytes * out)
{
  EVP_KDF_CTX *ctx = expand_context (hash);
  if (!ctx)
    return Status::crypto_error;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, param_bytes (prk), prk.size),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, param_bytes (info), info.size),
    OSSL_PARAM_construct_end (),
  };
  int ok = EVP_KDF_derive (ctx, out->data (), out->size (), params);
  uint8_t zero = 0;
  OSSL_PARAM wipe[] = {
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, &zero, 1),
    OSSL_PARAM_construct_end (),
  };
  EVP_KDF_CTX_set_params (ctx, wipe);
  return ok == 1 ? Status::ok : Status::crypto_error;
}

}  // namespace

Status
hkdf_extract (HashAlgorithm hash, ByteView salt, ByteView ikm, SecureBytes * prk)
{
  size_t hash_size = hash == HashAlgorithm::sha512 ? 64 : 32;
  SecureBytes out (hash_size);
  /* An absent salt is a string of hash-size zeros (RFC 5869 section 2.2). */
  uint8_t zeros[64] = {};
  ByteView key = salt.size ? salt : ByteView (zeros, hash_size);
  Status s = run_hmac (hash, key, ikm, &out);
  if (s == Status::ok)
    *prk = std::move (out);
  return s;
}

Status
hkdf_expand (HashAlgorithm hash, ByteView prk, ByteView info, size_t length, SecureBytes * okm)
{
  if (length == 0)
    return Status::invalid_argument;
  SecureBytes out (length);
  Status s = run_expand (hash, prk, info, &out);
  if (s == Status::ok)
    *okm = std::move (out);
  return s;
}

}  // namespace sframe
