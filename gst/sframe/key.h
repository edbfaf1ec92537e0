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

/* One installed key. Immutable material plus the two pieces of mutable
 * state that every user of the key must share. Thread-safe. */
class GST_SFRAME_API KeyEntry {
public:
  KeyEntry (KeyMaterial material, uint64_t first_counter);

  uint64_t key_id () const { return material_.key_id; }
  const KeyMaterial & material () const { return material_; }

  /* Reserves a counter that no other caller will ever get for this key. */
  Status reserve_counter (uint64_t * counter);

  /* Accepts each counter once (after the frame authenticated). */
  bool accept_counter (uint64_t counter);

private:
  const KeyMaterial material_;
  std::atomic<uint64_t> next_counter_;
  /* Guards window_. A flag, not a std::mutex: the section is a few dozen
   * instructions on every frame, and contended only by two streams of one
   * sender (audio, video) decrypted at once. */
  std::atomic_flag window_busy_ = ATOMIC_FLAG_INIT;
  ReplayWindow window_;
};

}  // namespace sframe
