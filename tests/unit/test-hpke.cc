/* HPKE (RFC 9180) against every vector of appendix A.1 and A.2 in
 * tests/vectors (X25519, HKDF-SHA256; AES-128-GCM and ChaCha20-Poly1305;
 * base, psk, auth and auth_psk), then properties the key protocol relies on. */
#include "vectors.h"

#include <gst/sframe/keys/hpke.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

using sframe::Status;
using test::unhex;
using test::view;
namespace hpke = sframe::hpke;

namespace {

nlohmann::json g_vectors;

hpke::KeyPair
derive (const nlohmann::json & c, const char *ikm, const char *pk, const char *sk)
{
  hpke::KeyPair kp;
  EXPECT_EQ (hpke::derive_key_pair (view (unhex (c.at (ikm))), &kp), Status::ok);
  EXPECT_EQ (kp.public_key, unhex (c.at (pk)));
  EXPECT_TRUE (kp.private_key.equals (view (unhex (c.at (sk)))));
  return kp;
}

class Rfc9180Vectors : public ::testing::TestWithParam<size_t> {};

TEST_P (Rfc9180Vectors, SetupSealOpenExport)
{
  const auto & c = g_vectors.at (GetParam ());
  auto mode = static_cast<hpke::Mode> (c.at ("mode").get<int> ());
  auto aead = static_cast<hpke::AeadId> (c.at ("aead_id").get<int> ());
  ASSERT_EQ (c.at ("kem_id").get<int> (), hpke::kKemX25519HkdfSha256);
  ASSERT_EQ (c.at ("kdf_id").get<int> (), hpke::kKdfHkdfSha256);
  SCOPED_TRACE ("mode " + std::to_string (static_cast<int> (mode)) + " aead " +
      std::to_string (static_cast<int> (aead)));

  auto eph = derive (c, "ikmE", "pkEm", "skEm");
  auto recipient = derive (c, "ikmR", "pkRm", "skRm");
  hpke::KeyPair sender;
  bool auth = mode == hpke::Mode::auth || mode == hpke::Mode::auth_psk;
  if (auth)
    sender = derive (c, "ikmS", "pkSm", "skSm");
  std::vector<uint8_t> psk, psk_id;
  if (c.contains ("psk")) {
    psk = unhex (c.at ("psk"));
    psk_id = unhex (c.at ("psk_id"));
  }
  auto info = unhex (c.at ("info"));

  hpke::SetupOptions send_opts;
  send_opts.mode = mode;
  send_opts.psk = view (psk);
  send_opts.psk_id = view (psk_id);
  send_opts.sender_key = auth ? &sender : nullptr;
  send_opts.ephemeral = &eph;
  hpke::Context s_ctx, r_ctx;
  std::vector<uint8_t> enc;
  ASSERT_EQ (hpke::setup_sender (aead, view (recipient.public_key), view (info), send_opts, &enc, &s_ctx),
      Status::ok);
  EXPECT_EQ (enc, unhex (c.at ("enc")));
  EXPECT_TRUE (s_ctx.key ().equals (view (unhex (c.at ("key")))));
  EXPECT_TRUE (s_ctx.base_nonce ().equals (view (unhex (c.at ("base_nonce")))));
  EXPECT_TRUE (s_ctx.exporter_secret ().equals (view (unhex (c.at ("exporter_secret")))));

  hpke::SetupOptions recv_opts;
  recv_opts.mode = mode;
  recv_opts.psk = view (psk);
  recv_opts.psk_id = view (psk_id);
  if (auth)
    recv_opts.sender_public_key = view (sender.public_key);
  ASSERT_EQ (hpke::setup_receiver (aead, view (enc), recipient, view (info), recv_opts, &r_ctx), Status::ok);
  EXPECT_TRUE (r_ctx.key ().equals (s_ctx.key ().view ()));

  /* The vectors list selected sequence numbers; advance both contexts
   * through the ones in between with messages of our own. */
  uint64_t seq = 0;
  for (const auto & e : c.at ("encryptions")) {
    uint64_t target = e.at ("sequence_number").get<uint64_t> ();
    for (; seq < target; seq++) {
      std::vector<uint8_t> ct;
      sframe::SecureBytes pt;
      ASSERT_EQ (s_ctx.seal ({}, {}, &ct), Status::ok);
      ASSERT_EQ (r_ctx.open ({}, view (ct), &pt), Status::ok);
    }
    std::vector<uint8_t> ct;
    ASSERT_EQ (s_ctx.seal (view (unhex (e.at ("aad"))), view (unhex (e.at ("pt"))), &ct), Status::ok);
    EXPECT_EQ (ct, unhex (e.at ("ct"))) << "sequence " << target;
    sframe::SecureBytes pt;
    ASSERT_EQ (r_ctx.open (view (unhex (e.at ("aad"))), view (ct), &pt), Status::ok);
    EXPECT_TRUE (pt.equals (view (unhex (e.at ("pt")))));
    seq++;
  }
  for (const auto & x : c.at ("exports")) {
    sframe::SecureBytes out;
    ASSERT_EQ (s_ctx.export_secret (view (unhex (x.at ("exporter_context"))), x.at ("L").get<size_t> (), &out),
        Status::ok);
    EXPECT_TRUE (out.equals (view (unhex (x.at ("exported_value")))));
    ASSERT_EQ (r_ctx.export_secret (view (unhex (x.at ("exporter_context"))), x.at ("L").get<size_t> (), &out),
        Status::ok);
    EXPECT_TRUE (out.equals (view (unhex (x.at ("exported_value")))));
  }
}

std::vector<size_t>
vector_indices ()
{
  std::vector<size_t> idx;
  for (size_t i = 0; i < g_vectors.size (); i++)
    idx.push_back (i);
  return idx;
}

INSTANTIATE_TEST_SUITE_P (All, Rfc9180Vectors, ::testing::ValuesIn (vector_indices ()));

TEST (Hpke, BaseModeRoundTripAndRejections)
{
  hpke::KeyPair alice, mallory;
  ASSERT_EQ (hpke::generate_key_pair (&alice), Status::ok);
  ASSERT_EQ (hpke::generate_key_pair (&mallory), Status::ok);
  auto info = unhex ("0102");
  auto aad = unhex ("aa");
  auto secret = unhex ("000102030405060708090a0b0c0d0e0f");
  for (auto aead : {hpke::AeadId::aes_128_gcm, hpke::AeadId::chacha20_poly1305}) {
    std::vector<uint8_t> sealed;
    ASSERT_EQ (hpke::seal_base (aead, view (alice.public_key), view (info), view (aad), view (secret), &sealed),
        Status::ok);
    sframe::SecureBytes out;
    ASSERT_EQ (hpke::open_base (aead, alice, view (info), view (aad), view (sealed), &out), Status::ok);
    EXPECT_TRUE (out.equals (view (secret)));
    /* Another recipient, other info or aad, any flipped bit: refused. */
    EXPECT_NE (hpke::open_base (aead, mallory, view (info), view (aad), view (sealed), &out), Status::ok);
    EXPECT_NE (hpke::open_base (aead, alice, view (aad), view (aad), view (sealed), &out), Status::ok);
    EXPECT_NE (hpke::open_base (aead, alice, view (info), view (info), view (sealed), &out), Status::ok);
    for (size_t bit = 0; bit < sealed.size () * 8; bit += 7) {
      auto bad = sealed;
      bad[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
      EXPECT_NE (hpke::open_base (aead, alice, view (info), view (aad), view (bad), &out), Status::ok);
    }
    EXPECT_NE (hpke::open_base (aead, alice, view (info), view (aad), {sealed.data (), 40}, &out), Status::ok);
  }
}

TEST (Hpke, RejectsBadInputs)
{
  hpke::KeyPair kp;
  ASSERT_EQ (hpke::generate_key_pair (&kp), Status::ok);
  std::vector<uint8_t> enc;
  hpke::Context ctx;
  /* An all-zero (small-order) public key gives an all-zero DH: refused. */
  std::vector<uint8_t> zero (32, 0);
  EXPECT_NE (hpke::setup_sender (hpke::AeadId::aes_128_gcm, view (zero), {}, {}, &enc, &ctx), Status::ok);
  hpke::SetupOptions psk_without_psk;
  psk_without_psk.mode = hpke::Mode::psk;
  EXPECT_EQ (hpke::setup_sender (hpke::AeadId::aes_128_gcm, view (kp.public_key), {}, psk_without_psk, &enc, &ctx),
      Status::invalid_argument);
  EXPECT_EQ (hpke::setup_sender (static_cast<hpke::AeadId> (2), view (kp.public_key), {}, {}, &enc, &ctx),
      Status::unsupported_suite);
  std::vector<uint8_t> ct;
  hpke::Context unset;
  EXPECT_EQ (unset.seal ({}, {}, &ct), Status::invalid_argument);
}

/* Contexts key one per-thread OpenSSL context per message: interleaved
 * contexts of both AEADs, and opening on another thread than sealed, must
 * each see their own key. */
TEST (Hpke, InterleavedContextsKeepTheirOwnKeys)
{
  hpke::KeyPair bob;
  ASSERT_EQ (hpke::generate_key_pair (&bob), Status::ok);
  const hpke::AeadId aeads[] = {hpke::AeadId::aes_128_gcm, hpke::AeadId::chacha20_poly1305,
      hpke::AeadId::aes_128_gcm};
  hpke::Context senders[3], receivers[3];
  for (int i = 0; i < 3; i++) {
    std::vector<uint8_t> enc;
    ASSERT_EQ (hpke::setup_sender (aeads[i], view (bob.public_key), {}, {}, &enc, &senders[i]), Status::ok);
    ASSERT_EQ (hpke::setup_receiver (aeads[i], view (enc), bob, {}, {}, &receivers[i]), Status::ok);
  }
  std::vector<uint8_t> sealed[3][2];
  for (uint64_t seq = 0; seq < 2; seq++)
    for (int i = 0; i < 3; i++) {
      std::vector<uint8_t> message (20 + i, static_cast<uint8_t> (i));
      ASSERT_EQ (senders[i].seal_at (seq, {}, view (message), &sealed[i][seq]), Status::ok);
    }
  std::thread other ([&] {
    sframe::SecureBytes out;
    for (int i = 2; i >= 0; i--) {
      EXPECT_EQ (receivers[i].open_at (1, {}, view (sealed[i][1]), &out), Status::ok);
      EXPECT_EQ (out.size (), 20u + i);
      /* Another context's key does not open it. */
      EXPECT_NE (receivers[(i + 1) % 3].open_at (1, {}, view (sealed[i][1]), &out), Status::ok);
    }
  });
  other.join ();
  sframe::SecureBytes out;
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ (receivers[i].open_at (0, {}, view (sealed[i][0]), &out), Status::ok);
    EXPECT_EQ (out.size (), 20u + i);
  }
}

}  // namespace

int
main (int argc, char **argv)
{
  std::string where;
  /* The vectors are in the repository: missing, they fail the test. */
  if (!test::load_vectors ("rfc9180-hpke-x25519.json", &g_vectors, &where)) {
    std::printf ("FAIL: RFC 9180 vectors not found at %s\n", where.c_str ());
    return 1;
  }
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
