#!/usr/bin/env bash
# A second node for the lab cluster, as kind's nodes are containers: network namespace ev-node2
# behind a veth pair, with a containerd, kubelet, kube-proxy and kube-router (firewall only) of
# its own running inside it, so that `run --per-node` meets two nodes and one node's policy
# agent can be stopped alone. Node 1 (up.sh) must be up. The node registers with the taint
# egress-verify.dev/second-node:NoSchedule: only pods that tolerate it land there.
#
# Usage: lab/cluster/node2.sh up | down | agent stop|start
#   up          idempotent; pieces already running with the same configuration are left alone
#   down        removes every process, mount, interface, route, rule, cgroup and the Node object
#   agent stop  stops node 2's kube-router and nothing else: its rules stay as they were, but
#               pods started since have none (a node whose policy agent is down)
#   agent start starts it again and waits for its health endpoint
set -euo pipefail
EV_SCRIPT=node2
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=pki.sh
source "$HERE/pki.sh"

N2_NAME=ev-node2
N2_NS=ev-node2
N2_VETH_HOST=ev-node2-0
N2_VETH_NS=ev-node2-1
N2_LINK_HOST=100.64.251.1
N2_IP=100.64.251.2 # node 2's InternalIP: the kubelet's --node-ip, what the API server dials
N2_STATE="$EV_STATE/node2"
N2_RUN="$EV_RUN/node2"
N2_SOCK="$N2_RUN/containerd/containerd.sock"
# Its pods' cgroups live under /ev-node2/kubepods, apart from node 1's /kubepods.
N2_CGROUP=ev-node2
N2_TAINT=egress-verify.dev/second-node
N2_RULE_COMMENT="ev-node2: pod to pod across nodes keeps its source"
# nsenter joins the network namespace only: `ip netns exec` would also give each daemon a mount
# namespace of its own, and the kubelet's volume mounts would be invisible to containerd's runc.
IN_NS=(nsenter "--net=/run/netns/$N2_NS")

cluster_ready() { [[ -f "$KUBECONFIG_ADMIN" ]] && kc get --raw /readyz >/dev/null 2>&1; }
in_ns_healthz() { "${IN_NS[@]}" curl -sf --max-time 2 "http://127.0.0.1:$1/healthz"; }

network_up() {
	# Everything beyond node 2 (node 1 and its pods, the API server, the outside world) is the host's to route.
	netns_link "$N2_NS" "$N2_VETH_HOST" "$N2_VETH_NS" "$N2_LINK_HOST" "$N2_IP"
	ip netns exec "$N2_NS" sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
		net.bridge.bridge-nf-call-ip6tables=1
}

# The bridge CNI masquerades whatever leaves its node's podCIDR; between the nodes' pods it must
# not, or a policy on the receiving node would see a node address instead of the pod.
no_masquerade() {
	local spec=(-s "$1" -d "$2" -m comment --comment "$N2_RULE_COMMENT" -j RETURN)
	shift 2
	"$@" iptables -t nat -C POSTROUTING "${spec[@]}" 2>/dev/null || "$@" iptables -t nat -I POSTROUTING 1 "${spec[@]}"
}

cgroups_up() {
	local h
	for h in /sys/fs/cgroup/*; do
		[[ "$h" == */unified ]] && continue
		mkdir -p "$h/$N2_CGROUP"
	done
	# A cpuset cgroup holds no task until it is given CPUs and memory nodes.
	local c=/sys/fs/cgroup/cpuset
	if [[ -d "$c/$N2_CGROUP" && -z "$(cat "$c/$N2_CGROUP/cpuset.cpus")" ]]; then
		cat "$c/cpuset.cpus" >"$c/$N2_CGROUP/cpuset.cpus"
		cat "$c/cpuset.mems" >"$c/$N2_CGROUP/cpuset.mems"
	fi
}

# The images node 1 has: the lab's (images.sh) and the project's, copied from node 1's store so
# both nodes run the same digest.
images_up() {
	bash "$HERE/images.sh" import "$N2_SOCK"
	local c1=(ctr --address "$CONTAINERD_SOCK" -n k8s.io) probe
	mapfile -t probe < <("${c1[@]}" images ls -q | grep '^localhost/egress-verify:' || true)
	if ((${#probe[@]} == 0)); then
		log "warning: node 1 has no localhost/egress-verify image; probe pods cannot start on node 2 until" \
			"scripts/build-image.sh --import $N2_SOCK"
		return 0
	fi
	"${c1[@]}" images export - "${probe[@]}" | ctr --address "$N2_SOCK" -n k8s.io images import - >/dev/null
	log "imported ${probe[*]} from node 1"
}

start_agent() {
	start_kube_router node2-kube-router "$N2_STATE/kubeconfig/kube-router" "$N2_NAME" "${IN_NS[@]}"
	wait_for "node 2 kube-router healthz" 60 in_ns_healthz 20244 || die "node 2's kube-router is not healthy (log: $EV_STATE/logs/node2-kube-router.log)"
}

up() {
	local t0=$SECONDS pause_image server pod_cidr
	cluster_ready || die "the lab cluster is not up (bash lab/cluster/up.sh)"
	is_running containerd || die "node 1's containerd is not running (bash lab/cluster/up.sh)"
	detect_node_ip
	pause_image="$(bash "$HERE/images.sh" list | grep ev-pause)"
	# Node 2 reaches the API server at node 1's address, as a second machine would.
	server="https://$NODE_IP:6443"
	mkdir -p "$N2_STATE"/{kubeconfig,cni/net.d,cni/ipam,kubelet,pod-logs,volume-plugins} "$N2_RUN/containerd"

	log "network namespace $N2_NS, $N2_IP on veth $N2_VETH_NS"
	network_up
	mkcert "kubelet-$N2_NAME" "/CN=$N2_NAME" serverAuth "DNS:$N2_NAME,IP:$N2_IP,IP:127.0.0.1"
	mkcert "node-$N2_NAME" "/O=system:nodes/CN=system:node:$N2_NAME" clientAuth
	mkkubeconfig "$N2_STATE/kubeconfig/kubelet" "node-$N2_NAME" "$server"
	mkkubeconfig "$N2_STATE/kubeconfig/kube-proxy" kube-proxy "$server"
	mkkubeconfig "$N2_STATE/kubeconfig/kube-router" kube-router "$server"
	cgroups_up

	containerd_config "$N2_STATE/containerd" "$N2_RUN/containerd/state" "$N2_SOCK" "$N2_STATE/containerd-opt" \
		"$N2_RUN/runc" "$N2_STATE/cni/net.d" "$pause_image" \
		'# Pod network namespaces under the state dir, not /run/netns: node2.sh down finds its own there.' \
		'netns_mounts_under_state_dir = true' | write_if_changed "$N2_STATE/containerd.toml"
	# Not the CNI config: it appears once the podCIDR is known, and containerd watches its directory.
	DAEMON_INPUTS="$N2_STATE/containerd.toml" start_daemon node2-containerd "${IN_NS[@]}" /usr/bin/containerd \
		--config "$N2_STATE/containerd.toml"
	wait_for "node 2 containerd socket" 30 ctr --address "$N2_SOCK" version || die "node 2's containerd did not start"
	images_up

	kubelet_config "$PKI/kubelet-$N2_NAME" "$N2_SOCK" "$N2_STATE" "cgroupRoot: /$N2_CGROUP" \
		"registerWithTaints: [{key: $N2_TAINT, effect: NoSchedule}]" | write_if_changed "$N2_STATE/kubelet.yaml"
	DAEMON_INPUTS="$N2_STATE/kubelet.yaml" start_daemon node2-kubelet "${IN_NS[@]}" "$K8S_BIN/kubelet" \
		--config="$N2_STATE/kubelet.yaml" --kubeconfig="$N2_STATE/kubeconfig/kubelet" \
		--root-dir="$N2_STATE/kubelet" --hostname-override="$N2_NAME" --node-ip="$N2_IP" --v=1
	wait_for "node $N2_NAME registered" 60 kc get node "$N2_NAME" || die "node 2 did not register (log: $EV_STATE/logs/node2-kubelet.log)"
	node2_pod_cidr() { kc get node "$N2_NAME" -o jsonpath='{.spec.podCIDR}'; }
	pod_cidr_allocated() { [[ -n "$(node2_pod_cidr)" ]]; }
	wait_for "node $N2_NAME podCIDR allocated" 60 pod_cidr_allocated || die "the controller-manager allocated no podCIDR to $N2_NAME"
	pod_cidr="$(node2_pod_cidr)"
	[[ "$pod_cidr" != "$POD_CIDR" ]] || die "node 2 got node 1's podCIDR $POD_CIDR"
	cni_conflist "$pod_cidr" "$N2_STATE/cni/ipam" | write_if_changed "$N2_STATE/cni/net.d/10-ev-bridge.conflist"
	ip route replace "$pod_cidr" via "$N2_IP" dev "$N2_VETH_HOST"
	no_masquerade "$POD_CIDR" "$pod_cidr"
	no_masquerade "$pod_cidr" "$CLUSTER_CIDR" ip netns exec "$N2_NS"
	wait_for "node $N2_NAME Ready" 90 kc wait --for=condition=Ready "node/$N2_NAME" --timeout=2s ||
		die "node 2 is not Ready: $(kc get node "$N2_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}')"

	kube_proxy_config "$N2_NAME" "$N2_STATE/kubeconfig/kube-proxy" | write_if_changed "$N2_STATE/kube-proxy.yaml"
	DAEMON_INPUTS="$N2_STATE/kube-proxy.yaml" start_daemon node2-kube-proxy "${IN_NS[@]}" "$K8S_BIN/kube-proxy" \
		--config="$N2_STATE/kube-proxy.yaml" --v=1
	wait_for "node 2 kube-proxy healthz" 30 in_ns_healthz 10256 || die "node 2's kube-proxy is not healthy (log: $EV_STATE/logs/node2-kube-proxy.log)"
	start_agent
	log "node $N2_NAME up in $((SECONDS - t0))s: $N2_IP, podCIDR $pod_cidr, taint $N2_TAINT:NoSchedule"
}

down() {
	local t0=$SECONDS d c2 id m mnts
	for d in node2-kube-router node2-kube-proxy node2-kubelet; do stop_daemon "$d" 15 & done
	wait
	if cluster_ready; then
		# Pods bound to a node that is gone would wait for the pod GC; the kubelet is stopped.
		kc delete pods -A --field-selector "spec.nodeName=$N2_NAME" --force --grace-period=0 --wait=false >/dev/null 2>&1 || true
		kc delete node "$N2_NAME" --ignore-not-found --timeout=30s >/dev/null || log "warning: could not delete node $N2_NAME"
	fi
	if is_running node2-containerd && [[ -S "$N2_SOCK" ]]; then
		c2=(ctr --address "$N2_SOCK" -n k8s.io)
		for id in $("${c2[@]}" tasks ls -q 2>/dev/null); do "${c2[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
		for _ in $(seq 1 50); do
			[[ -z "$("${c2[@]}" tasks ls -q 2>/dev/null)" ]] && break
			for id in $("${c2[@]}" tasks ls -q 2>/dev/null); do "${c2[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true; done
			sleep 0.2
		done
	fi
	stop_daemon node2-containerd 15
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-address $N2_SOCK"; then
			kill -KILL "${p#/proc/}" 2>/dev/null && log "killed leftover shim ${p#/proc/}"
		fi
	done
	# Container root filesystems, volumes and pod network namespaces (deepest first).
	for _ in 1 2 3; do
		mapfile -t mnts < <(awk -v a="$N2_STATE" -v b="$N2_RUN" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r)
		((${#mnts[@]})) || break
		for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	done
	# The namespace takes its interfaces with it, and the host's route to node 2's podCIDR with the veth.
	if ip netns list | grep -qw "$N2_NS"; then ip netns del "$N2_NS"; fi
	ip link del "$N2_VETH_HOST" 2>/dev/null || true
	{ iptables -t nat -S POSTROUTING | grep -F -- "$N2_RULE_COMMENT" || true; } | sed 's/^-A /-D /' |
		while read -r rule; do eval "iptables -t nat $rule"; done
	for d in /sys/fs/cgroup/*/"$N2_CGROUP"; do
		[[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$N2_STATE" "$N2_RUN" "$PKI/kubelet-$N2_NAME".* "$PKI/node-$N2_NAME".*
	log "node $N2_NAME down in $((SECONDS - t0))s (logs kept: $EV_STATE/logs/node2-*.log)"
}

[[ $EUID -eq 0 ]] || die "run as root"
case "${1:-}" in
up) up ;;
down) down ;;
agent)
	case "${2:-}" in
	stop) stop_daemon node2-kube-router 15 ;;
	start) is_running node2-kubelet || die "node 2 is not up (node2.sh up)"; start_agent ;;
	*) echo "usage: $0 agent stop|start" >&2; exit 2 ;;
	esac
	;;
*) echo "usage: $0 up | down | agent stop|start" >&2; exit 2 ;;
esac
