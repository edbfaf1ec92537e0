#!/bin/sh
# The common mistakes on a gst-launch-1.0 line, each with the exact message
# a user reads, and a non-zero exit where the pipeline cannot work:
# a static key that is too short, not hex or of odd length, on either
# element; a decrypter without a key (a warning naming the key id); two
# different keys in one room (a warning saying the room holds both).
# Each gst-launch-1.0 is bounded by `timeout`.
set -u

KEY=000102030405060708090a0b0c0d0e0f
OTHER=f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff
SRC="videotestsrc num-buffers=10 ! video/x-raw,width=64,height=48 ! vp8enc deadline=1"
failures=0
out=$(mktemp "${TMPDIR:-/tmp}/sframe-mistakes.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM

# expect WANT_RC(zero|nonzero) TEXT LAUNCH...
expect () {
  want=$1 text=$2
  shift 2
  timeout 60 gst-launch-1.0 "$@" >"$out" 2>&1
  rc=$?
  ok=yes
  if [ $rc -eq 124 ]; then ok=no; why="timed out"
  elif [ "$want" = nonzero ] && [ $rc -eq 0 ]; then ok=no; why="exited 0"
  elif [ "$want" = zero ] && [ $rc -ne 0 ]; then ok=no; why="exited $rc"
  elif ! grep -qF "$text" "$out"; then ok=no; why="did not say: $text"
  fi
  if [ $ok = no ]; then
    echo "FAIL: gst-launch-1.0 $*: $why" >&2
    sed 's/^/    /' "$out" >&2
    failures=$((failures + 1))
  else
    echo "ok: $* -> $(grep -F "$text" "$out" | head -n 1)"
  fi
}

invalid='Invalid value for property "key": expected a base key of 16 to 64 bytes as hex (32 to 128 hex digits)'
for element in sframeenc sframedec; do
  for bad in 0011223344556677 000102030405060708090a0b0c0d0e0z 000102030405060708090a0b0c0d0e0f1; do
    if [ $element = sframeenc ]; then
      expect nonzero "$invalid" $SRC ! sframeenc key=$bad ! fakesink
    else
      expect nonzero "$invalid" $SRC ! sframeenc key=$KEY ! sframedec key=$bad ! fakesink
    fi
    # The value is never echoed.
    if grep -qF "$bad" "$out"; then
      echo "FAIL: the key was echoed" >&2
      failures=$((failures + 1))
    fi
  done
done

expect zero "No SFrame key for key id" \
  $SRC ! sframeenc key=$KEY ! sframedec room=apart ! fakesink
expect zero 'Room "default" now holds 2 different static keys' \
  $SRC ! sframeenc key=$KEY ! sframedec key=$OTHER ! fakesink

[ $failures -eq 0 ] || { echo "$failures mistake(s) not reported as expected" >&2; exit 1; }
