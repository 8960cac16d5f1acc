#!/usr/bin/env bash
# The README's demo command: set-up on a fresh machine, then the main job on the embedded
# default (the article's architecture in the network-namespace lab). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx tsc -p tsconfig.json
exec node --import tsx scripts/demo-lab.ts
