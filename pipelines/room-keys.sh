#!/usr/bin/env bash
# Makes a room's keys: the room authority (KEYS/authority.key, keep it
# offline; members need only KEYS/authority.key.pub), and for each member
# an identity (KEYS/NAME.key, mode 0600) and a join token (KEYS/NAME.jwt)
# for room ROOM.
# Usage: room-keys.sh NAME[:ROLE[:GRANTS]] ...
#   ROLE    host or member (default: host for the first name, member after)
#   GRANTS  comma-separated publish-audio,publish-video,publish-screen,
#           subscribe (default publish-audio,publish-video,subscribe);
#           a recording bot: subscribe only.
# LIFETIME: token lifetime in seconds (default 300: tokens are short-lived
# on purpose; make new ones to join later). Settings: room-env.sh.
# Example: room-keys.sh alice bob recorder:member:subscribe
set -euo pipefail
# shellcheck source=room-env.sh
. "$(dirname "$0")/room-env.sh"
LIFETIME=${LIFETIME:-300}
[ $# -gt 0 ] || { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

mkdir -p "$KEYS"
chmod 700 "$KEYS"
# The keytool's own reports go to a log; this script prints one line each.
log="$KEYS/room-keys.log"
: > "$log"
if [ ! -e "$KEYS/authority.key" ]; then
  "$recipe_keytool" authority new "$KEYS/authority.key" >> "$log"
  echo "authority: $KEYS/authority.key (keep it offline); members need $KEYS/authority.key.pub"
fi
first=1
for spec in "$@"; do
  IFS=: read -r name role grants <<<"$spec"
  if [ -z "${role:-}" ]; then
    if [ $first = 1 ]; then role=host; else role=member; fi
  fi
  first=0
  [ -e "$KEYS/$name.key" ] || "$recipe_keytool" identity new "$KEYS/$name.key" >> "$log"
  "$recipe_keytool" token issue --authority "$KEYS/authority.key" --room "$ROOM" --member "$name" \
    --name "$name" --role "$role" --device "$KEYS/$name.key.pub" ${grants:+--grants "$grants"} \
    --lifetime "$LIFETIME" --out "$KEYS/$name.jwt" --force >> "$log"
  fingerprint=$("$recipe_keytool" fingerprint "$KEYS/$name.key.pub" | awk '$1 == "fingerprint" { print $2 }')
  echo "$name: $role in room $ROOM, token $KEYS/$name.jwt valid $LIFETIME s, device $fingerprint"
done
