/* crypto.h's Ed25519 and X25519 over OpenSSL 3.0 EVP_PKEY, and the PEM
 * forms of Ed25519 keys. */
#include <gst/sframe/core/crypto/crypto.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <memory>

namespace sframe {
namespace crypto {

struct Ed25519SigningKey {
  EVP_PKEY *pkey = nullptr;
  /* OpenSSL wipes the key when it frees it. */
  ~Ed25519SigningKey () { EVP_PKEY_free (pkey); }
};

namespace {

struct PkeyDeleter {
  void operator() (EVP_PKEY * p) const { EVP_PKEY_free (p); }
};
struct PkeyCtxDeleter {
  void operator() (EVP_PKEY_CTX * p) const { EVP_PKEY_CTX_free (p); }
};
struct MdCtxDeleter {
  void operator() (EVP_MD_CTX * p) const { EVP_MD_CTX_free (p); }
};
struct BioDeleter {
  void operator() (BIO * p) const { BIO_free (p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

/* Failed OpenSSL calls leave their reasons queued; nobody reads them, so
 * every entry point clears them on the way out. */
struct ClearErrors {
  ~ClearErrors () { ERR_clear_error (); }
};

/* OpenSSL functions dislike NULL buffers even at length 0. */
const uint8_t *
nonnull (ByteView v)
{
  static const uint8_t empty = 0;
  return v.data ? v.data : &empty;
}

PkeyPtr
raw_public (int type, ByteView key, size_t size)
{
  if (key.size != size)
    return nullptr;
  return PkeyPtr (EVP_PKEY_new_raw_public_key (type, nullptr, key.data, key.size));
}

PkeyPtr
raw_private (int type, ByteView key, size_t size)
{
  if (key.size != size)
    return nullptr;
  return PkeyPtr (EVP_PKEY_new_raw_private_key (type, nullptr, key.data, key.size));
}

bool
raw_public_of (EVP_PKEY * pkey, uint8_t * out, size_t size)
{
  size_t len = size;
  return pkey && EVP_PKEY_get_raw_public_key (pkey, out, &len) == 1 && len == size;
}

/* Never prompt on a terminal for an encrypted key: refuse it. */
int
no_passphrase (char *, int, int, void *)
{
  return -1;
}

/* Copies a memory BIO's contents out (wiped later by SecureBytes). */
SecureBytes
bio_contents (BIO * bio)
{
  char *data = nullptr;
  long len = BIO_get_mem_data (bio, &data);
  if (len <= 0 || !data)
    return {};
  return SecureBytes (ByteView (reinterpret_cast<const uint8_t *> (data), static_cast<size_t> (len)));
}

BioPtr
reading_bio (const void * data, size_t size)
{
  if (size > static_cast<size_t> (INT_MAX))
    return nullptr;
  return BioPtr (BIO_new_mem_buf (data, static_cast<int> (size)));
}

}  // namespace

std::shared_ptr<const Ed25519SigningKey>
ed25519_signing_key (ByteView seed, std::vector<uint8_t> * public_key)
{
  ClearErrors clear;
  PkeyPtr pkey = raw_private (EVP_PKEY_ED25519, seed, kEd25519SeedSize);
  std::vector<uint8_t> pub (kEd25519PublicKeySize);
  if (!raw_public_of (pkey.get (), pub.data (), pub.size ()))
    return nullptr;
  auto key = std::make_shared<Ed25519SigningKey> ();
  key->pkey = pkey.release ();
  *public_key = std::move (pub);
  return key;
}

bool
ed25519_sign (const Ed25519SigningKey & key, ByteView message, uint8_t * signature)
{
  ClearErrors clear;
  MdCtxPtr ctx (EVP_MD_CTX_new ());
  size_t len = kEd25519SignatureSize;
  /* Ed25519 hashes internally (PureEdDSA): the digest must be NULL. */
  return key.pkey && ctx && EVP_DigestSignInit (ctx.get (), nullptr, nullptr, nullptr, key.pkey) == 1 &&
      EVP_DigestSign (ctx.get (), signature, &len, nonnull (message), message.size) == 1 &&
      len == kEd25519SignatureSize;
}

bool
ed25519_verify (ByteView public_key, ByteView message, ByteView signature)
{
  ClearErrors clear;
  if (signature.size != kEd25519SignatureSize)
    return false;
  PkeyPtr pkey = raw_public (EVP_PKEY_ED25519, public_key, kEd25519PublicKeySize);
  MdCtxPtr ctx (EVP_MD_CTX_new ());
  return pkey && ctx && EVP_DigestVerifyInit (ctx.get (), nullptr, nullptr, nullptr, pkey.get ()) == 1 &&
      EVP_DigestVerify (ctx.get (), signature.data, signature.size, nonnull (message), message.size) == 1;
}

bool
ed25519_public_key_valid (ByteView public_key)
{
  ClearErrors clear;
  return raw_public (EVP_PKEY_ED25519, public_key, kEd25519PublicKeySize) != nullptr;
}

std::string
ed25519_public_key_to_pem (ByteView public_key)
{
  ClearErrors clear;
  PkeyPtr pkey = raw_public (EVP_PKEY_ED25519, public_key, kEd25519PublicKeySize);
  BioPtr bio (BIO_new (BIO_s_mem ()));
  if (!pkey || !bio || PEM_write_bio_PUBKEY (bio.get (), pkey.get ()) != 1)
    return {};
  SecureBytes pem = bio_contents (bio.get ());
  return std::string (reinterpret_cast<const char *> (pem.data ()), pem.size ());
}

bool
ed25519_public_key_from_pem (std::string_view pem, std::vector<uint8_t> * public_key)
{
  ClearErrors clear;
  BioPtr bio = reading_bio (pem.data (), pem.size ());
  PkeyPtr pkey (bio ? PEM_read_bio_PUBKEY (bio.get (), nullptr, no_passphrase, nullptr) : nullptr);
  std::vector<uint8_t> raw (kEd25519PublicKeySize);
  if (!pkey || EVP_PKEY_get_base_id (pkey.get ()) != EVP_PKEY_ED25519 ||
      !raw_public_of (pkey.get (), raw.data (), raw.size ()))
    return false;
  *public_key = std::move (raw);
  return true;
}

SecureBytes
ed25519_private_key_to_pem (ByteView seed)
{
  ClearErrors clear;
  PkeyPtr pkey = raw_private (EVP_PKEY_ED25519, seed, kEd25519SeedSize);
  /* A secure-heap memory BIO: its buffer is wiped when freed. */
  BioPtr bio (BIO_new (BIO_s_secmem ()));
  if (!pkey || !bio ||
      PEM_write_bio_PrivateKey (bio.get (), pkey.get (), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return {};
  return bio_contents (bio.get ());
}

PrivateKeyPem
ed25519_private_key_from_pem (ByteView pem, SecureBytes * seed)
{
  ClearErrors clear;
  BioPtr bio = reading_bio (pem.data, pem.size);
  PkeyPtr pkey (bio ? PEM_read_bio_PrivateKey (bio.get (), nullptr, no_passphrase, nullptr) : nullptr);
  if (!pkey)
    return PrivateKeyPem::unreadable;
  if (EVP_PKEY_get_base_id (pkey.get ()) != EVP_PKEY_ED25519)
    return PrivateKeyPem::not_ed25519;
  SecureBytes raw (kEd25519SeedSize);
  size_t len = raw.size ();
  if (EVP_PKEY_get_raw_private_key (pkey.get (), raw.data (), &len) != 1 || len != raw.size ())
    return PrivateKeyPem::unusable;
  *seed = std::move (raw);
  return PrivateKeyPem::ok;
}

bool
x25519_public_key (ByteView private_key, uint8_t * public_key)
{
  ClearErrors clear;
  PkeyPtr pkey = raw_private (EVP_PKEY_X25519, private_key, kX25519KeySize);
  return raw_public_of (pkey.get (), public_key, kX25519KeySize);
}

bool
x25519 (ByteView private_key, ByteView public_key, uint8_t * shared)
{
  ClearErrors clear;
  PkeyPtr priv = raw_private (EVP_PKEY_X25519, private_key, kX25519KeySize);
  PkeyPtr peer = raw_public (EVP_PKEY_X25519, public_key, kX25519KeySize);
  if (!priv || !peer)
    return false;
  PkeyCtxPtr ctx (EVP_PKEY_CTX_new (priv.get (), nullptr));
  size_t len = kX25519KeySize;
  return ctx && EVP_PKEY_derive_init (ctx.get ()) == 1 && EVP_PKEY_derive_set_peer (ctx.get (), peer.get ()) == 1 &&
      EVP_PKEY_derive (ctx.get (), shared, &len) == 1 && len == kX25519KeySize;
}

}  // namespace crypto
}  // namespace sframe
