#!/usr/bin/env bash
# Sends an encrypted VP8 stream over RTP (codec mode: the VP8 frame header
# stays clear; rtpvp8sframepay, because rtpvp8pay cannot packetize encrypted
# frames). Usage: send-vp8.sh [KEY [PORT]]; settings: pipelines/recipe-
# env.sh. Receive with recv-vp8.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  ${SRC:-videotestsrc is-live=true num-buffers=$NUM_BUFFERS} ! \
  videoconvert ! videoscale ! video/x-raw,width=640,height=480,framerate=30/1 ! \
  vp8enc deadline=1 keyframe-max-dist=30 ! \
  sframeenc $SFRAME ! \
  rtpvp8sframepay pt=96 ! \
  udpsink host="$HOST" port="$PORT"
