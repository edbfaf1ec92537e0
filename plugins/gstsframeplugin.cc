#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sframedec/gstsframedec.h"
#include "sframeenc/gstsframeenc.h"
#include "rtpvp8sframepay/gstrtpvp8sframepay.h"
#include "rtpvp9sframepay/gstrtpvp9sframepay.h"
#include "rtpsframepay/gstrtpsframepay.h"
#include "rtpsframedepay/gstrtpsframedepay.h"
#include "keymanager/gstkeymanager.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = FALSE;
  ok |= GST_ELEMENT_REGISTER (sframeenc, plugin);
  ok |= GST_ELEMENT_REGISTER (sframedec, plugin);
  ok |= GST_ELEMENT_REGISTER (rtpvp8sframepay, plugin);
  ok |= GST_ELEMENT_REGISTER (rtpvp9sframepay, plugin);
  ok |= GST_ELEMENT_REGISTER (rtpsframepay, plugin);
  ok |= GST_ELEMENT_REGISTER (rtpsframedepay, plugin);
  ok |= GST_ELEMENT_REGISTER (keymanager, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sframe,
    "SFrame (RFC 9605) end-to-end media encryption", plugin_init, VERSION, GST_LICENSE,
    GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
