#!/bin/bash
# Entrypoint of the lab's egress-guardian companion image (mitmproxy 8.1.1, Debian).
# mitmproxy 8 serves one mode per process, so two mitmdump instances share one confdir:
#   regular (HTTP CONNECT) proxy on $LISTEN_ADDR (default 0.0.0.0:8080)
#   socks5 proxy                 on $SOCKS_ADDR  (default 0.0.0.0:1080; empty disables)
# TLS_CA_PATH: PEM with the interception CA's private key and certificate (mounted from
#              a Secret); copied into the confdir as mitmproxy-ca.pem. Without it
#              mitmproxy generates its own CA at start.
# UPSTREAM_CA_PATH: optional PEM bundle the proxy trusts for upstream servers.
# FLOW_LOG:   "off" stops the per-request log (mitmdump flow_detail=0), as a companion run
#             without request logging would: no inspection receipt can then be seen.
# DENY_HOSTS, DENY_PATTERN: the policy addon (enforce.py, beside this script in the image), on
#             only when either is set: hosts refused at CONNECT (comma-separated, a name covers
#             its subdomains), and a regular expression no request may carry (URL, headers,
#             body). Refusals are 403 with a Proxy-Status header naming egress-guardian.
set -euo pipefail
# Each request's flow line is the inspection receipt egress-verify reads through pods/log:
# unbuffered (Python buffers a pipe in 8 KiB blocks), and URLs whole (at flow_detail 1 mitmdump
# cuts them to COLUMNS, 80 without a terminal).
export PYTHONUNBUFFERED=1 COLUMNS="${COLUMNS:-4096}"
LISTEN_ADDR="${LISTEN_ADDR:-0.0.0.0:8080}"
SOCKS_ADDR="${SOCKS_ADDR-0.0.0.0:1080}"
CONF="${MITM_CONFDIR:-/tmp/mitmproxy}"
mkdir -p "$CONF"
if [[ -n "${TLS_CA_PATH:-}" ]]; then
	if [[ ! -r "$TLS_CA_PATH" ]]; then
		echo "egress-guardian: TLS_CA_PATH=$TLS_CA_PATH is not readable by uid $(id -u) groups $(id -G)" >&2
		ls -ln "$TLS_CA_PATH" >&2 || true
		exit 1
	fi
	install -m 0600 "$TLS_CA_PATH" "$CONF/mitmproxy-ca.pem"
fi
opts=(--set "confdir=$CONF")
[[ "${FLOW_LOG:-on}" == off ]] && opts+=(--set flow_detail=0)
if [[ -n "${DENY_HOSTS:-}${DENY_PATTERN:-}" ]]; then
	opts+=(-s "${ENFORCE_ADDON:-/usr/local/lib/egress-guardian/enforce.py}"
		--set "egress_deny_hosts=${DENY_HOSTS:-}" --set "egress_deny_pattern=${DENY_PATTERN:-}")
fi
if [[ -n "${UPSTREAM_CA_PATH:-}" && -s "$UPSTREAM_CA_PATH" ]]; then
	opts+=(--set "ssl_verify_upstream_trusted_ca=$UPSTREAM_CA_PATH")
fi
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' TERM INT EXIT
mitmdump --mode regular --listen-host "${LISTEN_ADDR%:*}" --listen-port "${LISTEN_ADDR##*:}" "${opts[@]}" &
pids+=($!)
if [[ -n "$SOCKS_ADDR" ]]; then
	# Start the second instance only once the first has the CA in the shared confdir.
	for _ in $(seq 1 100); do [[ -s "$CONF/mitmproxy-ca.pem" ]] && break; sleep 0.1; done
	mitmdump --mode socks5 --listen-host "${SOCKS_ADDR%:*}" --listen-port "${SOCKS_ADDR##*:}" "${opts[@]}" &
	pids+=($!)
fi
wait -n "${pids[@]}"
