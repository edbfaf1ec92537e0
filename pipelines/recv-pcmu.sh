#!/usr/bin/env bash
# Receives and decrypts the G.711 (PCMU) stream of send-pcmu.sh. Usage:
# recv-pcmu.sh [KEY [PORT]]; settings: pipelines/recipe-env.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  udpsrc address="$ADDRESS" port="$PORT" \
    caps=application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,payload=0 ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtppcmudepay ! \
  sframedec $SFRAME ! \
  mulawdec ! audioconvert ! audioresample ! \
  ${SINK:-autoaudiosink}
