#!/usr/bin/env bash
# Sends an encrypted G.711 (PCMU) stream over RTP: 20 ms frames, each one
# SFrame in one RTP packet (nothing stays clear). Usage: send-pcmu.sh [KEY
# [PORT]]; settings: pipelines/recipe-env.sh. Receive with recv-pcmu.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  ${SRC:-audiotestsrc is-live=true wave=sine num-buffers=$NUM_BUFFERS samplesperbuffer=160} ! \
  audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! \
  mulawenc ! \
  sframeenc $SFRAME ! \
  rtppcmupay pt=0 ! \
  udpsink host="$HOST" port="$PORT"
