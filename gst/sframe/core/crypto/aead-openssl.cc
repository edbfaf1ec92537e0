#include <gst/sframe/core/aead.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <climits>
#include <cstring>

namespace sframe {

namespace {

struct CipherCtxDeleter {
  void operator() (EVP_CIPHER_CTX * ctx) const { EVP_CIPHER_CTX_free (ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

struct MacCtxDeleter {
  void operator() (EVP_MAC_CTX * ctx) const { EVP_MAC_CTX_free (ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

/* EVP takes int lengths; frames above INT_MAX are refused up front. */
bool
fits_int (size_t n)
{
  return n <= static_cast<size_t> (INT_MAX);
}

bool
update_aad (EVP_CIPHER_CTX * ctx, ByteView part, bool encrypt)
{
  if (part.empty ())
    return true;
  int len = 0;
  int ok = encrypt ? EVP_EncryptUpdate (ctx, nullptr, &len, part.data, static_cast<int> (part.size))
                   : EVP_DecryptUpdate (ctx, nullptr, &len, part.data, static_cast<int> (part.size));
  return ok == 1;
}

/* The GCM tag as the OpenSSL parameter it is. EVP_CTRL_GCM_{GET,SET}_TAG
 * would build this same parameter on every call; handing it straight to
 * EVP_CIPHER_CTX_{get,set}_params skips that step (and the tag is still
 * checked by the provider, in constant time). */
struct TagParams {
  TagParams (uint8_t * tag, size_t size)
    : list {OSSL_PARAM_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, tag, size), OSSL_PARAM_END}
  {
  }
  OSSL_PARAM list[2];
};

class GcmAead final : public Aead {
public:
  explicit GcmAead (const SuiteParams & suite) : Aead (suite) {}

  /* Each direction's context is made on first use: a frame key is almost
   * always used one way only (a sender's frames, or a receiver's), and a
   * context is about a kilobyte. (The key protocol's pairwise channels
   * do not use Aead: hpke.cc keys one context per thread instead.) */
  Status init (ByteView key)
  {
    cipher_ = suite ().key_size == 16 ? EVP_aes_128_gcm () : EVP_aes_256_gcm ();
    key_ = SecureBytes (key);
    return Status::ok;
  }

  Status seal (const uint8_t * nonce, AadParts aad, ByteView pt, uint8_t * out) override
  {
    if (!fits_int (pt.size) || !fits_int (aad.size ()))
      return Status::invalid_argument;
    EVP_CIPHER_CTX *ctx = context (enc_, true);
    if (!ctx)
      return Status::crypto_error;
    int len = 0;
    if (EVP_EncryptInit_ex (ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
        !update_aad (ctx, aad.first, true) || !update_aad (ctx, aad.second, true))
      return Status::crypto_error;
    if (pt.size && EVP_EncryptUpdate (ctx, out, &len, pt.data, static_cast<int> (pt.size)) != 1)
      return Status::crypto_error;
    TagParams tag (out + pt.size, tag_size ());
    if (EVP_EncryptFinal_ex (ctx, out + len, &len) != 1 || EVP_CIPHER_CTX_get_params (ctx, tag.list) != 1)
      return Status::crypto_error;
    return Status::ok;
  }

  Status open (const uint8_t * nonce, AadParts aad, ByteView ct, uint8_t * out) override
  {
    if (ct.size < tag_size ())
      return Status::authentication_failed;
    if (!fits_int (ct.size) || !fits_int (aad.size ()))
      return Status::invalid_argument;
    size_t body = ct.size - tag_size ();
    EVP_CIPHER_CTX *ctx = context (dec_, false);
    if (!ctx)
      return Status::crypto_error;
    int len = 0;
    /* The tag is set before decrypting (OpenSSL copies it): `out` may
     * overwrite `ct`. OpenSSL only reads through the pointer. */
    TagParams tag (const_cast<uint8_t *> (ct.data + body), tag_size ());
    if (EVP_DecryptInit_ex (ctx, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_CIPHER_CTX_set_params (ctx, tag.list) != 1 ||
        !update_aad (ctx, aad.first, false) || !update_aad (ctx, aad.second, false))
      return Status::crypto_error;
    if (body && EVP_DecryptUpdate (ctx, out, &len, ct.data, static_cast<int> (body)) != 1)
      return Status::crypto_error;
    /* EVP compares the GCM tag in constant time. */
    if (EVP_DecryptFinal_ex (ctx, out + len, &len) != 1)
      return Status::authentication_failed;
    return Status::ok;
  }

private:
  EVP_CIPHER_CTX *context (CipherCtxPtr & ctx, bool encrypt)
  {
    if (ctx)
      return ctx.get ();
    CipherCtxPtr made (EVP_CIPHER_CTX_new ());
    if (!made || EVP_CipherInit_ex (made.get (), cipher_, nullptr, key_.data (), nullptr, encrypt ? 1 : 0) != 1)
      return nullptr;
    ctx = std::move (made);
    return ctx.get ();
  }

  const EVP_CIPHER *cipher_ = nullptr;
  SecureBytes key_;
  CipherCtxPtr enc_;
  CipherCtxPtr dec_;
};


/* RFC 9605 section 4.5.1: AES-CTR for confidentiality, HMAC-SHA256 over
 * lengths || nonce || aad || ct, truncated to Nt, for integrity. */
class CtrHmacAead final : public Aead {
public:
  explicit CtrHmacAead (const SuiteParams & suite) : Aead (suite) {}

  Status init (ByteView key)
  {
    size_t enc_size = suite ().enc_key_size;
    ctr_.reset (EVP_CIPHER_CTX_new ());
    if (!ctr_ || EVP_EncryptInit_ex (ctr_.get (), EVP_aes_128_ctr (), nullptr, key.data, nullptr) != 1)
      return Status::crypto_error;
    EVP_MAC *mac = EVP_MAC_fetch (nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (!mac)
      return Status::crypto_error;
    mac_.reset (EVP_MAC_CTX_new (mac));
    EVP_MAC_free (mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string (OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end (),
    };
    if (!mac_ || EVP_MAC_init (mac_.get (), key.data + enc_size, key.size - enc_size, params) != 1)
      return Status::crypto_error;
    return Status::ok;
  }

  Status seal (const uint8_t * nonce, AadParts aad, ByteView pt, uint8_t * out) override
  {
    if (!fits_int (pt.size))
      return Status::invalid_argument;
    if (!apply_ctr (nonce, pt, out))
      return Status::crypto_error;
    uint8_t tag[EVP_MAX_MD_SIZE];
    if (!compute_tag (nonce, aad, {out, pt.size}, tag))
      return Status::crypto_error;
    std::memcpy (out + pt.size, tag, tag_size ());
    OPENSSL_cleanse (tag, sizeof tag);
    return Status::ok;
  }

  Status open (const uint8_t * nonce, AadParts aad, ByteView ct, uint8_t * out) override
  {
    if (ct.size < tag_size ())
      return Status::authentication_failed;
    if (!fits_int (ct.size))
      return Status::invalid_argument;
    ByteView body = ct.sub (0, ct.size - tag_size ());
    uint8_t tag[EVP_MAX_MD_SIZE];
    if (!compute_tag (nonce, aad, body, tag))
      return Status::crypto_error;
    bool match = CRYPTO_memcmp (tag, ct.data + body.size, tag_size ()) == 0;
    OPENSSL_cleanse (tag, sizeof tag);
    if (!match)
      return Status::authentication_failed;
    return apply_ctr (nonce, body, out) ? Status::ok : Status::crypto_error;
  }

private:
  bool apply_ctr (const uint8_t * nonce, ByteView in, uint8_t * out)
  {
    uint8_t iv[16] = {0};
    std::memcpy (iv, nonce, kNonceSize);
    int len = 0;
    if (EVP_EncryptInit_ex (ctr_.get (), nullptr, nullptr, nullptr, iv) != 1)
      return false;
    return in.empty () || EVP_EncryptUpdate (ctr_.get (), out, &len, in.data, static_cast<int> (in.size)) == 1;
  }

  bool compute_tag (const uint8_t * nonce, AadParts aad, ByteView ct, uint8_t * tag)
  {
    uint8_t lengths[24];
    store_be64 (aad.size (), lengths);
    store_be64 (ct.size, lengths + 8);
    store_be64 (tag_size (), lengths + 16);
    size_t tag_len = 0;
    /* A null key re-initialises HMAC with the key given in init(). */
    return EVP_MAC_init (mac_.get (), nullptr, 0, nullptr) == 1 &&
        EVP_MAC_update (mac_.get (), lengths, sizeof lengths) == 1 &&
        EVP_MAC_update (mac_.get (), nonce, kNonceSize) == 1 &&
        EVP_MAC_update (mac_.get (), aad.first.data, aad.first.size) == 1 &&
        EVP_MAC_update (mac_.get (), aad.second.data, aad.second.size) == 1 &&
        EVP_MAC_update (mac_.get (), ct.data, ct.size) == 1 &&
        EVP_MAC_final (mac_.get (), tag, &tag_len, EVP_MAX_MD_SIZE) == 1;
  }

  CipherCtxPtr ctr_;
  MacCtxPtr mac_;
};

template <typename T>
Status
make_aead (const SuiteParams & suite, ByteView key, std::unique_ptr<Aead> * out)
{
  auto aead = std::make_unique<T> (suite);
  Status s = aead->init (key);
  if (s == Status::ok)
    *out = std::move (aead);
  return s;
}

}  // namespace

Status
Aead::create (const SuiteParams & suite, ByteView key, std::unique_ptr<Aead> * out)
{
  out->reset ();
  if (key.size != suite.key_size)
    return Status::invalid_key;
  return suite.gcm ? make_aead<GcmAead> (suite, key, out) : make_aead<CtrHmacAead> (suite, key, out);
}

}  // namespace sframe
