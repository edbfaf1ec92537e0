#include <gst/sframe/keys/hpke.h>

#include <gst/sframe/core/hkdf.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>
#include <cstring>
#include <limits>
#include <memory>

namespace sframe {
namespace hpke {

namespace {

constexpr size_t kSecretSize = 32;  /* Nsecret, Nsk, Nh */
constexpr size_t kNonceSize = 12;   /* Nn of both AEADs */
constexpr size_t kTagSize = 16;     /* Nt of both AEADs */

struct PkeyDeleter {
  void operator() (EVP_PKEY * p) const { EVP_PKEY_free (p); }
};
struct PkeyCtxDeleter {
  void operator() (EVP_PKEY_CTX * p) const { EVP_PKEY_CTX_free (p); }
};
struct CipherCtxDeleter {
  void operator() (EVP_CIPHER_CTX * p) const { EVP_CIPHER_CTX_free (p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

/* Accumulates the concatenations RFC 9180 builds; wiped, since the IKM of
 * LabeledExtract is secret. */
class Builder {
public:
  Builder & add (ByteView b)
  {
    bytes_.insert (bytes_.end (), b.data, b.data + b.size);
    return *this;
  }
  Builder & add (const char *s) { return add ({reinterpret_cast<const uint8_t *> (s), std::strlen (s)}); }
  Builder & add_u16 (uint16_t v)
  {
    uint8_t b[2] = {static_cast<uint8_t> (v >> 8), static_cast<uint8_t> (v)};
    return add ({b, 2});
  }
  Builder & add_u8 (uint8_t v) { return add ({&v, 1}); }
  ByteView view () const { return {bytes_.data (), bytes_.size ()}; }
  ~Builder ()
  {
    if (!bytes_.empty ())
      OPENSSL_cleanse (bytes_.data (), bytes_.size ());
  }

private:
  std::vector<uint8_t> bytes_;
};

ByteView
bytes_of (const std::vector<uint8_t> & v)
{
  return {v.data (), v.size ()};
}

std::vector<uint8_t>
kem_suite_id ()
{
  Builder b;
  b.add ("KEM").add_u16 (kKemX25519HkdfSha256);
  return {b.view ().data, b.view ().data + b.view ().size};
}

std::vector<uint8_t>
hpke_suite_id (AeadId aead)
{
  Builder b;
  b.add ("HPKE").add_u16 (kKemX25519HkdfSha256).add_u16 (kKdfHkdfSha256)
      .add_u16 (static_cast<uint16_t> (aead));
  return {b.view ().data, b.view ().data + b.view ().size};
}

Status
labeled_extract (const std::vector<uint8_t> & suite_id, ByteView salt, const char *label,
    ByteView ikm, SecureBytes * out)
{
  Builder labeled;
  labeled.add ("HPKE-v1").add (bytes_of (suite_id)).add (label).add (ikm);
  return hkdf_extract (HashAlgorithm::sha256, salt, labeled.view (), out);
}

Status
labeled_expand (const std::vector<uint8_t> & suite_id, ByteView prk, const char *label,
    ByteView info, size_t length, SecureBytes * out)
{
  Builder labeled;
  labeled.add_u16 (static_cast<uint16_t> (length)).add ("HPKE-v1").add (bytes_of (suite_id))
      .add (label).add (info);
  return hkdf_expand (HashAlgorithm::sha256, prk, labeled.view (), length, out);
}

size_t
aead_key_size (AeadId aead)
{
  return aead == AeadId::aes_128_gcm ? 16 : 32;
}

const EVP_CIPHER *
aead_cipher (AeadId aead)
{
  return aead == AeadId::aes_128_gcm ? EVP_aes_128_gcm () : EVP_chacha20_poly1305 ();
}

bool
valid_aead (AeadId aead)
{
  return aead == AeadId::aes_128_gcm || aead == AeadId::chacha20_poly1305;
}

/* X25519(sk, pk); refuses the all-zero output of small-order points. */
Status
x25519 (ByteView private_key, ByteView public_key, uint8_t * out)
{
  if (private_key.size != kSecretSize || public_key.size != kPublicKeySize)
    return Status::invalid_key;
  PkeyPtr priv (EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, nullptr, private_key.data, private_key.size));
  PkeyPtr peer (EVP_PKEY_new_raw_public_key (EVP_PKEY_X25519, nullptr, public_key.data, public_key.size));
  if (!priv || !peer)
    return Status::invalid_key;
  PkeyCtxPtr ctx (EVP_PKEY_CTX_new (priv.get (), nullptr));
  size_t len = kSecretSize;
  if (!ctx || EVP_PKEY_derive_init (ctx.get ()) != 1 ||
      EVP_PKEY_derive_set_peer (ctx.get (), peer.get ()) != 1 ||
      EVP_PKEY_derive (ctx.get (), out, &len) != 1 || len != kSecretSize)
    return Status::invalid_key;
  uint8_t acc = 0;
  for (size_t i = 0; i < kSecretSize; i++)
    acc |= out[i];
  return acc ? Status::ok : Status::invalid_key;
}

/* DH outputs (one, or two for auth) into one secret buffer. */
Status
compute_dh (ByteView sk1, ByteView pk1, ByteView sk2, ByteView pk2, SecureBytes * dh)
{
  SecureBytes out (sk2.empty () ? kSecretSize : 2 * kSecretSize);
  Status s = x25519 (sk1, pk1, out.data ());
  if (s == Status::ok && !sk2.empty ())
    s = x25519 (sk2, pk2, out.data () + kSecretSize);
  if (s == Status::ok)
    *dh = std::move (out);
  return s;
}

Status
extract_and_expand (ByteView dh, ByteView kem_context, SecureBytes * shared_secret)
{
  auto suite = kem_suite_id ();
  SecureBytes eae_prk;
  Status s = labeled_extract (suite, {}, "eae_prk", dh, &eae_prk);
  if (s != Status::ok)
    return s;
  return labeled_expand (suite, eae_prk.view (), "shared_secret", kem_context, kSecretSize, shared_secret);
}

bool
auth_mode (Mode mode)
{
  return mode == Mode::auth || mode == Mode::auth_psk;
}

bool
psk_mode (Mode mode)
{
  return mode == Mode::psk || mode == Mode::auth_psk;
}

/* Section 5.1 VerifyPSKInputs. */
bool
psk_inputs_valid (Mode mode, ByteView psk, ByteView psk_id)
{
  bool got_psk = !psk.empty (), got_id = !psk_id.empty ();
  return got_psk == got_id && got_psk == psk_mode (mode) && (!got_psk || psk.size >= 32);
}

/* Each thread keeps one EVP context per AEAD and keys it for every
 * message. A room holds tens of thousands of channel ends; a context kept
 * per end (about a kilobyte of OpenSSL state) turned each message into a
 * run of cache misses, and keying a warm context costs less than that
 * (docs/performance.md, `sframe-aead-context-bench`). The context holds
 * the last message's key schedule: a Context forgets it when dropped. */
struct ThreadAead {
  CipherCtxPtr ctx;
  const void *keyed_for = nullptr;   /* the Context whose key is in ctx */
};

ThreadAead &
thread_aead (AeadId aead)
{
  thread_local ThreadAead contexts[2];   /* AES-128-GCM, ChaCha20-Poly1305 */
  return contexts[aead == AeadId::aes_128_gcm ? 0 : 1];
}

/* The thread's context for `aead`, keyed with `key` and `nonce` for one
 * message in direction `encrypt`; nullptr on failure. */
EVP_CIPHER_CTX *
keyed_context (AeadId aead, const void * owner, ByteView key, const uint8_t * nonce, bool encrypt)
{
  ThreadAead & t = thread_aead (aead);
  if (!t.ctx) {
    t.ctx.reset (EVP_CIPHER_CTX_new ());
    if (t.ctx && EVP_CipherInit_ex (t.ctx.get (), aead_cipher (aead), nullptr, nullptr, nullptr, 1) != 1)
      t.ctx.reset ();
    if (!t.ctx)
      return nullptr;
  }
  t.keyed_for = owner;
  if (EVP_CipherInit_ex (t.ctx.get (), nullptr, nullptr, key.data, nonce, encrypt ? 1 : 0) != 1)
    return nullptr;
  return t.ctx.get ();
}

/* Frees (and so wipes) this thread's contexts if they hold `owner`'s key. */
void
forget_thread_key (const void * owner)
{
  for (AeadId aead : {AeadId::aes_128_gcm, AeadId::chacha20_poly1305}) {
    ThreadAead & t = thread_aead (aead);
    if (t.keyed_for == owner) {
      t.ctx.reset ();
      t.keyed_for = nullptr;
    }
  }
}

Status
aead_seal (AeadId aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad, ByteView pt,
    std::vector<uint8_t> * ct)
{
  if (pt.size > INT_MAX - kTagSize || aad.size > INT_MAX)
    return Status::invalid_argument;
  EVP_CIPHER_CTX *ctx = keyed_context (aead, owner, key, nonce, true);
  std::vector<uint8_t> out (pt.size + kTagSize);
  int len = 0;
  if (!ctx ||
      (aad.size && EVP_EncryptUpdate (ctx, nullptr, &len, aad.data, static_cast<int> (aad.size)) != 1) ||
      (pt.size && EVP_EncryptUpdate (ctx, out.data (), &len, pt.data, static_cast<int> (pt.size)) != 1) ||
      EVP_EncryptFinal_ex (ctx, out.data () + pt.size, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize, out.data () + pt.size) != 1)
    return Status::crypto_error;
  *ct = std::move (out);
  return Status::ok;
}

Status
aead_open (AeadId aead, const void * owner, ByteView key, const uint8_t * nonce, ByteView aad, ByteView ct,
    SecureBytes * pt)
{
  if (ct.size < kTagSize)
    return Status::authentication_failed;
  if (ct.size > INT_MAX || aad.size > INT_MAX)
    return Status::invalid_argument;
  size_t body = ct.size - kTagSize;
  SecureBytes out (body);
  uint8_t tag[kTagSize];
  std::memcpy (tag, ct.data + body, kTagSize);
  EVP_CIPHER_CTX *ctx = keyed_context (aead, owner, key, nonce, false);
  int len = 0;
  if (!ctx ||
      (aad.size && EVP_DecryptUpdate (ctx, nullptr, &len, aad.data, static_cast<int> (aad.size)) != 1) ||
      (body && EVP_DecryptUpdate (ctx, out.data (), &len, ct.data, static_cast<int> (body)) != 1) ||
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) != 1)
    return Status::crypto_error;
  if (EVP_DecryptFinal_ex (ctx, out.data () + body, &len) != 1)
    return Status::authentication_failed;
  *pt = std::move (out);
  return Status::ok;
}

}  // namespace

Status
key_pair_from_private (ByteView private_key, KeyPair * out)
{
  if (private_key.size != kSecretSize)
    return Status::invalid_key;
  PkeyPtr pkey (EVP_PKEY_new_raw_private_key (EVP_PKEY_X25519, nullptr, private_key.data, private_key.size));
  std::vector<uint8_t> pub (kPublicKeySize);
  size_t len = pub.size ();
  if (!pkey || EVP_PKEY_get_raw_public_key (pkey.get (), pub.data (), &len) != 1 || len != kPublicKeySize)
    return Status::invalid_key;
  out->private_key = SecureBytes (private_key);
  out->public_key = std::move (pub);
  return Status::ok;
}

Status
generate_key_pair (KeyPair * out)
{
  SecureBytes sk (kSecretSize);
  if (RAND_priv_bytes (sk.data (), static_cast<int> (sk.size ())) != 1)
    return Status::crypto_error;
  return key_pair_from_private (sk.view (), out);
}

Status
derive_key_pair (ByteView ikm, KeyPair * out)
{
  auto suite = kem_suite_id ();
  SecureBytes dkp_prk, sk;
  Status s = labeled_extract (suite, {}, "dkp_prk", ikm, &dkp_prk);
  if (s == Status::ok)
    s = labeled_expand (suite, dkp_prk.view (), "sk", {}, kSecretSize, &sk);
  if (s == Status::ok)
    s = key_pair_from_private (sk.view (), out);
  return s;
}

/* Section 5.1 KeySchedule. */
Status
key_schedule (AeadId aead, Mode mode, ByteView shared_secret, ByteView info, ByteView psk,
    ByteView psk_id, Context * ctx)
{
  if (!valid_aead (aead))
    return Status::unsupported_suite;
  if (!psk_inputs_valid (mode, psk, psk_id))
    return Status::invalid_argument;
  auto suite = hpke_suite_id (aead);
  SecureBytes psk_id_hash, info_hash, secret;
  Status s = labeled_extract (suite, {}, "psk_id_hash", psk_id, &psk_id_hash);
  if (s == Status::ok)
    s = labeled_extract (suite, {}, "info_hash", info, &info_hash);
  if (s != Status::ok)
    return s;
  Builder context;
  context.add_u8 (static_cast<uint8_t> (mode)).add (psk_id_hash.view ()).add (info_hash.view ());
  s = labeled_extract (suite, shared_secret, "secret", psk, &secret);
  if (s == Status::ok)
    s = labeled_expand (suite, secret.view (), "key", context.view (), aead_key_size (aead), &ctx->key_);
  if (s == Status::ok)
    s = labeled_expand (suite, secret.view (), "base_nonce", context.view (), kNonceSize, &ctx->base_nonce_);
  if (s == Status::ok)
    s = labeled_expand (suite, secret.view (), "exp", context.view (), kSecretSize, &ctx->exporter_secret_);
  ctx->aead_ = aead;
  ctx->seq_ = 0;
  forget_thread_key (ctx);   /* the old key may be in this thread's context */
  return s;
}

void
Context::nonce (uint64_t seq, uint8_t * out) const
{
  std::memcpy (out, base_nonce_.data (), kNonceSize);
  for (size_t i = 0; i < 8; i++)
    out[kNonceSize - 1 - i] ^= static_cast<uint8_t> (seq >> (8 * i));
}

Context::~Context ()
{
  forget_thread_key (this);
}

Status
Context::seal_nonce (const uint8_t * n, ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext) const
{
  return aead_seal (aead_, this, key_.view (), n, aad, plaintext, ciphertext);
}

Status
Context::open_nonce (const uint8_t * n, ByteView aad, ByteView ciphertext, SecureBytes * plaintext) const
{
  return aead_open (aead_, this, key_.view (), n, aad, ciphertext, plaintext);
}

Status
Context::seal (ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext)
{
  if (key_.empty ())
    return Status::invalid_argument;
  if (seq_ == std::numeric_limits<uint64_t>::max ())
    return Status::counter_exhausted;
  uint8_t n[kNonceSize];
  nonce (seq_, n);
  Status s = seal_nonce (n, aad, plaintext, ciphertext);
  if (s == Status::ok)
    seq_++;
  return s;
}

Status
Context::open (ByteView aad, ByteView ciphertext, SecureBytes * plaintext)
{
  if (key_.empty ())
    return Status::invalid_argument;
  if (seq_ == std::numeric_limits<uint64_t>::max ())
    return Status::counter_exhausted;
  uint8_t n[kNonceSize];
  nonce (seq_, n);
  Status s = open_nonce (n, aad, ciphertext, plaintext);
  if (s == Status::ok)
    seq_++;
  return s;
}

Status
Context::seal_at (uint64_t seq, ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext) const
{
  if (key_.empty () || seq == std::numeric_limits<uint64_t>::max ())
    return Status::invalid_argument;
  uint8_t n[kNonceSize];
  nonce (seq, n);
  return seal_nonce (n, aad, plaintext, ciphertext);
}

Status
Context::open_at (uint64_t seq, ByteView aad, ByteView ciphertext, SecureBytes * plaintext) const
{
  if (key_.empty () || seq == std::numeric_limits<uint64_t>::max ())
    return Status::invalid_argument;
  uint8_t n[kNonceSize];
  nonce (seq, n);
  return open_nonce (n, aad, ciphertext, plaintext);
}

Status
Context::export_secret (ByteView exporter_context, size_t length, SecureBytes * out) const
{
  if (exporter_secret_.empty () || length == 0 || length > 255 * kSecretSize)
    return Status::invalid_argument;
  return labeled_expand (hpke_suite_id (aead_), exporter_secret_.view (), "sec", exporter_context,
      length, out);
}

Status
setup_sender (AeadId aead, ByteView recipient_public_key, ByteView info,
    const SetupOptions & options, std::vector<uint8_t> * enc, Context * context)
{
  if (auth_mode (options.mode) != (options.sender_key != nullptr))
    return Status::invalid_argument;
  KeyPair ephemeral;
  Status s = options.ephemeral ? key_pair_from_private (options.ephemeral->private_key.view (), &ephemeral)
                               : generate_key_pair (&ephemeral);
  if (s != Status::ok)
    return s;
  const KeyPair *sender = options.sender_key;
  SecureBytes dh;
  s = compute_dh (ephemeral.private_key.view (), recipient_public_key,
      sender ? sender->private_key.view () : ByteView (), recipient_public_key, &dh);
  if (s != Status::ok)
    return s;
  Builder kem_context;
  kem_context.add (bytes_of (ephemeral.public_key)).add (recipient_public_key);
  if (sender)
    kem_context.add (bytes_of (sender->public_key));
  SecureBytes shared;
  s = extract_and_expand (dh.view (), kem_context.view (), &shared);
  if (s == Status::ok)
    s = key_schedule (aead, options.mode, shared.view (), info, options.psk, options.psk_id, context);
  if (s == Status::ok)
    *enc = ephemeral.public_key;
  return s;
}

Status
setup_receiver (AeadId aead, ByteView enc, const KeyPair & recipient, ByteView info,
    const SetupOptions & options, Context * context)
{
  bool auth = auth_mode (options.mode);
  if (auth == options.sender_public_key.empty () || enc.size != kPublicKeySize)
    return Status::invalid_argument;
  SecureBytes dh;
  Status s = compute_dh (recipient.private_key.view (), enc,
      auth ? recipient.private_key.view () : ByteView (), options.sender_public_key, &dh);
  if (s != Status::ok)
    return s;
  Builder kem_context;
  kem_context.add (enc).add (bytes_of (recipient.public_key));
  if (auth)
    kem_context.add (options.sender_public_key);
  SecureBytes shared;
  s = extract_and_expand (dh.view (), kem_context.view (), &shared);
  if (s == Status::ok)
    s = key_schedule (aead, options.mode, shared.view (), info, options.psk, options.psk_id, context);
  return s;
}

Status
seal_base (AeadId aead, ByteView recipient_public_key, ByteView info, ByteView aad,
    ByteView plaintext, std::vector<uint8_t> * sealed)
{
  Context ctx;
  std::vector<uint8_t> enc, ct;
  Status s = setup_sender (aead, recipient_public_key, info, {}, &enc, &ctx);
  if (s == Status::ok)
    s = ctx.seal (aad, plaintext, &ct);
  if (s != Status::ok)
    return s;
  enc.insert (enc.end (), ct.begin (), ct.end ());
  *sealed = std::move (enc);
  return Status::ok;
}

Status
open_base (AeadId aead, const KeyPair & recipient, ByteView info, ByteView aad, ByteView sealed,
    SecureBytes * plaintext)
{
  if (sealed.size < kPublicKeySize + kTagSize)
    return Status::authentication_failed;
  Context ctx;
  Status s = setup_receiver (aead, sealed.sub (0, kPublicKeySize), recipient, info, {}, &ctx);
  if (s != Status::ok)
    return s;
  return ctx.open (aad, sealed.from (kPublicKeySize), plaintext);
}

}  // namespace hpke
}  // namespace sframe
