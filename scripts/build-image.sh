#!/usr/bin/env bash
# Builds the project's image from its Dockerfile with buildah (no Docker engine needed) and
# writes an OCI archive; with --import, loads it into containerd for the kubelet.
# Where no registry is reachable (this lab), the Dockerfile's NODE_IMAGE is a base made here
# from the host's node, npm, curl, ping and CA certificates plus busybox for /bin/sh.
#   scripts/build-image.sh [--local-base] [--import CONTAINERD_ADDRESS] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(node -p 'require("./package.json").version')
IMAGE="localhost/egress-verify:${VERSION}"
CACHE="${EV_CACHE:-/var/cache/egress-verify}"
OUT="$CACHE/images/egress-verify_${VERSION}.oci.tar"
BA=(buildah --storage-driver vfs --root "$CACHE/buildah/root" --runroot "$CACHE/buildah/run")
local_base=false
import_to=""
while (($#)); do
  case "$1" in
    --local-base) local_base=true ;;
    --import) import_to="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    *) echo "build-image: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '[image %s] %s\n' "$(date +%T)" "$*"; }
mkdir -p "$(dirname "$OUT")"

build_args=()
if $local_base; then
  BASE="localhost/ev-node-base:$(node --version | tr -d v)-2"
  if ! "${BA[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
    log "making base $BASE from the host's node $(node --version), npm, curl, ping"
    ctx=$(mktemp -d)
    trap 'rm -rf "$ctx"' EXIT
    r="$ctx/rootfs"
    mkdir -p "$r"/{bin,tmp,etc/ssl/certs,usr/bin,usr/lib}
    install -m 0755 /bin/busybox "$r/bin/busybox"
    for applet in $(/bin/busybox --list); do [[ -e "$r/bin/$applet" ]] || ln -s busybox "$r/bin/$applet"; done
    # npm and npx start with "#!/usr/bin/env node".
    ln -s ../../bin/busybox "$r/usr/bin/env"
    for bin in /usr/bin/node /usr/bin/curl /usr/bin/ping; do
      cp -L --parents "$bin" "$r/"
      for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do [[ -e "$lib" ]] && cp -L --parents "$lib" "$r/"; done
    done
    cp -a /usr/lib/node_modules "$r/usr/lib/"
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$r/usr/bin/npm"
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$r/usr/bin/npx"
    cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
    printf 'root:x:0:0::/root:/bin/sh\nnonroot:x:65532:65532::/tmp:/bin/sh\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnonroot:x:65532:\n' >"$r/etc/group"
    printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
    chmod 1777 "$r/tmp"
    # Trust what this host trusts (its registry access may pass through a TLS-inspecting proxy).
    printf 'FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n' >"$ctx/Containerfile"
    "${BA[@]}" build --quiet --layers=false -f "$ctx/Containerfile" -t "$BASE" "$ctx" >/dev/null
  fi
  # By digest, as the Dockerfile's default is.
  digest=$("${BA[@]}" inspect --type image --format '{{.FromImageDigest}}' "$BASE")
  build_args=(--build-arg "NODE_IMAGE=${BASE%:*}@$digest" --pull-never)
fi

log "building $IMAGE from Dockerfile"
# --squash: one layer, so what the runtime stage removes (npm, corepack) is not shipped below it.
"${BA[@]}" build --quiet --network host --layers=false --squash "${build_args[@]}" --build-arg "VERSION=$VERSION" -f Dockerfile -t "$IMAGE" . >/dev/null
# The runtime runs node only: no package manager may be left in it.
ctr_id=$("${BA[@]}" from --pull-never "$IMAGE")
root_fs=$("${BA[@]}" mount "$ctr_id")
left=$(cd "$root_fs" && ls -d usr/local/lib/node_modules/npm usr/lib/node_modules/npm usr/local/lib/node_modules/corepack \
  usr/lib/node_modules/corepack usr/local/bin/npm usr/bin/npm usr/local/bin/npx usr/bin/npx usr/local/bin/corepack usr/bin/corepack 2>/dev/null || true)
[[ -x "$root_fs/usr/bin/node" || -x "$root_fs/usr/local/bin/node" ]] || left="${left} (and no node)"
[[ -x "$root_fs/usr/bin/ping" || -x "$root_fs/bin/ping" ]] || left="${left} (and no ping for the icmp check)"
"${BA[@]}" umount "$ctr_id" >/dev/null
"${BA[@]}" rm "$ctr_id" >/dev/null
if [[ -n "$left" ]]; then
  echo "build-image: the runtime image still has: $left" >&2
  exit 1
fi
rm -f "$OUT.tmp"
"${BA[@]}" push --quiet "$IMAGE" "oci-archive:$OUT.tmp:$IMAGE"
mv "$OUT.tmp" "$OUT"
log "built $IMAGE -> $OUT ($(du -h "$OUT" | cut -f1))"
if [[ -n "$import_to" ]]; then
  ctr --address "$import_to" -n k8s.io images import "$OUT" >/dev/null
  log "imported $IMAGE into containerd at $import_to"
fi
echo "$IMAGE"
