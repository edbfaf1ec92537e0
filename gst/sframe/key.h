/* SFrame keys: derivation from a base key (RFC 9605 section 4.4.2), the
 * ratchet of section 5.1, and the shared per-key state: the send counter and
 * the receive replay window live with the key, not with any one element, so
 * audio and video encrypting under one sender key never repeat a counter. */
#pragma once

#include <gst/sframe/bytes.h>
#include <gst/sframe/cipher-suite.h>
#include <gst/sframe/replay-window.h>
#include <gst/sframe/status.h>

#include <atomic>
#include <mutex>

namespace sframe {

/* sframe_key and sframe_salt for one (suite, key id, base key). */
struct KeyMaterial {
  const SuiteParams *suite = nullptr;
  uint64_t key_id = 0;
  SecureBytes key;   /* Nk bytes */
  SecureBytes salt;  /* Nn bytes */
};

GST_SFRAME_API Status derive_key_material (CipherSuite suite, uint64_t key_id,
    ByteView base_key, KeyMaterial * out);

/* RFC 9605 section 5.1: next_base_key = HKDF-Expand(HKDF-Extract("", key),
 * "SFrame 1.0 Ratchet", Nh). */
GST_SFRAME_API Status ratchet_base_key (CipherSuite suite, ByteView base_key, SecureBytes * out);

/* One installed key. Its material plus the two pieces of mutable state
 * that every user of the key must share. Thread-safe.
 *
 * The material is derived on first use, not at install: a room of N
 * installs N - 1 keys per member at every rotation, and most of them (those
 * of members not sending, or not received here) never encrypt or decrypt
 * a frame. */
class GST_SFRAME_API KeyEntry {
public:
  /* `suite` must be supported and `base_key` non-empty (KeyRing checks). */
  KeyEntry (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter);

  uint64_t key_id () const { return key_id_; }
  /* Derived once, on the first call from any thread; nullptr if the
   * derivation failed (OpenSSL out of memory). */
  const KeyMaterial *material () const;
  /* Same suite and base key (the key id is the ring's to compare). */
  bool same_key (CipherSuite suite, ByteView base_key) const;

  /* Reserves a counter that no other caller will ever get for this key. */
  Status reserve_counter (uint64_t * counter);

  /* Accepts each counter once (after the frame authenticated). */
  bool accept_counter (uint64_t counter);

private:
  const uint64_t key_id_;
  const CipherSuite suite_;
  const SecureBytes base_key_;
  mutable std::once_flag derived_;
  mutable KeyMaterial material_;
  mutable bool material_ok_ = false;
  std::atomic<uint64_t> next_counter_;
  /* Guards window_. A flag, not a std::mutex: the section is a few dozen
   * instructions on every frame, and contended only by two streams of one
   * sender (audio, video) decrypted at once. */
  std::atomic_flag window_busy_ = ATOMIC_FLAG_INIT;
  ReplayWindow window_;
};

}  // namespace sframe
