#include <gst/sframe/core/key.h>

#include <gst/sframe/core/hkdf.h>

#include <cstring>
#include <limits>
#include <thread>

namespace sframe {

namespace {

/* label || KID (8 bytes BE) || cipher suite (2 bytes BE) */
size_t
make_label (const char *prefix, uint64_t key_id, CipherSuite suite, uint8_t * out)
{
  size_t n = std::strlen (prefix);
  std::memcpy (out, prefix, n);
  for (int i = 7; i >= 0; i--)
    out[n++] = static_cast<uint8_t> (key_id >> (8 * i));
  uint16_t id = static_cast<uint16_t> (suite);
  out[n++] = static_cast<uint8_t> (id >> 8);
  out[n++] = static_cast<uint8_t> (id);
  return n;
}

}  // namespace

Status
derive_key_material (CipherSuite suite, uint64_t key_id, ByteView base_key, KeyMaterial * out)
{
  const SuiteParams *params = suite_params (suite);
  if (!params)
    return Status::unsupported_suite;
  if (base_key.empty ())
    return Status::invalid_key;

  SecureBytes secret;
  Status s = hkdf_extract (params->hash, {}, base_key, &secret);
  if (s != Status::ok)
    return s;

  uint8_t label[64];
  KeyMaterial m;
  m.suite = params;
  m.key_id = key_id;
  size_t n = make_label ("SFrame 1.0 Secret key ", key_id, suite, label);
  s = hkdf_expand (params->hash, secret.view (), {label, n}, params->key_size, &m.key);
  if (s != Status::ok)
    return s;
  n = make_label ("SFrame 1.0 Secret salt ", key_id, suite, label);
  s = hkdf_expand (params->hash, secret.view (), {label, n}, params->nonce_size, &m.salt);
  if (s != Status::ok)
    return s;
  *out = std::move (m);
  return Status::ok;
}

Status
ratchet_base_key (CipherSuite suite, ByteView base_key, SecureBytes * out)
{
  const SuiteParams *params = suite_params (suite);
  if (!params)
    return Status::unsupported_suite;
  SecureBytes secret;
  Status s = hkdf_extract (params->hash, {}, base_key, &secret);
  if (s != Status::ok)
    return s;
  static const char kLabel[] = "SFrame 1.0 Ratchet";
  return hkdf_expand (params->hash, secret.view (),
      {reinterpret_cast<const uint8_t *> (kLabel), sizeof kLabel - 1}, params->hash_size, out);
}

KeyEntry::KeyEntry (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter,
    uint64_t static_key)
  : key_id_ (key_id), static_key_ (static_key), suite_ (suite), base_key_ (base_key),
    next_counter_ (first_counter)
{
}

const KeyMaterial *
KeyEntry::material () const
{
  std::call_once (derived_, [this] {
    material_ok_ = derive_key_material (suite_, key_id_, base_key_.view (), &material_) == Status::ok;
  });
  return material_ok_ ? &material_ : nullptr;
}

bool
KeyEntry::same_key (CipherSuite suite, ByteView base_key) const
{
  return suite == suite_ && base_key_.equals (base_key);
}

Status
KeyEntry::reserve_counter (uint64_t * counter)
{
  uint64_t c = next_counter_.load (std::memory_order_relaxed);
  do {
    /* The last value is never handed out, so the counter cannot wrap. */
    if (c == std::numeric_limits<uint64_t>::max ())
      return Status::counter_exhausted;
  } while (!next_counter_.compare_exchange_weak (c, c + 1, std::memory_order_relaxed));
  *counter = c;
  return Status::ok;
}

template <typename F>
auto
KeyEntry::with_window (ReplayWindow & window, F && f)
{
  while (window_busy_.test_and_set (std::memory_order_acquire))
    std::this_thread::yield ();   /* the holder may be preempted: give way */
  auto result = f (window);
  window_busy_.clear (std::memory_order_release);
  return result;
}

bool
KeyEntry::accept_counter (uint64_t counter)
{
  return with_window (window_, [counter] (ReplayWindow & w) { return w.check_and_mark (counter); });
}

bool
KeyEntry::accept_verified_counter (uint64_t counter)
{
  return with_window (verified_window_, [counter] (ReplayWindow & w) { return w.check_and_mark (counter); });
}

bool
KeyEntry::highest_accepted (uint64_t * counter)
{
  return with_window (window_, [counter] (ReplayWindow & w) { return w.highest (counter); });
}

void
KeyEntry::refuse_through (uint64_t counter)
{
  with_window (window_, [counter] (ReplayWindow & w) {
    w.refuse_through (counter);
    return true;
  });
}

}  // namespace sframe
