/* The SFrame keys of one room: keys by key id, static keys that decrypt any
 * key id, and the current sender key. Thread-safe; every change bumps
 * generation() so per-thread caches (Encryptor, Decryptor) notice without
 * taking the lock on every frame.
 *
 * No (key, nonce) pair is used twice, by construction:
 * - a key id's counter never goes back within a ring: when an entry that
 *   encrypted is removed or replaced, a later entry of that key id starts
 *   where it stopped;
 * - a static key never encrypts under a key id the caller picks: each
 *   sender session draws a random 64-bit key id that the ring has never
 *   held, and starts its counter at 0 (docs/wire-format.md). */
#pragma once

#include <gst/sframe/core/key.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace sframe {

class GST_SFRAME_API KeyRing {
public:
  /* How many keys derived from static keys the ring keeps. Past that the
   * least recently used is forgotten; its window's floor is remembered
   * (up to kMaxForgottenFloors of them) so its frames stay refused. */
  static constexpr size_t kMaxDerivedKeys = 1024;
  static constexpr size_t kMaxForgottenFloors = 65536;

  /* Installs a key to decrypt frames of `key_id`. Re-adding the same
   * (suite, key id, key) keeps the installed entry, so its counter and
   * replay window survive; different material under a used key id replaces
   * it. A key added here never encrypts. */
  Status add_key (CipherSuite suite, uint64_t key_id, ByteView base_key);

  /* Installs a key that this ring may also encrypt with. Only for a key
   * the caller drew from the CSPRNG for this ring (or ratcheted from one):
   * its counter starts at `first_counter` (tests start near the end), never
   * below one this ring already used for `key_id`. */
  Status add_own_key (CipherSuite suite, uint64_t key_id, ByteView base_key,
      uint64_t first_counter = 0);

  /* Drops the key; its bytes are wiped once the last in-flight user lets go. */
  bool remove_key (uint64_t key_id);
  void clear ();

  /* A static key: a base key that decrypts frames of every key id the ring
   * holds no key for (RFC 9605 section 4.4.2 derives a key per key id).
   * `*handle` names it for remove_static_key(). Adding the same key again
   * returns the same handle and needs one more removal. */
  Status add_static_key (CipherSuite suite, ByteView base_key, uint64_t * handle);
  /* Drops one use of the static key; with the last, the key and every key
   * derived from it. */
  bool remove_static_key (uint64_t handle);

  /* Starts a sender session on a static base key: installs it under a
   * random key id that this ring has never held, counter 0. The caller
   * encrypts with that key id and removes it when the session ends. */
  Status start_sender_session (CipherSuite suite, ByteView base_key, uint64_t * key_id);

  /* How many different static base keys the ring holds, counting those of
   * live sender sessions: more than one means elements sharing this ring
   * were given different keys, and each decrypts what the others' keys
   * protect. */
  size_t distinct_static_keys () const;

  /* The key encoders use when not told otherwise: an own key or a sender
   * session's key (Status::not_own_key otherwise). */
  Status set_sender (uint64_t key_id);
  void clear_sender ();
  bool sender_key_id (uint64_t * key_id) const;

  std::shared_ptr<KeyEntry> find (uint64_t key_id) const;
  std::shared_ptr<KeyEntry> sender () const;
  std::vector<uint64_t> key_ids () const;   /* ascending */

  /* For decryption: an uninstalled entry per static key for `key_id`. The
   * caller installs the one that authenticates a frame with adopt(). */
  std::vector<std::shared_ptr<KeyEntry>> static_candidates (uint64_t key_id) const;
  bool has_static_keys () const;
  /* Installs an entry from static_candidates(); returns the entry now
   * installed for its key id (another thread may have been first). */
  std::shared_ptr<KeyEntry> adopt (std::shared_ptr<KeyEntry> derived);

  /* Called, once per key, from the thread that first finds the key's
   * counter exhausted; it must not block. */
  void set_exhaustion_listener (std::function<void (uint64_t key_id)> listener);
  void report_exhausted (KeyEntry & entry) const;

  uint64_t generation () const { return generation_.load (std::memory_order_acquire); }

private:
  struct StaticKey {
    uint64_t handle;
    size_t uses;
    CipherSuite suite;
    SecureBytes base_key;
  };

  void bump () { generation_.fetch_add (1, std::memory_order_acq_rel); }
  uint64_t first_counter_locked (uint64_t key_id, uint64_t wanted) const;
  Status install_locked (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter,
      bool own);
  void retire_locked (const std::shared_ptr<KeyEntry> & entry);
  void forget_least_used_derived_locked ();
  void remember_floor_locked (uint64_t key_id, uint64_t floor);

  mutable std::mutex lock_;
  /* Hashed: a rotation installs a key per member into every ring, and a
   * tree of a few hundred cold nodes costs a cache miss per level. */
  std::unordered_map<uint64_t, std::shared_ptr<KeyEntry>> keys_;
  std::shared_ptr<KeyEntry> sender_;
  /* Key id -> the next counter, for every removed entry that encrypted. */
  std::unordered_map<uint64_t, uint64_t> spent_counters_;
  std::vector<StaticKey> static_keys_;
  uint64_t next_static_handle_ = 1;
  std::unordered_set<uint64_t> session_ids_;   /* key ids of live sender sessions */
  size_t derived_count_ = 0;
  /* Key id -> highest counter accepted, of derived keys forgotten. */
  std::unordered_map<uint64_t, uint64_t> forgotten_floors_;
  std::deque<uint64_t> forgotten_order_;
  std::function<void (uint64_t)> exhaustion_listener_;
  std::atomic<uint64_t> generation_ {1};
};

}  // namespace sframe
