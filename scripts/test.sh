#!/usr/bin/env bash
# The README's test command: set-up, static checks, unit tests, the network-namespace lab, then
# the lab Kubernetes cluster (both need root). A suite that cannot run fails; it is skipped only
# when asked by name (EGRESS_VERIFY_SKIP=html,lab,cluster), and then says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

skip() { [[ ",${EGRESS_VERIFY_SKIP:-}," == *",$1,"* ]]; }

echo "== typecheck and lint"
npm run build --silent
npx tsc -p tsconfig.check.json
npx biome check .
node --import tsx scripts/import-cycles.ts

echo "== npm package: pack, install in an empty directory, plan from it"
bash scripts/pack-check.sh

echo "== unit tests"
npx tap 'src/**/*.test.ts' 'probes/**/*.test.ts'

echo "== HTML report in headless Chromium"
if skip html; then
  echo "HTML report tests SKIPPED: EGRESS_VERIFY_SKIP contains 'html'"
else
  npx tap --jobs=1 'test/html/*.test.ts'
fi

echo "== lab tests (network namespaces, real packet filter, proxy and DNS)"
if skip lab; then
  echo "lab tests SKIPPED: EGRESS_VERIFY_SKIP contains 'lab'"
elif [[ $(id -u) -ne 0 ]]; then
  echo "lab tests need root (network namespaces); run as root or set EGRESS_VERIFY_SKIP=lab" >&2
  exit 1
else
  # Two at a time: one companion's matrix is mostly waiting for deadlines.
  npx tap --jobs=2 'test/lab/*.test.ts'
fi

echo "== cluster tests (real single-node Kubernetes, NetworkPolicy by kube-router)"
if skip cluster; then
  echo "cluster tests SKIPPED: EGRESS_VERIFY_SKIP contains 'cluster'"
elif [[ $(id -u) -ne 0 ]]; then
  echo "cluster tests need root; run as root or set EGRESS_VERIFY_SKIP=cluster" >&2
  exit 1
else
  # Cold, the first up.sh builds Kubernetes from source (cached in /var/cache/egress-verify).
  bash lab/cluster/up.sh --with-reference
  [[ -n "${EGRESS_VERIFY_KEEP_CLUSTER:-}" ]] || trap 'bash lab/cluster/down.sh >/dev/null 2>&1 || true' EXIT
  bash scripts/build-image.sh --local-base --import /run/egress-verify-cluster/containerd/containerd.sock
  npx tap --jobs=1 'test/cluster/*.test.ts'
fi
