/* The library's one result type: every operation returns a Status, and
 * what a person will read (a key file, a token, a bus address) returns a
 * Result, the Status with a message for people. */
#pragma once

#include <gst/sframe/core/api.h>

#include <string>
#include <utility>

namespace sframe {

enum class Status {
  ok = 0,
  invalid_argument,
  unsupported_suite,
  invalid_key,            /* base key empty or of an unusable size */
  header_truncated,
  header_non_minimal,     /* KID or CTR not in the shortest encoding */
  unknown_key,
  authentication_failed,  /* tag mismatch, or ciphertext shorter than a tag */
  replayed,
  counter_exhausted,
  buffer_too_small,
  malformed_frame,        /* codec framing could not be parsed */
  crypto_error,           /* OpenSSL itself failed */
  not_own_key,            /* a key added for receiving cannot encrypt */

  /* Files (key files, token files). */
  not_found,
  io_error,
  insecure_permissions,   /* a private key readable or writable by group/others */
  already_exists,         /* refusing to overwrite */
  bad_format,             /* not a key of the expected kind, or encrypted */

  /* Join tokens. */
  malformed_token,        /* not three base64url parts of JSON objects, bad header, too long */
  bad_algorithm,          /* alg is not "EdDSA" (e.g. "none", "HS256") */
  bad_signature,          /* claims this authority but its signature does not verify */
  wrong_authority,        /* iss (or kid) names another authority */
  wrong_room,
  expired,                /* now >= exp + skew */
  not_yet_valid,          /* iat > now + skew */
  lifetime_too_long,      /* exp - iat > max_lifetime */
  token_replayed,         /* jti already used */
  replay_cache_full,      /* the JtiCache is full of unexpired entries: fail closed */
  missing_claim,
  bad_claim,              /* a claim of the wrong type or value */

  /* The signalling bus. */
  bus_unavailable,        /* no connection could be made, or it was refused */
};

/* A stable, lowercase, human-readable name; never contains key material. */
GST_SFRAME_API const char *status_name (Status status);

/* A Status and, for people, a message that names the file, claim or
 * address at fault and the fix; never key material. */
struct Result {
  Status status = Status::ok;
  std::string message;

  Result () = default;
  Result (Status s, std::string m = {}) : status (s), message (std::move (m)) {}  // NOLINT: implicit by design
  bool ok () const { return status == Status::ok; }
};

}  // namespace sframe
