/* crypto.h's random bytes, wiping, digests and base64 over OpenSSL 3.0. */
#include <gst/sframe/core/crypto/crypto.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>

namespace sframe {
namespace crypto {

namespace {

/* OpenSSL takes int lengths. */
bool
fits_int (size_t n)
{
  return n <= static_cast<size_t> (INT_MAX);
}

bool
digest (const EVP_MD * md, ByteView input, uint8_t * out, size_t expected)
{
  static const uint8_t empty = 0;
  unsigned int len = 0;
  return EVP_Digest (input.data ? input.data : &empty, input.size, out, &len, md, nullptr) == 1 &&
      len == expected;
}

}  // namespace

bool
random_bytes (uint8_t * out, size_t size)
{
  return fits_int (size) && RAND_bytes (out, static_cast<int> (size)) == 1;
}

bool
random_secret_bytes (uint8_t * out, size_t size)
{
  return fits_int (size) && RAND_priv_bytes (out, static_cast<int> (size)) == 1;
}

void
wipe (void * data, size_t size)
{
  if (data && size)
    OPENSSL_cleanse (data, size);
}

bool
equal_in_constant_time (const uint8_t * a, const uint8_t * b, size_t size)
{
  return size == 0 || CRYPTO_memcmp (a, b, size) == 0;
}

bool
sha256 (ByteView input, uint8_t * out)
{
  return digest (EVP_sha256 (), input, out, kSha256Size);
}

bool
sha512 (ByteView input, uint8_t * out)
{
  return digest (EVP_sha512 (), input, out, kSha512Size);
}

size_t
base64_encode (ByteView bytes, char * out)
{
  if (!fits_int (bytes.size) || bytes.empty ()) {
    out[0] = '\0';
    return 0;
  }
  int n = EVP_EncodeBlock (reinterpret_cast<unsigned char *> (out), bytes.data, static_cast<int> (bytes.size));
  return n > 0 ? static_cast<size_t> (n) : 0;
}

bool
base64_decode_groups (const char * text, size_t size, uint8_t * out)
{
  if (size == 0)
    return true;
  if (size % 4 || !fits_int (size))
    return false;
  int got = EVP_DecodeBlock (out, reinterpret_cast<const unsigned char *> (text), static_cast<int> (size));
  return got >= 0 && static_cast<size_t> (got) == size / 4 * 3;
}

}  // namespace crypto
}  // namespace sframe
