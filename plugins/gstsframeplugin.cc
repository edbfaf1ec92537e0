#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sframedec/gstsframedec.h"
#include "sframeenc/gstsframeenc.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (sframeenc, plugin);
  ok |= GST_ELEMENT_REGISTER (sframedec, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sframe,
    "SFrame (RFC 9605) end-to-end media encryption", plugin_init, VERSION, GST_LICENSE,
    GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
