#include <gst/sframe/core/cipher.h>

#include <chrono>
#include <cstring>

namespace sframe {

void
AeadCache::clear ()
{
  reset (0);
}

void
AeadCache::reset (uint64_t generation)
{
  slots_.clear ();
  sender_ = nullptr;
  generation_ = generation;
}

AeadCache::Slot *
AeadCache::insert (std::shared_ptr<KeyEntry> entry, Status * status)
{
  if (!entry) {
    *status = Status::unknown_key;
    return nullptr;
  }
  for (auto & slot : slots_) {
    if (slot->entry == entry)
      return slot.get ();
  }
  const KeyMaterial *material = entry->material ();
  if (!material) {
    *status = Status::crypto_error;
    return nullptr;
  }
  std::unique_ptr<Aead> aead;
  *status = Aead::create (*material->suite, material->key.view (), &aead);
  if (*status != Status::ok)
    return nullptr;
  uint64_t key_id = entry->key_id ();
  slots_.push_back (std::make_unique<Slot> (Slot {key_id, std::move (entry), material, std::move (aead)}));
  return slots_.back ().get ();
}

AeadCache::Slot *
AeadCache::load (uint64_t key_id, Status * status)
{
  return insert (ring_.find (key_id), status);
}

AeadCache::Slot *
AeadCache::lookup_sender (Status * status)
{
  sync_generation ();
  if (!sender_)
    sender_ = insert (ring_.sender (), status);
  return sender_;
}

static uint64_t
to_big_endian (uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return __builtin_bswap64 (v);
#else
  return v;
#endif
}

static void
make_nonce (const KeyMaterial & m, uint64_t counter, uint8_t * nonce)
{
  /* salt XOR counter, big-endian in the low 8 bytes: word-wide, since it
   * runs for every frame. */
  std::memcpy (nonce, m.salt.data (), kNonceSize);
  uint64_t low;
  std::memcpy (&low, nonce + kNonceSize - 8, 8);
  low ^= to_big_endian (counter);
  std::memcpy (nonce + kNonceSize - 8, &low, 8);
}

Status
Encryptor::encrypt (const uint64_t * key_id, ByteView metadata, ByteView plaintext,
    MutableByteView out, size_t * written, Header * used)
{
  Status s = Status::ok;
  AeadCache::Slot *slot = key_id ? cache_.lookup (*key_id, &s) : cache_.lookup_sender (&s);
  if (!slot)
    return s;
  if (!slot->entry->may_send ())
    return Status::not_own_key;

  Header header;
  header.key_id = slot->entry->key_id ();
  size_t needed = kMaxHeaderSize + plaintext.size + slot->aead->tag_size ();
  if (out.size < needed)
    return Status::buffer_too_small;
  s = slot->entry->reserve_counter (&header.counter);
  if (s == Status::counter_exhausted)
    ring_.report_exhausted (*slot->entry);
  if (s != Status::ok)
    return s;

  size_t header_len = encode_header (header, out.data);
  uint8_t nonce[kNonceSize];
  make_nonce (*slot->material, header.counter, nonce);
  s = slot->aead->seal (nonce, {{out.data, header_len}, metadata}, plaintext, out.data + header_len);
  if (s != Status::ok)
    return s;
  *written = header_len + plaintext.size + slot->aead->tag_size ();
  if (used)
    *used = header;
  return Status::ok;
}

/* When a derived key was last used, to forget the one unused longest. */
static uint64_t
use_clock ()
{
  auto now = std::chrono::steady_clock::now ().time_since_epoch ();
  return static_cast<uint64_t> (std::chrono::duration_cast<std::chrono::nanoseconds> (now).count ());
}

Status
Decryptor::decrypt (ByteView ciphertext, ByteView metadata, MutableByteView out,
    size_t * written, Header * header)
{
  KeyEntry *entry = nullptr;
  Status s = open_entry (ciphertext, metadata, out, written, header, &entry);
  return s == Status::ok ? accept_entry (*entry, header->counter) : s;
}

Status
Decryptor::open (ByteView ciphertext, ByteView metadata, MutableByteView out,
    size_t * written, Header * header)
{
  KeyEntry *entry = nullptr;
  return open_entry (ciphertext, metadata, out, written, header, &entry);
}

Status
Decryptor::accept (const Header & header)
{
  Status s = Status::ok;
  AeadCache::Slot *slot = cache_.lookup (header.key_id, &s);
  return slot ? accept_entry (*slot->entry, header.counter) : s;
}

Status
Decryptor::accept_verified (const Header & header)
{
  Status s = Status::ok;
  AeadCache::Slot *slot = cache_.lookup (header.key_id, &s);
  if (!slot)
    return s;
  return slot->entry->accept_verified_counter (header.counter) ? Status::ok : Status::replayed;
}

/* Only an authentic frame may move the replay window. */
Status
Decryptor::accept_entry (KeyEntry & entry, uint64_t counter)
{
  if (!entry.accept_counter (counter))
    return Status::replayed;
  if (entry.static_key () != 0)
    entry.touch (use_clock ());
  return Status::ok;
}

Status
Decryptor::open_entry (ByteView ciphertext, ByteView metadata, MutableByteView out,
    size_t * written, Header * header, KeyEntry ** entry)
{
  size_t header_len = 0;
  Status s = decode_header (ciphertext, header, &header_len);
  if (s != Status::ok)
    return s;
  AeadCache::Slot *slot = cache_.lookup (header->key_id, &s);
  if (!slot) {
    if (s == Status::unknown_key && ring_.has_static_keys ())
      return open_with_static_keys (ciphertext, header_len, metadata, out, written, *header, entry);
    return s;
  }

  ByteView body = ciphertext.from (header_len);
  size_t tag_size = slot->aead->tag_size ();
  if (body.size < tag_size)
    return Status::authentication_failed;
  if (out.size < body.size - tag_size)
    return Status::buffer_too_small;

  uint8_t nonce[kNonceSize];
  make_nonce (*slot->material, header->counter, nonce);
  s = slot->aead->open (nonce, {ciphertext.sub (0, header_len), metadata}, body, out.data);
  if (s != Status::ok)
    return s;
  *entry = slot->entry.get ();
  *written = body.size - tag_size;
  return Status::ok;
}

/* A key id the ring holds no key for: derives one from each static key, and
 * installs the one that authenticates. A forged frame installs nothing. */
Status
Decryptor::open_with_static_keys (ByteView ciphertext, size_t header_len, ByteView metadata,
    MutableByteView out, size_t * written, const Header & header, KeyEntry ** entry)
{
  for (auto & candidate : ring_.static_candidates (header.key_id)) {
    const KeyMaterial *material = candidate->material ();
    if (!material)
      return Status::crypto_error;
    std::unique_ptr<Aead> aead;
    Status s = Aead::create (*material->suite, material->key.view (), &aead);
    if (s != Status::ok)
      return s;
    ByteView body = ciphertext.from (header_len);
    size_t tag_size = aead->tag_size ();
    if (body.size < tag_size)
      continue;
    if (out.size < body.size - tag_size)
      return Status::buffer_too_small;
    uint8_t nonce[kNonceSize];
    make_nonce (*material, header.counter, nonce);
    if (aead->open (nonce, {ciphertext.sub (0, header_len), metadata}, body, out.data) != Status::ok)
      continue;
    auto installed = ring_.adopt (candidate);
    /* The static key was removed, or another key took the key id meanwhile. */
    if (!installed || (installed != candidate && !installed->same_material (*candidate)))
      return Status::unknown_key;
    adopted_ = std::move (installed);
    *entry = adopted_.get ();
    *written = body.size - tag_size;
    return Status::ok;
  }
  return Status::authentication_failed;
}

}  // namespace sframe
