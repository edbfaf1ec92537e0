/* What keymanager reads from files before it joins: this device's
 * identity, its join token and the room authority's public key; the
 * token file again whenever it changes; and bus URIs with their
 * credentials taken out, for messages. No message or log line here ever
 * holds token bytes. */
#pragma once

#include "gstkeymanager-settings.h"

#include <gst/gst.h>
#include <gst/sframe/core/bytes.h>
#include <gst/sframe/keys/key-provider.h>

#include <cstdint>
#include <string>

namespace keymanager {

/* A bus URI (or a comma-separated list of them) without user information
 * (credentials), fit for messages. */
std::string redact_bus_uri (const std::string & uri);

/* The provider's configuration: `s` with the identity, token and authority
 * files loaded. FALSE (an element error posted) when one is missing or
 * unreadable. */
bool load_config (GstElement * element, const Settings & s, sframe::room::Config * config);

/* Our own role, as the token grants it ("host", "member"; empty when the
 * token does not verify). The provider verifies the token as well; this
 * copy is for the `role` property only. */
std::string token_role (const sframe::room::Config & config, const sframe::room::Now & now);

/* token-file is read again when it changes: how a long meeting renews its
 * short-lived token (docs/key-protocol.md, "Renewal"). A change is a new
 * modification time or size, looked at most once a second. */
class TokenFileWatch {
public:
  TokenFileWatch () = default;
  /* Watches `path` for changes from its current content on. */
  explicit TokenFileWatch (std::string path);

  /* TRUE when the file changed since last seen, with its token (without
   * surrounding whitespace; possibly empty) in `token`. Unreadable files
   * count as unchanged. */
  bool poll (int64_t now_ms, sframe::SecureBytes * token);
  const std::string & path () const { return path_; }

private:
  std::string path_;   /* empty: nothing watched */
  std::string stamp_;  /* mtime and size when last read */
  int64_t next_check_ms_ = 0;
};

}  // namespace keymanager
