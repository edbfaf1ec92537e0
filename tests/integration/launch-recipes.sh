#!/usr/bin/env bash
# Runs one send/recv pair of pipelines/ (send-CODEC.sh, recv-CODEC.sh) as a
# user would, briefly, over RTP on 127.0.0.1, and checks that
#   - with the right key the receiver's sink gets decoded frames (at least
#     half of what was sent: this is a smoke test of the recipes; exact
#     counts are relay-proof's job), and
#   - with a wrong key it gets none (so the frames really went through
#     sframedec, not around it).
# Usage: launch-recipes.sh PIPELINES_DIR BUILD_DIR CODEC
# Exit 77 (skipped) when an element the recipe needs is not available.
set -euo pipefail
pipelines=$1
export BUILD_DIR=$2
codec=$3

case $codec in
  opus) needs="audiotestsrc opusenc opusdec rtpopuspay rtpopusdepay"; frames=50 ;;
  pcma) needs="audiotestsrc alawenc alawdec rtppcmapay rtppcmadepay"; frames=50 ;;
  pcmu) needs="audiotestsrc mulawenc mulawdec rtppcmupay rtppcmudepay"; frames=50 ;;
  vp8) needs="videotestsrc vp8enc vp8dec rtpvp8sframepay rtpvp8depay"; frames=30 ;;
  vp9) needs="videotestsrc vp9enc vp9dec rtpvp9sframepay rtpvp9depay"; frames=30 ;;
  h264) needs="videotestsrc x264enc avdec_h264 rtph264pay rtph264depay"; frames=30 ;;
  h265) needs="videotestsrc x265enc avdec_h265 rtph265pay rtph265depay"; frames=30 ;;
  frame) needs="videotestsrc vp8enc vp8dec rtpsframepay rtpsframedepay"; frames=30 ;;
  *) echo "unknown codec $codec"; exit 2 ;;
esac

export GST_PLUGIN_PATH_1_0="$BUILD_DIR/plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
for e in sframeenc sframedec udpsrc udpsink rtpjitterbuffer $needs; do
  if ! gst-inspect-1.0 "$e" >/dev/null 2>&1; then
    echo "SKIP $codec: element $e is not available"
    exit 77
  fi
done

work=$(mktemp -d)
receiver=""
cleanup () {
  if [ -n "$receiver" ]; then
    kill -KILL "$receiver" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A port nobody uses now (the kernel picks it; released just before the
# receiver binds it).
free_port () {
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_pair RECEIVER_KEY LABEL: runs receiver then sender; prints the number
# of buffers the receiver's sink got.
run_pair () {
  local rx_key=$1 label=$2 port
  port=$(free_port)
  local rx_log="$work/$label-recv.log" tx_log="$work/$label-send.log"
  KEY=$rx_key PORT=$port SINK="fakesink silent=false" GST_LAUNCH_OPTS=-v \
    "$pipelines/recv-$codec.sh" >"$rx_log" 2>&1 &
  receiver=$!
  # gst-launch says so after READY, when udpsrc has bound its port.
  for _ in $(seq 300); do
    grep -q "Setting pipeline to PLAYING" "$rx_log" && break
    kill -0 "$receiver" 2>/dev/null || { cat "$rx_log" >&2; echo "receiver died" >&2; return 1; }
    sleep 0.1
  done
  grep -q "Setting pipeline to PLAYING" "$rx_log" || { cat "$rx_log" >&2; echo "receiver did not start" >&2; return 1; }
  if ! KEY=$test_key PORT=$port NUM_BUFFERS=$frames timeout 120 "$pipelines/send-$codec.sh" >"$tx_log" 2>&1; then
    cat "$tx_log" >&2
    echo "sender failed" >&2
    return 1
  fi
  # Let the jitter buffer (200 ms) hand everything on, then stop with EOS.
  sleep 1.5
  kill -INT "$receiver"
  for _ in $(seq 150); do
    kill -0 "$receiver" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$receiver" 2>/dev/null; then
    echo "receiver did not stop on EOS" >&2
    return 1
  fi
  wait "$receiver" || { cat "$rx_log" >&2; echo "receiver failed" >&2; return 1; }
  receiver=""
  grep -c "last-message = chain" "$rx_log" || true
}

test_key=5f1b2c3d4e5f60718293a4b5c6d7e8f9
wrong_key=0a0b0c0d0e0f10111213141516171819

got=$(run_pair "$test_key" right)
echo "$codec: sent $frames source buffers, receiver decoded $got buffers with the right key"
if [ "$got" -lt $((frames / 2)) ]; then
  echo "FAIL $codec: too few decoded buffers ($got of $frames)"
  exit 1
fi

got_wrong=$(run_pair "$wrong_key" wrong)
echo "$codec: receiver decoded $got_wrong buffers with a wrong key"
if [ "$got_wrong" -ne 0 ]; then
  echo "FAIL $codec: frames came out without the right key"
  exit 1
fi
echo "PASS $codec"
