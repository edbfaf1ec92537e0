/* sframe::Decryptor::decrypt over a fixed key ring. The first byte picks the
 * suite (every one of the five) and the mode:
 *
 *   raw:        suite | meta_len | metadata | ciphertext
 *               arbitrary ciphertext; must fail cleanly or authenticate.
 *   round trip: suite|0x08 | meta_len | key | counter | flip | plaintext
 *               encrypts, then checks decryption, replay and tampering. */
#include "fuzz-common.h"

#include <gst/sframe/core/cipher.h>

#include <cstring>

namespace {

using sframe::Status;

/* Returns whether the ring's state changed (a frame authenticated). */
bool
check_raw (sframe::KeyRing & ring, const sframe::SuiteParams & suite, sframe::ByteView metadata,
    sframe::ByteView ct)
{
  sframe::Decryptor dec (ring);
  fuzz::Buffer out (ct.size);  /* the documented bound */
  size_t written = 0;
  sframe::Header header;
  Status s = dec.decrypt (ct, metadata, out.view (), &written, &header);
  if (s != Status::ok) {
    FUZZ_CHECK (s == Status::header_truncated || s == Status::header_non_minimal ||
        s == Status::unknown_key || s == Status::authentication_failed);
    return false;
  }
  /* Only possible for a seed made with the fixed keys. */
  FUZZ_CHECK (fuzz::has_key (header.key_id));
  FUZZ_CHECK (sframe::header_size (header) + written + suite.tag_size == ct.size);
  FUZZ_CHECK (dec.decrypt (ct, metadata, out.view (), &written, &header) == Status::replayed);
  return true;
}

void
check_round_trip (sframe::KeyRing & ring, const sframe::SuiteParams & suite, uint64_t key_id,
    uint64_t first_counter, uint8_t flip, sframe::ByteView metadata, sframe::ByteView pt)
{
  sframe::Encryptor enc (ring);
  fuzz::Buffer ct (pt.size + sframe::kMaxOverhead);  /* the documented bound */
  size_t ct_len = 0;
  sframe::Header used;
  Status s = enc.encrypt (&key_id, metadata, pt, ct.view (), &ct_len, &used);
  if (first_counter == UINT64_MAX) {
    FUZZ_CHECK (s == Status::counter_exhausted);
    return;
  }
  FUZZ_CHECK (s == Status::ok);
  FUZZ_CHECK (used.key_id == key_id && used.counter == first_counter);
  FUZZ_CHECK (ct_len == sframe::header_size (used) + pt.size + suite.tag_size);

  sframe::Decryptor dec (ring);
  fuzz::Buffer out (pt.size);  /* exactly the plaintext size must do */
  size_t written = 0;
  sframe::Header header;

  /* Tampering first: a failed frame must not move the replay window. With a
   * 32-bit tag a forgery has a 2^-32 chance per try, which a long fuzzing run
   * would hit, so that suite only checks that nothing breaks. */
  fuzz::Buffer bad (ct_len);
  std::memcpy (bad.data (), ct.data (), ct_len);
  bad.data ()[(flip >> 3) % ct_len] ^= static_cast<uint8_t> (1u << (flip & 7));
  s = dec.decrypt ({bad.data (), ct_len}, metadata, out.view (), &written, &header);
  if (suite.tag_size >= 8)
    FUZZ_CHECK (s != Status::ok && s != Status::replayed);

  s = dec.decrypt ({ct.data (), ct_len}, metadata, out.view (), &written, &header);
  FUZZ_CHECK (s == Status::ok);
  FUZZ_CHECK (header.key_id == used.key_id && header.counter == used.counter);
  FUZZ_CHECK (written == pt.size && (pt.size == 0 || std::memcmp (out.data (), pt.data, pt.size) == 0));
  s = dec.decrypt ({ct.data (), ct_len}, metadata, out.view (), &written, &header);
  FUZZ_CHECK (s == Status::replayed);
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  fuzz::Input in (data, size);
  uint8_t mode = in.byte ();
  sframe::CipherSuite suite = fuzz::suite_from (mode & 0x07);
  sframe::ByteView metadata = in.take (in.byte () % 32);

  static fuzz::RingCache rings;
  if (!(mode & 0x08)) {
    if (check_raw (rings.get (suite, 0), *sframe::suite_params (suite), metadata, in.rest ()))
      rings.spoil (suite, 0);
    return 0;
  }
  uint64_t key_id = fuzz::key_id_from (in.byte ());
  uint64_t first_counter = fuzz::counter_from (in.byte ());
  uint8_t flip = in.byte ();
  /* Encryption takes a counter: a ring of its own, used once. */
  sframe::KeyRing ring;
  fuzz::fill_ring (ring, suite, first_counter);
  check_round_trip (ring, *sframe::suite_params (suite), key_id, first_counter, flip, metadata,
      in.rest ());
  return 0;
}
