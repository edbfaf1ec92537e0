/* Symbol visibility for libgstsframe-1.0; everything not marked stays private. */
#pragma once

#if defined(BUILDING_GST_SFRAME)
#define GST_SFRAME_API __attribute__ ((visibility ("default")))
#else
#define GST_SFRAME_API
#endif
