#!/usr/bin/env bash
# Sends an encrypted Opus stream over RTP (codec mode: the TOC byte stays
# clear, rtpopuspay works as is). Usage: send-opus.sh [KEY [PORT]];
# settings: pipelines/recipe-env.sh. Receive with recv-opus.sh.
# SRC, SINK and SFRAME are split into words on purpose (no globbing:
# recipe-env.sh sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=recipe-env.sh
. "$(dirname "$0")/recipe-env.sh"
recipe_launch \
  ${SRC:-audiotestsrc is-live=true wave=sine num-buffers=$NUM_BUFFERS samplesperbuffer=960} ! \
  audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! \
  opusenc ! \
  sframeenc $SFRAME ! \
  rtpopuspay pt=96 ! \
  udpsink host="$HOST" port="$PORT"
