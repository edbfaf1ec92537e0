#include "recording-check.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <unordered_set>

namespace sframe_test {

namespace fs = std::filesystem;

Bytes
read_file (const std::string & path)
{
  std::ifstream in (path, std::ios::binary);
  return Bytes (std::istreambuf_iterator<char> (in), std::istreambuf_iterator<char> ());
}

std::vector<Bytes>
read_files (const std::string & dir, const std::string & prefix)
{
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto & entry : fs::directory_iterator (dir, ec))
    if (entry.path ().filename ().string ().rfind (prefix, 0) == 0)
      names.push_back (entry.path ().string ());
  std::sort (names.begin (), names.end ());
  std::vector<Bytes> out;
  for (const auto & n : names)
    out.push_back (read_file (n));
  return out;
}

std::string
list_dir (const std::string & dir)
{
  std::string names;
  std::error_code ec;
  for (const auto & entry : fs::directory_iterator (dir, ec))
    names += entry.path ().filename ().string () + " ";
  return names;
}

int
run_program (const std::vector<std::string> & argv, std::string * output)
{
  std::vector<gchar *> args;
  for (const auto & a : argv)
    args.push_back (const_cast<gchar *> (a.c_str ()));
  args.push_back (nullptr);
  gchar *out = nullptr;
  gint status = -1;
  GError *error = nullptr;
  if (!g_spawn_sync (nullptr, args.data (), nullptr, GSpawnFlags (G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL),
          nullptr, nullptr, &out, nullptr, &status, &error)) {
    if (output)
      *output = error ? error->message : "cannot run";
    g_clear_error (&error);
    return -1;
  }
  if (output)
    *output = out ? out : "";
  g_free (out);
  return status;
}

ChunkSearch
find_frame_chunks (const std::vector<Bytes> & frames, size_t skip, const Bytes & haystack, size_t chunk)
{
  auto view = [] (const uint8_t * p, size_t n) { return std::string_view (reinterpret_cast<const char *> (p), n); };
  std::unordered_set<std::string_view> wanted;
  ChunkSearch search;
  for (const auto & frame : frames) {
    for (size_t at = skip; at + chunk <= frame.size (); at += chunk) {
      const uint8_t *p = frame.data () + at;
      if (std::all_of (p, p + chunk, [p] (uint8_t b) { return b == p[0]; }))
        continue;
      search.chunks++;
      wanted.insert (view (p, chunk));
    }
  }
  std::unordered_set<std::string_view> seen;
  for (size_t at = 0; at + chunk <= haystack.size (); at++) {
    auto piece = view (haystack.data () + at, chunk);
    if (wanted.count (piece))
      seen.insert (piece);
  }
  /* Identical pieces in several frames count once each time they occur. */
  for (const auto & frame : frames)
    for (size_t at = skip; at + chunk <= frame.size (); at += chunk) {
      const uint8_t *p = frame.data () + at;
      if (!std::all_of (p, p + chunk, [p] (uint8_t b) { return b == p[0]; }) && seen.count (view (p, chunk)))
        search.found++;
    }
  return search;
}

std::vector<Bytes>
pull_all (const std::string & launch, std::string * error_note)
{
  std::vector<Bytes> out;
  GError *error = nullptr;
  GstElement *pipeline = gst_parse_launch (launch.c_str (), &error);
  if (!pipeline) {
    if (error_note)
      *error_note = error ? error->message : "cannot parse";
    g_clear_error (&error);
    return out;
  }
  g_clear_error (&error);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *failed = nullptr;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gint64 deadline = g_get_monotonic_time () + 120 * G_TIME_SPAN_SECOND;
  while (sink && !failed && g_get_monotonic_time () < deadline) {
    GstSample *sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), GST_SECOND / 5);
    if (!sample) {
      if (gst_app_sink_is_eos (GST_APP_SINK (sink)))
        break;
      failed = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
      continue;
    }
    GstMapInfo map;
    GstBuffer *buffer = gst_sample_get_buffer (sample);
    if (buffer && gst_buffer_map (buffer, &map, GST_MAP_READ)) {
      out.emplace_back (map.data, map.data + map.size);
      gst_buffer_unmap (buffer, &map);
    }
    gst_sample_unref (sample);
  }
  if (failed && error_note) {
    GError *e = nullptr;
    gst_message_parse_error (failed, &e, nullptr);
    *error_note = e ? e->message : "error";
    g_clear_error (&e);
  }
  if (failed)
    gst_message_unref (failed);
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  if (sink)
    gst_object_unref (sink);
  gst_object_unref (pipeline);
  return out;
}

double
psnr (const Bytes & a, const Bytes & b)
{
  if (a.size () != b.size () || a.empty ())
    return 0;
  double sum = 0;
  for (size_t i = 0; i < a.size (); i++) {
    double d = double (a[i]) - double (b[i]);
    sum += d * d;
  }
  if (sum == 0)
    return 99;
  return 10 * std::log10 (255.0 * 255.0 / (sum / double (a.size ())));
}

double
tone_fraction (const std::vector<float> & samples, int rate, double hz)
{
  const size_t block = size_t (rate / 10);
  const double w = 2 * M_PI * hz / rate;
  double at_tone = 0, total = 0;
  for (size_t start = 0; start + block <= samples.size (); start += block) {
    /* Goertzel: the energy of one DFT bin; 100 ms blocks put every
     * multiple of 10 Hz on a bin. */
    double s1 = 0, s2 = 0, energy = 0;
    for (size_t i = start; i < start + block; i++) {
      double s0 = samples[i] + 2 * std::cos (w) * s1 - s2;
      s2 = s1;
      s1 = s0;
      energy += double (samples[i]) * samples[i];
    }
    at_tone += s1 * s1 + s2 * s2 - 2 * std::cos (w) * s1 * s2;
    total += energy * double (block) / 2;
  }
  return total > 0 ? at_tone / total : 0;
}

}  // namespace sframe_test
