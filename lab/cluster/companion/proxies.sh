#!/bin/bash
# Entrypoint of the lab's other companion image: the egress scanners people deploy instead of
# mitmproxy, each as an HTTP CONNECT proxy on $LISTEN_ADDR (default 0.0.0.0:8080), run as the
# unprivileged user the pod gives it. Chosen by EV_COMPANION:
#   squid-bump   Squid 5.7 (squid-openssl) with ssl-bump: peek, then bump with the CA in
#                TLS_CA_PATH (key and certificate in one file, as mitmproxy's CA file is)
#   squid        the same Squid, tunnelling TLS untouched
#   smokescreen  Stripe's Smokescreen v0.1.0 (no client certificates: allow_missing_role)
#   tinyproxy    tinyproxy
# UPSTREAM_CA_PATH: the PEM bundle Squid trusts for upstream servers when it bumps.
# DNS_SERVERS: the resolvers Squid asks (default: the pod's); the article's policy lets the
#              companion reach no cluster address, so names need a resolver outside it.
# ALLOW_SRC:   clients allowed (Squid, tinyproxy); default the cluster's 10.0.0.0/8.
# ALLOW_RANGES: destinations Smokescreen may dial although it refuses them by default; default
#              the lab world's documentation ranges, which stand for the public internet.
# DENY_HOSTS:  space-separated hosts or IPv4 addresses the companion refuses (the "companion
#              denies the site" scenario); Smokescreen then enforces an allowlist without them.
# Squid keeps its stock rules: CONNECT to port 443 only, clients from ALLOW_SRC only.
set -euo pipefail
KIND="${EV_COMPANION:?EV_COMPANION: squid-bump, squid, smokescreen or tinyproxy}"
LISTEN_ADDR="${LISTEN_ADDR:-0.0.0.0:8080}"
ALLOW_SRC="${ALLOW_SRC:-10.0.0.0/8}"
ALLOW_RANGES="${ALLOW_RANGES:-203.0.113.0/24 198.51.100.0/24}"
read -r -a deny <<<"${DENY_HOSTS:-}"
W="$(mktemp -d /tmp/egress-guardian.XXXXXX)"
ipv4='^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'

squid() {
	local bump="$1" conf="$W/squid.conf" certgen=/usr/lib/squid/security_file_certgen h
	{
		if [[ "$bump" == yes ]]; then
			[[ -r "${TLS_CA_PATH:-}" ]] || { echo "egress-guardian: squid-bump needs TLS_CA_PATH (CA key and certificate)" >&2; exit 1; }
			"$certgen" -c -s "$W/ssl_db" -M 4MB >/dev/null
			echo "http_port $LISTEN_ADDR ssl-bump tls-cert=$TLS_CA_PATH tls-key=$TLS_CA_PATH generate-host-certificates=on dynamic_cert_mem_cache_size=4MB"
			echo "sslcrtd_program $certgen -s $W/ssl_db -M 4MB"
			echo 'sslcrtd_children 2 startup=1 idle=1'
			echo 'acl step1 at_step SslBump1'
			echo 'ssl_bump peek step1'
			echo 'ssl_bump bump all'
			[[ -s "${UPSTREAM_CA_PATH:-}" ]] && echo "tls_outgoing_options cafile=$UPSTREAM_CA_PATH"
		else
			echo "http_port $LISTEN_ADDR"
		fi
		echo 'acl SSL_ports port 443'
		echo 'acl CONNECT method CONNECT'
		echo "acl localnet src $ALLOW_SRC"
		for h in "${deny[@]}"; do
			# dstdomain would look an address up in reverse DNS; an address is matched as one.
			if [[ "$h" =~ $ipv4 ]]; then printf 'acl denied_dst dst %s\nhttp_access deny denied_dst\n' "$h"
			else printf 'acl denied_name dstdomain %s\nhttp_access deny denied_name\n' "$h"; fi
		done
		echo 'http_access deny CONNECT !SSL_ports'
		echo 'http_access allow localnet'
		echo 'http_access deny all'
		[[ -z "${DNS_SERVERS:-}" ]] || echo "dns_nameservers $DNS_SERVERS"
		echo 'visible_hostname egress-guardian'
		echo 'cache deny all'
		echo "pid_filename $W/squid.pid"
		echo "access_log stdio:$W/access.log"
		# The inspection receipt's marker is in the query, which Squid cuts from its log by default.
		echo 'strip_query_terms off'
		echo "cache_log $W/cache.log"
		echo "coredump_dir $W"
		echo 'shutdown_lifetime 0 seconds'
	} >"$conf"
	# Squid reopens its logs by name, and an unprivileged user cannot reopen the container's
	# stdout: FIFOs of its own carry them there (kubectl logs).
	mkfifo "$W/access.log" "$W/cache.log"
	cat "$W/access.log" &
	cat "$W/cache.log" >&2 &
	exec /usr/sbin/squid -N -f "$conf"
}

smokescreen() {
	local r d
	{
		echo 'version: v1'
		echo 'services: []'
		echo 'default:'
		echo '  name: default'
		echo '  project: lab'
		if ((${#deny[@]} == 0)); then
			echo '  action: open'
		else
			# An allowlist that leaves the denied hosts out; a placeholder keeps it non-empty.
			echo '  action: enforce'
			echo '  allowed_domains:'
			echo '    - allowed.egress-lab.test'
		fi
	} >"$W/acl.yaml"
	{
		echo "ip: ${LISTEN_ADDR%:*}"
		echo "port: ${LISTEN_ADDR##*:}"
		echo "acl_file: $W/acl.yaml"
		# v0.1.0 takes the ACL's default for a client without a certificate only with this.
		echo 'allow_missing_role: true'
		echo 'allow_ranges:'
		for r in $ALLOW_RANGES; do echo "  - $r"; done
		echo 'connect_timeout: 3s'
	} >"$W/smokescreen.yaml"
	exec /usr/local/bin/smokescreen --config-file "$W/smokescreen.yaml"
}

tinyproxy() {
	local h
	for h in "${deny[@]}"; do printf '^%s$\n' "${h//./\\.}"; done >"$W/filter"
	{
		echo "Port ${LISTEN_ADDR##*:}"
		echo "Listen ${LISTEN_ADDR%:*}"
		echo 'Timeout 30'
		echo "Allow $ALLOW_SRC"
		echo 'ConnectPort 443'
		echo 'MaxClients 100'
		echo 'LogLevel Info'
		if ((${#deny[@]} > 0)); then
			echo "Filter \"$W/filter\""
			echo 'FilterDefaultDeny No'
			echo 'FilterExtended Yes'
		fi
	} >"$W/tinyproxy.conf"
	exec /usr/bin/tinyproxy -d -c "$W/tinyproxy.conf"
}

case "$KIND" in
squid-bump) squid yes ;;
squid) squid no ;;
smokescreen) smokescreen ;;
tinyproxy) tinyproxy ;;
*) echo "egress-guardian: unknown EV_COMPANION=$KIND (squid-bump, squid, smokescreen, tinyproxy)" >&2; exit 2 ;;
esac
