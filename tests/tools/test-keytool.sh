#!/bin/sh
# End-to-end check of gst-sframe-keytool in a scratch folder: keys are
# created 0600 (even under umask 000), overwriting is refused, a token
# issued by the authority verifies, and verification fails (exit 1, with the
# reason) for another room, another authority, tampered claims or
# signature, expiry and a device-signed token. Private key bytes never
# appear in any output.
# usage: test-keytool.sh PATH-TO-gst-sframe-keytool
set -eu

# Absolute, since the test runs inside its scratch folder.
tool=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/sframe-keytool.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"
: > all.log

fail () {
  echo "FAIL: $*" >&2
  echo "--- stdout" >&2; cat out >&2 || true
  echo "--- stderr" >&2; cat err >&2 || true
  exit 1
}

# expect CODE ARGS...: runs the tool, keeps stdout/stderr in out/err.
expect () {
  want=$1
  shift
  set +e
  "$tool" "$@" > out 2> err
  got=$?
  set -e
  cat out err >> all.log
  [ "$got" = "$want" ] || fail "expected exit $want, got $got: keytool $*"
}

expect_err () {
  grep -q -- "$1" err || fail "stderr lacks '$1'"
}

mode_of () {
  stat -c %a "$1"
}

# b64url-decode/encode one token part with coreutils.
part_decode () {
  s=$(printf %s "$1" | tr '_-' '/+')
  case $(( ${#s} % 4 )) in
    2) s="$s==" ;;
    3) s="$s=" ;;
  esac
  printf %s "$s" | base64 -d
}
part_encode () {
  base64 -w0 | tr '+/' '-_' | tr -d '='
}

echo "# keys"
umask 000
expect 0 identity new alice.key
expect 0 identity new bob.key
expect 0 authority new org.key
expect 0 authority new rogue.key
umask 022
for k in alice.key bob.key org.key rogue.key; do
  [ "$(mode_of "$k")" = 600 ] || fail "$k has mode $(mode_of "$k"), want 600"
  [ -f "$k.pub" ] || fail "$k.pub missing"
  head -n 1 "$k" | grep -q -- '-----BEGIN PRIVATE KEY-----' || fail "$k is not PKCS#8 PEM"
  head -n 1 "$k.pub" | grep -q -- '-----BEGIN PUBLIC KEY-----' || fail "$k.pub is not PEM"
done

echo "# overwrite refused, --force replaces"
cp org.key org.key.orig
expect 1 authority new org.key
expect_err "already exists"
cmp -s org.key org.key.orig || fail "refused overwrite changed org.key"
rm org.key.orig
touch lonely.key.pub
expect 1 identity new lonely.key
[ ! -e lonely.key ] || fail "refusal on .pub still wrote the private key"
cp bob.key.pub bob.pub.before
expect 0 identity new --force bob.key
[ "$(mode_of bob.key)" = 600 ] || fail "forced bob.key has mode $(mode_of bob.key)"
! cmp -s bob.key.pub bob.pub.before || fail "--force did not replace bob.key.pub"

echo "# fingerprints"
expect 0 fingerprint org.key
fp_priv=$(sed -n 's/^fingerprint  //p' out)
expect 0 fingerprint org.key.pub
fp_pub=$(sed -n 's/^fingerprint  //p' out)
[ ${#fp_priv} = 64 ] || fail "fingerprint '$fp_priv' is not 64 hex"
[ "$fp_priv" = "$fp_pub" ] || fail "private and public fingerprints differ"
expect 0 fingerprint rogue.key.pub
[ "$(sed -n 's/^fingerprint  //p' out)" != "$fp_priv" ] || fail "two authorities share a fingerprint"

echo "# issue and verify"
expect 0 token issue --authority org.key --room room-1 --member m-7 --name "Ada L" \
  --role member --device alice.key.pub --grants publish-audio,subscribe --out tok
[ "$(mode_of tok)" = 600 ] || fail "token file has mode $(mode_of tok)"
expect 1 token issue --authority org.key --room room-1 --member m-7 --name "Ada L" \
  --role member --device alice.key.pub --out tok
expect_err "already exists"
# --force replaces it by renaming a new file over it (a keymanager reading
# the file to renew never sees it half written): a new inode, mode 0600,
# nothing left beside it.
inode_before=$(stat -c %i tok)
cp tok saved-token
expect 0 token issue --authority org.key --room room-1 --member m-7 --name "Ada L" \
  --role member --device alice.key.pub --grants publish-audio,subscribe --out tok --force
[ "$(stat -c %i tok)" != "$inode_before" ] || fail "--force wrote into the old token file"
[ "$(mode_of tok)" = 600 ] || fail "replaced token file has mode $(mode_of tok)"
! cmp -s tok saved-token || fail "--force did not replace the token"
[ -z "$(ls tok.?????? 2>/dev/null)" ] || fail "--force left a temporary file: $(ls tok.??????)"
expect 0 token verify --authority org.key.pub --room room-1 tok
grep -q "^valid token" out || fail "no 'valid token'"
grep -q "grants   publish-audio,subscribe" out || fail "grants not shown"
tok=$(cat tok)
expect 0 token verify --authority org.key.pub --room room-1 "$tok"
set +e
printf '%s\n' "$tok" | "$tool" token verify --authority org.key.pub --room room-1 - > out 2> err
got=$?
set -e
[ "$got" = 0 ] || fail "token from stdin: exit $got"
expect 0 token show tok
grep -q "UNVERIFIED" out || fail "token show is not labelled unverified"
grep -q '"room": "room-1"' out || fail "token show lacks the room"
# Printed on stdout alone, so it can be piped.
expect 0 token issue --authority org.key --room room-1 --member h-1 --name Host --role host \
  --device bob.key.pub --lifetime 60
[ "$(wc -l < out)" = 1 ] || fail "token issue printed more than the token on stdout"
expect 0 token verify --authority org.key.pub --room room-1 "$(cat out)"
grep -q "role     host" out || fail "host role lost"

echo "# refusals"
expect 1 token verify --authority org.key.pub --room room-2 tok
expect_err "wrong room"
expect 1 token verify --authority rogue.key.pub --room room-1 tok
expect_err "wrong authority"
now=$(date +%s)
expect 1 token verify --authority org.key.pub --room room-1 --now $((now + 100000)) tok
expect_err "expired"
expect 1 token verify --authority org.key.pub --room room-1 --now $((now - 100000)) tok
expect_err "not yet valid"

# Move the token to another room by editing its claims: the signature fails.
header=${tok%%.*}
rest=${tok#*.}
claims=${rest%%.*}
sig=${rest#*.}
moved=$(part_decode "$claims" | sed 's/"room":"room-1"/"room":"room-2"/' | part_encode)
[ "$moved" != "$claims" ] || fail "test bug: claims unchanged"
expect 1 token verify --authority org.key.pub --room room-2 "$header.$moved.$sig"
expect_err "bad signature"
# Flip the first signature character.
case $sig in
  A*) sig2="B${sig#?}" ;;
  *) sig2="A${sig#?}" ;;
esac
expect 1 token verify --authority org.key.pub --room room-1 "$header.$claims.$sig2"
expect_err "bad signature"
expect 1 token verify --authority org.key.pub --room room-1 "$header.$claims"
expect_err "malformed"

# A device cannot issue itself a token.
expect 0 token issue --authority alice.key --room room-1 --member m-7 --name "Ada L" \
  --role host --device alice.key.pub --out self-tok
expect 1 token verify --authority org.key.pub --room room-1 self-tok
expect_err "wrong authority"

echo "# lifetime and usage"
expect 2 token issue --authority org.key --room room-1 --member m-7 --name "Ada L" \
  --role member --device alice.key.pub --lifetime 86401
expect_err "lifetime"
expect 0 token issue --authority org.key --room room-1 --member m-7 --name "Ada L" \
  --role member --device alice.key.pub --lifetime 7200 --out long-tok
expect 1 token verify --authority org.key.pub --room room-1 long-tok
expect_err "lifetime too long"
expect 0 token verify --authority org.key.pub --room room-1 --max-lifetime 7200 long-tok
expect 2
expect 2 frobnicate
expect 2 token verify --authority org.key.pub tok
expect 2 token issue --authority org.key --room room-1 --member m-7 --name N --role admin --device alice.key.pub
expect 2 token issue --authority org.key --room room-1 --member m-7 --name N --role member --device alice.key.pub --grants admin
expect 2 identity new

echo "# loose private key permissions"
chmod 644 org.key
expect 1 token issue --authority org.key --room room-1 --member m-7 --name N --role member --device alice.key.pub
expect_err "chmod 600"
expect_err "org.key"
expect 1 fingerprint org.key
expect_err "chmod 600"
chmod 600 org.key

echo "# a public key where a private key is needed"
expect 1 token issue --authority org.key.pub --room room-1 --member m-7 --name N --role member --device alice.key.pub
expect_err "'org.key.pub' is a public key, where a private key is needed"
grep -q "chmod" err && fail "a public key given for a private one got chmod advice"

echo "# no private key bytes in any output"
for k in alice.key bob.key org.key rogue.key; do
  grep -v -- '-----' "$k" > body
  [ -s body ] || fail "test bug: $k has no body"
  while IFS= read -r line; do
    if grep -qF -- "$line" all.log; then
      fail "a line of $k appears in the tool's output"
    fi
  done < body
done

echo "PASS"
