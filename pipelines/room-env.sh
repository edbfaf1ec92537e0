# shellcheck shell=bash
# Sourced by the room recipes (room-keys.sh, room-member.sh,
# room-recorder.sh); not run on its own. Members find each other over the
# signalling bus and get their keys from keymanager: no key on any command
# line.
#
# Settings, from the environment:
#   ROOM         room name (default standup); must match the tokens.
#   KEYS         folder of the room's key files, as room-keys.sh makes it
#                (default ./room-keys): authority.key.pub, NAME.key, NAME.jwt.
#   BUS          signalling bus (default nats://127.0.0.1:4222; several
#                nats:// URLs comma-separated for a cluster; local://NAME
#                only within one process).
#   SEND_TO      member: where its RTP goes, host:port[,host:port...]
#                (default 127.0.0.1:5004). In a real deployment: the SFU.
#   PORT         member, recorder: the UDP port it receives RTP on
#                (default 5006).
#   ADDRESS      what receivers listen on (default 127.0.0.1).
#   NUM_BUFFERS  member: stop sending after this many video frames
#                (default -1: run until Ctrl-C).
#   SINK         member: the video sink (default autovideosink).
#   LATENCY      jitter buffer latency in ms (default 200).
#   KM_OPTS      extra keymanager properties (e.g. require-admission=true).
#   plus BUILD_DIR and GST_LAUNCH_OPTS (plugin-env.sh).
ROOM=${ROOM:-standup}
KEYS=${KEYS:-./room-keys}
BUS=${BUS:-nats://127.0.0.1:4222}
SEND_TO=${SEND_TO:-127.0.0.1:5004}
PORT=${PORT:-5006}
ADDRESS=${ADDRESS:-127.0.0.1}
NUM_BUFFERS=${NUM_BUFFERS:--1}
LATENCY=${LATENCY:-200}
KM_OPTS=${KM_OPTS:-}

# shellcheck source=plugin-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/plugin-env.sh"

# Sets KM to the keymanager of member $1, as launch-line words (an array,
# so paths with spaces survive): use "${KM[@]}".
room_keymanager () {
  local name=$1 f
  for f in "$KEYS/$name.key" "$KEYS/$name.jwt" "$KEYS/authority.key.pub"; do
    [ -r "$f" ] || { echo "no $f: make the room's keys with room-keys.sh" >&2; exit 2; }
  done
  # shellcheck disable=SC2034,SC2206  # KM is for the recipes; KM_OPTS is a list
  KM=(keymanager name=km room="$ROOM" bus="$BUS" identity="$KEYS/$name.key"
    token-file="$KEYS/$name.jwt" authority="$KEYS/authority.key.pub" $KM_OPTS)
}

# The RTP caps of the room's video (VP8, payload type 96).
# shellcheck disable=SC2034  # used by the recipes
ROOM_VIDEO_CAPS=application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload=96
