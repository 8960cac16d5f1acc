#!/usr/bin/env bash
# Apply manifests/reference/ (the article's companion architecture, made runnable) to
# the lab cluster, with the secrets and trust material it needs created from the
# node's PKI (never committed):
#   Secret    guardian-tls-ca                 ca.pem = interception CA key + certificate
#   ConfigMap egress-guardian-ca              ca.crt = interception CA certificate
#   ConfigMap egress-guardian-upstream-trust  ca.crt = the lab outside site's CA
# The companion is the article's mitmproxy unless EV_COMPANION names another of the lab's
# scanners (lab/cluster/images.sh, companion/proxies.sh): squid-bump, squid, smokescreen or
# tinyproxy, in the same Deployment with the same Service and policies. EV_COMPANION_DENY lists
# hosts that companion refuses (the "companion denies the site" scenario). Running the script
# again without them puts mitmproxy back.
# Usage: [EV_COMPANION=KIND [EV_COMPANION_DENY="HOST ..."]] apply-reference.sh [apply|delete]
set -euo pipefail
EV_SCRIPT=reference
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
PKI="$EV_STATE/pki"
NS=production-agents
REF="$REPO/manifests/reference"
COMPANION="${EV_COMPANION:-mitmproxy}"
DENY="${EV_COMPANION_DENY:-}"
case "$COMPANION" in
mitmproxy) [[ -z "$DENY" ]] || die "EV_COMPANION_DENY needs one of the other companions (the mitmproxy image has no deny list)" ;;
squid-bump | squid | smokescreen | tinyproxy) ;;
*) die "EV_COMPANION=$COMPANION: mitmproxy, squid-bump, squid, smokescreen or tinyproxy" ;;
esac

# The reference manifests with the companion swapped: kustomize (built into kubectl) sets the
# image and the companion's environment, so a later plain apply takes them out again.
companion_manifests() {
	local dir image
	dir="$(mktemp -d)"
	cp "$REF"/*.yaml "$dir/"
	image="$(bash "$HERE/images.sh" list | grep ':proxies-')"
	{
		echo 'resources:'
		(cd "$REF" && printf '  - %s\n' *.yaml)
		echo 'images:'
		echo "  - {name: ${image%:*}, newTag: ${image##*:}}"
		echo 'patches:'
		# A strategic merge: env entries merge by name, so the reference's own DENY_HOSTS and
		# DENY_PATTERN (the mitmproxy policy addon's) are replaced, never duplicated.
		echo '  - target: {kind: Deployment, name: egress-guardian}'
		echo '    patch: |-'
		echo '      {apiVersion: apps/v1, kind: Deployment, metadata: {name: egress-guardian}, spec: {template: {spec: {containers: [{name: scanner, env: ['
		echo '        {name: EV_COMPANION, value: '"$COMPANION"'},'
		echo '        {name: DENY_HOSTS, value: "'"$DENY"'"},'
		echo '        {name: DENY_PATTERN, value: ""},'
		# The lab world's resolver, as a real companion would use a public one (Squid only).
		echo '        {name: DNS_SERVERS, value: '"$OUTSIDE_DNS_IP"'}]}]}}}}'
	} >"$dir/kustomization.yaml"
	kc kustomize "$dir"
	rm -rf "$dir"
}

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
# Built and imported here too, for a cluster brought up before the image (or its tag) existed
# (cached): a companion tag the node does not have leaves the rollout at ErrImageNeverPull.
bash "$HERE/images.sh" build >/dev/null
bash "$HERE/images.sh" import "$CONTAINERD_SOCK"
if [[ "$COMPANION" == mitmproxy ]]; then
	kc apply -f "$REF"
else
	companion_manifests | kc apply -f -
fi
kc -n "$NS" rollout status deployment/egress-guardian --timeout=120s
kc -n "$NS" rollout status deployment/data-processor --timeout=120s
log "manifests/reference applied (companion: $COMPANION${DENY:+, denying $DENY})"
