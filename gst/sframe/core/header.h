/* The SFrame header, RFC 9605 section 4.3:
 *
 *   +-+-+-+-+-+-+-+-+------------+------------+
 *   |X|  K  |Y|  C  |  KID...    |  CTR...    |
 *   +-+-+-+-+-+-+-+-+------------+------------+
 *
 * Values below 8 live in K / C; larger ones follow in K+1 / C+1 big-endian
 * bytes. Only the shortest encoding is accepted on decode. */
#pragma once

#include <gst/sframe/core/bytes.h>
#include <gst/sframe/core/status.h>

namespace sframe {

struct Header {
  uint64_t key_id = 0;
  uint64_t counter = 0;
};

constexpr size_t kMaxHeaderSize = 17;

GST_SFRAME_API size_t header_size (const Header & header);

/* Writes header_size(header) bytes; `out` must hold at least that many. */
GST_SFRAME_API size_t encode_header (const Header & header, uint8_t * out);

/* Parses the header at the start of `in`; on success `*header_len` is the
 * number of bytes it took. */
GST_SFRAME_API Status decode_header (ByteView in, Header * header, size_t * header_len);

}  // namespace sframe
