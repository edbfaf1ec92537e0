#!/usr/bin/env bash
# A room member in one launch line: keymanager joins the room over the
# bus; the member sends its camera (here videotestsrc) as encrypted VP8 to
# SEND_TO and shows the encrypted VP8 it receives on PORT.
# Usage: room-member.sh NAME; settings: room-env.sh. Make the keys first
# (room-keys.sh) and start a nats-server (nats-server -a 127.0.0.1).
# Example, two members without an SFU (each sends to the other):
#   SEND_TO=127.0.0.1:5006 PORT=5004 pipelines/room-member.sh alice
#   SEND_TO=127.0.0.1:5004 PORT=5006 pipelines/room-member.sh bob
# SRC and SINK are split into words on purpose (no globbing: plugin-env.sh
# sets -f).
# shellcheck disable=SC2086
set -euo pipefail
# shellcheck source=room-env.sh
. "$(dirname "$0")/room-env.sh"
name=${1:?usage: room-member.sh NAME}
room_keymanager "$name"
recipe_launch \
  "${KM[@]}" \
  ${SRC:-videotestsrc is-live=true num-buffers=$NUM_BUFFERS} ! \
  videoconvert ! videoscale ! video/x-raw,width=640,height=480,framerate=30/1 ! \
  vp8enc deadline=1 keyframe-max-dist=30 ! \
  sframeenc room="$ROOM" ! \
  rtpvp8sframepay pt=96 ! \
  multiudpsink clients="$SEND_TO" async=false \
  udpsrc address="$ADDRESS" port="$PORT" caps="$ROOM_VIDEO_CAPS" ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpvp8depay request-keyframe=true ! \
  sframedec room="$ROOM" ! \
  vp8dec ! videoconvert ! \
  ${SINK:-autovideosink}
