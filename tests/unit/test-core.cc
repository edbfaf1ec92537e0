/* The SFrame core on its own, without the vector files: a few RFC 9605
 * example values inline, then the behaviour the RFC requires. */
#include "vectors.h"

#include <gst/sframe/core/cipher.h>
#include <gst/sframe/core/header.h>
#include <gst/sframe/core/replay-window.h>

#include <gtest/gtest.h>

#include <openssl/rand.h>

#include <set>
#include <string>
#include <thread>

using sframe::CipherSuite;
using sframe::Status;
using test::unhex;
using test::view;

namespace {

const CipherSuite kAllSuites[] = {
  CipherSuite::aes_128_ctr_hmac_sha256_80, CipherSuite::aes_128_ctr_hmac_sha256_64,
  CipherSuite::aes_128_ctr_hmac_sha256_32, CipherSuite::aes_128_gcm_sha256_128,
  CipherSuite::aes_256_gcm_sha512_128,
};

const char kBaseKey[] = "000102030405060708090a0b0c0d0e0f";
const char kMetadata[] = "4945544620534672616d65205747";      /* "IETF SFrame WG" */
const char kPlaintext[] = "64726166742d696574662d736672616d652d656e63";

/* RFC 9605 appendix C.4, kid 0x123, ctr 0x4567. */
struct InlineCase {
  CipherSuite suite;
  const char *ct;
};
const InlineCase kInlineCases[] = {
  {CipherSuite::aes_128_ctr_hmac_sha256_80,
   "9901234567449408b6f490086165b9d6f62b24ae1a59a56486b4ae8ed036b88912e24f11"},
  {CipherSuite::aes_128_gcm_sha256_128,
   "9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb"},
  {CipherSuite::aes_256_gcm_sha512_128,
   "990123456794f509d36e9beacb0e261d99c7d1e972f1fed787d4049f17ca21353c1cc24d56ceabced279"},
};

std::vector<uint8_t>
encrypt_one (sframe::Encryptor & enc, const uint64_t * kid, const std::vector<uint8_t> & pt,
    const std::vector<uint8_t> & metadata = {})
{
  std::vector<uint8_t> out (pt.size () + sframe::kMaxOverhead);
  size_t n = 0;
  EXPECT_EQ (enc.encrypt (kid, view (metadata), view (pt), {out.data (), out.size ()}, &n),
      Status::ok);
  out.resize (n);
  return out;
}

Status
decrypt_one (sframe::Decryptor & dec, const std::vector<uint8_t> & ct, std::vector<uint8_t> * pt,
    const std::vector<uint8_t> & metadata = {})
{
  pt->assign (ct.size (), 0);
  size_t n = 0;
  sframe::Header h;
  Status s = dec.decrypt (view (ct), view (metadata), {pt->data (), pt->size ()}, &n, &h);
  pt->resize (s == Status::ok ? n : 0);
  return s;
}

TEST (Header, InlineRfcExamples)
{
  uint8_t buf[sframe::kMaxHeaderSize];
  EXPECT_EQ (unhex ("af0100000100000000000000"),
      std::vector<uint8_t> (buf, buf + sframe::encode_header ({65536, 72057594037927936ull}, buf)));
  EXPECT_EQ (unhex ("de01000000000001000000000000"),
      std::vector<uint8_t> (buf, buf + sframe::encode_header ({1099511627776ull, 281474976710656ull}, buf)));
  EXPECT_EQ (unhex ("00"), std::vector<uint8_t> (buf, buf + sframe::encode_header ({0, 0}, buf)));
}

TEST (Header, RejectsNonMinimalEncodings)
{
  sframe::Header h;
  size_t len;
  /* KID 5 written as an extended 1-byte field. */
  EXPECT_EQ (sframe::decode_header (view (unhex ("8005")), &h, &len), Status::header_non_minimal);
  /* CTR 0x10 with a leading zero byte. */
  EXPECT_EQ (sframe::decode_header (view (unhex ("090010")), &h, &len), Status::header_non_minimal);
  /* The minimal forms of the same values parse. */
  EXPECT_EQ (sframe::decode_header (view (unhex ("50")), &h, &len), Status::ok);
  EXPECT_EQ (h.key_id, 5u);
  EXPECT_EQ (sframe::decode_header (view (unhex ("0810")), &h, &len), Status::ok);
  EXPECT_EQ (h.counter, 0x10u);
  EXPECT_EQ (sframe::decode_header ({}, &h, &len), Status::header_truncated);
}

TEST (Header, RoundTripsEveryFieldWidth)
{
  for (int kbits = 0; kbits < 64; kbits += 3) {
    for (int cbits = 0; cbits < 64; cbits += 5) {
      sframe::Header in {uint64_t {1} << kbits | 1, (uint64_t {1} << cbits) + 2};
      uint8_t buf[sframe::kMaxHeaderSize];
      size_t n = sframe::encode_header (in, buf);
      sframe::Header out;
      size_t len = 0;
      ASSERT_EQ (sframe::decode_header ({buf, n}, &out, &len), Status::ok);
      EXPECT_EQ (len, n);
      EXPECT_EQ (out.key_id, in.key_id);
      EXPECT_EQ (out.counter, in.counter);
    }
  }
}

TEST (Cipher, InlineRfcExamples)
{
  for (const auto & c : kInlineCases) {
    sframe::KeyRing ring;
    ASSERT_EQ (ring.add_own_key (c.suite, 0x123, view (unhex (kBaseKey)), 0x4567), Status::ok);
    sframe::Encryptor enc (ring);
    uint64_t kid = 0x123;
    EXPECT_EQ (encrypt_one (enc, &kid, unhex (kPlaintext), unhex (kMetadata)), unhex (c.ct));

    sframe::Decryptor dec (ring);
    std::vector<uint8_t> pt;
    EXPECT_EQ (decrypt_one (dec, unhex (c.ct), &pt, unhex (kMetadata)), Status::ok);
    EXPECT_EQ (pt, unhex (kPlaintext));
  }
}

TEST (Cipher, RoundTripEverySuiteAndSize)
{
  for (auto suite : kAllSuites) {
    sframe::KeyRing ring;
    ASSERT_EQ (ring.add_own_key (suite, 9, view (unhex (kBaseKey))), Status::ok);
    ASSERT_EQ (ring.set_sender (9), Status::ok);
    sframe::Encryptor enc (ring);
    sframe::Decryptor dec (ring);
    for (size_t size : {0, 1, 15, 16, 17, 1200, 70000}) {
      std::vector<uint8_t> pt (size);
      RAND_bytes (pt.data (), static_cast<int> (pt.size ()));
      auto ct = encrypt_one (enc, nullptr, pt);
      sframe::Header h;
      size_t header_len = 0;
      ASSERT_EQ (sframe::decode_header (view (ct), &h, &header_len), Status::ok);
      EXPECT_EQ (h.key_id, 9u);
      EXPECT_EQ (ct.size (), header_len + size + sframe::suite_params (suite)->tag_size);
      std::vector<uint8_t> back;
      ASSERT_EQ (decrypt_one (dec, ct, &back), Status::ok);
      EXPECT_EQ (back, pt);
    }
  }
}

TEST (Cipher, EveryBitFlipIsRejected)
{
  for (auto suite : kAllSuites) {
    sframe::KeyRing ring;
    ASSERT_EQ (ring.add_own_key (suite, 3, view (unhex (kBaseKey))), Status::ok);
    sframe::Encryptor enc (ring);
    sframe::Decryptor dec (ring);
    uint64_t kid = 3;
    auto metadata = unhex ("0102");
    auto ct = encrypt_one (enc, &kid, unhex (kPlaintext), metadata);
    for (size_t bit = 0; bit < ct.size () * 8; bit++) {
      auto bad = ct;
      bad[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
      std::vector<uint8_t> pt;
      EXPECT_NE (decrypt_one (dec, bad, &pt, metadata), Status::ok) << "bit " << bit;
    }
    /* Tampered metadata is rejected too; the untouched frame still decrypts. */
    std::vector<uint8_t> pt;
    EXPECT_EQ (decrypt_one (dec, ct, &pt, unhex ("0103")), Status::authentication_failed);
    EXPECT_EQ (decrypt_one (dec, ct, &pt, metadata), Status::ok);
  }
}

TEST (Cipher, TruncationReplayUnknownAndWrongKey)
{
  sframe::KeyRing ring, other;
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  ASSERT_EQ (ring.add_own_key (suite, 1, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (other.add_key (suite, 1, view (unhex ("0f0e0d0c0b0a09080706050403020100"))), Status::ok);
  sframe::Encryptor enc (ring);
  sframe::Decryptor dec (ring), wrong (other);
  uint64_t kid = 1, unknown = 2;
  auto ct = encrypt_one (enc, &kid, unhex (kPlaintext));

  std::vector<uint8_t> pt;
  for (size_t cut = 0; cut < ct.size (); cut++)
    EXPECT_NE (decrypt_one (dec, {ct.begin (), ct.begin () + cut}, &pt), Status::ok);
  EXPECT_EQ (decrypt_one (wrong, ct, &pt), Status::authentication_failed);
  EXPECT_EQ (decrypt_one (dec, ct, &pt), Status::ok);
  EXPECT_EQ (decrypt_one (dec, ct, &pt), Status::replayed);

  std::vector<uint8_t> out (64);
  size_t n;
  EXPECT_EQ (enc.encrypt (&unknown, {}, view (pt), {out.data (), out.size ()}, &n), Status::unknown_key);
  EXPECT_EQ (enc.encrypt (nullptr, {}, view (pt), {out.data (), out.size ()}, &n), Status::unknown_key);
}

TEST (Cipher, RemovedKeyStopsWorkingAndRotationKeepsOldFrames)
{
  sframe::KeyRing ring;
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  ASSERT_EQ (ring.add_own_key (suite, 1, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.set_sender (1), Status::ok);
  sframe::Encryptor enc (ring);
  sframe::Decryptor dec (ring);
  auto old_frame = encrypt_one (enc, nullptr, unhex (kPlaintext));
  /* Rotate: new key installed and chosen; the old frame is still in flight. */
  ASSERT_EQ (ring.add_own_key (suite, 2, view (unhex ("101112131415161718191a1b1c1d1e1f"))), Status::ok);
  ASSERT_EQ (ring.set_sender (2), Status::ok);
  auto new_frame = encrypt_one (enc, nullptr, unhex (kPlaintext));
  sframe::Header h;
  size_t len;
  ASSERT_EQ (sframe::decode_header (view (new_frame), &h, &len), Status::ok);
  EXPECT_EQ (h.key_id, 2u);
  std::vector<uint8_t> pt;
  EXPECT_EQ (decrypt_one (dec, new_frame, &pt), Status::ok);
  EXPECT_EQ (decrypt_one (dec, old_frame, &pt), Status::ok);
  /* Once the old key is removed nothing encrypts or decrypts with it. */
  uint64_t kid1_again = 1;
  auto late_old = encrypt_one (enc, &kid1_again, unhex (kPlaintext));
  ASSERT_TRUE (ring.remove_key (1));
  uint64_t kid1 = 1;
  std::vector<uint8_t> out (64);
  size_t n;
  EXPECT_EQ (enc.encrypt (&kid1, {}, view (pt), {out.data (), out.size ()}, &n), Status::unknown_key);
  EXPECT_EQ (decrypt_one (dec, late_old, &pt), Status::unknown_key);
}

TEST (KeyRing, ReaddingSameKeyKeepsCounter)
{
  sframe::KeyRing ring;
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  ASSERT_EQ (ring.add_own_key (suite, 4, view (unhex (kBaseKey))), Status::ok);
  uint64_t c1 = 0, c2 = 0;
  ASSERT_EQ (ring.find (4)->reserve_counter (&c1), Status::ok);
  ASSERT_EQ (ring.add_own_key (suite, 4, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.find (4)->reserve_counter (&c2), Status::ok);
  EXPECT_EQ (c2, c1 + 1);
  /* Different material under the same id is a new key whose counter goes
   * on from the old one's: a key id's counter never goes back. */
  ASSERT_EQ (ring.add_own_key (suite, 4, view (unhex ("ff0102030405060708090a0b0c0d0e0f"))), Status::ok);
  uint64_t c3 = 0;
  ASSERT_EQ (ring.find (4)->reserve_counter (&c3), Status::ok);
  EXPECT_EQ (c3, c2 + 1);
}

TEST (KeyRing, CounterNeverRepeatsAcrossThreads)
{
  sframe::KeyRing ring;
  ASSERT_EQ (ring.add_own_key (CipherSuite::aes_128_gcm_sha256_128, 1, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.set_sender (1), Status::ok);
  std::vector<uint64_t> seen[2];
  auto worker = [&ring] (std::vector<uint64_t> * out) {
    sframe::Encryptor enc (ring);
    std::vector<uint8_t> pt (10), ct (64);
    for (int i = 0; i < 5000; i++) {
      size_t n;
      sframe::Header used;
      ASSERT_EQ (enc.encrypt (nullptr, {}, view (pt), {ct.data (), ct.size ()}, &n, &used), Status::ok);
      out->push_back (used.counter);
    }
  };
  std::thread a (worker, &seen[0]), b (worker, &seen[1]);
  a.join ();
  b.join ();
  std::set<uint64_t> all (seen[0].begin (), seen[0].end ());
  all.insert (seen[1].begin (), seen[1].end ());
  EXPECT_EQ (all.size (), 10000u);
}

/* Two decryptors (two elements, say audio and video of one sender) share
 * a key's replay window. Both read the same frames in order at once:
 * whichever sees a frame first takes it, so every frame is taken exactly
 * once in total, however the threads interleave. */
TEST (KeyRing, ReplayWindowTakesEachFrameOnceAcrossThreads)
{
  sframe::KeyRing ring;
  ASSERT_EQ (ring.add_own_key (CipherSuite::aes_128_gcm_sha256_128, 1, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.set_sender (1), Status::ok);
  sframe::Encryptor enc (ring);
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < 20000; i++)
    frames.push_back (encrypt_one (enc, nullptr, std::vector<uint8_t> (10, 7)));
  int taken[2] = {0, 0};
  auto worker = [&] (int * count) {
    sframe::Decryptor dec (ring);
    std::vector<uint8_t> pt;
    for (const auto & frame : frames) {
      Status s = decrypt_one (dec, frame, &pt);
      ASSERT_TRUE (s == Status::ok || s == Status::replayed) << sframe::status_name (s);
      *count += s == Status::ok;
    }
  };
  std::thread a (worker, &taken[0]), b (worker, &taken[1]);
  a.join ();
  b.join ();
  EXPECT_EQ (taken[0] + taken[1], 20000);
}

TEST (KeyRing, CounterExhaustionRefusesToWrap)
{
  sframe::KeyRing ring;
  ASSERT_EQ (ring.add_own_key (CipherSuite::aes_128_gcm_sha256_128, 1, view (unhex (kBaseKey)),
          UINT64_MAX - 1), Status::ok);
  uint64_t c;
  EXPECT_EQ (ring.find (1)->reserve_counter (&c), Status::ok);
  EXPECT_EQ (c, UINT64_MAX - 1);
  EXPECT_EQ (ring.find (1)->reserve_counter (&c), Status::counter_exhausted);
}

TEST (KeyRing, RejectsBadKeysAndSuites)
{
  sframe::KeyRing ring;
  EXPECT_EQ (ring.add_key (static_cast<CipherSuite> (9), 1, view (unhex (kBaseKey))), Status::unsupported_suite);
  EXPECT_EQ (ring.add_key (CipherSuite::aes_128_gcm_sha256_128, 1, {}), Status::invalid_key);
  uint64_t handle = 0;
  EXPECT_EQ (ring.add_static_key (CipherSuite::aes_128_gcm_sha256_128, {}, &handle), Status::invalid_key);
  EXPECT_EQ (ring.start_sender_session (static_cast<CipherSuite> (9), view (unhex (kBaseKey)), &handle),
      Status::unsupported_suite);
  EXPECT_EQ (ring.set_sender (77), Status::unknown_key);
}

/* A key added to receive (a decrypter's static or per-key-id key) can
 * never hand an encrypter a counter: sending needs an own key. */
TEST (KeyRing, AKeyAddedToReceiveNeverEncrypts)
{
  sframe::KeyRing ring;
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  ASSERT_EQ (ring.add_key (suite, 5, view (unhex (kBaseKey))), Status::ok);
  EXPECT_EQ (ring.set_sender (5), Status::not_own_key);
  sframe::Encryptor enc (ring);
  uint64_t kid = 5;
  std::vector<uint8_t> out (64), pt (10);
  size_t n = 0;
  EXPECT_EQ (enc.encrypt (&kid, {}, view (pt), {out.data (), out.size ()}, &n), Status::not_own_key);
  EXPECT_EQ (ring.find (5)->next_counter (), 0u);
  /* Added again as an own key, the same entry may send. */
  ASSERT_EQ (ring.add_own_key (suite, 5, view (unhex (kBaseKey))), Status::ok);
  EXPECT_EQ (enc.encrypt (&kid, {}, view (pt), {out.data (), out.size ()}, &n), Status::ok);
}

/* A key id's counter never goes back: not when its key is removed and
 * added again, not when another key replaces it. */
TEST (KeyRing, AKeyIdsCounterNeverGoesBack)
{
  sframe::KeyRing ring;
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  ASSERT_EQ (ring.add_own_key (suite, 6, view (unhex (kBaseKey))), Status::ok);
  uint64_t c = 0;
  for (int i = 0; i < 3; i++)
    ASSERT_EQ (ring.find (6)->reserve_counter (&c), Status::ok);
  ASSERT_TRUE (ring.remove_key (6));
  ASSERT_EQ (ring.add_own_key (suite, 6, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.find (6)->reserve_counter (&c), Status::ok);
  EXPECT_EQ (c, 3u);
  ring.clear ();
  ASSERT_EQ (ring.add_own_key (suite, 6, view (unhex (kBaseKey))), Status::ok);
  ASSERT_EQ (ring.find (6)->reserve_counter (&c), Status::ok);
  EXPECT_EQ (c, 4u);
}

/* Two processes (two rings) send with one static key; a third reads both
 * with that key alone. Each session has its own key id, and the receiver
 * keeps a replay window per key id: no sender's frames are taken for the
 * other's replays. */
TEST (KeyRing, StaticKeySessionsHaveTheirOwnKeyIdsAndWindows)
{
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  sframe::KeyRing a, b, rx;
  uint64_t kid_a = 0, kid_b = 0, handle = 0;
  ASSERT_EQ (a.start_sender_session (suite, view (unhex (kBaseKey)), &kid_a), Status::ok);
  ASSERT_EQ (b.start_sender_session (suite, view (unhex (kBaseKey)), &kid_b), Status::ok);
  EXPECT_NE (kid_a, kid_b);
  ASSERT_EQ (rx.add_static_key (suite, view (unhex (kBaseKey)), &handle), Status::ok);
  sframe::Encryptor ea (a), eb (b);
  sframe::Decryptor dec (rx);
  std::vector<std::vector<uint8_t>> frames;
  for (int i = 0; i < 50; i++) {
    frames.push_back (encrypt_one (ea, &kid_a, unhex (kPlaintext)));
    frames.push_back (encrypt_one (eb, &kid_b, unhex (kPlaintext)));
  }
  std::vector<uint8_t> pt;
  for (const auto & f : frames)
    EXPECT_EQ (decrypt_one (dec, f, &pt), Status::ok);
  for (const auto & f : frames)
    EXPECT_EQ (decrypt_one (dec, f, &pt), Status::replayed);
  EXPECT_EQ (rx.key_ids ().size (), 2u);
  /* Dropping the static key drops what was derived from it. */
  ASSERT_TRUE (rx.remove_static_key (handle));
  EXPECT_TRUE (rx.key_ids ().empty ());
  EXPECT_EQ (decrypt_one (dec, frames[0], &pt), Status::unknown_key);
}

/* A forged frame under a new key id installs nothing. */
/* Elements of one room share a ring: it can tell when they were given
 * different static keys (decrypting or sending), so they can warn. */
TEST (KeyRing, CountsDifferentStaticKeys)
{
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  const auto key_a = unhex (kBaseKey);
  auto key_b = key_a;
  key_b[0] ^= 1;
  sframe::KeyRing ring;
  EXPECT_EQ (ring.distinct_static_keys (), 0u);
  uint64_t handle_a = 0, handle_b = 0, session_a = 0, session_b = 0;
  ASSERT_EQ (ring.add_static_key (suite, view (key_a), &handle_a), Status::ok);
  ASSERT_EQ (ring.start_sender_session (suite, view (key_a), &session_a), Status::ok);
  EXPECT_EQ (ring.distinct_static_keys (), 1u);
  ASSERT_EQ (ring.start_sender_session (suite, view (key_b), &session_b), Status::ok);
  EXPECT_EQ (ring.distinct_static_keys (), 2u);
  ASSERT_TRUE (ring.remove_key (session_b));
  EXPECT_EQ (ring.distinct_static_keys (), 1u);
  ASSERT_EQ (ring.add_static_key (suite, view (key_b), &handle_b), Status::ok);
  EXPECT_EQ (ring.distinct_static_keys (), 2u);
  /* The same bytes under another suite are another key. */
  ASSERT_TRUE (ring.remove_static_key (handle_b));
  ASSERT_EQ (ring.add_static_key (CipherSuite::aes_256_gcm_sha512_128, view (key_a), &handle_b), Status::ok);
  EXPECT_EQ (ring.distinct_static_keys (), 2u);
  /* A session's key id given another key by add_key is no session. */
  ASSERT_TRUE (ring.remove_static_key (handle_b));
  ASSERT_EQ (ring.start_sender_session (suite, view (key_b), &session_b), Status::ok);
  ASSERT_EQ (ring.add_key (suite, session_b, view (key_a)), Status::ok);
  EXPECT_EQ (ring.distinct_static_keys (), 1u);
}

TEST (KeyRing, AForgedFrameInstallsNoDerivedKey)
{
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  sframe::KeyRing tx, rx;
  uint64_t kid = 0, handle = 0;
  ASSERT_EQ (tx.start_sender_session (suite, view (unhex (kBaseKey)), &kid), Status::ok);
  ASSERT_EQ (rx.add_static_key (suite, view (unhex (kBaseKey)), &handle), Status::ok);
  sframe::Encryptor enc (tx);
  sframe::Decryptor dec (rx);
  auto frame = encrypt_one (enc, &kid, unhex (kPlaintext));
  frame.back () ^= 1;
  std::vector<uint8_t> pt;
  EXPECT_EQ (decrypt_one (dec, frame, &pt), Status::authentication_failed);
  EXPECT_TRUE (rx.key_ids ().empty ());
}

/* The receiver keeps kMaxDerivedKeys derived keys; a forgotten one's
 * frames stay refused, and its newer frames are read again. */
TEST (KeyRing, DerivedKeysAreBoundedAndForgottenOnesStayRefused)
{
  auto suite = CipherSuite::aes_128_gcm_sha256_128;
  sframe::KeyRing rx;
  uint64_t handle = 0;
  ASSERT_EQ (rx.add_static_key (suite, view (unhex (kBaseKey)), &handle), Status::ok);
  sframe::Decryptor dec (rx);
  sframe::KeyRing first;
  uint64_t first_kid = 0;
  ASSERT_EQ (first.start_sender_session (suite, view (unhex (kBaseKey)), &first_kid), Status::ok);
  sframe::Encryptor first_enc (first);
  auto old_frame = encrypt_one (first_enc, &first_kid, unhex (kPlaintext));
  std::vector<uint8_t> pt;
  ASSERT_EQ (decrypt_one (dec, old_frame, &pt), Status::ok);
  for (size_t i = 0; i < sframe::KeyRing::kMaxDerivedKeys + 10; i++) {
    sframe::KeyRing other;
    uint64_t kid = 0;
    ASSERT_EQ (other.start_sender_session (suite, view (unhex (kBaseKey)), &kid), Status::ok);
    sframe::Encryptor enc (other);
    ASSERT_EQ (decrypt_one (dec, encrypt_one (enc, &kid, unhex (kPlaintext)), &pt), Status::ok);
  }
  EXPECT_EQ (rx.key_ids ().size (), sframe::KeyRing::kMaxDerivedKeys);
  EXPECT_EQ (rx.find (first_kid), nullptr) << "the least recently used key was kept";
  EXPECT_EQ (decrypt_one (dec, old_frame, &pt), Status::replayed);
  EXPECT_EQ (decrypt_one (dec, encrypt_one (first_enc, &first_kid, unhex (kPlaintext)), &pt), Status::ok);
}

/* Near the end of the counter space: the last counters encrypt, then the
 * key refuses, and the listener hears of it exactly once. */
TEST (KeyRing, ExhaustionIsReportedOnce)
{
  sframe::KeyRing ring;
  std::vector<uint64_t> reported;
  ring.set_exhaustion_listener ([&reported] (uint64_t kid) { reported.push_back (kid); });
  ASSERT_EQ (ring.add_own_key (CipherSuite::aes_128_gcm_sha256_128, 8, view (unhex (kBaseKey)),
          UINT64_MAX - 3), Status::ok);
  ASSERT_EQ (ring.set_sender (8), Status::ok);
  sframe::Encryptor enc (ring);
  std::vector<uint8_t> out (64), pt (10);
  size_t n = 0;
  sframe::Header used;
  for (uint64_t expected = UINT64_MAX - 3; expected < UINT64_MAX; expected++) {
    ASSERT_EQ (enc.encrypt (nullptr, {}, view (pt), {out.data (), out.size ()}, &n, &used), Status::ok);
    EXPECT_EQ (used.counter, expected);
  }
  EXPECT_TRUE (reported.empty ());
  for (int i = 0; i < 3; i++)
    EXPECT_EQ (enc.encrypt (nullptr, {}, view (pt), {out.data (), out.size ()}, &n), Status::counter_exhausted);
  EXPECT_EQ (reported, std::vector<uint64_t> {8});
}

TEST (ReplayWindow, AcceptsOnceAndForgetsOldOnes)
{
  sframe::ReplayWindow w;
  EXPECT_TRUE (w.check_and_mark (100));
  EXPECT_FALSE (w.check_and_mark (100));
  EXPECT_TRUE (w.check_and_mark (50));   /* late but inside the window */
  EXPECT_FALSE (w.check_and_mark (50));
  EXPECT_TRUE (w.check_and_mark (5000));
  EXPECT_FALSE (w.check_and_mark (100)); /* now older than the window */
  EXPECT_TRUE (w.check_and_mark (5000 - sframe::ReplayWindow::kSize + 1));
  EXPECT_FALSE (w.check_and_mark (5000 - sframe::ReplayWindow::kSize));
  /* Slots reused after a jump are clear. */
  EXPECT_TRUE (w.check_and_mark (5000 + 64));
  EXPECT_TRUE (w.check_and_mark (5000 + 1));
  EXPECT_TRUE (w.check_and_mark (5000 + 63));
}

TEST (ReplayWindow, MatchesASetModel)
{
  sframe::ReplayWindow w;
  std::set<uint64_t> seen;
  uint64_t highest = 0;
  bool any = false;
  uint32_t x = 12345;
  for (int i = 0; i < 200000; i++) {
    x = x * 1103515245u + 12345u;
    uint64_t c = (any ? highest : 3000) + (x >> 8) % 700 - 600 + (i % 97 == 0 ? 3000 : 0);
    bool expect = seen.count (c) == 0 && (!any || c + sframe::ReplayWindow::kSize > highest);
    ASSERT_EQ (w.check_and_mark (c), expect) << "i=" << i << " c=" << c;
    if (expect) {
      seen.insert (c);
      highest = any ? std::max (highest, c) : c;
      any = true;
    }
  }
}

TEST (Ratchet, ProducesAFreshKeyEachStep)
{
  auto base = unhex (kBaseKey);
  sframe::SecureBytes next, again;
  ASSERT_EQ (sframe::ratchet_base_key (CipherSuite::aes_128_gcm_sha256_128, view (base), &next), Status::ok);
  EXPECT_EQ (next.size (), 32u);
  ASSERT_EQ (sframe::ratchet_base_key (CipherSuite::aes_128_gcm_sha256_128, view (base), &again), Status::ok);
  EXPECT_TRUE (next.equals (again.view ()));
  EXPECT_FALSE (next.equals (view (base)));
}

TEST (SecureBytes, HexParsing)
{
  EXPECT_EQ (sframe::hex_to_bytes ("0aFf").size (), 2u);
  EXPECT_TRUE (sframe::hex_to_bytes ("abc").empty ());
  EXPECT_TRUE (sframe::hex_to_bytes ("zz").empty ());
  EXPECT_TRUE (sframe::hex_to_bytes (nullptr).empty ());
}

}  // namespace

/* Messages name statuses: two statuses must never read the same, and none
 * may fall through to the "unknown" name. */
TEST (Status, EveryStatusHasItsOwnName)
{
  std::set<std::string> names;
  int last = static_cast<int> (Status::bus_unavailable);
  for (int i = 0; i <= last; i++) {
    std::string name = sframe::status_name (static_cast<Status> (i));
    EXPECT_NE (name, "unknown status") << i;
    EXPECT_TRUE (names.insert (name).second) << "status " << i << " reuses the name '" << name << "'";
  }
  EXPECT_EQ (std::string (sframe::status_name (static_cast<Status> (last + 1))), "unknown status");
}

TEST (Status, ResultCarriesStatusAndMessage)
{
  sframe::Result ok;
  EXPECT_TRUE (ok.ok ());
  EXPECT_TRUE (ok.message.empty ());
  sframe::Result refused (Status::expired, "token 'x' expired");
  EXPECT_FALSE (refused.ok ());
  EXPECT_EQ (refused.status, Status::expired);
  EXPECT_EQ (refused.message, "token 'x' expired");
  sframe::Result bare = Status::crypto_error;
  EXPECT_FALSE (bare.ok ());
  EXPECT_TRUE (bare.message.empty ());
}
