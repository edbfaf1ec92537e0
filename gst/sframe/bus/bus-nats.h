/* The NATS transport of the signalling bus (libnats). Internal: reached
 * through open_bus () with nats:// URIs; not installed. */
#pragma once

#include <gst/sframe/bus/bus.h>

#include <memory>
#include <string>
#include <vector>

namespace sframe {
namespace natsbus {

/* Connects to one server or to the nodes of one cluster (`urls`, each
 * "nats://[USER:PASS@]HOST:PORT" or "tls://..."), within a few seconds,
 * and reconnects forever afterwards. TLS is required when any URL is
 * tls:// or `security` names a CA; the server's certificate is then
 * verified against that CA (or the system's), and its name against the
 * URLs' host when that is a name. `shown` is the list as it may appear in
 * messages (redact_urls ()). The bus in *bus, or a reason. */
Result open_nats_bus (const std::vector<std::string> & urls, const std::string & shown,
    const BusSecurity & security, std::unique_ptr<Bus> * bus);

/* A comma-separated list of URLs without their credentials
 * ("nats://user:pass@host:4222" -> "nats://host:4222"). */
std::string redact_urls (const std::string & urls);

}  // namespace natsbus
}  // namespace sframe
