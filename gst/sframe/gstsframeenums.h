/* GTypes for the enums the elements expose as properties. */
#pragma once

#include <glib-object.h>
#include <gst/sframe/core/api.h>

G_BEGIN_DECLS

/* Values are the RFC 9605 cipher suite identifiers. */
typedef enum {
  GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_80 = 1,
  GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_64 = 2,
  GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_32 = 3,
  GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128 = 4,
  GST_SFRAME_CIPHER_SUITE_AES_256_GCM_SHA512_128 = 5,
} GstSFrameCipherSuite;

#define GST_TYPE_SFRAME_CIPHER_SUITE (gst_sframe_cipher_suite_get_type ())
GST_SFRAME_API GType gst_sframe_cipher_suite_get_type (void);

/**
 * GstSFrameMode:
 * @GST_SFRAME_MODE_CODEC: codec-aware: what payloaders and SFUs read stays in
 *   clear and is authenticated; caps are unchanged.
 * @GST_SFRAME_MODE_FRAME: the whole frame is one SFrame ciphertext; caps
 *   become application/x-sframe.
 */
typedef enum {
  GST_SFRAME_MODE_CODEC = 0,
  GST_SFRAME_MODE_FRAME = 1,
} GstSFrameMode;

#define GST_TYPE_SFRAME_MODE (gst_sframe_mode_get_type ())
GST_SFRAME_API GType gst_sframe_mode_get_type (void);

G_END_DECLS
