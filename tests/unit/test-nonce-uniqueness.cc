/* No frame is ever encrypted twice under one (derived key, nonce): two
 * senders sharing a static key for 10^6 frames each, restarts, a decrypter
 * that sees the key first, and the key store API. Checked directly: every
 * frame's derived key and nonce are computed from its header and its base
 * key (RFC 9605 4.4.2 and 4.4.3) and compared, not inferred from whether
 * frames decrypt. A receiver holding the static key then reads every frame
 * of both senders, none refused as a replay. */
#include <gst/sframe/core/cipher.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/keyring.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

using sframe::ByteView;
using sframe::CipherSuite;
using sframe::Status;

namespace {

constexpr CipherSuite kSuite = CipherSuite::aes_128_gcm_sha256_128;
const std::vector<uint8_t> kStaticKey = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
constexpr size_t kFramesPerSender = 1000000;

ByteView
view (const std::vector<uint8_t> & v)
{
  return {v.data (), v.size ()};
}

/* Every (derived key, nonce) used, from the frames' headers alone. */
class NonceLedger {
public:
  using Entry = std::array<uint8_t, 16 + sframe::kNonceSize>;

  void reserve (size_t n) { used_.reserve (n); }

  void record (const std::vector<uint8_t> & base_key, ByteView frame)
  {
    sframe::Header header;
    size_t header_len = 0;
    ASSERT_EQ (sframe::decode_header (frame, &header, &header_len), Status::ok);
    const sframe::KeyMaterial & m = material (base_key, header.key_id);
    Entry entry {};
    std::memcpy (entry.data (), m.key.data (), 16);
    uint8_t *nonce = entry.data () + 16;
    std::memcpy (nonce, m.salt.data (), sframe::kNonceSize);
    for (int i = 0; i < 8; i++)
      nonce[sframe::kNonceSize - 1 - i] ^= static_cast<uint8_t> (header.counter >> (8 * i));
    used_.push_back (entry);
  }

  size_t size () const { return used_.size (); }

  /* How many uses repeat an earlier (key, nonce). */
  size_t repeats ()
  {
    std::sort (used_.begin (), used_.end ());
    size_t n = 0;
    for (size_t i = 1; i < used_.size (); i++)
      n += used_[i] == used_[i - 1];
    return n;
  }

private:
  const sframe::KeyMaterial & material (const std::vector<uint8_t> & base_key, uint64_t key_id)
  {
    auto & slot = derived_[{base_key, key_id}];
    if (!slot) {
      slot = std::make_unique<sframe::KeyMaterial> ();
      EXPECT_EQ (sframe::derive_key_material (kSuite, key_id, view (base_key), slot.get ()), Status::ok);
    }
    return *slot;
  }

  std::map<std::pair<std::vector<uint8_t>, uint64_t>, std::unique_ptr<sframe::KeyMaterial>> derived_;
  std::vector<Entry> used_;
};

/* One sending process: a ring and the key id it encrypts under (the
 * ring's sender key when 0). */
struct Sender {
  sframe::KeyRing & ring;
  std::vector<uint8_t> base_key;
  uint64_t key_id = 0;
  sframe::Encryptor enc {ring};

  std::vector<uint8_t> frame (uint64_t index)
  {
    uint8_t pt[8];
    std::memcpy (pt, &index, sizeof pt);
    std::vector<uint8_t> out (sizeof pt + sframe::kMaxOverhead);
    size_t n = 0;
    Status s = enc.encrypt (key_id ? &key_id : nullptr, {}, {pt, sizeof pt}, {out.data (), out.size ()}, &n);
    EXPECT_EQ (s, Status::ok);
    out.resize (s == Status::ok ? n : 0);
    return out;
  }
};

/* A receiver with the static key: counts what it refuses, by reason. */
struct Receiver {
  sframe::KeyRing ring;
  sframe::Decryptor dec {ring};
  std::map<Status, size_t> results;

  Receiver ()
  {
    uint64_t handle = 0;
    EXPECT_EQ (ring.add_static_key (kSuite, view (kStaticKey), &handle), Status::ok);
  }
  void take (const std::vector<uint8_t> & frame)
  {
    uint8_t out[64];
    size_t n = 0;
    sframe::Header header;
    results[dec.decrypt (view (frame), {}, {out, sizeof out}, &n, &header)]++;
  }
};

uint64_t
start_session (sframe::KeyRing & ring)
{
  uint64_t key_id = 0;
  EXPECT_EQ (ring.start_sender_session (kSuite, view (kStaticKey), &key_id), Status::ok);
  return key_id;
}

}  // namespace

TEST (NonceUniqueness, TwoSendersOnOneStaticKeyForAMillionFramesEach)
{
  NonceLedger ledger;
  ledger.reserve (2 * kFramesPerSender);
  Receiver rx;
  sframe::KeyRing ring_a, ring_b;   /* two processes */
  Sender a {ring_a, kStaticKey, start_session (ring_a)};
  Sender b {ring_b, kStaticKey, start_session (ring_b)};
  for (uint64_t i = 0; i < kFramesPerSender; i++) {
    for (Sender * s : {&a, &b}) {
      auto f = s->frame (i);
      ledger.record (s->base_key, view (f));
      rx.take (f);
    }
  }
  EXPECT_EQ (ledger.size (), 2 * kFramesPerSender);
  EXPECT_EQ (ledger.repeats (), 0u);
  EXPECT_EQ (rx.results[Status::ok], 2 * kFramesPerSender);
  EXPECT_EQ (rx.results[Status::replayed], 0u);
}

/* One sender restarted ten times (a fresh process each time), a sender
 * whose process decrypted with the same key first (sframedec before
 * sframeenc, a forged frame in between), and an application using the
 * store API: again restarted, and sharing the key with the others. */
TEST (NonceUniqueness, RestartsDecrypterFirstAndTheStoreApi)
{
  constexpr size_t kFrames = 20000;
  NonceLedger ledger;
  Receiver rx;
  auto send = [&] (Sender & s) {
    for (uint64_t i = 0; i < kFrames; i++) {
      auto f = s.frame (i);
      ledger.record (s.base_key, view (f));
      rx.take (f);
    }
  };

  for (int run = 0; run < 10; run++) {
    sframe::KeyRing ring;
    Sender s {ring, kStaticKey, start_session (ring)};
    send (s);
  }

  {
    sframe::KeyRing ring;
    uint64_t handle = 0;
    ASSERT_EQ (ring.add_static_key (kSuite, view (kStaticKey), &handle), Status::ok);
    sframe::Decryptor dec (ring);
    std::vector<uint8_t> forged (1 + 16, 0x00);   /* header KID 0, CTR 0; a tag of zeros */
    uint8_t out[64];
    size_t n = 0;
    sframe::Header header;
    EXPECT_EQ (dec.decrypt (view (forged), {}, {out, sizeof out}, &n, &header), Status::authentication_failed);
    Sender s {ring, kStaticKey, start_session (ring)};
    send (s);
  }

  gst_init (nullptr, nullptr);
  for (int run = 0; run < 3; run++) {
    GstSFrameKeyStore *store = gst_sframe_key_store_new ("nonce-test");
    GError *error = nullptr;
    guint64 key_id = 0;
    /* The receiving key an application may hold under the same key id
     * cannot be made the sender key: sending takes a session. */
    ASSERT_TRUE (gst_sframe_key_store_add_key (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128, 0,
        kStaticKey.data (), kStaticKey.size (), &error));
    EXPECT_FALSE (gst_sframe_key_store_set_sender_key (store, 0, &error));
    ASSERT_TRUE (error && error->code == GST_SFRAME_KEY_STORE_ERROR_NOT_OWN_KEY);
    g_clear_error (&error);
    ASSERT_TRUE (gst_sframe_key_store_start_sender_session (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128,
        kStaticKey.data (), kStaticKey.size (), &key_id, &error));
    Sender s {gst_sframe_key_store_get_ring (store), kStaticKey, 0};
    send (s);

    /* And a key the store draws itself, for the application to hand out. */
    std::vector<uint8_t> fresh (16);
    ASSERT_TRUE (gst_sframe_key_store_generate_sender_key (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128,
        7, fresh.data (), fresh.size (), &error));
    Sender g {gst_sframe_key_store_get_ring (store), fresh, 0};
    for (uint64_t i = 0; i < kFrames; i++) {
      auto f = g.frame (i);
      ledger.record (g.base_key, view (f));
    }
    gst_object_unref (store);
  }

  EXPECT_EQ (ledger.size (), (10 + 1 + 3 + 3) * kFrames);
  EXPECT_EQ (ledger.repeats (), 0u);
  EXPECT_EQ (rx.results[Status::ok], (10 + 1 + 3) * kFrames);
  EXPECT_EQ (rx.results[Status::replayed], 0u);
}

/* The ledger does see a repeat: two processes that each install the key
 * under one key id and count from 0 (what a fixed key id with a static key
 * amounts to) collide at once. */
TEST (NonceUniqueness, TheLedgerSeesFixedKeyIdsCollide)
{
  NonceLedger ledger;
  for (int process = 0; process < 2; process++) {
    sframe::KeyRing ring;
    ASSERT_EQ (ring.add_own_key (kSuite, 0, view (kStaticKey)), Status::ok);
    Sender s {ring, kStaticKey, 0};
    ASSERT_EQ (ring.set_sender (0), Status::ok);
    for (uint64_t i = 0; i < 100; i++) {
      auto f = s.frame (i);
      ledger.record (s.base_key, view (f));
    }
  }
  EXPECT_EQ (ledger.repeats (), 100u);
}
