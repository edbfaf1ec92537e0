#!/usr/bin/env bash
# Receives and decrypts the H.264 stream of send-h264.sh. Usage:
# recv-h264.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtph264depay ! video/x-h264,stream-format=byte-stream,alignment=au ! \
  sframedec $SFRAME ! \
  avdec_h264 ! videoconvert ! \
  ${SINK:-autovideosink}
