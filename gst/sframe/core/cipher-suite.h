/* The five RFC 9605 cipher suites (section 4.5, IANA registry 8.2). */
#pragma once

#include <gst/sframe/core/api.h>

#include <cstddef>
#include <cstdint>

namespace sframe {

enum class CipherSuite : uint16_t {
  aes_128_ctr_hmac_sha256_80 = 0x0001,
  aes_128_ctr_hmac_sha256_64 = 0x0002,
  aes_128_ctr_hmac_sha256_32 = 0x0003,
  aes_128_gcm_sha256_128 = 0x0004,
  aes_256_gcm_sha512_128 = 0x0005,
};

enum class HashAlgorithm { sha256, sha512 };

struct SuiteParams {
  CipherSuite id;
  const char *name;       /* RFC name, e.g. "AES_128_GCM_SHA256_128" */
  size_t key_size;        /* Nk: AEAD key, for CTR-HMAC enc key + auth key */
  size_t nonce_size;      /* Nn */
  size_t tag_size;        /* Nt */
  size_t hash_size;       /* Nh */
  HashAlgorithm hash;
  bool gcm;
  size_t enc_key_size;    /* Nka: the AES part of a CTR-HMAC key; == key_size for GCM */
};

/* nullptr for a value that is not one of the five suites. */
GST_SFRAME_API const SuiteParams *suite_params (CipherSuite suite);
GST_SFRAME_API const SuiteParams *suite_params (uint16_t suite_id);

constexpr size_t kNonceSize = 12;
constexpr size_t kMaxTagSize = 16;

}  // namespace sframe
