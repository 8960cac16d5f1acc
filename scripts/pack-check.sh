#!/usr/bin/env bash
# The npm package as a user gets it: pack, install the tarball in an empty directory, and run
# `probe --print-plan` against a lab catalogue. Catches data files missing from package.json
# `files` (schemas, the default catalogue), which no test run from the checkout can see.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/src/cli.js ]] || npm run build --silent
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n1)
mkdir "$scratch/app"
# Dependencies come from the npm cache that `npm ci` filled; the registry only when it misses.
(cd "$scratch/app" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund --prefer-offline "$scratch/$tarball")
plan=$("$scratch/app/node_modules/.bin/egress-verify" probe --print-plan \
  --companion http://egress-guardian-svc:8080 --catalogue "$PWD/test/cluster/catalogue.yaml")
node -e 'const p = JSON.parse(process.argv[1]); if (p.version !== 1 || p.checks.length === 0) process.exit(1)' "$plan"
# The default catalogue too: it is read from the package, not from this checkout.
"$scratch/app/node_modules/.bin/egress-verify" probe --print-plan --companion http://egress-guardian-svc:8080 >/dev/null
echo "pack check: $tarball installs and plans ($(node -e 'console.log(JSON.parse(process.argv[1]).checks.length)' "$plan") checks)"
