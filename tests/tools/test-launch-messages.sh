#!/bin/sh
# What `gst-launch-1.0 -m` shows of a room: a keymanager, sframeenc and
# sframedec in one launch line on a local bus print an sframe-roster that
# names the member (name and fingerprint prefix) and spells the security
# code in groups, and sframe-stats lines with decrypted frames; the token
# never appears. gst-launch runs until those lines are out (at most 60 s).
# usage: test-launch-messages.sh PATH-TO-gst-sframe-keytool
set -eu

tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/sframe-launch-messages.XXXXXX")
pid=
cleanup () {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
cd "$work"

fail () {
  echo "FAIL: $*" >&2
  echo "--- gst-launch-1.0 output (keymanager lines)" >&2
  grep -F keymanager out >&2 || true
  echo "--- stderr" >&2; cat err >&2 || true
  exit 1
}

"$tool" authority new authority.key > keytool.log
"$tool" identity new alice.key >> keytool.log
"$tool" token issue --authority authority.key --room launch --member alice --name alice --role host \
  --device alice.key.pub --out alice.jwt >> keytool.log 2>&1
short=$("$tool" fingerprint alice.key.pub | awk '$1 == "short" { print $2 }')
[ -n "$short" ] || fail "no fingerprint from the keytool"

timeout 120 gst-launch-1.0 -m \
  keymanager room=launch bus=local://launch identity=alice.key token-file=alice.jwt \
    authority=authority.key.pub discovery-timeout=100 stats-interval=200 \
  videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 ! \
  sframeenc room=launch mode=frame ! sframedec room=launch mode=frame ! fakesink > out 2> err &
pid=$!

# Polls the output until a stats line counts decrypted frames.
tries=0
until grep -q 'sframe-stats.*frames-decrypted=(guint64)[1-9]' out; do
  kill -0 "$pid" 2>/dev/null || fail "gst-launch-1.0 ended before any sframe-stats with decrypted frames"
  tries=$((tries + 1))
  [ "$tries" -le 600 ] || fail "no sframe-stats with decrypted frames within 60 s"
  sleep 0.1
done
kill -INT "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=

grep -q 'from element "keymanager0" (element): sframe-roster, room=(string)launch' out ||
  fail "no sframe-roster message from the keymanager"
grep 'sframe-roster' out | grep -qF "member-count=(uint)1, names=(string)< alice:$short >" ||
  fail "the roster does not name alice:$short"
grep 'sframe-roster' out | grep -qE 'security-code-groups=\(string\)< ([0-9]{5}, ){11}[0-9]{5} >' ||
  fail "the roster does not show the security code in 12 groups of 5 digits"
stats=$(grep 'sframe-stats' out | tail -n 1)
for field in 'epoch=(guint64)1' 'member-count=(uint)1' 'rotations=(guint64)1' 'bus=(string)local://launch' \
  'encoders=(uint)1' 'decoders=(uint)1' 'auth-failures=(guint64)0'; do
  case $stats in
    *"$field"*) ;;
    *) fail "the last sframe-stats lacks $field" ;;
  esac
done
if grep -qF "$(cat alice.jwt)" out err; then fail "the output holds the token"; fi
if grep -q CRITICAL err; then fail "GStreamer assertions"; fi
echo "launch messages: roster of alice:$short, security code in groups, $(grep -c sframe-stats out) sframe-stats"
