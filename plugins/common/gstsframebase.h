/* GstSFrameBase: what sframeenc and sframedec share. The properties
 * cipher-suite, key, mode, room and key-store; the room's key store
 * (found through GstContext while running); caps handling for both modes;
 * and the codec layout chosen from the negotiated caps.
 *
 * Settings are a copyable struct behind a mutex; processing takes a snapshot.
 * The key store and frame format exist only between start() and stop(). */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/sframe/core/frame-format.h>
#include <gst/sframe/gstsframekeystore.h>

G_BEGIN_DECLS

#define GST_TYPE_SFRAME_BASE (gst_sframe_base_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstSFrameBase, gst_sframe_base, GST, SFRAME_BASE, GstBaseTransform)

struct _GstSFrameBaseClass {
  GstBaseTransformClass parent_class;
  /* TRUE for the encrypting side: decides the caps direction of frame mode. */
  gboolean encrypts;
};

G_END_DECLS

/* A static key set through the properties. */
struct GstSFrameStaticKey {
  GstSFrameCipherSuite suite;
  sframe::SecureBytes key;
};

/* New reference; nullptr when not running. */
GstSFrameKeyStore *gst_sframe_base_get_store (GstSFrameBase * self);
sframe::FrameFormat gst_sframe_base_get_format (GstSFrameBase * self);

/* TRUE once per write of the `key` property (and at start when one is set),
 * with the cipher-suite current at that time. */
gboolean gst_sframe_base_take_static_key (GstSFrameBase * self, GstSFrameStaticKey * out);

/* Warns (once per call) when the room's store holds more than one static
 * key: elements of one room share keys, so each decrypts the others'. */
void gst_sframe_base_warn_if_keys_mixed (GstSFrameBase * self, const sframe::KeyRing & ring);

/* Posts the element error for an unusable static key (never the key). */
void gst_sframe_base_post_key_error (GstSFrameBase * self, sframe::Status status);

/* A writable output buffer of `size` bytes carrying inbuf's flags,
 * timestamps and metas. */
GstBuffer *gst_sframe_base_new_output (GstBuffer * inbuf, gsize size);

/* An input buffer mapped to read and an output buffer mapped to write, for
 * one transform; unmapped when it goes. ok () is false when either map
 * failed. */
class MappedPair {
public:
  MappedPair (GstBuffer * in, GstBuffer * out)
    : in_buf_ (in), out_buf_ (out)
  {
    in_ok_ = gst_buffer_map (in, &in_, GST_MAP_READ);
    out_ok_ = in_ok_ && gst_buffer_map (out, &out_, GST_MAP_WRITE);
  }
  ~MappedPair ()
  {
    if (out_ok_)
      gst_buffer_unmap (out_buf_, &out_);
    if (in_ok_)
      gst_buffer_unmap (in_buf_, &in_);
  }
  MappedPair (const MappedPair &) = delete;
  MappedPair & operator= (const MappedPair &) = delete;

  bool ok () const { return out_ok_; }
  sframe::ByteView in () const { return {in_.data, in_.size}; }
  sframe::MutableByteView out () const { return {out_.data, out_.size}; }

private:
  GstBuffer *in_buf_, *out_buf_;
  GstMapInfo in_ {}, out_ {};
  bool in_ok_ = false, out_ok_ = false;
};

/* Posts at most one warning per interval for a stream of dropped frames:
 * the first drop at once, then a summary of the drops since. */
class DropWarner {
public:
  /* Notes `drops` more drops. Returns TRUE when a warning is due now;
   * `*count` is the drops it covers. */
  bool note_drop (gint64 now_us, guint64 * count, guint64 drops = 1);

  static constexpr gint64 kIntervalUs = 2 * G_USEC_PER_SEC;

private:
  gint64 last_us_ = -1;
  guint64 pending_ = 0;
};

/* Tells downstream that the time of a dropped frame passed without data, so
 * sinks still preroll and live pipelines keep running while frames cannot be
 * processed (no key yet, all undecryptable). Call without locks held. */
void gst_sframe_base_push_gap (GstSFrameBase * self, GstBuffer * dropped);
