/* Frame encryption and decryption, RFC 9605 section 4.4:
 *
 *   nonce      = sframe_salt XOR counter (big-endian, Nn bytes)
 *   aad        = header || metadata
 *   ciphertext = header || AEAD.Encrypt(sframe_key, nonce, aad, plaintext)
 *
 * Encryptor and Decryptor are per-thread objects over a shared KeyRing. They
 * cache one keyed Aead per key id and drop the cache when the ring changes,
 * so the ring's lock is not taken per frame. */
#pragma once

#include <gst/sframe/core/aead.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/keyring.h>

#include <vector>

namespace sframe {

/* The most bytes encryption adds to a plaintext. */
constexpr size_t kMaxOverhead = kMaxHeaderSize + kMaxTagSize;

class GST_SFRAME_API AeadCache {
public:
  explicit AeadCache (const KeyRing & ring) : ring_ (ring) {}

  struct Slot {
    uint64_t key_id;  /* entry->key_id (), kept here for the per-frame scan */
    std::shared_ptr<KeyEntry> entry;
    const KeyMaterial *material;   /* entry->material (), derived when the slot was built */
    std::unique_ptr<Aead> aead;
  };

  /* The entry and keyed Aead for `key_id` (or the ring's sender key), or
   * nullptr with the reason in `*status`. A hit runs on every frame, so it
   * is inline; building a slot is not. */
  Slot *lookup (uint64_t key_id, Status * status)
  {
    sync_generation ();
    for (auto & slot : slots_) {
      if (slot->key_id == key_id)
        return slot.get ();
    }
    return load (key_id, status);
  }
  Slot *lookup_sender (Status * status);
  void clear ();

private:
  /* One atomic load and a compare. */
  void sync_generation ()
  {
    uint64_t current = ring_.generation ();
    if (current != generation_)
      reset (current);
  }
  void reset (uint64_t generation);
  Slot *load (uint64_t key_id, Status * status);
  Slot *insert (std::shared_ptr<KeyEntry> entry, Status * status);

  const KeyRing & ring_;
  uint64_t generation_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;  /* stable addresses */
  Slot *sender_ = nullptr;
};

class GST_SFRAME_API Encryptor {
public:
  explicit Encryptor (const KeyRing & ring) : ring_ (ring), cache_ (ring) {}

  /* Encrypts `plaintext` into `out` as header || ciphertext || tag; the
   * metadata is authenticated but not written. Uses key `key_id`, or the
   * ring's sender key when key_id is null. */
  Status encrypt (const uint64_t * key_id, ByteView metadata, ByteView plaintext,
      MutableByteView out, size_t * written, Header * used = nullptr);

  void reset () { cache_.clear (); }

private:
  const KeyRing & ring_;
  AeadCache cache_;
};

class GST_SFRAME_API Decryptor {
public:
  /* Not const: a frame that a static key authenticates installs the key
   * derived for its key id. */
  explicit Decryptor (KeyRing & ring) : ring_ (ring), cache_ (ring) {}

  /* Authenticates and decrypts one SFrame ciphertext (header included) into
   * `out`, which needs ciphertext.size bytes at most. `*header` is filled as
   * soon as the header parses, so a failure can still name the key id. */
  Status decrypt (ByteView ciphertext, ByteView metadata, MutableByteView out,
      size_t * written, Header * header);

  /* decrypt() in two steps, for frames made of several SFrames (the units
   * of an access unit): open() authenticates and decrypts without touching
   * the replay window; accept() then marks the counter seen
   * (Status::replayed if it was), once every part authenticated. */
  Status open (ByteView ciphertext, ByteView metadata, MutableByteView out,
      size_t * written, Header * header);
  Status accept (const Header & header);
  /* accept() in the key's window for second readers (see KeyEntry). */
  Status accept_verified (const Header & header);

  void reset () { cache_.clear (); }

private:
  Status open_entry (ByteView ciphertext, ByteView metadata, MutableByteView out,
      size_t * written, Header * header, KeyEntry ** entry);
  Status open_with_static_keys (ByteView ciphertext, size_t header_len, ByteView metadata,
      MutableByteView out, size_t * written, const Header & header, KeyEntry ** entry);
  static Status accept_entry (KeyEntry & entry, uint64_t counter);

  KeyRing & ring_;
  AeadCache cache_;
  std::shared_ptr<KeyEntry> adopted_;   /* keeps a just-derived key alive until accepted */
};

}  // namespace sframe
