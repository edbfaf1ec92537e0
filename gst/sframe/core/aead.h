/* The SFrame AEADs (RFC 9605 section 4.5) over OpenSSL 3.0 EVP: AES-GCM
 * directly, and AES-CTR + truncated HMAC-SHA256 composed per section 4.5.1.
 *
 * An Aead keeps its OpenSSL contexts keyed once and reuses them for every
 * frame; it is not thread-safe, so each user (element, thread) owns one. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/core/status.h>

#include <memory>

namespace sframe {

/* The AAD is passed in two parts (SFrame header, then metadata) so that
 * callers never copy them together. */
struct AadParts {
  ByteView first;
  ByteView second;
  size_t size () const { return first.size + second.size; }
};

class GST_SFRAME_API Aead {
public:
  virtual ~Aead () = default;

  /* `key` is the suite's Nk-byte AEAD key; `*out` is null on failure. */
  static Status create (const SuiteParams & suite, ByteView key, std::unique_ptr<Aead> * out);

  /* Writes pt.size + tag_size bytes to `out` (which may equal pt.data). */
  virtual Status seal (const uint8_t * nonce, AadParts aad, ByteView pt, uint8_t * out) = 0;

  /* Reads ciphertext||tag; writes ct.size - tag_size bytes to `out` (which
   * may equal ct.data). Nothing written is meaningful unless ok. */
  virtual Status open (const uint8_t * nonce, AadParts aad, ByteView ct, uint8_t * out) = 0;

  size_t tag_size () const { return suite_.tag_size; }
  const SuiteParams & suite () const { return suite_; }

protected:
  explicit Aead (const SuiteParams & suite) : suite_ (suite) {}

private:
  const SuiteParams & suite_;
};

}  // namespace sframe
