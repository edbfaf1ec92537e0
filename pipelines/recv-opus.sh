#!/usr/bin/env bash
# Receives and decrypts the Opus stream of send-opus.sh. Usage: recv-opus.sh
# [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=96 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpopusdepay ! \
  sframedec $SFRAME ! \
  opusdec ! audioconvert ! audioresample ! \
  ${SINK:-autoaudiosink}
