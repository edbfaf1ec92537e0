#include "janus-room-common.h"

bool
janus_room_restrict_ice (GstElement * webrtc, const std::string & address)
{
  if (address.empty ())
    return true;
  GObject *ice = nullptr;
  g_object_get (webrtc, "ice-agent", &ice, nullptr);
  if (!ice)
    return false;
  gboolean added = FALSE;
  g_signal_emit_by_name (ice, "add-local-ip-address", address.c_str (), &added);
  gst_object_unref (ice);
  return added;
}

namespace {

struct StatsTimer {
  GstElement *element;
  GstStructure * (*make_stats) (GstElement *);
};

gboolean
post_stats (gpointer data)
{
  auto *timer = static_cast<StatsTimer *> (data);
  gst_element_post_message (timer->element,
      gst_message_new_element (GST_OBJECT (timer->element), timer->make_stats (timer->element)));
  return G_SOURCE_CONTINUE;
}

}  // namespace

GSource *
janus_room_start_stats_timer (SignallingLoop & loop, GstElement * element, guint interval,
    GstStructure * (*make_stats) (GstElement *))
{
  if (!interval)
    return nullptr;
  GSource *timer = g_timeout_source_new (interval);
  g_source_set_callback (timer, post_stats, new StatsTimer {element, make_stats},
      [] (gpointer data) { delete static_cast<StatsTimer *> (data); });
  g_source_attach (timer, loop.context ());
  return timer;
}
