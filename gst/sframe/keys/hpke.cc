#include <gst/sframe/keys/hpke.h>

#include <gst/sframe/core/crypto/crypto.h>
#include <gst/sframe/core/hkdf.h>

#include <climits>
#include <cstring>
#include <limits>
#include <memory>

namespace sframe {
namespace hpke {

namespace {

constexpr size_t kSecretSize = 32;  /* Nsecret, Nsk, Nh */
constexpr size_t kNonceSize = crypto::kMessageNonceSize;  /* Nn of both AEADs */
constexpr size_t kTagSize = crypto::kMessageTagSize;      /* Nt of both AEADs */

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
    crypto::wipe (bytes_.data (), bytes_.size ());
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

crypto::MessageAead
message_aead (AeadId aead)
{
  return aead == AeadId::aes_128_gcm ? crypto::MessageAead::aes_128_gcm : crypto::MessageAead::chacha20_poly1305;
}

size_t
aead_key_size (AeadId aead)
{
  return crypto::message_key_size (message_aead (aead));
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
  if (!crypto::x25519 (private_key, public_key, out))
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

}  // namespace

Status
key_pair_from_private (ByteView private_key, KeyPair * out)
{
  if (private_key.size != kSecretSize)
    return Status::invalid_key;
  std::vector<uint8_t> pub (kPublicKeySize);
  if (!crypto::x25519_public_key (private_key, pub.data ()))
    return Status::invalid_key;
  out->private_key = SecureBytes (private_key);
  out->public_key = std::move (pub);
  return Status::ok;
}

Status
generate_key_pair (KeyPair * out)
{
  SecureBytes sk (kSecretSize);
  if (!crypto::random_secret_bytes (sk.data (), sk.size ()))
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
  crypto::forget_message_key (ctx);   /* the old key may be in this thread's context */
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
  crypto::forget_message_key (this);
}

Status
Context::seal_nonce (const uint8_t * n, ByteView aad, ByteView plaintext, std::vector<uint8_t> * ciphertext) const
{
  return crypto::message_seal (message_aead (aead_), this, key_.view (), n, aad, plaintext, ciphertext);
}

Status
Context::open_nonce (const uint8_t * n, ByteView aad, ByteView ciphertext, SecureBytes * plaintext) const
{
  return crypto::message_open (message_aead (aead_), this, key_.view (), n, aad, ciphertext, plaintext);
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
