#!/usr/bin/env bash
# Installs netchecks' probe CLI (PyPI `netcheck`) into a cached virtualenv for the side-by-side
# comparison (scripts/compare-netchecks.ts) and prints the path of its `netcheck`. Safe to run again.
#
# Its CEL binding is pinned: netcheck 0.10.0 asks for common-expression-language>=0.5.6, and from
# 0.7.0 on an HTTP check that gets no response dies with KeyError 'status-code' instead of failing
# its rule (netcheck/validation.py catches only ValueError and RuntimeError). 0.5.6 is the
# release's bound; netchecks' later lock (0.8.0, for 0.11.0) has the crash.
set -euo pipefail
NETCHECK_VERSION="${NETCHECK_VERSION:-0.10.0}"
CEL_VERSION="${CEL_VERSION:-0.5.6}"
VENV="${EV_CACHE:-/var/cache/egress-verify}/netcheck-$NETCHECK_VERSION-cel-$CEL_VERSION"
# Debian's python3 (3.11, with venv), not whatever python3 comes first on PATH.
PYTHON=/usr/bin/python3

# .complete is written last: a venv from an interrupted install is made again.
if [[ ! -f "$VENV/.complete" ]]; then
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    [[ $(id -u) -eq 0 ]] || { echo "netchecks: need root to install python3-venv" >&2; exit 1; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "netcheck==$NETCHECK_VERSION" "common-expression-language==$CEL_VERSION" >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/netcheck"
