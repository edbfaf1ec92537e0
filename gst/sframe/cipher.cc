#include <gst/sframe/cipher.h>

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

  Header header;
  header.key_id = slot->entry->key_id ();
  size_t needed = kMaxHeaderSize + plaintext.size + slot->aead->tag_size ();
  if (out.size < needed)
    return Status::buffer_too_small;
  s = slot->entry->reserve_counter (&header.counter);
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

Status
Decryptor::decrypt (ByteView ciphertext, ByteView metadata, MutableByteView out,
    size_t * written, Header * header)
{
  size_t header_len = 0;
  Status s = decode_header (ciphertext, header, &header_len);
  if (s != Status::ok)
    return s;
  AeadCache::Slot *slot = cache_.lookup (header->key_id, &s);
  if (!slot)
    return s;

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
  /* Only an authentic frame may move the replay window. */
  if (!slot->entry->accept_counter (header->counter))
    return Status::replayed;
  *written = body.size - tag_size;
  return Status::ok;
}

}  // namespace sframe
