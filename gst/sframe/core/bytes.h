/* Byte views and a self-wiping byte buffer for key material. */
#pragma once

#include <gst/sframe/core/api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sframe {

/* A non-owning view of read-only bytes (C++17 has no std::span). */
struct ByteView {
  const uint8_t *data = nullptr;
  size_t size = 0;

  constexpr ByteView () = default;
  constexpr ByteView (const uint8_t * d, size_t n) : data (d), size (n) {}
  /* Views a vector; the vector must outlive the view. */
  explicit ByteView (const std::vector<uint8_t> & bytes) : data (bytes.data ()), size (bytes.size ()) {}

  bool empty () const { return size == 0; }
  /* Caller guarantees offset + length <= size. */
  ByteView sub (size_t offset, size_t length) const { return {data + offset, length}; }
  ByteView from (size_t offset) const { return {data + offset, size - offset}; }
};

/* A non-owning view of writable bytes. */
struct MutableByteView {
  uint8_t *data = nullptr;
  size_t size = 0;

  constexpr MutableByteView () = default;
  constexpr MutableByteView (uint8_t * d, size_t n) : data (d), size (n) {}

  ByteView view () const { return {data, size}; }
  MutableByteView from (size_t offset) const { return {data + offset, size - offset}; }
};

/* Overwrites `size` bytes at `data` with zeros in a way the compiler may not
 * drop (OPENSSL_cleanse), for secrets held outside SecureBytes. */
GST_SFRAME_API void secure_wipe (void *data, size_t size);

/* Owns secret bytes; wipes them (secure_wipe) on destruction and
 * assignment. Its size is fixed at construction so nothing is ever
 * reallocated behind our back, leaving stray copies in freed memory. */
class GST_SFRAME_API SecureBytes {
public:
  SecureBytes () = default;
  explicit SecureBytes (size_t size);
  explicit SecureBytes (ByteView bytes);
  SecureBytes (const SecureBytes & other);
  SecureBytes (SecureBytes && other) noexcept;
  SecureBytes & operator= (const SecureBytes & other);
  SecureBytes & operator= (SecureBytes && other) noexcept;
  ~SecureBytes ();

  uint8_t *data () { return data_.get (); }
  const uint8_t *data () const { return data_.get (); }
  size_t size () const { return size_; }
  bool empty () const { return size_ == 0; }
  ByteView view () const { return {data_.get (), size_}; }
  MutableByteView mutable_view () { return {data_.get (), size_}; }

  /* Constant-time comparison. */
  bool equals (ByteView other) const;

private:
  void wipe ();

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

/* `value` as 8 bytes, big-endian (network order), at `out`; returns the
 * byte after them. */
inline uint8_t *
store_be64 (uint64_t value, uint8_t * out)
{
  for (int shift = 56; shift >= 0; shift -= 8)
    *out++ = static_cast<uint8_t> (value >> shift);
  return out;
}

/* Parses lowercase or uppercase hex; returns empty on any bad character or
 * odd length. The result is secret-safe (it may be a key). */
GST_SFRAME_API SecureBytes hex_to_bytes (const char *hex);

}  // namespace sframe
