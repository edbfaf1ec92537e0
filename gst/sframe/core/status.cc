#include <gst/sframe/core/status.h>

namespace sframe {

const char *
status_name (Status status)
{
  switch (status) {
    case Status::ok: return "ok";
    case Status::invalid_argument: return "invalid argument";
    case Status::unsupported_suite: return "unsupported cipher suite";
    case Status::invalid_key: return "invalid key";
    case Status::header_truncated: return "truncated header";
    case Status::header_non_minimal: return "non-minimal header";
    case Status::unknown_key: return "unknown key id";
    case Status::authentication_failed: return "authentication failed";
    case Status::replayed: return "replayed frame";
    case Status::counter_exhausted: return "counter exhausted";
    case Status::buffer_too_small: return "buffer too small";
    case Status::malformed_frame: return "malformed frame";
    case Status::crypto_error: return "crypto library error";
    case Status::not_own_key: return "key added for receiving only";
    case Status::not_found: return "not found";
    case Status::io_error: return "i/o error";
    case Status::insecure_permissions: return "insecure permissions";
    case Status::already_exists: return "already exists";
    case Status::bad_format: return "bad format";
    case Status::malformed_token: return "malformed";
    case Status::bad_algorithm: return "bad algorithm";
    case Status::bad_signature: return "bad signature";
    case Status::wrong_authority: return "wrong authority";
    case Status::wrong_room: return "wrong room";
    case Status::expired: return "expired";
    case Status::not_yet_valid: return "not yet valid";
    case Status::lifetime_too_long: return "lifetime too long";
    case Status::token_replayed: return "replayed";
    case Status::replay_cache_full: return "replay cache full";
    case Status::missing_claim: return "missing claim";
    case Status::bad_claim: return "bad claim";
    case Status::bus_unavailable: return "bus unavailable";
  }
  return "unknown status";
}

}  // namespace sframe
