#!/usr/bin/env bash
# Apply manifests/reference/ (the article's companion architecture, made runnable) to
# the lab cluster, with the secrets and trust material it needs created from the
# node's PKI (never committed):
#   Secret    guardian-tls-ca                 ca.pem = interception CA key + certificate
#   ConfigMap egress-guardian-ca              ca.crt = interception CA certificate
#   ConfigMap egress-guardian-upstream-trust  ca.crt = the lab outside site's CA
# Usage: apply-reference.sh [apply|delete]
set -euo pipefail
EV_SCRIPT=reference
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
PKI="$EV_STATE/pki"
NS=production-agents
REF="$REPO/manifests/reference"

if [[ "${1:-apply}" == delete ]]; then
	kc delete -f "$REF" --ignore-not-found --wait=true --timeout=60s
	exit 0
fi
kc apply -f "$REF/00-namespace.yaml" >/dev/null
kc -n "$NS" create secret generic guardian-tls-ca --from-file=ca.pem="$PKI/guardian-ca.pem" \
	--dry-run=client -o yaml | kc apply -f - >/dev/null
kc -n "$NS" create configmap egress-guardian-ca --from-file=ca.crt="$PKI/guardian-ca.crt" \
	--dry-run=client -o yaml | kc apply -f - >/dev/null
kc -n "$NS" create configmap egress-guardian-upstream-trust --from-file=ca.crt="$PKI/outside-ca.crt" \
	--dry-run=client -o yaml | kc apply -f - >/dev/null
kc apply -f "$REF"
kc -n "$NS" rollout status deployment/egress-guardian --timeout=120s
kc -n "$NS" rollout status deployment/data-processor --timeout=120s
log "manifests/reference applied"
