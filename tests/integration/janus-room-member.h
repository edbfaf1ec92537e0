/* A room member as a gst-launch-1.0 process (one launch line, stats
 * messages on its output with -m), and what its janusroomsrc says it sees:
 * for the Janus room tests and benchmarks. */
#pragma once

#include "server-process.h"

#include <gst/gst.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace sframe_test {

/* A member: one gst-launch-1.0 process and its output. */
class Member {
public:
  Member (std::string name, std::string log) : name_ (std::move (name)), log_ (std::move (log)) {}
  ~Member () { process_.stop (true); }

  bool start (const std::string & line, std::string * error)
  {
    return start_program ("gst-launch-1.0 -m -e " + line, error);
  }
  /* Any program (a shell command line), its output to the log. */
  bool start_program (const std::string & command, std::string * error)
  {
    return process_.start ({"/bin/sh", "-c", "exec " + command + " > " + log_ + " 2>&1"}, error);
  }
  /* The log's lines that start with `prefix`, oldest first. */
  std::vector<std::string> lines (const std::string & prefix) const
  {
    std::vector<std::string> out;
    std::ifstream in (log_);
    std::string line;
    while (std::getline (in, line))
      if (line.rfind (prefix, 0) == 0)
        out.push_back (line);
    return out;
  }
  void stop () { process_.stop (); }
  bool running () { return process_.running (); }
  const std::string & name () const { return name_; }
  pid_t pid () const { return process_.pid (); }

  /* Every stats message `element` posted so far, oldest first. */
  std::vector<std::pair<int64_t, std::string>> messages (const std::string & element,
      const std::string & kind) const
  {
    std::vector<std::pair<int64_t, std::string>> out;
    std::ifstream in (log_);
    std::string line, marker = "from element \"" + element + "\" (element): " + kind + ",";
    while (std::getline (in, line)) {
      size_t at = line.find (marker);
      if (at == std::string::npos)
        continue;
      std::string text = line.substr (at + marker.size () - kind.size () - 1);
      GstStructure *s = gst_structure_from_string (text.c_str (), nullptr);
      if (!s)
        continue;
      gint64 wall = 0;
      gst_structure_get_int64 (s, "wall-time-ms", &wall);
      gst_structure_free (s);
      out.emplace_back (wall, text);
    }
    return out;
  }

  /* The log's warnings and errors, and the room elements' own lines. */
  std::string log_notes () const
  {
    std::ifstream in (log_);
    std::string line, notes;
    int n = 0;
    while (std::getline (in, line) && n < 60)
      if (line.find ("Got message") == std::string::npos &&
          (line.find ("WARN") != std::string::npos || line.find ("ERROR") != std::string::npos ||
              line.find ("janusroom") != std::string::npos)) {
        notes += line.substr (0, 300) + "\n";
        n++;
      }
    return notes;
  }

  std::string log_tail () const
  {
    std::ifstream in (log_);
    std::stringstream all;
    all << in.rdbuf ();
    std::string text = all.str ();
    return text.size () > 4000 ? text.substr (text.size () - 4000) : text;
  }

private:
  std::string name_;
  std::string log_;
  ServerProcess process_;
};

/* One tile of a member's janusroomsrc, as its latest stats describe it. */
struct TileView {
  std::string name, label, state, media;
  bool verified = false;
};

inline std::vector<TileView>
latest_tiles (const Member & receiver)
{
  std::vector<TileView> out;
  auto messages = receiver.messages ("sub", "janus-room-src-stats");
  if (messages.empty ())
    return out;
  GstStructure *s = gst_structure_from_string (messages.back ().second.c_str (), nullptr);
  const GValue *tiles = gst_structure_get_value (s, "tiles");
  for (guint i = 0; tiles && GST_VALUE_HOLDS_LIST (tiles) && i < gst_value_list_get_size (tiles); i++) {
    const GValue *v = gst_value_list_get_value (tiles, i);
    if (!GST_VALUE_HOLDS_STRUCTURE (v))
      continue;
    const GstStructure *tile = gst_value_get_structure (v);
    TileView t;
    t.name = gst_structure_get_string (tile, "name") ? gst_structure_get_string (tile, "name") : "";
    t.label = gst_structure_get_string (tile, "label") ? gst_structure_get_string (tile, "label") : "";
    t.state = gst_structure_get_string (tile, "state") ? gst_structure_get_string (tile, "state") : "";
    t.media = gst_structure_get_string (tile, "media") ? gst_structure_get_string (tile, "media") : "";
    gboolean verified = FALSE;
    gst_structure_get_boolean (tile, "verified", &verified);
    t.verified = verified;
    out.push_back (t);
  }
  gst_structure_free (s);
  return out;
}

/* Every other name decrypting, verified, both media, at `receiver`. */
inline bool
sees_everyone (const Member & receiver, const std::vector<std::string> & others)
{
  auto tiles = latest_tiles (receiver);
  for (const auto & other : others)
    for (const char *media : {"video", "audio"}) {
      bool found = false;
      for (const auto & t : tiles)
        found = found || (t.name == other && t.media == media && t.verified && t.state == "decrypting");
      if (!found)
        return false;
    }
  return true;
}

}  // namespace sframe_test
