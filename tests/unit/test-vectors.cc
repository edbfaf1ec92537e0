/* Every official RFC 9605 test vector: 289 headers, the AES-CTR-HMAC AEAD
 * cases and one full SFrame case per cipher suite. */
#include "vectors.h"

#include <gst/sframe/core/aead.h>
#include <gst/sframe/core/cipher.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/hkdf.h>
#include <gst/sframe/core/key.h>

#include <gtest/gtest.h>

#include <cstdio>

using sframe::Status;
using test::unhex;
using test::view;

namespace {

class Rfc9605Vectors : public ::testing::Test {
protected:
  void SetUp () override
  {
    std::string where;
    if (!test::load_vectors ("rfc9605-test-vectors.json", &vectors_, &where))
      GTEST_SKIP () << "RFC 9605 vectors not found at " << where << "; skipping";
  }
  nlohmann::json vectors_;
};

TEST_F (Rfc9605Vectors, HeadersEncodeAndDecode)
{
  const auto & cases = vectors_.at ("header");
  ASSERT_EQ (cases.size (), 289u);
  for (const auto & c : cases) {
    sframe::Header h;
    h.key_id = c.at ("kid").get<uint64_t> ();
    h.counter = c.at ("ctr").get<uint64_t> ();
    auto expected = unhex (c.at ("encoded").get<std::string> ());

    uint8_t buf[sframe::kMaxHeaderSize];
    size_t n = sframe::encode_header (h, buf);
    ASSERT_EQ (std::vector<uint8_t> (buf, buf + n), expected) << c.dump ();
    ASSERT_EQ (sframe::header_size (h), n);

    sframe::Header parsed;
    size_t len = 0;
    ASSERT_EQ (sframe::decode_header (view (expected), &parsed, &len), Status::ok) << c.dump ();
    EXPECT_EQ (len, expected.size ());
    EXPECT_EQ (parsed.key_id, h.key_id);
    EXPECT_EQ (parsed.counter, h.counter);
    /* Every strict prefix is truncated. */
    for (size_t cut = 0; cut < expected.size (); cut++)
      EXPECT_EQ (sframe::decode_header ({expected.data (), cut}, &parsed, &len),
          Status::header_truncated);
  }
}

TEST_F (Rfc9605Vectors, AesCtrHmacAead)
{
  const auto & cases = vectors_.at ("aes_ctr_hmac");
  ASSERT_EQ (cases.size (), 3u);
  for (const auto & c : cases) {
    auto suite = sframe::suite_params (c.at ("cipher_suite").get<uint16_t> ());
    ASSERT_NE (suite, nullptr);
    auto key = unhex (c.at ("key"));
    auto nonce = unhex (c.at ("nonce"));
    auto aad = unhex (c.at ("aad"));
    auto pt = unhex (c.at ("pt"));
    auto ct = unhex (c.at ("ct"));
    EXPECT_EQ (unhex (c.at ("enc_key")), std::vector<uint8_t> (key.begin (), key.begin () + 16));
    EXPECT_EQ (unhex (c.at ("auth_key")), std::vector<uint8_t> (key.begin () + 16, key.end ()));

    std::unique_ptr<sframe::Aead> aead;
    ASSERT_EQ (sframe::Aead::create (*suite, view (key), &aead), Status::ok);
    std::vector<uint8_t> out (pt.size () + suite->tag_size);
    ASSERT_EQ (aead->seal (nonce.data (), {view (aad), {}}, view (pt), out.data ()), Status::ok);
    EXPECT_EQ (out, ct) << suite->name;

    std::vector<uint8_t> back (pt.size ());
    ASSERT_EQ (aead->open (nonce.data (), {view (aad), {}}, view (ct), back.data ()), Status::ok);
    EXPECT_EQ (back, pt);
  }
}

TEST_F (Rfc9605Vectors, FullSFrameEveryCipherSuite)
{
  const auto & cases = vectors_.at ("sframe");
  ASSERT_EQ (cases.size (), 5u);
  for (const auto & c : cases) {
    auto suite_id = static_cast<sframe::CipherSuite> (c.at ("cipher_suite").get<uint16_t> ());
    auto params = sframe::suite_params (suite_id);
    ASSERT_NE (params, nullptr);
    uint64_t kid = c.at ("kid").get<uint64_t> ();
    uint64_t ctr = c.at ("ctr").get<uint64_t> ();
    auto base_key = unhex (c.at ("base_key"));
    auto metadata = unhex (c.at ("metadata"));
    auto pt = unhex (c.at ("pt"));
    auto ct = unhex (c.at ("ct"));

    /* Intermediate values of the key schedule. */
    sframe::SecureBytes secret;
    ASSERT_EQ (sframe::hkdf_extract (params->hash, {}, view (base_key), &secret), Status::ok);
    EXPECT_TRUE (secret.equals (view (unhex (c.at ("sframe_secret"))))) << params->name;
    sframe::KeyMaterial m;
    ASSERT_EQ (sframe::derive_key_material (suite_id, kid, view (base_key), &m), Status::ok);
    EXPECT_TRUE (m.key.equals (view (unhex (c.at ("sframe_key"))))) << params->name;
    EXPECT_TRUE (m.salt.equals (view (unhex (c.at ("sframe_salt"))))) << params->name;

    /* Encryption through the public API, with the counter starting at ctr. */
    sframe::KeyRing ring;
    ASSERT_EQ (ring.add_own_key (suite_id, kid, view (base_key), ctr), Status::ok);
    sframe::Encryptor enc (ring);
    std::vector<uint8_t> out (pt.size () + sframe::kMaxOverhead);
    size_t written = 0;
    sframe::Header used;
    ASSERT_EQ (enc.encrypt (&kid, view (metadata), view (pt), {out.data (), out.size ()}, &written,
            &used), Status::ok);
    out.resize (written);
    EXPECT_EQ (out, ct) << params->name;
    EXPECT_EQ (used.counter, ctr);

    sframe::Decryptor dec (ring);
    std::vector<uint8_t> back (ct.size ());
    sframe::Header header;
    ASSERT_EQ (dec.decrypt (view (ct), view (metadata), {back.data (), back.size ()}, &written,
            &header), Status::ok) << params->name;
    back.resize (written);
    EXPECT_EQ (back, pt);
    EXPECT_EQ (header.key_id, kid);
    EXPECT_EQ (header.counter, ctr);
  }
}

}  // namespace

/* The vectors are in the repository: missing, they fail the test. */
int
main (int argc, char **argv)
{
  nlohmann::json unused;
  std::string where;
  if (!test::load_vectors ("rfc9605-test-vectors.json", &unused, &where)) {
    std::printf ("FAIL: RFC 9605 test vectors not found at %s\n", where.c_str ());
    return 1;
  }
  ::testing::InitGoogleTest (&argc, argv);
  return RUN_ALL_TESTS ();
}
