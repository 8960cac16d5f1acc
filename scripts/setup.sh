#!/usr/bin/env bash
# Installs what egress-verify's tests and demo need on a fresh Debian machine: the lab's
# Debian packages (needs root) and the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium renders the HTML report in its test (playwright-core drives it, downloads no browser);
# fonts-dejavu-core gives its screenshots a font.
LAB_PACKAGES=(curl iproute2 iptables conntrack openssl mitmproxy dnsmasq-base chromium fonts-dejavu-core)
missing=()
for pkg in "${LAB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: need root to install Debian packages: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
