/* The GstStructures keymanager shows the application: its element messages
 * (sframe-roster, sframe-member-refused, sframe-key-rotated, sframe-left,
 * sframe-stats)
 * and the roster and stats properties. None carries key or token bytes. */
#pragma once

#include <gst/gst.h>
#include <gst/sframe/keys/key-provider.h>

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

/* What the sframeenc and sframedec elements sharing the room's key store
 * counted (their `stats`), summed over the elements of each kind. */
struct MediaStats {
  guint encoders = 0;
  guint64 frames_encrypted = 0;
  guint64 encrypt_dropped = 0;
  guint decoders = 0;
  guint64 frames_decrypted = 0;
  guint64 decrypt_dropped = 0;
  guint64 auth_failures = 0;
  guint64 unknown_key = 0;
  guint64 replayed = 0;
};

/* "sframe-roster": room, epoch, committer, security-code,
 * security-code-groups, member-count, names, lobby-count, lobby-names,
 * members, lobby. members and lobby are GST_TYPE_LIST of "member"
 * structures (fingerprint, member-id, display-name, role, grants, index);
 * the arrays of words before them are the same, readable where the
 * structures are printed (gst-launch-1.0 -m). */
GstStructure *roster_structure (const std::string & room, const sframe::room::RosterView & roster);
GstStructure *member_refused_structure (const std::string & room, const std::string & who,
    sframe::room::Refusal reason, const std::string & detail);
GstStructure *key_rotated_structure (const std::string & room, guint64 key_id, const std::string & reason);
GstStructure *left_structure (const std::string & room, const std::string & reason);
/* The `stats` property. */
GstStructure *stats_structure (const sframe::room::Stats & stats, const BusStats & bus);
/* "sframe-stats": room, epoch, member-count, lobby-count, the fields of
 * stats_structure, and the media elements' counters. */
GstStructure *stats_message_structure (const std::string & room, const sframe::room::RosterView & roster,
    const sframe::room::Stats & stats, const BusStats & bus, const MediaStats & media);

}  // namespace keymanager
