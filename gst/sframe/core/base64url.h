/* base64url (RFC 4648 section 5) without padding, the form JWS and JWT use
 * (RFC 7515 section 2). Decoding is strict so that every byte string has
 * exactly one accepted text: only the URL alphabet, no '=' padding, no
 * whitespace, no length of 1 mod 4, and the unused low bits of the last
 * character must be zero. */
#pragma once

#include <gst/sframe/core/bytes.h>

#include <string>
#include <string_view>
#include <vector>

namespace sframe {

/* Largest text the decoder accepts (bounded so lengths fit OpenSSL's int). */
constexpr size_t kBase64UrlMaxText = 1 << 20;

GST_SFRAME_API std::string base64url_encode (ByteView bytes);

/* False (and *out untouched) on any deviation from the canonical form. */
GST_SFRAME_API bool base64url_decode (std::string_view text, std::vector<uint8_t> * out);
/* The same, for secrets: intermediate buffers are wiped. */
GST_SFRAME_API bool base64url_decode (std::string_view text, SecureBytes * out);

}  // namespace sframe
