#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-messages.h"

#include <array>
#include <vector>

namespace keymanager {

/* A roster message carries every member, and every member posts one per
 * change: field names as quarks, not looked up (under GLib's global quark
 * lock) for each of them. */
struct MemberFields {
  GQuark name = g_quark_from_static_string ("member");
  GQuark fingerprint = g_quark_from_static_string ("fingerprint");
  GQuark member_id = g_quark_from_static_string ("member-id");
  GQuark display_name = g_quark_from_static_string ("display-name");
  GQuark role = g_quark_from_static_string ("role");
  GQuark grants = g_quark_from_static_string ("grants");
  GQuark index = g_quark_from_static_string ("index");
};

/* The spelling of every grant set (four grants: sixteen sets), made once.
 * Each roster entry points at one, as a static string: two allocations
 * and two frees fewer per member, per message, at every member. */
static const char *
grants_name (uint32_t grants)
{
  static const auto names = [] {
    std::array<std::string, 16> all;
    for (uint32_t g = 0; g < all.size (); g++)
      all[g] = sframe::token::grants_to_string (g);
    return all;
  }();
  return names[grants % names.size ()].c_str ();
}

static void
set_static_string (GstStructure * s, GQuark field, const char *value)
{
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_static_string (&v, value);
  gst_structure_id_take_value (s, field, &v);
}

static GstStructure *
member_structure (const sframe::room::MemberInfo & m)
{
  static const MemberFields f;
  GstStructure *s = gst_structure_new_id (f.name,
      f.fingerprint, G_TYPE_STRING, m.fingerprint.c_str (),
      f.member_id, G_TYPE_STRING, m.member_id.c_str (),
      f.display_name, G_TYPE_STRING, m.display_name.c_str (), nullptr);
  set_static_string (s, f.role, sframe::token::role_name (m.role));
  set_static_string (s, f.grants, grants_name (m.grants));
  gst_structure_id_set (s, f.index, G_TYPE_UINT, static_cast<guint> (m.index), nullptr);
  return s;
}

static void
set_member_list (GstStructure * s, const char *field, const std::vector<sframe::room::MemberInfo> & members)
{
  GValue list = G_VALUE_INIT;
  gst_value_list_init (&list, members.size ());
  for (const auto & m : members) {
    GValue item = G_VALUE_INIT;
    g_value_init (&item, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&item, member_structure (m));
    gst_value_list_append_and_take_value (&list, &item);
  }
  gst_structure_take_value (s, field, &list);
}

/* gst_structure_to_string (what `gst-launch-1.0 -m` prints) escapes
 * nested structures and spaces; an array of plain words reads as
 * `< alice:2522a8ce391c3bf9, bob:7f01c2d3e4f5a6b7 >`. */
static void
set_string_array (GstStructure * s, const char *field, std::vector<gchar *> words)
{
  GValue array = G_VALUE_INIT;
  gst_value_array_init (&array, words.size ());
  for (gchar *w : words) {
    GValue item = G_VALUE_INIT;
    g_value_init (&item, G_TYPE_STRING);
    g_value_take_string (&item, w);
    gst_value_array_append_and_take_value (&array, &item);
  }
  gst_structure_take_value (s, field, &array);
}

/* "DISPLAY-NAME:FINGERPRINT16": 16 hex digits are what admit and revoke
 * take as a fingerprint prefix. */
static void
set_name_array (GstStructure * s, const char *field, const std::vector<sframe::room::MemberInfo> & members)
{
  std::vector<gchar *> words;
  words.reserve (members.size ());
  for (const auto & m : members) {
    gchar *fp = g_strndup (m.fingerprint.c_str (), 16);
    words.push_back (g_strconcat (m.display_name.c_str (), ":", fp, nullptr));
    g_free (fp);
  }
  set_string_array (s, field, std::move (words));
}

static void
set_code_groups (GstStructure * s, const std::string & code)
{
  std::vector<gchar *> groups;
  gchar **split = g_strsplit (code.c_str (), " ", -1);
  for (gchar **g = split; *g; g++) {
    if (**g)
      groups.push_back (g_strdup (*g));
  }
  g_strfreev (split);
  set_string_array (s, "security-code-groups", std::move (groups));
}

GstStructure *
roster_structure (const std::string & room, const sframe::room::RosterView & roster)
{
  GstStructure *s = gst_structure_new ("sframe-roster",
      "room", G_TYPE_STRING, room.c_str (),
      "epoch", G_TYPE_UINT64, static_cast<guint64> (roster.epoch),
      "committer", G_TYPE_STRING, roster.committer.c_str (),
      "security-code", G_TYPE_STRING, roster.security_code.c_str (), nullptr);
  set_code_groups (s, roster.security_code);
  gst_structure_set (s, "member-count", G_TYPE_UINT, static_cast<guint> (roster.members.size ()), nullptr);
  set_name_array (s, "names", roster.members);
  gst_structure_set (s, "lobby-count", G_TYPE_UINT, static_cast<guint> (roster.lobby.size ()), nullptr);
  set_name_array (s, "lobby-names", roster.lobby);
  set_member_list (s, "members", roster.members);
  set_member_list (s, "lobby", roster.lobby);
  return s;
}

GstStructure *
member_refused_structure (const std::string & room, const std::string & who,
    sframe::room::Refusal reason, const std::string & detail)
{
  return gst_structure_new ("sframe-member-refused",
      "room", G_TYPE_STRING, room.c_str (),
      "who", G_TYPE_STRING, who.c_str (),
      "reason", G_TYPE_STRING, sframe::room::refusal_name (reason),
      "detail", G_TYPE_STRING, detail.c_str (), nullptr);
}

GstStructure *
key_rotated_structure (const std::string & room, guint64 key_id, const std::string & reason)
{
  return gst_structure_new ("sframe-key-rotated",
      "room", G_TYPE_STRING, room.c_str (),
      "key-id", G_TYPE_UINT64, key_id,
      "reason", G_TYPE_STRING, reason.c_str (), nullptr);
}

GstStructure *
left_structure (const std::string & room, const std::string & reason)
{
  return gst_structure_new ("sframe-left",
      "room", G_TYPE_STRING, room.c_str (),
      "reason", G_TYPE_STRING, reason.c_str (), nullptr);
}

static void
set_stats_fields (GstStructure * s, const sframe::room::Stats & stats, const BusStats & bus)
{
  gst_structure_set (s,
      "messages-sent", G_TYPE_UINT64, static_cast<guint64> (stats.messages_sent),
      "bytes-sent", G_TYPE_UINT64, static_cast<guint64> (stats.bytes_sent),
      "messages-received", G_TYPE_UINT64, static_cast<guint64> (stats.messages_received),
      "bytes-received", G_TYPE_UINT64, static_cast<guint64> (stats.bytes_received),
      "messages-rejected", G_TYPE_UINT64, static_cast<guint64> (stats.messages_rejected),
      "refused-members", G_TYPE_UINT64, static_cast<guint64> (stats.refused_members),
      "rotations", G_TYPE_UINT64, static_cast<guint64> (stats.rotations),
      "resyncs", G_TYPE_UINT64, static_cast<guint64> (stats.resyncs),
      "key-resends", G_TYPE_UINT64, static_cast<guint64> (stats.key_resends),
      "missing-announced", G_TYPE_UINT64, static_cast<guint64> (stats.missing_announced),
      "publish-failures", G_TYPE_UINT64, bus.publish_failures,
      "queue-overflows", G_TYPE_UINT64, bus.queue_overflows,
      "bus", G_TYPE_STRING, bus.bus.c_str (),
      "bus-connected", G_TYPE_BOOLEAN, bus.connected,
      "disconnects", G_TYPE_UINT64, bus.disconnects,
      "reconnects", G_TYPE_UINT64, bus.reconnects, nullptr);
}

GstStructure *
stats_structure (const sframe::room::Stats & stats, const BusStats & bus)
{
  GstStructure *s = gst_structure_new_empty ("application/x-sframe-keymanager-stats");
  set_stats_fields (s, stats, bus);
  return s;
}

GstStructure *
stats_message_structure (const std::string & room, const sframe::room::RosterView & roster,
    const sframe::room::Stats & stats, const BusStats & bus, const MediaStats & media)
{
  GstStructure *s = gst_structure_new ("sframe-stats",
      "room", G_TYPE_STRING, room.c_str (),
      "epoch", G_TYPE_UINT64, static_cast<guint64> (roster.epoch),
      "member-count", G_TYPE_UINT, static_cast<guint> (roster.members.size ()),
      "lobby-count", G_TYPE_UINT, static_cast<guint> (roster.lobby.size ()), nullptr);
  set_stats_fields (s, stats, bus);
  gst_structure_set (s,
      "encoders", G_TYPE_UINT, media.encoders,
      "frames-encrypted", G_TYPE_UINT64, media.frames_encrypted,
      "encrypt-dropped", G_TYPE_UINT64, media.encrypt_dropped,
      "decoders", G_TYPE_UINT, media.decoders,
      "frames-decrypted", G_TYPE_UINT64, media.frames_decrypted,
      "decrypt-dropped", G_TYPE_UINT64, media.decrypt_dropped,
      "auth-failures", G_TYPE_UINT64, media.auth_failures,
      "unknown-key", G_TYPE_UINT64, media.unknown_key,
      "replayed", G_TYPE_UINT64, media.replayed, nullptr);
  return s;
}

}  // namespace keymanager
