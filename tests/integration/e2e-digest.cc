#include "e2e-digest.h"

#include <gst/video/video.h>

#include <cstring>
#include <memory>

namespace e2e {

namespace {

struct ChecksumFree {
  void operator() (GChecksum * c) const { g_checksum_free (c); }
};
using Checksum = std::unique_ptr<GChecksum, ChecksumFree>;

Checksum
new_checksum ()
{
  return Checksum (g_checksum_new (G_CHECKSUM_SHA256));
}

std::string
finish (GChecksum * c)
{
  return g_checksum_get_string (c);
}

/* Parameter sets and access unit delimiters: payloaders drop or repeat
 * them, so they are not part of what a frame is compared by. */
bool
framing_nal (Bitstream bitstream, const guint8 * nal, gsize size)
{
  if (size == 0)
    return true;
  if (bitstream == Bitstream::h264) {
    guint type = nal[0] & 0x1f;
    return type == 7 || type == 8 || type == 9;
  }
  guint type = (nal[0] >> 1) & 0x3f;
  return type >= 32 && type <= 35;  /* VPS, SPS, PPS, AUD */
}

void
update_nal (GChecksum * c, const guint8 * nal, gsize size)
{
  guint8 len[4] = {guint8 (size >> 24), guint8 (size >> 16), guint8 (size >> 8), guint8 (size)};
  g_checksum_update (c, len, sizeof len);
  g_checksum_update (c, nal, size);
}

/* Each NAL unit of an Annex B stream, without start code and trailing
 * zero bytes, prefixed with its length. */
void
update_annexb (GChecksum * c, Bitstream bitstream, const guint8 * data, gsize size)
{
  gsize i = 0, start = G_MAXSIZE;
  auto flush = [&] (gsize end) {
    if (start == G_MAXSIZE)
      return;
    while (end > start && data[end - 1] == 0)
      end--;
    if (!framing_nal (bitstream, data + start, end - start))
      update_nal (c, data + start, end - start);
  };
  while (i + 2 < size) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      flush (i);
      i += 3;
      start = i;
      continue;
    }
    i++;
  }
  flush (size);
}

std::string
video_digest (const GstVideoInfo & info, GstBuffer * buffer)
{
  GstVideoFrame frame;
  GstVideoInfo copy = info;
  if (!gst_video_frame_map (&frame, &copy, buffer, GST_MAP_READ))
    return {};
  Checksum c = new_checksum ();
  const gchar *format = gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info));
  g_checksum_update (c.get (), reinterpret_cast<const guchar *> (format), strlen (format));
  for (guint comp = 0; comp < GST_VIDEO_FRAME_N_COMPONENTS (&frame); comp++) {
    const guint8 *row = static_cast<const guint8 *> (GST_VIDEO_FRAME_COMP_DATA (&frame, comp));
    gsize width = GST_VIDEO_FRAME_COMP_WIDTH (&frame, comp) * GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, comp);
    for (gint y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, comp); y++)
      g_checksum_update (c.get (), row + y * GST_VIDEO_FRAME_COMP_STRIDE (&frame, comp), width);
  }
  gst_video_frame_unmap (&frame);
  return finish (c.get ());
}

}  // namespace

std::string
encoded_digest (Bitstream bitstream, GstBuffer * buffer)
{
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return {};
  Checksum c = new_checksum ();
  if (bitstream == Bitstream::whole)
    g_checksum_update (c.get (), map.data, map.size);
  else
    update_annexb (c.get (), bitstream, map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  return finish (c.get ());
}

std::string
decoded_digest (GstCaps * caps, GstBuffer * buffer)
{
  if (!caps || gst_caps_is_empty (caps))
    return {};
  const gchar *name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (g_str_has_prefix (name, "video/")) {
    GstVideoInfo info;
    if (!gst_video_info_from_caps (&info, caps))
      return {};
    return video_digest (info, buffer);
  }
  GstMapInfo map;
  if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
    return {};
  Checksum c = new_checksum ();
  g_checksum_update (c.get (), map.data, map.size);
  gst_buffer_unmap (buffer, &map);
  return finish (c.get ());
}

}  // namespace e2e
