#!/usr/bin/env bash
# Runs the room recipes of pipelines/ as a user would, each member its own
# gst-launch-1.0 process, over a nats-server this script starts on a free
# port of 127.0.0.1 (and stops):
#   - alice (host) and bob send each other encrypted VP8 (room-member.sh);
#   - a recording bot with a subscribe-only token writes what it decrypts
#     to WebM (room-recorder.sh);
#   - an intruder runs the same recorder with a token it signed with an
#     authority of its own (which its keymanager trusts), and also receives
#     alice's packets;
#   - a device with a token for another room is refused at start.
# Checks: bob and alice decode each other's frames; the recording decodes;
# alice refuses the intruder (sframe-member-refused, wrong-authority) and
# the intruder's recording holds no frame; alice and bob saw the same
# security code for their roster of three.
# Usage: room-recipes.sh PIPELINES_DIR BUILD_DIR
# Exit 77 (skipped) when nats-server or an element is not available.
set -euo pipefail
pipelines=$1
export BUILD_DIR=$2

nats=$(command -v nats-server || true)
for candidate in /usr/sbin/nats-server /usr/bin/nats-server; do
  [ -n "$nats" ] || { [ -x "$candidate" ] && nats=$candidate; } || true
done
[ -n "$nats" ] || { echo "SKIP: nats-server is not installed"; exit 77; }
export GST_PLUGIN_PATH_1_0="$BUILD_DIR/plugins${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
for e in keymanager sframeenc sframedec rtpvp8sframepay rtpvp8depay vp8enc vp8dec webmmux matroskademux \
    multiudpsink udpsrc rtpjitterbuffer videotestsrc; do
  gst-inspect-1.0 "$e" >/dev/null 2>&1 || { echo "SKIP: element $e is not available"; exit 77; }
done

work=$(mktemp -d)
pids=()
cleanup () {
  for p in "${pids[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
  done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

free_port () {
  python3 -c 'import socket, sys; s = socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

nats_port=$(free_port SOCK_STREAM)
"$nats" -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q "Server is ready" "$work/nats.log" && break
  sleep 0.1
done
grep -q "Server is ready" "$work/nats.log" || { cat "$work/nats.log"; echo "FAIL: nats-server did not start"; exit 1; }

export KEYS="$work/keys" ROOM=standup BUS="nats://127.0.0.1:$nats_port" LIFETIME=600
export KM_OPTS="discovery-timeout=300 heartbeat-interval=500"
"$pipelines/room-keys.sh" alice bob recorder:member:subscribe >"$work/keys.log"
KEYS="$work/evil" "$pipelines/room-keys.sh" intruder:member:subscribe >>"$work/keys.log"
ROOM=other "$pipelines/room-keys.sh" lost:member:subscribe >>"$work/keys.log"
# One line per authority and member, nothing else.
grep -qxE "alice: host in room standup, token $work/keys/alice.jwt valid 600 s, device [0-9a-f]{64}" "$work/keys.log" &&
  grep -qxE "recorder: member in room standup, token $work/keys/recorder.jwt valid 600 s, device [0-9a-f]{64}" "$work/keys.log" &&
  [ "$(wc -l <"$work/keys.log")" -eq 7 ] || { cat "$work/keys.log"; echo "FAIL: room-keys.sh summary"; exit 1; }

# A token for another room: its own keymanager refuses to start with it.
if PORT=$(free_port SOCK_DGRAM) timeout 60 "$pipelines/room-recorder.sh" lost "$work/lost.webm" >"$work/lost.log" 2>&1; then
  cat "$work/lost.log"
  echo "FAIL: a member started with a token for another room"
  exit 1
fi
grep -q "wrong room" "$work/lost.log" || { cat "$work/lost.log"; echo "FAIL: no 'wrong room' error"; exit 1; }

p_alice=$(free_port SOCK_DGRAM)
p_bob=$(free_port SOCK_DGRAM)
p_rec=$(free_port SOCK_DGRAM)
p_intruder=$(free_port SOCK_DGRAM)
frames=240   # 8 s at 30 fps

# start NAME LOG ENV... COMMAND...: a member in the background.
start () {
  local log=$1
  shift
  env "$@" >"$log" 2>&1 &
  pids+=($!)
}

wait_playing () {
  for _ in $(seq 300); do
    grep -q "Setting pipeline to PLAYING" "$1" && return 0
    sleep 0.1
  done
  cat "$1"
  echo "FAIL: $1 did not start"
  exit 1
}

start "$work/recorder.log" PORT="$p_rec" "$pipelines/room-recorder.sh" recorder "$work/meeting.webm"
rec_pid=${pids[-1]}
start "$work/intruder.log" KEYS="$work/evil" PORT="$p_intruder" "$pipelines/room-recorder.sh" intruder "$work/intruder.webm"
intruder_pid=${pids[-1]}
start "$work/bob.log" GST_LAUNCH_OPTS="-m -v" SINK="fakesink silent=false" NUM_BUFFERS=$frames \
  SEND_TO="127.0.0.1:$p_alice" PORT="$p_bob" "$pipelines/room-member.sh" bob
bob_pid=${pids[-1]}
for log in recorder intruder bob; do wait_playing "$work/$log.log"; done
start "$work/alice.log" GST_LAUNCH_OPTS="-m -v" SINK="fakesink silent=false" NUM_BUFFERS=$frames \
  SEND_TO="127.0.0.1:$p_bob,127.0.0.1:$p_rec,127.0.0.1:$p_intruder" PORT="$p_alice" \
  "$pipelines/room-member.sh" alice
alice_pid=${pids[-1]}

# The video sources stop after $frames frames (the receiving branches go
# on); then everyone gets EOS (Ctrl-C), which finishes the recordings.
wait_playing "$work/alice.log"
sleep $((frames / 30 + 3))
for p in $alice_pid $bob_pid $rec_pid $intruder_pid; do
  kill -INT "$p" 2>/dev/null || true
done
for who in alice:$alice_pid bob:$bob_pid recorder:$rec_pid intruder:$intruder_pid; do
  p=${who#*:}
  for _ in $(seq 150); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    grep -v "last-message" "$work/${who%%:*}.log" | tail -20
    echo "FAIL: ${who%%:*} did not stop on EOS"
    exit 1
  fi
done

fail () {
  for log in alice bob recorder intruder; do
    echo "---- $log"
    grep -v "last-message" "$work/$log.log" | tail -40
  done
  echo "FAIL: $*"
  exit 1
}

# Decoded frames reach the fakesink of a member as "chain" messages.
decoded () { grep -c "last-message = chain" "$1" || true; }
# Frames in a recording, decoded.
recorded () {
  [ -s "$1" ] || { echo 0; return; }
  gst-launch-1.0 -v filesrc location="$1" ! matroskademux ! vp8dec ! fakesink silent=false 2>/dev/null |
    grep -c "last-message = chain" || true
}

bob_got=$(decoded "$work/bob.log")
alice_got=$(decoded "$work/alice.log")
rec_got=$(recorded "$work/meeting.webm")
intruder_got=$(recorded "$work/intruder.webm")
echo "each sender: $frames frames; bob decoded $bob_got, alice decoded $alice_got," \
  "the recording holds $rec_got, the intruder's $intruder_got"
[ "$bob_got" -ge $((frames / 3)) ] || fail "bob decoded too few of alice's frames"
[ "$alice_got" -ge $((frames / 3)) ] || fail "alice decoded too few of bob's frames"
[ "$rec_got" -ge $((frames / 3)) ] || fail "the recording holds too few frames"
[ "$intruder_got" -eq 0 ] || fail "the intruder recorded frames"
grep -q "sframe-member-refused.*wrong-authority" "$work/alice.log" || fail "alice did not refuse the intruder"

# The security code of the roster of three (alice, bob, recorder) that
# alice and bob saw, one per line (gst-launch -m prints one message a line).
codes_of_three () {
  python3 - "$1" <<'PY'
import re, sys
for line in open(sys.argv[1], errors="replace"):
    if "sframe-roster" not in line:
        continue
    members = line.split("lobby=")[0]
    # gst-launch escapes the nested structures and the spaces: "12345\ 67890".
    code = re.search(r"security-code=\(string\)\"?([0-9\\ ]+)", line)
    if code and members.count("member-id") == 3:
        print(code.group(1).replace("\\", "").strip())
PY
}
alice_codes=$(codes_of_three "$work/alice.log" | sort -u)
bob_codes=$(codes_of_three "$work/bob.log" | sort -u)
[ -n "$alice_codes" ] || fail "alice never saw a roster of three"
[ "$alice_codes" = "$bob_codes" ] || fail "alice and bob saw different rosters of three: '$alice_codes' / '$bob_codes'"
echo "alice and bob, roster of three: security code $alice_codes"

# room-renew.sh: one round with a 2 s lifetime re-issues every token
# (after 1 s), each still valid for the room and keeping its role.
before=$(cat "$KEYS/alice.jwt")
LIFETIME=2 ROUNDS=1 "$pipelines/room-renew.sh" alice bob recorder:member:subscribe >"$work/renew.log" 2>&1 ||
  { cat "$work/renew.log"; fail "room-renew.sh failed"; }
[ "$(cat "$KEYS/alice.jwt")" != "$before" ] || fail "room-renew.sh did not renew alice's token"
keytool="$BUILD_DIR/tools/gst-sframe-keytool"
for name in alice bob recorder; do
  "$keytool" token verify --authority "$KEYS/authority.key.pub" --room "$ROOM" "$KEYS/$name.jwt" >"$work/verify.log" 2>&1 ||
    { cat "$work/verify.log"; fail "the renewed token of $name does not verify"; }
done
"$keytool" token show "$KEYS/alice.jwt" | grep -q '"role": "host"' || fail "alice's renewed token lost her role"
"$keytool" token show "$KEYS/recorder.jwt" | grep -q '"publish-video"' && fail "the recorder's renewed token gained a grant"
echo "room-renew.sh renewed every token"
echo "PASS room recipes"
