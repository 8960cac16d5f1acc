#!/usr/bin/env bash
# The README's demo command, on a fresh machine of this kind (Debian, root): brings up the lab
# Kubernetes cluster with the article's reference architecture (lab/cluster; the first time
# builds Kubernetes from source, ~30 min on 2 cores; later ~2 min), builds the project's image
# from its Dockerfile, and runs the main job, `egress-verify run`, against the reference
# workload, writing an evidence bundle to reports/ and verifying it. Targets are the lab's
# outside hosts (test/cluster/catalogue.yaml, with the enforcement canary of canary.yaml):
# nothing else is ever dialled. Tear down with `npm run cluster:down`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run build --silent
bash lab/cluster/up.sh --with-reference
bash scripts/build-image.sh --local-base --import /run/egress-verify-cluster/containerd/containerd.sock
# The bundle an auditor would get: the report (TAP, JSON, JUnit, HTML, Markdown), what was
# tested as the API showed it, and a manifest that `evidence verify` checks.
bundle="reports/evidence-$(date -u +%Y%m%dT%H%M%SZ)"
status=0
node dist/src/cli.js run \
  --kubeconfig /var/lib/egress-verify-cluster/admin.kubeconfig \
  -n production-agents --workload deployment/data-processor \
  --companion-ca secret/guardian-tls-ca:ca.pem \
  --catalogue test/cluster/catalogue.yaml --extend test/cluster/canary.yaml \
  --image "localhost/egress-verify:$(node -p 'require("./package.json").version')" --image-pull-policy Never \
  --evidence "$bundle" || status=$?
if [[ -d $bundle ]]; then
  node dist/src/cli.js evidence verify "$bundle" || status=$?
  echo "open $bundle/report.html for the auditor's view"
fi
exit "$status"
