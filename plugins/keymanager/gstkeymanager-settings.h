/* keymanager's properties as one copyable struct. Its initial values are
 * the properties' defaults (install_properties reads them from a
 * default-constructed Settings); the protocol timers take theirs from the
 * library's room::Timing. */
#pragma once

#include "../common/gstsframesuite.h"

#include <gst/gst.h>
#include <gst/sframe/bus/bus.h>
#include <gst/sframe/core/bytes.h>
#include <gst/sframe/gstsframekeystore.h>
#include <gst/sframe/keys/key-provider.h>

#include <string>

namespace keymanager {

constexpr sframe::room::Timing kDefaultTiming {};
constexpr const char *kDefaultBus = "local://default";

struct Settings {
  std::string room = GST_SFRAME_DEFAULT_ROOM;
  std::string bus = kDefaultBus;
  std::string identity;
  sframe::SecureBytes token;   /* a bearer credential: never logged or read back */
  std::string token_file;
  std::string authority;
  sframe::BusSecurity bus_security;   /* TLS and NATS credentials (file paths) */
  bool require_admission = false;
  GstSFrameCipherSuite suite = kSFrameDefaultSuite;
  guint discovery_ms = kDefaultTiming.discovery_ms;
  guint switch_ms = kDefaultTiming.switch_timeout_ms;
  guint grace_ms = kDefaultTiming.grace_ms;
  guint heartbeat_ms = kDefaultTiming.heartbeat_ms;
  guint liveness_ms = kDefaultTiming.liveness_ms;
  guint ack_delay_ms = kDefaultTiming.ack_delay_ms;
  guint stats_ms = 5000;   /* sframe-stats messages; 0: none */
};

}  // namespace keymanager
