#include <gst/sframe/core/base64url.h>

#include <gst/sframe/core/crypto/crypto.h>

#include <cstring>

namespace sframe {

namespace {

/* Index in the URL alphabet, or -1. */
int
url_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/* Validates `text` and rewrites it into `std` as padded standard base64,
 * ready for crypto::base64_decode_groups. Returns the decoded length, or -1. */
long
to_standard (std::string_view text, char *std_text)
{
  size_t n = text.size ();
  if (n > kBase64UrlMaxText || n % 4 == 1)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (url_value (text[i]) < 0)
      return -1;
    std_text[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
  }
  /* A final group of 2 (3) characters carries 1 (2) bytes; the 4 (2) bits
   * left over must be zero or two texts would decode to the same bytes. */
  size_t rem = n % 4;
  if (rem) {
    int last = url_value (text[n - 1]);
    int unused_mask = rem == 2 ? 0x0f : 0x03;
    if (last & unused_mask)
      return -1;
  }
  size_t padded = n;
  while (padded % 4)
    std_text[padded++] = '=';
  std_text[padded] = '\0';
  return static_cast<long> (n / 4 * 3 + (rem ? rem - 1 : 0));
}

/* Decodes into `out` (room for the padded length); false on failure. */
bool
decode_into (std::string_view text, uint8_t * out, char *scratch, size_t * out_len)
{
  long len = to_standard (text, scratch);
  if (len < 0)
    return false;
  size_t padded = (text.size () + 3) / 4 * 4;
  if (padded == 0) {
    *out_len = 0;
    return true;
  }
  if (!crypto::base64_decode_groups (scratch, padded, out))
    return false;
  *out_len = static_cast<size_t> (len);
  return true;
}

}  // namespace

std::string
base64url_encode (ByteView bytes)
{
  if (bytes.empty ())
    return {};
  if (bytes.size > kBase64UrlMaxText)
    return {};
  std::string out ((bytes.size + 2) / 3 * 4 + 1, '\0');
  out.resize (crypto::base64_encode (bytes, &out[0]));
  while (!out.empty () && out.back () == '=')
    out.pop_back ();
  for (char &c : out) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return out;
}

bool
base64url_decode (std::string_view text, std::vector<uint8_t> * out)
{
  if (text.size () > kBase64UrlMaxText)
    return false;
  size_t padded = (text.size () + 3) / 4 * 4;
  std::vector<char> scratch (padded + 1);
  std::vector<uint8_t> bytes (padded / 4 * 3);
  size_t len = 0;
  if (!decode_into (text, bytes.data (), scratch.data (), &len))
    return false;
  bytes.resize (len);
  *out = std::move (bytes);
  return true;
}

bool
base64url_decode (std::string_view text, SecureBytes * out)
{
  if (text.size () > kBase64UrlMaxText)
    return false;
  size_t padded = (text.size () + 3) / 4 * 4;
  /* The text itself is as secret as the bytes: wipe the rewritten copy. */
  SecureBytes scratch (padded + 1);
  SecureBytes bytes (padded / 4 * 3);
  size_t len = 0;
  if (!decode_into (text, bytes.data (), reinterpret_cast<char *> (scratch.data ()), &len))
    return false;
  *out = SecureBytes (ByteView (bytes.data (), len));
  return true;
}

}  // namespace sframe
