/* Explicit results of the SFrame core: every operation returns a Status. */
#pragma once

#include <gst/sframe/core/api.h>

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
};

/* A stable, lowercase, human-readable name; never contains key material. */
GST_SFRAME_API const char *status_name (Status status);

}  // namespace sframe
