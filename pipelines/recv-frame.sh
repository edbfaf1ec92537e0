#!/usr/bin/env bash
# Receives and decrypts the VP8 frame-mode stream of send-frame.sh. Usage:
# recv-frame.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=SFRAME,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpsframedepay media-caps=video/x-vp8 ! \
  sframedec mode=frame $SFRAME ! \
  vp8dec ! videoconvert ! \
  ${SINK:-autovideosink}
