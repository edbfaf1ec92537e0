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
  }
  return "unknown status";
}

}  // namespace sframe
