/* How a media frame maps onto SFrame ciphertext.
 *
 * opaque: the whole frame is one SFrame ciphertext (RFC 9605 as written).
 * The codec-aware formats keep in clear what a payloader or SFU must read and
 * authenticate it as the SFrame metadata; docs/wire-format.md has the layouts:
 *   opus  TOC byte || SFrame(rest)
 *   vp8   10 (key frame) / 3 (delta) byte frame header || SFrame(rest)
 *   vp9   the uncompressed header's leading fields (key frame: through
 *         render_size(); otherwise through error_resilient_mode; shown
 *         existing frame: through frame_to_show_map_idx), in whole bytes
 *         || SFrame(rest)
 *   h264, h265
 *         Annex B byte-stream; each slice/SEI NAL becomes
 *         start code || escape(NAL header || SFrame(NAL payload)) || 0x80,
 *         parameter sets and delimiters stay clear.
 *   g711  nothing clear: SFrame(frame), like opaque, but the caps stay
 *         audio/x-alaw or audio/x-mulaw. */
#pragma once

#include <gst/sframe/core/cipher.h>

namespace sframe {

/* New values go last: the fuzz corpus names formats by number. */
enum class FrameFormat { opaque, opus, vp8, h264, vp9, h265, g711 };

GST_SFRAME_API const char *frame_format_name (FrameFormat format);

/* An upper bound on protect_frame()'s output for this input. */
GST_SFRAME_API size_t protected_size_bound (FrameFormat format, ByteView frame);

/* True when the frame (clear or protected: only clear bytes are read) is a
 * key frame, as an SFU would judge it. */
GST_SFRAME_API bool is_key_frame (FrameFormat format, ByteView frame);

class GST_SFRAME_API FrameProtector {
public:
  explicit FrameProtector (const KeyRing & ring) : encryptor_ (ring) {}

  /* `key_id` null means the ring's sender key. `out` needs
   * protected_size_bound() bytes. */
  Status protect (FrameFormat format, const uint64_t * key_id, ByteView frame,
      MutableByteView out, size_t * written, Header * used = nullptr);

  void reset () { encryptor_.reset (); }

private:
  Status protect_nal (FrameFormat format, const uint64_t * key_id, ByteView frame,
      MutableByteView out, size_t * written, Header * used);

  Encryptor encryptor_;
  std::vector<uint8_t> scratch_;
};

class GST_SFRAME_API FrameUnprotector {
public:
  explicit FrameUnprotector (KeyRing & ring) : decryptor_ (ring) {}

  /* `out` needs frame.size bytes. On failure `*header` names the key id of
   * the SFrame that failed, when its header parsed. */
  Status unprotect (FrameFormat format, ByteView frame, MutableByteView out,
      size_t * written, Header * header);

  /* unprotect() for a second reader of a stream that another unprotector
   * decrypts: the key's replay window is left to that one, and replays are
   * refused by the key's window for second readers, which they share
   * across streams (KeyEntry::accept_verified_counter). For naming a
   * frame's sender, never for output. */
  Status authenticate (FrameFormat format, ByteView frame, MutableByteView out,
      size_t * written, Header * header);

  void reset () { decryptor_.reset (); }

private:
  enum class Replay { consume, read };
  Status open_frame (FrameFormat format, ByteView frame, MutableByteView out,
      size_t * written, Header * header, Replay replay);
  Status open_nal (FrameFormat format, ByteView frame, MutableByteView out,
      size_t * written, Header * header, Replay replay);
  Status accept_read (const Header * headers, size_t count);

  Decryptor decryptor_;
  std::vector<uint8_t> scratch_;
  std::vector<Header> opened_;   /* the access unit's SFrames, until accepted */
};

}  // namespace sframe
