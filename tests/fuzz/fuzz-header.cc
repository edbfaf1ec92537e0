/* sframe::decode_header on arbitrary bytes. Only the shortest encoding is
 * valid, so whatever decodes must re-encode to exactly the bytes read. */
#include "fuzz-common.h"

#include <gst/sframe/core/header.h>

#include <cstring>

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  sframe::Header header;
  size_t len = 0;
  sframe::Status s = sframe::decode_header ({data, size}, &header, &len);
  if (s != sframe::Status::ok) {
    FUZZ_CHECK (s == sframe::Status::header_truncated || s == sframe::Status::header_non_minimal);
    return 0;
  }

  FUZZ_CHECK (len >= 1 && len <= size && len <= sframe::kMaxHeaderSize);
  FUZZ_CHECK (sframe::header_size (header) == len);
  uint8_t encoded[sframe::kMaxHeaderSize];
  FUZZ_CHECK (sframe::encode_header (header, encoded) == len);
  FUZZ_CHECK (std::memcmp (encoded, data, len) == 0);
  return 0;
}
