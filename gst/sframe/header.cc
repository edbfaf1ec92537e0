#include <gst/sframe/header.h>

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

/* Reads one KID or CTR given its 4 config bits. */
static Status
read_field (uint8_t bits, ByteView in, size_t * pos, uint64_t * value)
{
  if (!(bits & 0x8)) {
    *value = bits;
    return Status::ok;
  }
  size_t n = (bits & 0x7) + 1;
  if (in.size - *pos < n)
    return Status::header_truncated;
  const uint8_t *p = in.data + *pos;
  if (n > 1 && p[0] == 0)
    return Status::header_non_minimal;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 8 | p[i];
  if (v < 8)
    return Status::header_non_minimal;
  *pos += n;
  *value = v;
  return Status::ok;
}

Status
decode_header (ByteView in, Header * header, size_t * header_len)
{
  if (in.size < 1)
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
