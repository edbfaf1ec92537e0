/* Join token parsing and verification on arbitrary input. Property: only
 * the one genuine token (signed by the fixed authority) ever verifies;
 * anything else is refused with a reason, without a crash. */
#include <gst/sframe/keys/identity.h>
#include <gst/sframe/keys/token.h>

#include <cstdlib>
#include <string>

namespace {

constexpr int64_t kNow = 1700000000;

struct Fixture {
  sframe::Identity authority;
  std::string genuine;

  Fixture ()
  {
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
      seed[i] = static_cast<uint8_t> (i * 7 + 1);
    sframe::Identity device;
    if (sframe::Identity::from_private_key ({seed, sizeof seed}, &authority) != sframe::Status::ok ||
        sframe::Identity::generate (&device) != sframe::Status::ok)
      std::abort ();
    sframe::token::IssueRequest req;
    req.room = "r";
    req.member_id = "m";
    req.display_name = "M";
    req.device_public_key = device.public_key ();
    if (!sframe::token::issue (authority, req, kNow, &genuine).ok ())
      std::abort ();
  }
};

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static Fixture fx;
  std::string input (reinterpret_cast<const char *> (data), size);
  /* Inputs starting with 'M' edit the genuine token instead (XOR at the
   * offsets given), so the fuzzer reaches the signature and claim checks
   * without having to find valid base64url and JSON by itself. */
  if (size >= 3 && data[0] == 'M') {
    input = fx.genuine;
    for (size_t i = 1; i + 1 < size; i += 2)
      input[(data[i] * 131u + i) % input.size ()] ^= static_cast<char> (data[i + 1]);
  }
  std::string header, claims;
  sframe::token::decode_unverified (input, &header, &claims);

  sframe::token::JtiCache cache;
  sframe::token::VerifyOptions options;
  options.room = "r";
  options.now = kNow + 1;
  const auto & pk = fx.authority.public_key ();
  auto result = sframe::token::verify (input, {pk.data (), pk.size ()}, options, cache);
  if (result.ok () && input != fx.genuine)
    std::abort ();
  return 0;
}
