# shellcheck shell=bash disable=SC2034
# Versions and paths shared by the lab cluster scripts (sourced, not executed).
# Versions are ones the Go module proxy serves (checked with `go list -m -versions`
# and `go mod download`): kube-router/v2 is served only at v2.1.0 through the proxy here.
K8S_VERSION="${K8S_VERSION:-v1.34.12}"
K8S_STAGING_VERSION="${K8S_STAGING_VERSION:-v0.${K8S_VERSION#v1.}}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
# Helm renders and lints manifests/helm/ in the cluster tests (not part of the cluster).
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
# network-policy-api CRDs (stored, not enforced): AdminNetworkPolicy and BaselineAdminNetworkPolicy
# (v1alpha1) at the version kube-network-policies v0.8.0 requires; ClusterNetworkPolicy (v1alpha2)
# from v0.3.0, the first module version on the proxy that has it.
NETWORK_POLICY_API_ANP_VERSION="${NETWORK_POLICY_API_ANP_VERSION:-v0.1.6-0.20250401132235-45061d10895e}"
NETWORK_POLICY_API_CNP_VERSION="${NETWORK_POLICY_API_CNP_VERSION:-v0.3.0}"

EV_CACHE="${EV_CACHE:-/var/cache/egress-verify}"
EV_BIN_CACHE="$EV_CACHE/bin"
export GOMODCACHE="${GOMODCACHE_OVERRIDE:-$EV_CACHE/gomod}"
export GOCACHE="${GOCACHE_OVERRIDE:-$EV_CACHE/gocache}"
export GOWORK=off GOTOOLCHAIN=local

K8S_BIN="$EV_BIN_CACHE/kubernetes-$K8S_VERSION"
KUBE_ROUTER_BIN="$EV_BIN_CACHE/kube-router-$KUBE_ROUTER_VERSION"
COREDNS_BIN="$EV_BIN_CACHE/coredns-$COREDNS_VERSION"
PAUSE_BIN="$EV_BIN_CACHE/pause-1"
HELM_BIN="$EV_BIN_CACHE/helm-$HELM_VERSION"
# Built by scripts/setup.sh (go install github.com/stripe/smokescreen@v0.1.0) for the lab companions.
SMOKESCREEN_BIN="$EV_BIN_CACHE/smokescreen-v0.1.0"

# Runtime state of the cluster (outside the repo).
EV_STATE="${EV_STATE:-/var/lib/egress-verify-cluster}"
EV_RUN="${EV_RUN:-/run/egress-verify-cluster}"
KUBECONFIG_ADMIN="$EV_STATE/admin.kubeconfig"
NODE_NAME="${NODE_NAME:-ev-node}"
