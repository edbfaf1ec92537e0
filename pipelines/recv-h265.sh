#!/usr/bin/env bash
# Receives and decrypts the H.265 stream of send-h265.sh. Usage:
# recv-h265.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=H265,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtph265depay ! video/x-h265,stream-format=byte-stream,alignment=au ! \
  sframedec $SFRAME ! \
  avdec_h265 ! videoconvert ! \
  ${SINK:-autovideosink}
