#!/usr/bin/env bash
# Receives and decrypts the VP8 stream of send-vp8.sh. Usage: recv-vp8.sh
# [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpvp8depay ! \
  sframedec $SFRAME ! \
  vp8dec ! videoconvert ! \
  ${SINK:-autovideosink}
