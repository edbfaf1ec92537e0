# shellcheck shell=bash
# Sourced by the send-*.sh / recv-*.sh launch recipes; not run on its own.
#
# Settings, from the environment or the recipe's arguments ([KEY [PORT]]):
#   KEY          SFrame base key, hex, 16..64 bytes. The default is a TEST
#                key, published here: never use it for real media.
#   PORT         UDP port of the RTP stream (default 5004).
#   HOST         where a sender sends (default 127.0.0.1).
#   ADDRESS      what a receiver listens on (default 127.0.0.1).
#   SUITE        cipher suite nick (default aes-128-gcm-sha256-128).
#   NUM_BUFFERS  sender: stop after this many source buffers (default -1:
#                run until Ctrl-C).
#   SINK         receiver: the sink (default autovideosink / autoaudiosink).
#   LATENCY      receiver: jitter buffer latency in ms (default 200).
#   GST_LAUNCH_OPTS  extra gst-launch-1.0 options (e.g. -v); -e is always set.
#   BUILD_DIR    a gst-sframe build tree to take the plugin from; without it
#                ./build beside pipelines/ is used when it holds the plugin,
#                else the installed plugin.
KEY=${1:-${KEY:-000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f}}
PORT=${2:-${PORT:-5004}}
HOST=${HOST:-127.0.0.1}
ADDRESS=${ADDRESS:-127.0.0.1}
SUITE=${SUITE:-aes-128-gcm-sha256-128}
NUM_BUFFERS=${NUM_BUFFERS:--1}
LATENCY=${LATENCY:-200}
GST_LAUNCH_OPTS=${GST_LAUNCH_OPTS:-}

# shellcheck source=plugin-env.sh
. "$(dirname "${BASH_SOURCE[0]}")/plugin-env.sh"

# The SFrame settings shared by sframeenc and sframedec (the key is passed
# on the command line: fine for a test key, use the key store API for real
# keys). No key id: each sender draws its own for every run, so senders
# sharing the key never repeat a nonce, and sframedec reads every key id.
# shellcheck disable=SC2034  # used by the recipes
SFRAME="cipher-suite=$SUITE key=$KEY"
