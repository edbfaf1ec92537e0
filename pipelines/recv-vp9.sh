#!/usr/bin/env bash
# Receives and decrypts the VP9 stream of send-vp9.sh. Usage: recv-vp9.sh
# [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=video,clock-rate=90000,encoding-name=VP9,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpvp9depay ! \
  sframedec $SFRAME ! \
  vp9dec ! videoconvert ! \
  ${SINK:-autovideosink}
