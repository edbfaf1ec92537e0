#include <gst/sframe/gstsframeenums.h>

#include <gst/sframe/core/cipher-suite.h>

/* Elements convert one enum to the other with a cast: a value that differs
 * must not compile. */
static_assert (GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_80 ==
    static_cast<int> (sframe::CipherSuite::aes_128_ctr_hmac_sha256_80));
static_assert (GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_64 ==
    static_cast<int> (sframe::CipherSuite::aes_128_ctr_hmac_sha256_64));
static_assert (GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_32 ==
    static_cast<int> (sframe::CipherSuite::aes_128_ctr_hmac_sha256_32));
static_assert (GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128 ==
    static_cast<int> (sframe::CipherSuite::aes_128_gcm_sha256_128));
static_assert (GST_SFRAME_CIPHER_SUITE_AES_256_GCM_SHA512_128 ==
    static_cast<int> (sframe::CipherSuite::aes_256_gcm_sha512_128));

GType
gst_sframe_cipher_suite_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_80, "AES_128_CTR_HMAC_SHA256_80",
        "aes-128-ctr-hmac-sha256-80"},
    {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_64, "AES_128_CTR_HMAC_SHA256_64",
        "aes-128-ctr-hmac-sha256-64"},
    {GST_SFRAME_CIPHER_SUITE_AES_128_CTR_HMAC_SHA256_32, "AES_128_CTR_HMAC_SHA256_32",
        "aes-128-ctr-hmac-sha256-32"},
    {GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128, "AES_128_GCM_SHA256_128",
        "aes-128-gcm-sha256-128"},
    {GST_SFRAME_CIPHER_SUITE_AES_256_GCM_SHA512_128, "AES_256_GCM_SHA512_128",
        "aes-256-gcm-sha512-128"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSFrameCipherSuite", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_sframe_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_SFRAME_MODE_CODEC, "Codec-aware: codec headers clear and authenticated", "codec"},
    {GST_SFRAME_MODE_FRAME, "Whole frame encrypted, caps application/x-sframe", "frame"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSFrameMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}
