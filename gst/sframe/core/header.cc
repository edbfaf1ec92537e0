#include <gst/sframe/core/header.h>

#include <cstring>

namespace sframe {

/* Bytes of a value's shortest big-endian form (value != 0). */
static size_t
value_bytes (uint64_t value)
{
  return static_cast<size_t> (8 - __builtin_clzll (value) / 8);
}

/* Bytes a field needs after the config byte: 0 when it fits in 3 bits. */
static size_t
field_size (uint64_t value)
{
  return value < 8 ? 0 : value_bytes (value);
}

size_t
header_size (const Header & header)
{
  return 1 + field_size (header.key_id) + field_size (header.counter);
}

static uint8_t
config_bits (uint64_t value)
{
  size_t n = field_size (value);
  return n == 0 ? static_cast<uint8_t> (value) : static_cast<uint8_t> (0x8 | (n - 1));
}

static uint8_t *
write_field (uint64_t value, uint8_t * out)
{
  for (size_t n = field_size (value); n > 0; n--)
    *out++ = static_cast<uint8_t> (value >> (8 * (n - 1)));
  return out;
}

size_t
encode_header (const Header & header, uint8_t * out)
{
  uint8_t *p = out;
  *p++ = static_cast<uint8_t> (config_bits (header.key_id) << 4 | config_bits (header.counter));
  p = write_field (header.key_id, p);
  p = write_field (header.counter, p);
  return static_cast<size_t> (p - out);
}

/* The big-endian number in p[0..n), 1 <= n <= 8, where `available` bytes
 * may be read from p. With 8 of them one word load does it, which is the
 * usual case: a frame's tag follows its header. */
static uint64_t
read_big_endian (const uint8_t * p, size_t n, size_t available)
{
  if (available >= 8) {
    uint64_t word;
    std::memcpy (&word, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    word = __builtin_bswap64 (word);
#endif
    return word >> (64 - 8 * n);
  }
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* Reads one KID or CTR given its 4 config bits. */
static Status
read_field (uint8_t bits, ByteView in, size_t * pos, uint64_t * value)
{
  if (!(bits & 0x8)) {
    *value = bits;
    return Status::ok;
  }
  size_t n = (bits & 0x7) + 1;
  size_t available = in.size - *pos;
  if (available < n)
    return Status::header_truncated;
  uint64_t v = read_big_endian (in.data + *pos, n, available);
  /* Shortest form only: no leading zero byte, nothing that fits in 3 bits. */
  if (v < 8 || v >> (8 * (n - 1)) == 0)
    return Status::header_non_minimal;
  *pos += n;
  *value = v;
  return Status::ok;
}

Status
decode_header (ByteView in, Header * header, size_t * header_len)
{
  if (in.empty ())
    return Status::header_truncated;
  size_t pos = 1;
  Header h;
  Status s = read_field (in.data[0] >> 4, in, &pos, &h.key_id);
  if (s != Status::ok)
    return s;
  s = read_field (in.data[0] & 0xf, in, &pos, &h.counter);
  if (s != Status::ok)
    return s;
  *header = h;
  *header_len = pos;
  return Status::ok;
}

}  // namespace sframe
