#!/usr/bin/env bash
# Installs what egress-verify's tests and demo need on a fresh Debian machine: the lab's
# Debian packages (needs root) and the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium renders the HTML report in its test (playwright-core drives it, downloads no browser);
# fonts-dejavu-core gives its screenshots a font. squid-openssl (ssl-bump) and tinyproxy are lab
# companions, as is Smokescreen (built below). perl's TAP::Parser (prove) and tmux read the TAP
# and the terminal summary as a person's tools do. The alerting tests run a real Pushgateway and
# check the metrics with promtool (in `prometheus`) and a strict OpenMetrics parser (the Python client).
LAB_PACKAGES=(curl iputils-ping iproute2 iptables conntrack openssl mitmproxy dnsmasq-base chromium fonts-dejavu-core squid-openssl tinyproxy perl tmux
  prometheus prometheus-pushgateway python3-prometheus-client)
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

# Stripe's Smokescreen has no Debian package: built from its Go module into the cache the lab
# cluster uses (never into the repository), once per version.
SMOKESCREEN_VERSION=v0.1.0
SMOKESCREEN_DIR=/var/cache/egress-verify/bin/smokescreen-$SMOKESCREEN_VERSION
if [[ ! -f $SMOKESCREEN_DIR/.complete ]]; then
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "setup: Go is needed to build Smokescreen (go install)" >&2; exit 1; }
  echo "setup: building Smokescreen $SMOKESCREEN_VERSION"
  rm -rf "$SMOKESCREEN_DIR" && mkdir -p "$SMOKESCREEN_DIR"
  (cd / && GOMODCACHE=/var/cache/egress-verify/gomod GOCACHE=/var/cache/egress-verify/gocache GOWORK=off GOTOOLCHAIN=local \
    CGO_ENABLED=0 GOBIN="$SMOKESCREEN_DIR" go install -trimpath -ldflags '-s -w' "github.com/stripe/smokescreen@$SMOKESCREEN_VERSION")
  touch "$SMOKESCREEN_DIR/.complete"
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
