#!/usr/bin/env bash
# Sends an encrypted VP8 frame-mode stream over RTP (frame mode: each whole
# frame is one SFrame, nothing of the media stays clear, carried by the
# generic SFrame RTP format of rtpsframepay; any encoder works). Usage:
# send-frame.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh. Receive
# with recv-frame.sh.
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
  sframeenc mode=frame $SFRAME ! \
  rtpsframepay pt=96 ! \
  udpsink host="$HOST" port="$PORT"
