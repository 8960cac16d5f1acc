#!/usr/bin/env bash
# The README's test command: set-up, static checks, unit tests, then the network-namespace lab
# (needs root). A suite that cannot run fails; it is skipped only when asked by name, e.g.
# EGRESS_VERIFY_SKIP=lab, and then says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

skip() { [[ ",${EGRESS_VERIFY_SKIP:-}," == *",$1,"* ]]; }

echo "== typecheck and lint"
npx tsc -p tsconfig.json
npx tsc -p tsconfig.check.json
npx biome check .

echo "== unit tests"
npx tap 'src/**/*.test.ts' 'probes/**/*.test.ts'

echo "== lab tests (network namespaces, real packet filter, proxy and DNS)"
if skip lab; then
  echo "lab tests SKIPPED: EGRESS_VERIFY_SKIP contains 'lab'"
elif [[ $(id -u) -ne 0 ]]; then
  echo "lab tests need root (network namespaces); run as root or set EGRESS_VERIFY_SKIP=lab" >&2
  exit 1
else
  npx tap --jobs=1 'test/lab/*.test.ts'
fi
