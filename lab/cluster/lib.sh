# shellcheck shell=bash disable=SC2034
# Helpers shared by up.sh / down.sh / world.sh (sourced, not executed).
# shellcheck source=versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

NODE_IP="${NODE_IP:-}"
CLUSTER_CIDR="10.244.0.0/16"
POD_CIDR="10.244.0.0/24" # the first (only) node's podCIDR from the controller-manager
SERVICE_CIDR="10.96.0.0/16"
APISERVER_SVC_IP="10.96.0.1"
DNS_SVC_IP="10.96.0.10"
CONTAINERD_SOCK="$EV_RUN/containerd/containerd.sock"
CNI_BRIDGE="ev-cni0"

# The outside world: one network namespace, routed from the node over a veth pair.
WORLD_NS="ev-world"
WORLD_VETH_HOST="ev-world0"
WORLD_VETH_NS="ev-world1"
WORLD_LINK_HOST="100.64.250.1"
WORLD_LINK_NS="100.64.250.2"
OUTSIDE_HTTPS_IP="203.0.113.10"
OUTSIDE_DNS_IP="198.51.100.53"
OUTSIDE_ANY_PORT=65000 # every other TCP port of OUTSIDE_HTTPS_IP is DNATed here (world.sh)
OUTSIDE_DOMAIN="egress-lab.test"
OUTSIDE_HOSTNAME="site.$OUTSIDE_DOMAIN"

# Every process, kube-proxy/kube-router/CNI included, uses iptables-legacy: the
# wrappers in this directory come first in PATH for everything we start.
LEGACY_BIN="$EV_RUN/legacy-bin"
export PATH="$LEGACY_BIN:$PATH"

# netns_link NS HOST_IF NS_IF HOST_ADDR NS_ADDR: network namespace NS joined to the host by a
# veth pair on a /30, its default route through the host.
netns_link() {
	local ns="$1" hif="$2" nif="$3" haddr="$4" naddr="$5"
	ip netns list | grep -qw "$ns" || ip netns add "$ns"
	ip link show "$hif" >/dev/null 2>&1 || ip link add "$hif" type veth peer name "$nif" netns "$ns"
	ip addr replace "$haddr/30" dev "$hif"
	ip link set "$hif" up
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip addr replace "$naddr/30" dev "$nif"
	ip netns exec "$ns" ip link set "$nif" up
	ip netns exec "$ns" ip route replace default via "$haddr"
}

log() { printf '[%s %s] %s\n' "${EV_SCRIPT:-cluster}" "$(date +%T)" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: poll every 0.5 s, bounded.
wait_for() {
	local desc="$1" secs="$2" i
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.5
	done
	log "timed out after ${secs}s waiting for: $desc" >&2
	return 1
}

# write_if_changed FILE < content: replace FILE only if the content differs (kube-proxy
# exits when its config file is rewritten, even with identical content).
write_if_changed() {
	local f="$1" tmp
	tmp="$(mktemp "$f.XXXXXX")"
	cat >"$tmp"
	if [[ -f "$f" ]] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv -f "$tmp" "$f"; fi
}

pidfile() { echo "$EV_RUN/pids/$1.pid"; }
# A process's start time (clock ticks since boot), so a recycled PID is not mistaken
# for the daemon we started.
proc_start() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
# alive PID: exists and is not a zombie waiting for PID 1 to reap it.
alive() { local st; st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)"; [[ -n "$st" && "$st" != Z ]]; }
is_running() {
	local f pid
	f="$(pidfile "$1")"
	[[ -f "$f" ]] || return 1
	pid="$(cat "$f")"
	alive "$pid" || return 1
	[[ ! -f "$f.start" || "$(proc_start "$pid")" == "$(cat "$f.start")" ]]
}

# start_daemon NAME COMMAND...: start detached (own session), log to $EV_STATE/logs.
# If NAME already runs with the same command line and the same contents of the files
# named in $DAEMON_INPUTS (its config files), it is left alone; otherwise restarted.
start_daemon() {
	local name="$1" hash f
	shift
	hash="$({ printf '%s\n' "$@"; for f in ${DAEMON_INPUTS:-}; do cat "$f"; done; } | sha256sum | cut -c1-16)"
	if is_running "$name"; then
		if [[ "$(cat "$EV_RUN/pids/$name.hash" 2>/dev/null)" == "$hash" ]]; then
			log "$name already running (pid $(cat "$(pidfile "$name")"))"
			return 0
		fi
		log "$name: configuration changed, restarting"
		stop_daemon "$name" 15
	fi
	mkdir -p "$EV_RUN/pids" "$EV_STATE/logs"
	# Only stdio is passed on: a daemon that inherited a caller's descriptor (the
	# `flock /tmp/ev-cluster.lock` that tests take) would hold that lock for its lifetime.
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd="${fd##*/}"
			((fd > 2)) && eval "exec $fd>&-"
		done
		exec setsid "$@" >>"$EV_STATE/logs/$name.log" 2>&1 </dev/null
	) &
	echo $! >"$(pidfile "$name")"
	proc_start $! >"$(pidfile "$name").start"
	echo "$hash" >"$EV_RUN/pids/$name.hash"
	log "started $name (pid $!)"
}

# stop_daemon NAME [SECONDS]: TERM, then KILL after the grace period.
stop_daemon() {
	local name="$1" secs="${2:-10}" f pid i
	f="$(pidfile "$name")"
	[[ -f "$f" ]] || return 0
	pid="$(cat "$f")"
	if is_running "$name"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < secs * 10; i++)); do alive "$pid" || break; sleep 0.1; done
		if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
		log "stopped $name (pid $pid)"
	fi
	rm -f "$f" "$f.start" "$EV_RUN/pids/$name.hash"
}

kc() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

detect_node_ip() {
	if [[ -z "$NODE_IP" ]]; then
		NODE_IP="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)"
	fi
	[[ -n "$NODE_IP" ]] || NODE_IP="$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)"
	[[ -n "$NODE_IP" ]] || die "cannot determine the node IP (set NODE_IP)"
}

# The node configurations up.sh and node2.sh share, printed for write_if_changed.
# containerd_config ROOT STATE SOCKET OPT_DIR RUNC_ROOT CNI_CONF_DIR SANDBOX_IMAGE [CRI_LINE...]
containerd_config() {
	local extra=""
	(($# > 7)) && extra="$(printf '  %s\n' "${@:8}")"$'\n'
	cat <<EOF
version = 2
root = "$1"
state = "$2"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$3"
[plugins."io.containerd.internal.v1.opt"]
  path = "$4"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$7"
  enable_selinux = false
${extra}  # This VM's root lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj (the
  # kubelet asks -998 for sandboxes): clamp adjustments to containerd's own score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$5"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$6"
EOF
}

# cni_conflist SUBNET IPAM_DATA_DIR: the bridge CNI on a node's podCIDR.
cni_conflist() {
	cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ev-pods",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$1"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$2"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# kubelet_config TLS_PAIR (path without .crt/.key) CONTAINERD_SOCKET NODE_STATE_DIR [YAML_LINE...]
kubelet_config() {
	cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$PKI/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$1.crt"
tlsPrivateKeyFile: "$1.key"
readOnlyPort: 0
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: "unix://$2"
clusterDNS: ["$DNS_SVC_IP"]
clusterDomain: cluster.local
resolvConf: "$EV_STATE/resolv.conf"
failSwapOn: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
podLogsDir: "$3/pod-logs"
volumePluginDir: "$3/volume-plugins"
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
healthzBindAddress: 127.0.0.1
EOF
	(($# > 3)) && printf '%s\n' "${@:4}"
	return 0
}

# kube_proxy_config NODE_NAME KUBECONFIG
kube_proxy_config() {
	cat <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: "$CLUSTER_CIDR"
hostnameOverride: "$1"
clientConnection: {kubeconfig: "$2"}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["primary"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# start_kube_router NAME KUBECONFIG NODE_NAME [LAUNCHER...]: the NetworkPolicy firewall only
# (LAUNCHER, e.g. nsenter, runs it in a node's network namespace).
start_kube_router() {
	local name="$1" kubeconfig="$2" node="$3"
	shift 3
	start_daemon "$name" "$@" "$KUBE_ROUTER_BIN/kube-router" \
		--kubeconfig="$kubeconfig" --hostname-override="$node" \
		--run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
		--enable-ipv4=true --enable-ipv6=false --metrics-port=0 --health-port=20244 \
		--iptables-sync-period=1m --v=1
}
