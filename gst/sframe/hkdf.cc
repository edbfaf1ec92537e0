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

KdfCtxPtr
new_hkdf_ctx ()
{
  EVP_KDF *kdf = EVP_KDF_fetch (nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  if (!kdf)
    return nullptr;
  KdfCtxPtr ctx (EVP_KDF_CTX_new (kdf));
  EVP_KDF_free (kdf);
  return ctx;
}

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

Status
run_hkdf (int mode, HashAlgorithm hash, ByteView salt, ByteView key, ByteView info,
    SecureBytes * out)
{
  KdfCtxPtr ctx = new_hkdf_ctx ();
  if (!ctx)
    return Status::crypto_error;
  OSSL_PARAM params[6];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int (OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST,
      const_cast<char *> (digest_name (hash)), 0);
  params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY, param_bytes (key), key.size);
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
    params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT, param_bytes (salt), salt.size);
  else
    params[n++] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, param_bytes (info), info.size);
  params[n++] = OSSL_PARAM_construct_end ();
  if (EVP_KDF_derive (ctx.get (), out->data (), out->size (), params) != 1)
    return Status::crypto_error;
  return Status::ok;
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
