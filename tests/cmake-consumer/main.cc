/* Round-trips frames through the installed/sub-project gst-sframe library
 * the way a CMake appliance would use it: a room key store from the C API,
 * its key ring driving the C++ frame protector/unprotector. */
#include <gst/gst.h>
#include <gst/sframe/core/frame-format.h>
#include <gst/sframe/gstsframekeystore.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

/* Protects `frame`, then unprotects it; true when the payload was hidden
 * and the plaintext comes back. */
bool
round_trip (sframe::KeyRing & ring, sframe::FrameFormat format, const std::vector<uint8_t> & frame)
{
  sframe::FrameProtector protector (ring);
  sframe::FrameUnprotector unprotector (ring);
  sframe::ByteView in (frame.data (), frame.size ());

  std::vector<uint8_t> prot (sframe::protected_size_bound (format, in));
  size_t prot_len = 0;
  sframe::Status s = protector.protect (format, nullptr, in, {prot.data (), prot.size ()}, &prot_len);
  if (s != sframe::Status::ok) {
    std::fprintf (stderr, "%s: protect: %s\n", sframe::frame_format_name (format),
        sframe::status_name (s));
    return false;
  }
  /* The frames below end in payload bytes that must not survive in clear. */
  auto tail = frame.end () - 6;
  if (std::search (prot.begin (), prot.begin () + prot_len, tail, frame.end ()) !=
      prot.begin () + prot_len) {
    std::fprintf (stderr, "%s: payload left in clear\n", sframe::frame_format_name (format));
    return false;
  }

  std::vector<uint8_t> out (prot_len);
  size_t out_len = 0;
  sframe::Header header;
  s = unprotector.unprotect (format, {prot.data (), prot_len}, {out.data (), out.size ()},
      &out_len, &header);
  if (s != sframe::Status::ok) {
    std::fprintf (stderr, "%s: unprotect: %s\n", sframe::frame_format_name (format),
        sframe::status_name (s));
    return false;
  }
  if (out_len != frame.size () || std::memcmp (out.data (), frame.data (), out_len) != 0) {
    std::fprintf (stderr, "%s: decrypted frame differs\n", sframe::frame_format_name (format));
    return false;
  }
  return true;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);

  GstSFrameKeyStore *store = gst_sframe_key_store_new ("cmake-consumer");
  const guint8 key[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
    0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe };
  GError *error = NULL;
  guint64 key_id = 0;
  if (!gst_sframe_key_store_start_sender_session (store, GST_SFRAME_CIPHER_SUITE_AES_128_GCM_SHA256_128,
          key, sizeof (key), &key_id, &error)) {
    std::fprintf (stderr, "key store: %s\n", error->message);
    g_error_free (error);
    gst_object_unref (store);
    return 1;
  }
  sframe::KeyRing & ring = gst_sframe_key_store_get_ring (store);

  const std::vector<uint8_t> payload = { 'h', 'e', 'l', 'l', 'o', ' ', 's', 'f', 'r', 'a', 'm', 'e' };
  /* SPS, PPS and an IDR slice: the slice is encrypted, the rest stays clear. */
  const std::vector<uint8_t> h264 = { 0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f,
    0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
    0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x00, 0x21, 0xff };

  bool ok = round_trip (ring, sframe::FrameFormat::opaque, payload) &&
      round_trip (ring, sframe::FrameFormat::h264, h264);

  gst_object_unref (store);
  std::printf ("%s\n", ok ? "cmake consumer: ok" : "cmake consumer: FAILED");
  return ok ? 0 : 1;
}
