#include <gst/sframe/keys/key-provider.h>

#include <gst/sframe/core/crypto/crypto.h>

#include <algorithm>
#include <cstdio>

namespace sframe {
namespace room {

KeyProviderOutputs::~KeyProviderOutputs () = default;
KeyProvider::~KeyProvider () = default;

const char *
refusal_name (Refusal refusal)
{
  switch (refusal) {
    case Refusal::token_expired:
      return "token-expired";
    case Refusal::token_not_yet_valid:
      return "token-not-yet-valid";
    case Refusal::wrong_room:
      return "wrong-room";
    case Refusal::wrong_authority:
      return "wrong-authority";
    case Refusal::bad_token:
      return "bad-token";
    case Refusal::token_replayed:
      return "token-replayed";
    case Refusal::bad_hello_signature:
      return "bad-hello-signature";
    case Refusal::not_admitted:
      return "not-admitted";
    case Refusal::revoked:
      return "revoked";
    case Refusal::session_ended:
      return "session-ended";
    case Refusal::renewal_mismatch:
      return "renewal-mismatch";
    case Refusal::hello_conflict:
      return "hello-conflict";
  }
  return "unknown";
}

std::string
security_code (std::vector<std::string> fingerprints)
{
  std::sort (fingerprints.begin (), fingerprints.end ());
  return security_code_of_sorted (std::vector<std::string_view> (fingerprints.begin (), fingerprints.end ()));
}

std::string
security_code_of_sorted (const std::vector<std::string_view> & fingerprints)
{
  /* Fingerprints are fixed-length hex, so plain concatenation of the sorted
   * list is unambiguous. SHA-512 gives the 60 bytes the 12 groups need. */
  std::string input = "gst-sframe/1 roster";
  for (const auto & fp : fingerprints)
    input += fp;
  uint8_t digest[crypto::kSha512Size];
  if (!crypto::sha512 ({reinterpret_cast<const uint8_t *> (input.data ()), input.size ()}, digest))
    return {};
  std::string code;
  for (int group = 0; group < 12; group++) {
    uint64_t value = 0;
    for (int i = 0; i < 5; i++)
      value = (value << 8) | digest[group * 5 + i];
    char digits[8];
    std::snprintf (digits, sizeof digits, "%05u", static_cast<unsigned> (value % 100000));
    if (group)
      code += ' ';
    code += digits;
  }
  return code;
}

}  // namespace room
}  // namespace sframe
