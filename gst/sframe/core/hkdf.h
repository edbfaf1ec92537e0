/* HKDF (RFC 5869) over OpenSSL 3.0's EVP_KDF, split into its two steps as
 * RFC 9605 and RFC 9180 use them. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/core/status.h>

namespace sframe {

GST_SFRAME_API Status hkdf_extract (HashAlgorithm hash, ByteView salt, ByteView ikm,
    SecureBytes * prk);

GST_SFRAME_API Status hkdf_expand (HashAlgorithm hash, ByteView prk, ByteView info,
    size_t length, SecureBytes * okm);

}  // namespace sframe
