#include <gst/sframe/hkdf.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>

namespace sframe {

namespace {

struct KdfCtxDeleter {
  void operator() (EVP_KDF_CTX * ctx) const { EVP_KDF_CTX_free (ctx); }
};
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;

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

/* One context per thread, mode and hash, with the mode and digest set
 * once: fetching the HKDF and the digest by name costs more than the
 * derivation, and a room rotation derives keys for every member. (OpenSSL
 * 3.0 cannot duplicate an HKDF context, so it is reused.) After each
 * derivation the key and salt are replaced by one zero byte, which makes
 * OpenSSL clear and free the secret ones: nothing secret stays behind. */
EVP_KDF_CTX *
hkdf_context (int mode, HashAlgorithm hash)
{
  thread_local KdfCtxPtr contexts[2][2];
  KdfCtxPtr & slot = contexts[mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? 0 : 1][hash == HashAlgorithm::sha512 ? 1 : 0];
  if (slot)
    return slot.get ();
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (!kdf)
    return nullptr;
  KdfCtxPtr ctx (EVP_KDF_CTX_new (kdf));
  EVP_KDF_free (kdf);
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

void
wipe_inputs (EVP_KDF_CTX * ctx)
{
  uint8_t zero = 0;
  OSSL_PARAM params[] = {
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, &zero, 1),
    OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, &zero, 1),
    OSSL_PARAM_construct_end (),
  };
  EVP_KDF_CTX_set_params (ctx, params);
}

Status
run_hkdf (int mode, HashAlgorithm hash, ByteView salt, ByteView key, ByteView info,
    SecureBytes * out)
{
  EVP_KDF_CTX *ctx = hkdf_context (mode, hash);
  if (!ctx)
    return Status::crypto_error;
  OSSL_PARAM params[3];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, param_bytes (key), key.size);
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
    params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, param_bytes (salt), salt.size);
  else
    params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, param_bytes (info), info.size);
  params[n++] = OSSL_PARAM_construct_end ();
  int ok = EVP_KDF_derive (ctx, out->data (), out->size (), params);
  wipe_inputs (ctx);
  return ok == 1 ? Status::ok : Status::crypto_error;
}

}  // namespace

Status
hkdf_extract (HashAlgorithm hash, ByteView salt, ByteView ikm, SecureBytes * prk)
{
  SecureBytes out (hash == HashAlgorithm::sha512 ? 64 : 32);
  Status s = run_hkdf (EVP_KDF_HKDF_MODE_EXTRACT_ONLY, hash, salt, ikm, {}, &out);
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
  Status s = run_hkdf (EVP_KDF_HKDF_MODE_EXPAND_ONLY, hash, {}, prk, info, &out);
  if (s == Status::ok)
    *okm = std::move (out);
  return s;
}

}  // namespace sframe
