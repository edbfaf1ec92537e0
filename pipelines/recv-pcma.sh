#!/usr/bin/env bash
# Receives and decrypts the G.711 (PCMA) stream of send-pcma.sh. Usage:
# recv-pcma.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,payload=8 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtppcmadepay ! \
  sframedec $SFRAME ! \
  alawdec ! audioconvert ! audioresample ! \
  ${SINK:-autoaudiosink}
