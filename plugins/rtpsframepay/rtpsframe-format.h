/* What rtpsframepay and rtpsframedepay agree on: the SFrame payload
 * descriptor of draft-ietf-avtcore-rtp-sframe-02 section 4, and how the
 * media caps of the protected stream travel in the RTP caps
 * (docs/wire-format.md, "Frame mode over RTP"). Header-only so each element
 * keeps one source file. */
#pragma once

#include <glib.h>

#include <string>

namespace rtpsframe {

/* The first payload byte: |S|E|T|x x x x x|. */
constexpr guint8 kStartBit = 0x80;       /* first fragment of an SFrame */
constexpr guint8 kEndBit = 0x40;         /* last fragment of an SFrame */
constexpr guint8 kPacketizedBit = 0x20;  /* T: 1 = per-packet SFrame, 0 = per-frame (raw) */
constexpr gsize kDescriptorSize = 1;

constexpr const char *kEncodingName = "SFRAME";
/* The RTP caps field (and SDP fmtp parameter) naming the media caps. */
constexpr const char *kOriginalCapsField = "original-caps";
constexpr const char *kSFrameMediaType = "application/x-sframe";

/* SDP splits fmtp parameters at ';' and ends attributes at a line break, so
 * those (and '%' itself) are percent-encoded; every other byte of the caps
 * string stays as it is, which keeps ordinary caps readable in launch
 * lines. */
inline std::string
escape_caps (const char *caps)
{
  std::string out;
  for (const char *p = caps; *p; p++) {
    switch (*p) {
      case '%': out += "%25"; break;
      case ';': out += "%3B"; break;
      case '\r': out += "%0D"; break;
      case '\n': out += "%0A"; break;
      default: out += *p; break;
    }
  }
  return out;
}

/* Decodes every %XX (hex) escape; a '%' not followed by two hex digits is
 * kept, so hand-written caps without escapes pass through unchanged. */
inline std::string
unescape_caps (const char *caps)
{
  std::string out;
  for (const char *p = caps; *p; p++) {
    if (p[0] == '%' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2])) {
      out += static_cast<char> (g_ascii_xdigit_value (p[1]) * 16 + g_ascii_xdigit_value (p[2]));
      p += 2;
    } else {
      out += *p;
    }
  }
  return out;
}

}  // namespace rtpsframe
