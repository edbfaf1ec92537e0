#!/usr/bin/env bash
# Sends an encrypted H.265 stream over RTP (codec mode: start codes, NAL
# headers and parameter sets stay clear, so rtph265pay works as is; whole
# access units (alignment=au)). x265 writes the parameter sets only once
# unless told to repeat them at every key frame: without repeat-headers a
# receiver that starts late never decodes. Usage: send-h265.sh [KEY [PORT]]; settings:
# pipelines/recipe-env.sh. Receive with recv-h265.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  ${SRC:-videotestsrc is-live=true num-buffers=$NUM_BUFFERS} ! \
  videoconvert ! videoscale ! video/x-raw,width=640,height=480,framerate=30/1 ! \
  x265enc tune=zerolatency speed-preset=ultrafast key-int-max=30 option-string=repeat-headers=1 ! video/x-h265,stream-format=byte-stream,alignment=au ! \
  sframeenc $SFRAME ! \
  rtph265pay pt=96 ! \
  udpsink host="$HOST" port="$PORT"
