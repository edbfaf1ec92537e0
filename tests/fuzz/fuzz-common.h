/* Shared helpers of the libFuzzer targets: a cursor over the input, exact-size
 * heap buffers (so ASan sees any overrun of a documented bound), the fixed
 * key ring, and a property check that aborts (libFuzzer saves the input). */
#pragma once

#include <gst/sframe/core/keyring.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <utility>

namespace fuzz {

[[noreturn]] inline void
fail (const char *what, const char *file, int line)
{
  std::fprintf (stderr, "%s:%d: property violated: %s\n", file, line, what);
  std::abort ();
}

#define FUZZ_CHECK(cond) \
  do { \
    if (!(cond)) \
      ::fuzz::fail (#cond, __FILE__, __LINE__); \
  } while (0)

/* Reads control bytes off the front of the input; missing bytes read as 0. */
class Input {
public:
  Input (const uint8_t * data, size_t size) : data_ (data), size_ (size) {}

  uint8_t byte ()
  {
    if (size_ == 0)
      return 0;
    size_--;
    return *data_++;
  }

  sframe::ByteView take (size_t n)
  {
    n = n < size_ ? n : size_;
    sframe::ByteView v (data_, n);
    data_ += n;
    size_ -= n;
    return v;
  }

  sframe::ByteView rest () { return take (size_); }

private:
  const uint8_t *data_;
  size_t size_;
};

/* Exactly `size` usable bytes on the heap. One byte is allocated for size 0
 * only so that data is never null (memcpy (NULL, p, 0) would trip UBSan in
 * our own code, not the library's). */
class Buffer {
public:
  explicit Buffer (size_t size) : data_ (new uint8_t[size ? size : 1]), size_ (size) {}

  uint8_t *data () { return data_.get (); }
  size_t size () const { return size_; }
  sframe::MutableByteView view () { return {data_.get (), size_}; }

private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_;
};

constexpr sframe::CipherSuite kSuites[] = {
  sframe::CipherSuite::aes_128_ctr_hmac_sha256_80,
  sframe::CipherSuite::aes_128_ctr_hmac_sha256_64,
  sframe::CipherSuite::aes_128_ctr_hmac_sha256_32,
  sframe::CipherSuite::aes_128_gcm_sha256_128,
  sframe::CipherSuite::aes_256_gcm_sha512_128,
};
constexpr size_t kNumSuites = sizeof kSuites / sizeof kSuites[0];

/* In the config byte, one byte, two bytes, and the full eight. */
constexpr uint64_t kKeyIds[] = { 0, 7, 8, 0x1234, std::numeric_limits<uint64_t>::max () };
constexpr size_t kNumKeyIds = sizeof kKeyIds / sizeof kKeyIds[0];

inline sframe::CipherSuite
suite_from (uint8_t b)
{
  return kSuites[b % kNumSuites];
}

inline uint64_t
key_id_from (uint8_t b)
{
  return kKeyIds[b % kNumKeyIds];
}

/* A first send counter: mostly small ones, then every encoded length, and
 * the last two values (one frame left, then exhausted). */
inline uint64_t
counter_from (uint8_t b)
{
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max ();
  if (b < 0x80)
    return b;
  if (b >= 0xfe)
    return kMax - (0xff - b);
  return uint64_t {1} << (b & 63);
}

/* Every key id of kKeyIds under one suite, each with its own fixed base key.
 * Built fresh per input: replay windows and counters then start the same on
 * every run, so a saved crash input reproduces. */
inline void
fill_ring (sframe::KeyRing & ring, sframe::CipherSuite suite, uint64_t first_counter)
{
  for (uint64_t kid : kKeyIds) {
    uint8_t base[32];
    for (size_t i = 0; i < sizeof base; i++)
      base[i] = static_cast<uint8_t> (i * 29 + kid * 7 + 1);
    FUZZ_CHECK (ring.add_own_key (suite, kid, {base, sizeof base}, first_counter) ==
        sframe::Status::ok);
  }
}

/* fill_ring() costs about 0.4 ms (five HKDF derivations under ASan), far
 * more than most inputs. Rings are therefore kept per (suite, first counter)
 * and thrown away as soon as an input may have changed one (an authentic
 * frame moves a replay window, encryption takes a counter): every input
 * still starts from a freshly filled ring's state, so crashes reproduce. */
class RingCache {
public:
  sframe::KeyRing & get (sframe::CipherSuite suite, uint64_t first_counter)
  {
    auto & slot = rings_[{static_cast<uint16_t> (suite), first_counter}];
    if (!slot) {
      slot = std::make_unique<sframe::KeyRing> ();
      fill_ring (*slot, suite, first_counter);
    }
    return *slot;
  }

  void spoil (sframe::CipherSuite suite, uint64_t first_counter)
  {
    rings_.erase ({static_cast<uint16_t> (suite), first_counter});
  }

private:
  std::map<std::pair<uint16_t, uint64_t>, std::unique_ptr<sframe::KeyRing>> rings_;
};

inline bool
has_key (uint64_t key_id)
{
  for (uint64_t kid : kKeyIds) {
    if (kid == key_id)
      return true;
  }
  return false;
}

}  // namespace fuzz
