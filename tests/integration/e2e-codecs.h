/* The codecs the end-to-end test sends through two webrtcbins, one row
 * each. A row says how to produce encoded frames, how to carry them over
 * RTP and how to decode them; the test itself is the same for every row.
 * "{kf}" in an encoder fragment is replaced by the keyframe interval (in
 * frames) the variant asks for. */
#pragma once

#include <glib.h>

namespace e2e {

enum class Media { audio, video };

/* How encoded frames are compared across the RTP path. A payloader and
 * depayloader pair gives back the bytes of a frame unchanged, except for
 * H.264/H.265 byte-streams: start code lengths change, AUDs are dropped and
 * parameter sets may be repeated, so those are compared NAL by NAL with
 * the parameter sets and AUDs left out (they are clear in SFrame codec
 * mode anyway). */
enum class Bitstream { whole, h264, h265 };

struct Codec {
  const char *name;         /* the test's argument */
  Media media;
  const char *media_type;   /* what sframeenc needs a codec-mode layout for */
  const char *source;       /* live raw source */
  const char *encoder;      /* raw -> encoded frames */
  const char *payloader;    /* encoded frames -> RTP */
  const char *rtp_caps;     /* what the sending webrtcbin is offered */
  const char *depayloader;  /* RTP -> encoded frames, as sframedec takes them */
  const char *decoder;      /* encoded frames -> raw */
  Bitstream bitstream;
  /* The decoder carries state from frame to frame in a way a key frame
   * does not reset (Opus): the reference decode must start where the
   * receiver's decoder started. */
  bool stateful_audio;
  guint frame_rate;         /* frames per second of encoded output */
};

/* 320x240 moving ball: every encoded frame differs from the previous one
 * and there are no scene cuts, so an encoder makes key frames only when its
 * interval runs out or when asked to. */
#define E2E_VIDEO_SOURCE \
  "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1"
/* Noise: no two audio frames encode alike. */
#define E2E_NOISE "audiotestsrc is-live=true wave=white-noise volume=0.3"
#define E2E_RTCP_FB "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true"

constexpr Codec kCodecs[] = {
  {"opus", Media::audio, "audio/x-opus",
    E2E_NOISE " ! audio/x-raw,rate=48000,channels=2",
    "opusenc frame-size=20",
    "rtpopuspay", "application/x-rtp,media=audio,payload=111",
    "rtpopusdepay", "opusdec", Bitstream::whole, true, 50},
  {"pcma", Media::audio, "audio/x-alaw",
    E2E_NOISE " samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1",
    "alawenc",
    "rtppcmapay", "application/x-rtp,media=audio,payload=8",
    "rtppcmadepay", "alawdec", Bitstream::whole, false, 50},
  {"pcmu", Media::audio, "audio/x-mulaw",
    E2E_NOISE " samplesperbuffer=160 ! audio/x-raw,rate=8000,channels=1",
    "mulawenc",
    "rtppcmupay", "application/x-rtp,media=audio,payload=0",
    "rtppcmudepay", "mulawdec", Bitstream::whole, false, 50},
  {"h264", Media::video, "video/x-h264",
    E2E_VIDEO_SOURCE,
    "x264enc tune=zerolatency speed-preset=veryfast key-int-max={kf} "
    "! video/x-h264,stream-format=byte-stream,alignment=au,profile=constrained-baseline",
    "rtph264pay", "application/x-rtp,media=video,payload=102," E2E_RTCP_FB,
    "rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au",
    "avdec_h264", Bitstream::h264, false, 30},
  /* x265 repeats VPS/SPS/PPS only when told: a receiver whose chain links
   * after the first access unit would otherwise never decode. */
  {"h265", Media::video, "video/x-h265",
    E2E_VIDEO_SOURCE,
    "x265enc tune=zerolatency speed-preset=veryfast key-int-max={kf} option-string=repeat-headers=1 "
    "! video/x-h265,stream-format=byte-stream,alignment=au",
    "rtph265pay", "application/x-rtp,media=video,payload=104," E2E_RTCP_FB,
    "rtph265depay ! video/x-h265,stream-format=byte-stream,alignment=au",
    "avdec_h265", Bitstream::h265, false, 30},
  {"vp8", Media::video, "video/x-vp8",
    E2E_VIDEO_SOURCE,
    "vp8enc deadline=1 keyframe-max-dist={kf}",
    "rtpvp8sframepay", "application/x-rtp,media=video,payload=96," E2E_RTCP_FB,
    "rtpvp8depay", "vp8dec", Bitstream::whole, false, 30},
  {"vp9", Media::video, "video/x-vp9",
    E2E_VIDEO_SOURCE,
    "vp9enc deadline=1 cpu-used=8 lag-in-frames=0 keyframe-max-dist={kf}",
    "rtpvp9sframepay", "application/x-rtp,media=video,payload=98," E2E_RTCP_FB,
    "rtpvp9depay", "vp9dec", Bitstream::whole, false, 30},
};

inline const Codec *
find_codec (const char *name)
{
  for (const Codec & c : kCodecs) {
    if (g_str_equal (c.name, name))
      return &c;
  }
  return nullptr;
}

}  // namespace e2e
