#include <gst/sframe/core/cipher-suite.h>

namespace sframe {

static const SuiteParams kSuites[] = {
  {CipherSuite::aes_128_ctr_hmac_sha256_80, "AES_128_CTR_HMAC_SHA256_80", 48, 12, 10, 32, HashAlgorithm::sha256, false, 16},
  {CipherSuite::aes_128_ctr_hmac_sha256_64, "AES_128_CTR_HMAC_SHA256_64", 48, 12, 8, 32, HashAlgorithm::sha256, false, 16},
  {CipherSuite::aes_128_ctr_hmac_sha256_32, "AES_128_CTR_HMAC_SHA256_32", 48, 12, 4, 32, HashAlgorithm::sha256, false, 16},
  {CipherSuite::aes_128_gcm_sha256_128, "AES_128_GCM_SHA256_128", 16, 12, 16, 32, HashAlgorithm::sha256, true, 16},
  {CipherSuite::aes_256_gcm_sha512_128, "AES_256_GCM_SHA512_128", 32, 12, 16, 64, HashAlgorithm::sha512, true, 32},
};

const SuiteParams *
suite_params (uint16_t suite_id)
{
  for (const auto & s : kSuites) {
    if (static_cast<uint16_t> (s.id) == suite_id)
      return &s;
  }
  return nullptr;
}

const SuiteParams *
suite_params (CipherSuite suite)
{
  return suite_params (static_cast<uint16_t> (suite));
}

}  // namespace sframe
