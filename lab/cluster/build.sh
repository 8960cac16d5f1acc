#!/usr/bin/env bash
# Build (or reuse) the upstream binaries of the lab cluster from source through the
# Go module proxy, into a cache outside the repository keyed by version:
#   $EV_CACHE/bin/kubernetes-<v>/  kube-apiserver kube-controller-manager kube-scheduler
#                                  kubelet kube-proxy kubectl
#   $EV_CACHE/bin/kube-router-<v>/kube-router
#   $EV_CACHE/bin/coredns-<v>/coredns
#   $EV_CACHE/bin/pause-1/pause     (lab/cluster/k8s/pause, our own sandbox binary)
#   $EV_CACHE/bin/helm-<v>/helm     (for the Helm chart's tests)
# GOMODCACHE and GOCACHE live under $EV_CACHE too, so a rebuild on the same machine is
# incremental. Anything already present (a ".complete" marker) is skipped.
#
# Usage: lab/cluster/build.sh [--regen-gomod]
#   --regen-gomod  rewrite lab/cluster/k8s/go.mod from k8s.io/kubernetes@$K8S_VERSION's
#                  own go.mod (every ./staging replace -> published $K8S_STAGING_VERSION)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"

log() { printf '[build %s] %s\n' "$(date +%T)" "$*"; }

command -v go >/dev/null || { echo "go not found in PATH" >&2; exit 1; }
mkdir -p "$EV_BIN_CACHE" "$GOMODCACHE" "$GOCACHE"

# One build at a time (up.sh may call us while a background build is running).
exec 9>"$EV_CACHE/build.lock"
if ! flock -w 5400 9; then echo "timed out waiting for $EV_CACHE/build.lock" >&2; exit 1; fi

regen_gomod() {
	local mod
	mod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
	[[ -f "$mod" ]] || { echo "cannot download k8s.io/kubernetes@$K8S_VERSION go.mod" >&2; exit 1; }
	{
		echo '// Wrapper module: builds Kubernetes v1.34 binaries from published modules.'
		echo '// k8s.io/kubernetes replaces its staging modules with ./staging, which `go install`'
		echo '// refuses; here every staging module is replaced with its published v0.34.x.'
		echo '// Regenerate with lab/cluster/build.sh --regen-gomod.'
		echo 'module egress-verify.local/k8s-build'
		echo
		echo 'go 1.25.0'
		echo
		echo 'godebug default=go1.24'
		echo
		echo 'tool ('
		for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
			printf '\tk8s.io/kubernetes/cmd/%s\n' "$c"
		done
		echo ')'
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo 'replace ('
		grep '=> ./staging' "$mod" | awk -v v="$K8S_STAGING_VERSION" '{print "\t"$1" => "$1" "v}'
		echo ')'
	} >"$HERE/k8s/go.mod"
	rm -f "$HERE/k8s/go.sum"
	(cd "$HERE/k8s" && GOFLAGS=-mod=mod go mod tidy)
	log "regenerated k8s/go.mod ($(grep -c '=> ' "$HERE/k8s/go.mod") replaces)"
}

if [[ "${1:-}" == "--regen-gomod" ]]; then regen_gomod; fi

# Install into a temp dir next to the target, then rename: a killed build never
# leaves a half-populated cache entry that looks complete.
stage() { local d="$1"; rm -rf "$d.tmp"; mkdir -p "$d.tmp"; echo "$d.tmp"; }
commit() { local d="$1"; touch "$d.tmp/.complete"; rm -rf "$d"; mv "$d.tmp" "$d"; }

build_pause() {
	[[ -f "$PAUSE_BIN/.complete" ]] && { log "pause cached: $PAUSE_BIN"; return; }
	local t; t="$(stage "$PAUSE_BIN")"
	log "building pause"
	(cd "$HERE/k8s" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$t/pause" ./pause)
	commit "$PAUSE_BIN"
}

build_kubernetes() {
	[[ -f "$K8S_BIN/.complete" ]] && { log "kubernetes $K8S_VERSION cached: $K8S_BIN"; return; }
	local t; t="$(stage "$K8S_BIN")"
	local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
	local pkg="k8s.io/component-base/version"
	local ld="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
	ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
	log "building kubernetes $K8S_VERSION (cold: tens of minutes on 2 cores)"
	local start=$SECONDS
	(cd "$HERE/k8s" && CGO_ENABLED=0 GOFLAGS="${EV_GOFLAGS:-}" go build -mod=readonly -trimpath \
		-ldflags "$ld" -o "$t/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet \
		k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl)
	commit "$K8S_BIN"
	log "kubernetes built in $((SECONDS - start))s"
}

build_kube_router() {
	[[ -f "$KUBE_ROUTER_BIN/.complete" ]] && { log "kube-router $KUBE_ROUTER_VERSION cached"; return; }
	local t; t="$(stage "$KUBE_ROUTER_BIN")"
	log "building kube-router $KUBE_ROUTER_VERSION"
	local start=$SECONDS
	(cd / && CGO_ENABLED=0 GOBIN="$t" go install -trimpath -ldflags '-s -w' \
		"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION")
	commit "$KUBE_ROUTER_BIN"
	log "kube-router built in $((SECONDS - start))s"
}

build_coredns() {
	[[ -f "$COREDNS_BIN/.complete" ]] && { log "coredns $COREDNS_VERSION cached"; return; }
	local t; t="$(stage "$COREDNS_BIN")"
	log "building coredns $COREDNS_VERSION"
	local start=$SECONDS
	(cd / && CGO_ENABLED=0 GOBIN="$t" go install -trimpath -ldflags '-s -w' \
		"github.com/coredns/coredns@$COREDNS_VERSION")
	commit "$COREDNS_BIN"
	log "coredns built in $((SECONDS - start))s"
}

build_helm() {
	[[ -f "$HELM_BIN/.complete" ]] && { log "helm $HELM_VERSION cached"; return; }
	local t; t="$(stage "$HELM_BIN")"
	log "building helm $HELM_VERSION"
	local start=$SECONDS
	(cd / && CGO_ENABLED=0 GOBIN="$t" go install -trimpath -ldflags '-s -w' "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
	commit "$HELM_BIN"
	log "helm built in $((SECONDS - start))s"
}

total=$SECONDS
build_pause
build_kube_router
build_coredns
build_kubernetes
build_helm
log "all binaries ready in $((SECONDS - total))s"
