/* A set of SFrame keys by key id, plus the current sender key: what one room
 * holds. Thread-safe; every change bumps generation() so per-thread caches
 * (Encryptor, Decryptor) notice without taking the lock on every frame. */
#pragma once

#include <gst/sframe/key.h>

#include <atomic>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <vector>

namespace sframe {

class GST_SFRAME_API KeyRing {
public:
  /* Derives and installs a key. Re-adding the same (suite, key id, key)
   * keeps the installed entry, so its counter and replay window survive;
   * different material under a used key id replaces it. */
  Status add_key (CipherSuite suite, uint64_t key_id, ByteView base_key, uint64_t first_counter = 0);

  /* Drops the key; its bytes are wiped once the last in-flight user lets go. */
  bool remove_key (uint64_t key_id);
  void clear ();

  /* The key encoders use when not told otherwise; it must be installed. */
  Status set_sender (uint64_t key_id);
  void clear_sender ();
  bool sender_key_id (uint64_t * key_id) const;

  std::shared_ptr<KeyEntry> find (uint64_t key_id) const;
  std::shared_ptr<KeyEntry> sender () const;
  std::vector<uint64_t> key_ids () const;   /* ascending */

  uint64_t generation () const { return generation_.load (std::memory_order_acquire); }

private:
  void bump () { generation_.fetch_add (1, std::memory_order_acq_rel); }

  mutable std::mutex lock_;
  /* Hashed: a rotation installs a key per member into every ring, and a
   * tree of a few hundred cold nodes costs a cache miss per level. */
  std::unordered_map<uint64_t, std::shared_ptr<KeyEntry>> keys_;
  std::shared_ptr<KeyEntry> sender_;
  std::atomic<uint64_t> generation_ {1};
};

}  // namespace sframe
