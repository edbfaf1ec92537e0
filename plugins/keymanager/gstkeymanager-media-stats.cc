#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstkeymanager-media-stats.h"

namespace keymanager {

/* The counters of one sframeenc or sframedec, if it uses our key store:
 * read through its public properties, so any element with a `key-store`
 * and a `stats` of the same shapes counts. */
static void
add_media_stats (GstElement * element, GstSFrameKeyStore * ours, MediaStats * media)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (element);
  GParamSpec *store_spec = g_object_class_find_property (klass, "key-store");
  GParamSpec *stats_spec = g_object_class_find_property (klass, "stats");
  if (!store_spec || !stats_spec || store_spec->value_type != GST_TYPE_SFRAME_KEY_STORE ||
      stats_spec->value_type != GST_TYPE_STRUCTURE)
    return;
  GstSFrameKeyStore *store = nullptr;
  g_object_get (element, "key-store", &store, nullptr);
  bool same = store == ours;
  gst_clear_object (&store);
  if (!same)
    return;
  GstStructure *stats = nullptr;
  g_object_get (element, "stats", &stats, nullptr);
  if (!stats)
    return;
  auto get = [stats] (const char *field) {
    guint64 v = 0;
    gst_structure_get_uint64 (stats, field, &v);
    return v;
  };
  if (gst_structure_has_name (stats, "application/x-sframe-enc-stats")) {
    media->encoders++;
    media->frames_encrypted += get ("frames");
    media->encrypt_dropped += get ("dropped");
  } else if (gst_structure_has_name (stats, "application/x-sframe-dec-stats")) {
    media->decoders++;
    media->frames_decrypted += get ("frames");
    media->decrypt_dropped += get ("dropped");
    media->auth_failures += get ("auth-failures");
    media->unknown_key += get ("unknown-key");
    media->replayed += get ("replayed");
  }
  gst_structure_free (stats);
}

MediaStats
collect_media_stats (GstElement * element, GstSFrameKeyStore * store)
{
  MediaStats media;
  GstObject *top = GST_OBJECT (gst_object_ref (element));
  while (GstObject *parent = gst_object_get_parent (top)) {
    gst_object_unref (top);
    top = parent;
  }
  if (!store || !GST_IS_BIN (top)) {
    gst_object_unref (top);
    return media;
  }
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (top));
  GValue item = G_VALUE_INIT;
  bool more = true;
  while (more) {
    switch (gst_iterator_next (it, &item)) {
      case GST_ITERATOR_OK:
        add_media_stats (GST_ELEMENT (g_value_get_object (&item)), store, &media);
        g_value_reset (&item);
        break;
      case GST_ITERATOR_RESYNC:
        media = MediaStats ();
        gst_iterator_resync (it);
        break;
      default:
        more = false;
        break;
    }
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  gst_object_unref (top);
  return media;
}

}  // namespace keymanager
