/* SFrame keys: derivation from a base key (RFC 9605 section 4.4.2), the
 * ratchet of section 5.1, and the shared per-key state: the send counter and
 * the receive replay window live with the key, not with any one element, so
 * audio and video encrypting under one sender key never repeat a counter. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/core/replay-window.h>
#include <gst/sframe/core/status.h>

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
  /* `suite` must be supported and `base_key` non-empty (KeyRing checks).
   * `static_key` names the static key this entry was derived from (0: an
   * entry installed for its own key id). */
  KeyEntry (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter,
      uint64_t static_key = 0);

  uint64_t key_id () const { return key_id_; }
  uint64_t static_key () const { return static_key_.load (std::memory_order_relaxed); }
  /* The entry was installed for its own key id after all (add_key). */
  void detach_from_static_key () { static_key_.store (0, std::memory_order_relaxed); }
  /* Derived once, on the first call from any thread; nullptr if the
   * derivation failed (OpenSSL out of memory). */
  const KeyMaterial *material () const;
  /* Same suite and base key (the key id is the ring's to compare). */
  bool same_key (CipherSuite suite, ByteView base_key) const;
  bool same_material (const KeyEntry & other) const { return other.same_key (suite_, base_key_.view ()); }

  /* Whether this ring's own frames may be encrypted with the key: only keys
   * drawn fresh for this ring may (KeyRing::add_own_key, sender sessions). */
  bool may_send () const { return may_send_.load (std::memory_order_relaxed); }
  void allow_sending () { may_send_.store (true, std::memory_order_relaxed); }

  /* Reserves a counter that no other caller will ever get for this key. */
  Status reserve_counter (uint64_t * counter);
  /* The counter the next reserve_counter() hands out. */
  uint64_t next_counter () const { return next_counter_.load (std::memory_order_relaxed); }
  /* True the first time it is called: who reports an exhausted counter. */
  bool claim_exhaustion_report () { return !exhaustion_reported_.exchange (true); }

  /* Accepts each counter once (after the frame authenticated). */
  bool accept_counter (uint64_t counter);
  /* The same, in a window of its own for the key's second readers
   * (FrameUnprotector::authenticate), who share it across streams: a
   * frame replayed on another stream is refused there too, while the
   * decrypters' window stays theirs. */
  bool accept_verified_counter (uint64_t counter);
  /* The highest counter accepted; false while none was. */
  bool highest_accepted (uint64_t * counter);
  /* Refuses counters up to `counter`: the floor of a forgotten window. */
  void refuse_through (uint64_t counter);

  /* A coarse clock of use, for evicting the least recently used. */
  void touch (uint64_t tick) { last_used_.store (tick, std::memory_order_relaxed); }
  uint64_t last_used () const { return last_used_.load (std::memory_order_relaxed); }

private:
  template <typename F> auto with_window (ReplayWindow & window, F && f);

  const uint64_t key_id_;
  std::atomic<uint64_t> static_key_;
  const CipherSuite suite_;
  const SecureBytes base_key_;
  mutable std::once_flag derived_;
  mutable KeyMaterial material_;
  mutable bool material_ok_ = false;
  std::atomic<uint64_t> next_counter_;
  std::atomic<bool> may_send_ {false};
  std::atomic<bool> exhaustion_reported_ {false};
  std::atomic<uint64_t> last_used_ {0};
  /* Guards the windows. A flag, not a std::mutex: the section is a few
   * dozen instructions on every frame, and contended only by two streams
   * of one sender (audio, video) decrypted at once. */
  std::atomic_flag window_busy_ = ATOMIC_FLAG_INIT;
  ReplayWindow window_;
  ReplayWindow verified_window_;
};

}  // namespace sframe
