#include <gst/sframe/core/bytes.h>

#include <gst/sframe/core/crypto/crypto.h>

#include <cstring>

namespace sframe {

SecureBytes::SecureBytes (size_t size)
  : data_ (size ? new uint8_t[size] () : nullptr), size_ (size)
{
}

SecureBytes::SecureBytes (ByteView bytes) : SecureBytes (bytes.size)
{
  if (bytes.size)
    std::memcpy (data_.get (), bytes.data, bytes.size);
}

SecureBytes::SecureBytes (const SecureBytes & other) : SecureBytes (other.view ())
{
}

SecureBytes::SecureBytes (SecureBytes && other) noexcept
  : data_ (std::move (other.data_)), size_ (other.size_)
{
  other.size_ = 0;
}

SecureBytes &
SecureBytes::operator= (const SecureBytes & other)
{
  if (this != &other) {
    SecureBytes copy (other);
    *this = std::move (copy);
  }
  return *this;
}

SecureBytes &
SecureBytes::operator= (SecureBytes && other) noexcept
{
  if (this != &other) {
    wipe ();
    data_ = std::move (other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecureBytes::~SecureBytes ()
{
  wipe ();
}

void
secure_wipe (void *data, size_t size)
{
  crypto::wipe (data, size);
}

void
SecureBytes::wipe ()
{
  if (data_)
    secure_wipe (data_.get (), size_);
  data_.reset ();
  size_ = 0;
}

bool
SecureBytes::equals (ByteView other) const
{
  if (other.size != size_)
    return false;
  return crypto::equal_in_constant_time (data_.get (), other.data, size_);
}

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

SecureBytes
hex_to_bytes (const char *hex)
{
  if (!hex)
    return {};
  size_t len = std::strlen (hex);
  if (len % 2)
    return {};
  SecureBytes out (len / 2);
  for (size_t i = 0; i < out.size (); i++) {
    int hi = hex_value (hex[2 * i]);
    int lo = hex_value (hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return {};
    out.data ()[i] = static_cast<uint8_t> (hi << 4 | lo);
  }
  return out;
}

}  // namespace sframe
