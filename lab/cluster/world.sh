#!/usr/bin/env bash
# The lab cluster's "outside world": network namespace ev-world, routed from the node
# over a veth pair, holding the only hosts the lab ever dials:
#   203.0.113.10:443   HTTPS site (python, certificate from its own "outside" CA,
#                      names site.egress-lab.test and 203.0.113.10)
#   203.0.113.10:*    every other TCP port answers (DNAT to one listener), for --ports sweeps
#   198.51.100.53:53   DNS resolver (dnsmasq: *.egress-lab.test -> 203.0.113.10,
#                      everything else NXDOMAIN/REFUSED; no upstream)
# Usage: world.sh up | down
set -euo pipefail
EV_SCRIPT=world
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

PKI="$EV_STATE/pki"

world_pki() {
	mkdir -p "$PKI"
	[[ -f "$PKI/outside-site.crt" ]] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=egress-lab outside CA" \
		-keyout "$PKI/outside-ca.key" -out "$PKI/outside-ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$OUTSIDE_HOSTNAME" \
		-keyout "$PKI/outside-site.key" -out "$PKI/outside-site.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/outside-site.csr" -CA "$PKI/outside-ca.crt" -CAkey "$PKI/outside-ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 30 -out "$PKI/outside-site.crt" -extfile <(
			printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
			printf 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,IP:%s\n' "$OUTSIDE_HOSTNAME" "$OUTSIDE_HTTPS_IP"
		) 2>/dev/null
	rm -f "$PKI/outside-site.csr"
}

up() {
	world_pki
	netns_link "$WORLD_NS" "$WORLD_VETH_HOST" "$WORLD_VETH_NS" "$WORLD_LINK_HOST" "$WORLD_LINK_NS"
	local nsx=(ip netns exec "$WORLD_NS")
	"${nsx[@]}" ip addr replace "$OUTSIDE_HTTPS_IP/32" dev lo
	"${nsx[@]}" ip addr replace "$OUTSIDE_DNS_IP/32" dev lo
	ip route replace "$OUTSIDE_HTTPS_IP/32" via "$WORLD_LINK_NS" dev "$WORLD_VETH_HOST"
	ip route replace "$OUTSIDE_DNS_IP/32" via "$WORLD_LINK_NS" dev "$WORLD_VETH_HOST"

	DAEMON_INPUTS="$HERE/outside/https_server.py" start_daemon world-https "${nsx[@]}" python3 "$HERE/outside/https_server.py" \
		"$OUTSIDE_HTTPS_IP" 443 "$PKI/outside-site.crt" "$PKI/outside-site.key"
	local any="$OUTSIDE_HTTPS_IP:$OUTSIDE_ANY_PORT"
	"${nsx[@]}" iptables -t nat -C PREROUTING -d "$OUTSIDE_HTTPS_IP" -p tcp ! --dport 443 -j DNAT --to-destination "$any" 2>/dev/null ||
		"${nsx[@]}" iptables -t nat -A PREROUTING -d "$OUTSIDE_HTTPS_IP" -p tcp ! --dport 443 -j DNAT --to-destination "$any"
	DAEMON_INPUTS="$HERE/outside/any_port.py" start_daemon world-any-port "${nsx[@]}" python3 "$HERE/outside/any_port.py" \
		"$OUTSIDE_HTTPS_IP" "$OUTSIDE_ANY_PORT"
	start_daemon world-dns "${nsx[@]}" dnsmasq --keep-in-foreground --no-resolv --no-hosts \
		--no-poll --bind-interfaces --listen-address="$OUTSIDE_DNS_IP" \
		--local="/$OUTSIDE_DOMAIN/" --address="/$OUTSIDE_DOMAIN/$OUTSIDE_HTTPS_IP" --log-queries --log-facility=- \
		--pid-file= --user=root
	wait_for "outside host on every port" 15 bash -c "exec 3<>/dev/tcp/$OUTSIDE_HTTPS_IP/8443"
	wait_for "outside HTTPS site" 15 curl -sf --max-time 2 --cacert "$PKI/outside-ca.crt" \
		--resolve "$OUTSIDE_HOSTNAME:443:$OUTSIDE_HTTPS_IP" "https://$OUTSIDE_HOSTNAME/"
	log "outside world up: https://$OUTSIDE_HOSTNAME ($OUTSIDE_HTTPS_IP), DNS $OUTSIDE_DNS_IP"
}

down() {
	stop_daemon world-https 5
	stop_daemon world-dns 5
	stop_daemon world-any-port 5
	ip route del "$OUTSIDE_HTTPS_IP/32" via "$WORLD_LINK_NS" 2>/dev/null || true
	ip route del "$OUTSIDE_DNS_IP/32" via "$WORLD_LINK_NS" 2>/dev/null || true
	ip link del "$WORLD_VETH_HOST" 2>/dev/null || true
	if ip netns list | grep -qw "$WORLD_NS"; then ip netns del "$WORLD_NS"; fi
}

case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
