#!/bin/sh
# The quick-start demo: a run reports every frame decrypted and the
# eavesdropper refused; a wrong option gets usage and exit 2, with no
# GStreamer assertion.
# usage: test-demo.sh PATH-TO-sframe-demo
set -eu
demo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/sframe-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail () {
  echo "FAIL: $*" >&2
  echo "--- stdout" >&2; cat "$work/out" >&2 || true
  echo "--- stderr" >&2; cat "$work/err" >&2 || true
  exit 1
}

# expect CODE TEXT ARGS...: the exit code, and TEXT on stdout or stderr.
expect () {
  want=$1
  text=$2
  shift 2
  set +e
  timeout 120 "$demo" "$@" >"$work/out" 2>"$work/err"
  got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "sframe-demo $*: exit $got, wanted $want"
  cat "$work/out" "$work/err" | grep -qF -- "$text" || fail "sframe-demo $*: no '$text'"
  if grep -q "CRITICAL" "$work/err"; then fail "sframe-demo $*: GStreamer assertions"; fi
}

expect 0 "Result: every frame survived encryption; the wrong key got nothing." --seconds 1
expect 0 "0 frames decrypted" --seconds 1 --mode frame --suite aes-256-gcm-sha512-128
expect 2 "unknown cipher suite 'bogus': use aes-128-ctr-hmac-sha256-80" --suite bogus
expect 2 "unknown mode 'bogus': use codec or frame" --mode bogus
expect 2 "--seconds must be 1 to 3600" --seconds 0
expect 2 "unexpected argument" extra
expect 2 "Usage:" --mode bogus
echo "demo: 7 cases passed"
