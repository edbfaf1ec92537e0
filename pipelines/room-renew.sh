#!/usr/bin/env bash
# Keeps a long meeting going: membership lasts only as long as a valid join
# token, so this issues each named member a fresh token (same role and
# grants as its current one) every LIFETIME/2 seconds into KEYS/NAME.jwt,
# which keymanager reads again when it changes. Needs the authority key
# (KEYS/authority.key): run it where the authority lives.
# Usage: room-renew.sh NAME[:ROLE[:GRANTS]] ... (as room-keys.sh); stop it
# with Ctrl-C or kill. ROUNDS: stop after this many renewals (default: never).
# Example: pipelines/room-renew.sh alice bob recorder:member:subscribe &
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=room-env.sh
. "$here/room-env.sh"
LIFETIME=${LIFETIME:-300}
ROUNDS=${ROUNDS:-0}
[ $# -gt 0 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ -e "$KEYS/authority.key" ] || { echo "room-renew.sh: no $KEYS/authority.key (make the keys with room-keys.sh)" >&2; exit 1; }
round=0
while :; do
  sleep $((LIFETIME / 2))
  LIFETIME=$LIFETIME "$here/room-keys.sh" "$@" >/dev/null
  round=$((round + 1))
  echo "room-renew.sh: renewed $* (round $round)"
  [ "$ROUNDS" = 0 ] || [ "$round" -lt "$ROUNDS" ] || break
done
