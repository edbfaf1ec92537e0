/* The cipher suite as the elements' properties show it (the GEnum
 * GstSFrameCipherSuite) and as the core takes it (sframe::CipherSuite).
 * gstsframeenums.cc asserts that the two enums hold the same values. */
#pragma once

#include <gst/sframe/core/cipher-suite.h>
#include <gst/sframe/gstsframeenums.h>

/* The default of every element's cipher-suite property. */
constexpr GstSFrameCipherSuite kSFrameDefaultSuite = GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128;

inline sframe::CipherSuite
gst_sframe_core_suite (GstSFrameCipherSuite suite)
{
  return static_cast<sframe::CipherSuite> (suite);
}
