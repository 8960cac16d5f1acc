#!/usr/bin/env bash
# Bring up a real single-node Kubernetes v1.34 cluster on this machine from upstream
# components built from source (lab/cluster/build.sh), with NetworkPolicy enforced by
# kube-router (firewall only), CoreDNS, and an "outside world" in a network namespace.
#
# Usage: lab/cluster/up.sh [--with-reference]   (or EV_APPLY_REFERENCE=1)
#   --with-reference  also apply manifests/reference/ (lab/cluster/apply-reference.sh)
# Idempotent: components already running are left alone. Undo with lab/cluster/down.sh.
# Kubeconfig: /var/lib/egress-verify-cluster/admin.kubeconfig
set -euo pipefail
EV_SCRIPT=up
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=pki.sh
source "$HERE/pki.sh"

APPLY_REFERENCE="${EV_APPLY_REFERENCE:-0}"
for a in "$@"; do
	case "$a" in
	--with-reference) APPLY_REFERENCE=1 ;;
	*) echo "usage: $0 [--with-reference]" >&2; exit 2 ;;
	esac
done

[[ $EUID -eq 0 ]] || die "run as root"
T0=$SECONDS
step_t=$SECONDS
step() { log "--- $* (+$((SECONDS - step_t))s)"; step_t=$SECONDS; }

# ---------------------------------------------------------------------------------
step "Debian packages"
PKGS=(containerd runc containernetworking-plugins etcd-server iptables ipset buildah openssl
	mitmproxy dnsmasq-base conntrack curl python3 busybox-static debootstrap iproute2 util-linux)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts nothing here (no systemd in this VM); if a packaged containerd or etcd
# runs anyway we still use our own instances on our own sockets/ports.

# ---------------------------------------------------------------------------------
step "binaries (build.sh; cached in $EV_BIN_CACHE)"
bash "$HERE/build.sh"
step "images (cached in $EV_CACHE/images)"
bash "$HERE/images.sh" build
COREDNS_IMAGE="$(bash "$HERE/images.sh" list | grep ev-coredns)"
PAUSE_IMAGE="$(bash "$HERE/images.sh" list | grep ev-pause)"

# ---------------------------------------------------------------------------------
step "host setup"
detect_node_ip
log "node $NODE_NAME, IP $NODE_IP"
mkdir -p "$EV_STATE"/{logs,bin,kubeconfig,cni/net.d,cni/ipam,kubelet,pod-logs,volume-plugins} \
	"$EV_RUN"/{pids,containerd} "$LEGACY_BIN"
for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
	ln -sfn "/usr/sbin/${t/tables/tables-legacy}" "$LEGACY_BIN/$t" # ip6tables -> ip6tables-legacy ...
done
ln -sfn "$K8S_BIN/kubectl" "$EV_STATE/bin/kubectl"
modprobe br_netfilter 2>/dev/null || true
modprobe overlay 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
	net.bridge.bridge-nf-call-ip6tables=1
swapoff -a 2>/dev/null || true
# Pods resolve through CoreDNS; CoreDNS (dnsPolicy Default) and anything on the node
# that the kubelet hands a resolv.conf only ever see the lab's outside resolver.
printf 'nameserver %s\n' "$OUTSIDE_DNS_IP" | write_if_changed "$EV_STATE/resolv.conf"

step "outside world"
bash "$HERE/world.sh" up

step "PKI"
make_pki

# ---------------------------------------------------------------------------------
step "etcd (data on tmpfs)"
mkdir -p "$EV_RUN/etcd"
mountpoint -q "$EV_RUN/etcd" || mount -t tmpfs -o size=1g,mode=0700 ev-etcd "$EV_RUN/etcd"
start_daemon etcd /usr/bin/etcd --name ev-etcd --data-dir "$EV_RUN/etcd/data" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster ev-etcd=http://127.0.0.1:2380 \
	--snapshot-count 10000 --log-level warn
wait_for "etcd health" 30 curl -sf --max-time 2 http://127.0.0.1:2379/health

step "kube-apiserver"
start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
	--etcd-servers=http://127.0.0.1:2379 \
	--advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
	--service-cluster-ip-range="$SERVICE_CIDR" \
	--authorization-mode=Node,RBAC \
	--enable-admission-plugins=NodeRestriction \
	--client-ca-file="$PKI/ca.crt" \
	--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
	--kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
	--kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority="$PKI/ca.crt" \
	--kubelet-preferred-address-types=InternalIP \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$PKI/sa.pub" \
	--service-account-signing-key-file="$PKI/sa.key" \
	--allow-privileged=true --profiling=false --v=1
apiserver_ready() { curl -sf --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
	"https://127.0.0.1:6443/readyz" | grep -qx ok; }
wait_for "kube-apiserver /readyz" 90 apiserver_ready

step "kube-controller-manager, kube-scheduler"
start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
	--kubeconfig="$EV_STATE/kubeconfig/controller-manager" \
	--authentication-kubeconfig="$EV_STATE/kubeconfig/controller-manager" \
	--authorization-kubeconfig="$EV_STATE/kubeconfig/controller-manager" \
	--bind-address=127.0.0.1 --leader-elect=false \
	--allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
	--service-cluster-ip-range="$SERVICE_CIDR" \
	--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
	--root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
	--use-service-account-credentials=true --controllers='*,-cloud-node-lifecycle' --v=1
start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
	--kubeconfig="$EV_STATE/kubeconfig/scheduler" \
	--authentication-kubeconfig="$EV_STATE/kubeconfig/scheduler" \
	--authorization-kubeconfig="$EV_STATE/kubeconfig/scheduler" \
	--bind-address=127.0.0.1 --leader-elect=false --v=1

# ---------------------------------------------------------------------------------
step "containerd + CNI"
containerd_config "$EV_STATE/containerd" "$EV_RUN/containerd/state" "$CONTAINERD_SOCK" "$EV_STATE/containerd-opt" \
	"$EV_RUN/runc" "$EV_STATE/cni/net.d" "$PAUSE_IMAGE" | write_if_changed "$EV_STATE/containerd.toml"
cni_conflist "$POD_CIDR" "$EV_STATE/cni/ipam" | write_if_changed "$EV_STATE/cni/net.d/10-ev-bridge.conflist"
DAEMON_INPUTS="$EV_STATE/containerd.toml $EV_STATE/cni/net.d/10-ev-bridge.conflist" \
	start_daemon containerd /usr/bin/containerd --config "$EV_STATE/containerd.toml"
wait_for "containerd socket" 30 ctr --address "$CONTAINERD_SOCK" version
bash "$HERE/images.sh" import "$CONTAINERD_SOCK"

# ---------------------------------------------------------------------------------
step "kubelet"
kubelet_config "$PKI/kubelet" "$CONTAINERD_SOCK" "$EV_STATE" | write_if_changed "$EV_STATE/kubelet.yaml"
DAEMON_INPUTS="$EV_STATE/kubelet.yaml" start_daemon kubelet "$K8S_BIN/kubelet" --config="$EV_STATE/kubelet.yaml" \
	--kubeconfig="$EV_STATE/kubeconfig/kubelet" --root-dir="$EV_STATE/kubelet" \
	--hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
wait_for "node $NODE_NAME registered" 60 kc get node "$NODE_NAME"
wait_for "node $NODE_NAME Ready" 90 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
# The controller-manager's node-ipam controller allocates the podCIDR after the node
# registers, and the node can report Ready first: wait for it, bounded.
node_pod_cidr() { kc get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}'; }
pod_cidr_allocated() { [[ -n "$(node_pod_cidr)" ]]; }
wait_for "node $NODE_NAME podCIDR allocated" 60 pod_cidr_allocated || true
pod_cidr="$(node_pod_cidr)"
[[ "$pod_cidr" == "$POD_CIDR" ]] || die "node podCIDR is '$pod_cidr', CNI config assumes $POD_CIDR"

# ---------------------------------------------------------------------------------
step "kube-proxy (iptables)"
kube_proxy_config "$NODE_NAME" "$EV_STATE/kubeconfig/kube-proxy" | write_if_changed "$EV_STATE/kube-proxy.yaml"
DAEMON_INPUTS="$EV_STATE/kube-proxy.yaml" start_daemon kube-proxy "$K8S_BIN/kube-proxy" --config="$EV_STATE/kube-proxy.yaml" --v=1
wait_for "kube-proxy healthz" 30 curl -sf --max-time 2 http://127.0.0.1:10256/healthz

step "kube-router (firewall only)"
kc apply -f "$HERE/addons/kube-router-rbac.yaml" >/dev/null
start_kube_router kube-router "$EV_STATE/kubeconfig/kube-router" "$NODE_NAME"
wait_for "kube-router healthz" 60 curl -sf --max-time 2 http://127.0.0.1:20244/healthz

step "CoreDNS"
sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" \
	-e "s|@UPSTREAM_DNS@|$OUTSIDE_DNS_IP|g" "$HERE/addons/coredns.yaml" | kc apply -f - >/dev/null
kc -n kube-system rollout status deployment/coredns --timeout=90s >/dev/null ||
	die "CoreDNS did not become ready: $(kc -n kube-system get pods -l k8s-app=kube-dns -o wide 2>&1)"

step "policy CRDs (stored, not enforced)"
# network-policy-api's own CRD files, from its Go module (cached in GOMODCACHE); the CNIs' kinds
# from addons/ (written for the lab).
npa_dir() { (cd / && go mod download -json "sigs.k8s.io/network-policy-api@$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'); }
ANP_DIR="$(npa_dir "$NETWORK_POLICY_API_ANP_VERSION")" || die "network-policy-api $NETWORK_POLICY_API_ANP_VERSION: go mod download failed"
CNP_DIR="$(npa_dir "$NETWORK_POLICY_API_CNP_VERSION")" || die "network-policy-api $NETWORK_POLICY_API_CNP_VERSION: go mod download failed"
for crd in "$ANP_DIR/config/crd/experimental/policy.networking.k8s.io_adminnetworkpolicies.yaml" \
	"$ANP_DIR/config/crd/experimental/policy.networking.k8s.io_baselineadminnetworkpolicies.yaml" \
	"$CNP_DIR/config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml" \
	"$HERE/addons/cni-policy-crds.yaml"; do
	[[ -f "$crd" ]] || die "CRD file missing: $crd"
	# Server-side: the upstream CRDs are too large for kubectl's last-applied annotation.
	kc apply --server-side --force-conflicts -f "$crd" >/dev/null
done
kc wait --for=condition=Established --timeout=60s crd/adminnetworkpolicies.policy.networking.k8s.io \
	crd/baselineadminnetworkpolicies.policy.networking.k8s.io crd/clusternetworkpolicies.policy.networking.k8s.io \
	crd/ciliumnetworkpolicies.cilium.io crd/ciliumclusterwidenetworkpolicies.cilium.io \
	crd/networkpolicies.projectcalico.org crd/globalnetworkpolicies.projectcalico.org \
	crd/networkpolicies.crd.projectcalico.org crd/globalnetworkpolicies.crd.projectcalico.org >/dev/null

if [[ "$APPLY_REFERENCE" == 1 ]]; then
	step "manifests/reference"
	bash "$HERE/apply-reference.sh"
fi

step "done"
log "cluster up in $((SECONDS - T0))s"
log "kubeconfig: $KUBECONFIG_ADMIN"
log "kubectl:    $EV_STATE/bin/kubectl   (v1.34 client; e.g. $EV_STATE/bin/kubectl --kubeconfig $KUBECONFIG_ADMIN get pods -A)"
