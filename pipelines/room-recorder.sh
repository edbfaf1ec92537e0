#!/usr/bin/env bash
# A recording bot in one launch line: it joins the room with a
# subscribe-only token (so nobody installs a key of its, and it sends no
# media), decrypts the VP8 it receives on PORT and writes it, still VP8,
# to FILE (WebM) without decoding. Stop it with Ctrl-C (EOS finishes the
# file).
# Usage: room-recorder.sh NAME FILE; settings: room-env.sh.
# Example: room-keys.sh alice recorder:member:subscribe
#          PORT=5006 pipelines/room-recorder.sh recorder meeting.webm
set -euo pipefail
# shellcheck source=room-env.sh
. "$(dirname "$0")/room-env.sh"
name=${1:?usage: room-recorder.sh NAME FILE}
file=${2:?usage: room-recorder.sh NAME FILE}
room_keymanager "$name"
recipe_launch \
  "${KM[@]}" \
  udpsrc address="$ADDRESS" port="$PORT" caps="$ROOM_VIDEO_CAPS" ! \
  rtpjitterbuffer latency="$LATENCY" ! \
  rtpvp8depay request-keyframe=true ! \
  sframedec room="$ROOM" ! \
  webmmux ! filesink location="$file"
