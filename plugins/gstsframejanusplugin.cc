#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "janusroomsink/gstjanusroomsink.h"
#include "janusroomsrc/gstjanusroomsrc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (janusroomsink, plugin);
  ok |= GST_ELEMENT_REGISTER (janusroomsrc, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sframejanus,
    "End-to-end encrypted rooms through a Janus VideoRoom", plugin_init, VERSION, GST_LICENSE,
    GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
