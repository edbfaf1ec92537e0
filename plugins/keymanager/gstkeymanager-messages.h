/* The GstStructures keymanager shows the application: its element messages
 * (sframe-roster, sframe-member-refused, sframe-key-rotated, sframe-left)
 * and the roster and stats properties. None carries key or token bytes. */
#pragma once

#include <gst/gst.h>
#include <gst/sframe/key-provider.h>

#include <string>

namespace keymanager {

/* What the element adds to KeyProvider::stats: the bus as it saw it. */
struct BusStats {
  std::string bus;                /* the URI without credentials */
  bool connected = false;
  guint64 disconnects = 0;
  guint64 reconnects = 0;
  guint64 publish_failures = 0;
  guint64 queue_overflows = 0;    /* incoming messages dropped: the worker's queue was full */
};

/* "sframe-roster": room, epoch, committer, security-code, members, lobby.
 * members and lobby are GST_TYPE_LIST of "member" structures
 * (fingerprint, member-id, display-name, role, grants, index). */
GstStructure *roster_structure (const std::string & room, const sframe::room::RosterView & roster);
GstStructure *member_refused_structure (const std::string & room, const std::string & who,
    sframe::room::Refusal reason, const std::string & detail);
GstStructure *key_rotated_structure (const std::string & room, guint64 key_id, const std::string & reason);
GstStructure *left_structure (const std::string & room, const std::string & reason);
GstStructure *stats_structure (const sframe::room::Stats & stats, const BusStats & bus);

}  // namespace keymanager
