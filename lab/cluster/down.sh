#!/usr/bin/env bash
# Tear down everything lab/cluster/up.sh made: processes (by recorded PID), containers,
# mounts, network namespaces, interfaces, iptables-legacy chains, ipsets and cgroups,
# and the cluster state in /var/lib/egress-verify-cluster and /run/egress-verify-cluster.
# Keeps the build/image cache in /var/cache/egress-verify. Idempotent.
set -uo pipefail
EV_SCRIPT=down
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root"
T0=$SECONDS

# 0. Node 2 (node2.sh), if it was brought up: its processes and mounts live under our state dirs.
bash "$HERE/node2.sh" down

# 1. Node agents first, so nothing recreates what we remove.
for d in kube-router kube-proxy kubelet kube-scheduler kube-controller-manager; do stop_daemon "$d" 15 & done
wait

# 2. Containers: kill every task of our containerd (its own socket), then containerd.
if is_running containerd && [[ -S "$CONTAINERD_SOCK" ]]; then
	c=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
	for id in $("${c[@]}" tasks ls -q 2>/dev/null); do "${c[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
	for _ in $(seq 1 50); do
		n=0
		for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
			"${c[@]}" tasks delete -f "$id" >/dev/null 2>&1 || n=$((n + 1))
		done
		((n == 0)) && break
		sleep 0.2
	done
	for id in $("${c[@]}" containers ls -q 2>/dev/null); do "${c[@]}" containers delete "$id" >/dev/null 2>&1 || true; done
fi
stop_daemon containerd 15
# Shims whose command line names our containerd socket (started by our containerd).
for p in /proc/[0-9]*; do
	if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-address $CONTAINERD_SOCK"; then
		kill -KILL "${p#/proc/}" 2>/dev/null && log "killed leftover shim ${p#/proc/}"
	fi
done

# 3. Control plane and the outside world.
stop_daemon kube-apiserver 5 & # its graceful shutdown takes ~15 s; nothing to drain here
bash "$HERE/world.sh" down &
wait
stop_daemon etcd 10

# 4. Pod network namespaces (containerd's CNI names them cni-<uuid>; nothing else on
#    this machine makes such namespaces) and the bridge.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^cni-'); do
	ip netns del "$ns" 2>/dev/null || true
done
ip link del "$CNI_BRIDGE" 2>/dev/null || true
ip link del kube-dummy-if 2>/dev/null || true

# 5. Mounts under our state directories (deepest first).
for _ in 1 2 3; do
	mapfile -t mnts < <(awk -v a="$EV_STATE" -v b="$EV_RUN" '$5 ~ "^"a || $5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r)
	((${#mnts[@]})) || break
	for m in "${mnts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
done

# 6. iptables: drop every chain and rule that kube-proxy, kube-router, the kubelet and
#    the CNI plugins made (KUBE-*, CNI-*), keeping anything else. Everything we start
#    uses iptables-legacy (IPv4 and IPv6); the nft variants are checked as a safety net
#    (a component that bypassed PATH would have written there).
clean_tables() {
	local save="$1" restore="$2" table rules
	command -v "$save" >/dev/null || return 0
	for table in filter nat mangle raw; do
		rules="$("$save" -t "$table" 2>/dev/null)" || continue
		grep -qE 'KUBE-|CNI-|kube-router' <<<"$rules" || continue
		grep -vE '^:(KUBE-|CNI-)|-j (KUBE-|CNI-)|^-A (KUBE-|CNI-)|kube-router|ev-cni0|10\.244\.0\.0/' <<<"$rules" |
			"$restore" -T "$table" 2>/dev/null || log "warning: could not clean $save table $table"
		log "cleaned $table ($save)"
	done
}
clean_tables iptables-legacy-save iptables-legacy-restore
clean_tables ip6tables-legacy-save ip6tables-legacy-restore
clean_tables iptables-nft-save iptables-nft-restore
clean_tables ip6tables-nft-save ip6tables-nft-restore
# ipsets made by kube-router (KUBE-* and kube-router-*), once no rule references them.
for s in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router-|inet6:KUBE-|inet6:kube-router-)'); do
	ipset destroy "$s" 2>/dev/null || true
done

# 7. cgroups the kubelet created (cgroupfs driver), leaves first.
for h in /sys/fs/cgroup/*/kubepods; do
	[[ -d "$h" ]] || continue
	find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# containerd 1.6 keeps shim sockets and FIFOs under /run/containerd whatever its state
# dir; remove those directories only if they are empty (i.e. were ours).
for d in /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd; do
	[[ -d "$d" ]] && rmdir "$d" 2>/dev/null
done

# `ip netns add` bind-mounts /run/netns on itself; undo that once no namespace is left.
if [[ -z "$(ls -A /run/netns 2>/dev/null)" ]] && mountpoint -q /run/netns; then umount /run/netns 2>/dev/null || true; fi

# 8. State.
rm -rf "$EV_RUN" "$EV_STATE"
log "cluster down in $((SECONDS - T0))s (build and image cache kept in $EV_CACHE)"
