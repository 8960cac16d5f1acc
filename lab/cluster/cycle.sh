#!/usr/bin/env bash
# Bring-up soak: N times in a row, tear the cluster down and bring it up again with
# manifests/reference/ applied, as scripts/test.sh followed by scripts/demo.sh would. Each
# round's output goes to $EV_CACHE/cycle/<round>.log; the last line is the count of rounds
# that came up. The cluster is left up (after a failed last round, one more bring-up).
#
# Usage: lab/cluster/cycle.sh [N]   (default 20; npm run cluster:cycle -- N)
set -uo pipefail
EV_SCRIPT=cycle
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

rounds="${1:-20}"
[[ "$rounds" =~ ^[1-9][0-9]?$ ]] || { echo "usage: $0 [N]   (1-99 rounds)" >&2; exit 2; }
[[ $EUID -eq 0 ]] || die "run as root"
logs="$EV_CACHE/cycle"
mkdir -p "$logs"

ok=0
last_failed=0
for ((i = 1; i <= rounds; i++)); do
	t=$SECONDS
	if bash "$HERE/down.sh" >"$logs/$i.log" 2>&1 && bash "$HERE/up.sh" --with-reference >>"$logs/$i.log" 2>&1; then
		ok=$((ok + 1))
		last_failed=0
		log "round $i/$rounds: up in $((SECONDS - t))s"
	else
		log "round $i/$rounds: FAILED after $((SECONDS - t))s: $(grep -m1 ERROR "$logs/$i.log" || tail -n1 "$logs/$i.log")"
		last_failed=1
	fi
done
if [[ "$last_failed" == 1 ]] && ! bash "$HERE/up.sh" --with-reference >"$logs/final.log" 2>&1; then
	log "the cluster could not be brought back up: $logs/final.log"
fi
echo "cluster cycles: $ok/$rounds came up"
((ok == rounds))
