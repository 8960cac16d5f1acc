#!/usr/bin/env bash
# Build the lab cluster's container images without any registry, as OCI archives
# cached under $EV_CACHE/images (keyed by name and tag), and optionally import them
# into containerd's k8s.io namespace.
#   localhost/ev-pause:<v>      our static pause binary (sandbox image)
#   localhost/ev-coredns:<v>    CoreDNS built by build.sh
#   localhost/ev-tools:<v>      busybox-static + host curl and its libraries
#   localhost/ev-companion:<v>  Debian bookworm (debootstrap minbase) + mitmproxy, the
#                               egress-guardian companion (HTTP CONNECT :8080, socks5 :1080)
#                               and its policy addon (companion/enforce.py, opt-in)
#   localhost/ev-companion:proxies-<v>  Debian bookworm + Squid 5.7 (squid-openssl), tinyproxy
#                               and Smokescreen: the other companions (EV_COMPANION, see
#                               apply-reference.sh), HTTP CONNECT :8080 only
# Usage: images.sh build | import <containerd-address>
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$HERE/versions.sh"

IMG_CACHE="$EV_CACHE/images"
BUILDAH_ROOT="$EV_CACHE/buildah"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BA=(buildah --storage-driver vfs --root "$BUILDAH_ROOT/root" --runroot "$BUILDAH_ROOT/run")

log() { printf '[images %s] %s\n' "$(date +%T)" "$*"; }

# name:tag pairs; bump a tag when its recipe below changes.
PAUSE_IMAGE="localhost/ev-pause:1"
COREDNS_IMAGE="localhost/ev-coredns:${COREDNS_VERSION}-1"
TOOLS_IMAGE="localhost/ev-tools:1"
COMPANION_IMAGE="localhost/ev-companion:mitmproxy-8.1.1-3"
PROXIES_IMAGE="localhost/ev-companion:proxies-4"
ALL_IMAGES=("$PAUSE_IMAGE" "$COREDNS_IMAGE" "$TOOLS_IMAGE" "$COMPANION_IMAGE" "$PROXIES_IMAGE")

archive_of() { local r="${1#localhost/}"; echo "$IMG_CACHE/${r/:/_}.oci.tar"; }

# build_from_dir IMAGE CONTEXTDIR: CONTEXTDIR holds rootfs/ and Containerfile.
build_from_dir() {
	local image="$1" ctx="$2" out
	out="$(archive_of "$image")"
	"${BA[@]}" build --quiet --layers=false -f "$ctx/Containerfile" -t "$image" "$ctx" >/dev/null
	rm -f "$out.tmp"
	"${BA[@]}" push --quiet "$image" "oci-archive:$out.tmp:$image"
	"${BA[@]}" rmi -f "$image" >/dev/null 2>&1 || true
	mv "$out.tmp" "$out"
	log "built $image -> $out ($(du -h "$out" | cut -f1))"
}

build_pause() {
	local ctx="$IMG_CACHE/ctx-pause"
	rm -rf "$ctx"; mkdir -p "$ctx/rootfs"
	install -m 0755 "$PAUSE_BIN/pause" "$ctx/rootfs/pause"
	cat >"$ctx/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
USER 65535:65535
ENTRYPOINT ["/pause"]
EOF
	build_from_dir "$PAUSE_IMAGE" "$ctx"
	rm -rf "$ctx"
}

build_coredns() {
	local ctx="$IMG_CACHE/ctx-coredns"
	rm -rf "$ctx"; mkdir -p "$ctx/rootfs/etc/coredns"
	install -m 0755 "$COREDNS_BIN/coredns" "$ctx/rootfs/coredns"
	printf 'root:x:0:0::/:/nonexistent\nnonroot:x:65532:65532::/:/nonexistent\n' >"$ctx/rootfs/etc/passwd"
	cat >"$ctx/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
USER 65532:65532
EXPOSE 53/udp 53/tcp
ENTRYPOINT ["/coredns"]
EOF
	build_from_dir "$COREDNS_IMAGE" "$ctx"
	rm -rf "$ctx"
}

# Copy a host binary and every shared library it needs (ldd closure) into a rootfs.
copy_with_libs() {
	local root="$1" bin="$2" lib
	cp -L --parents "$bin" "$root/"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
		[[ -e "$lib" ]] && cp -L --parents "$lib" "$root/"
	done
}

build_tools() {
	local ctx="$IMG_CACHE/ctx-tools" r applet
	rm -rf "$ctx"; mkdir -p "$ctx/rootfs"/{bin,etc/ssl/certs,tmp,usr/bin}
	r="$ctx/rootfs"
	install -m 0755 /bin/busybox "$r/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[[ -e "$r/bin/$applet" ]] || ln -s busybox "$r/bin/$applet"
	done
	copy_with_libs "$r" /usr/bin/curl
	cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
	printf 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\n' >"$r/etc/group"
	printf 'hosts: files dns\n' >"$r/etc/nsswitch.conf"
	chmod 1777 "$r/tmp"
	cat >"$ctx/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp
USER 1000:1000
CMD ["sleep", "infinity"]
EOF
	build_from_dir "$TOOLS_IMAGE" "$ctx"
	rm -rf "$ctx"
}

# debootstrap_rootfs NAME PACKAGES: a cached Debian bookworm minbase with PACKAGES (comma-separated).
debootstrap_rootfs() {
	local deb="$IMG_CACHE/debootstrap-bookworm-$1" packages="$2"
	if [[ ! -f "$deb/.complete" ]]; then
		log "debootstrap bookworm minbase + $packages (cold: a few minutes)"
		rm -rf "$deb"; mkdir -p "$deb" "$IMG_CACHE/debootstrap-debs"
		debootstrap --variant=minbase --cache-dir="$IMG_CACHE/debootstrap-debs" --include="$packages" \
			bookworm "$deb" "$DEBIAN_MIRROR" >"$IMG_CACHE/debootstrap-$1.log" 2>&1 ||
			{ tail -20 "$IMG_CACHE/debootstrap-$1.log" >&2; exit 1; }
		rm -rf "$deb"/var/cache/apt/archives/*.deb "$deb"/var/lib/apt/lists/*
		touch "$deb/.complete"
	fi
}

# companion_context NAME: $IMG_CACHE/ctx-NAME with a lean copy of the cached rootfs NAME.
companion_context() {
	local ctx="$IMG_CACHE/ctx-$1" r
	rm -rf "$ctx"; mkdir -p "$ctx"
	cp -a "$IMG_CACHE/debootstrap-bookworm-$1" "$ctx/rootfs"
	rm -f "$ctx/rootfs/.complete"
	r="$ctx/rootfs"
	# Keep the image lean: docs, man pages and locales are not needed.
	rm -rf "$r"/usr/share/{doc,man,info,locale} "${r:?}"/var/log/* "${r:?}"/dev/*
}

build_companion() {
	local ctx="$IMG_CACHE/ctx-mitmproxy"
	# debootstrap does not resolve virtual packages: python3-zstandard needs the
	# python3-cffi-backend-api-* that python3-cffi-backend provides, so name it.
	debootstrap_rootfs mitmproxy mitmproxy,python3-cffi-backend,ca-certificates
	companion_context mitmproxy
	install -m 0755 "$HERE/companion/egress-guardian.sh" "$ctx/rootfs/usr/local/bin/egress-guardian"
	install -D -m 0644 "$HERE/companion/enforce.py" "$ctx/rootfs/usr/local/lib/egress-guardian/enforce.py"
	cat >"$ctx/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV HOME=/tmp LANG=C.UTF-8
USER 1000:2000
EXPOSE 8080 1080
ENTRYPOINT ["/usr/local/bin/egress-guardian"]
EOF
	build_from_dir "$COMPANION_IMAGE" "$ctx"
	rm -rf "$ctx"
}

build_proxies() {
	local ctx="$IMG_CACHE/ctx-proxies"
	[[ -x "$SMOKESCREEN_BIN/smokescreen" ]] ||
		{ echo "images: no Smokescreen at $SMOKESCREEN_BIN (scripts/setup.sh builds it with go install)" >&2; exit 1; }
	debootstrap_rootfs proxies squid-openssl,tinyproxy,ca-certificates
	companion_context proxies
	install -m 0755 "$SMOKESCREEN_BIN/smokescreen" "$ctx/rootfs/usr/local/bin/smokescreen"
	install -m 0755 "$HERE/companion/proxies.sh" "$ctx/rootfs/usr/local/bin/egress-guardian"
	cat >"$ctx/Containerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV HOME=/tmp LANG=C.UTF-8
USER 1000:2000
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/egress-guardian"]
EOF
	build_from_dir "$PROXIES_IMAGE" "$ctx"
	rm -rf "$ctx"
}

cmd_build() {
	mkdir -p "$IMG_CACHE" "$BUILDAH_ROOT"
	[[ -f "$(archive_of "$PAUSE_IMAGE")" ]] || build_pause
	[[ -f "$(archive_of "$COREDNS_IMAGE")" ]] || build_coredns
	[[ -f "$(archive_of "$TOOLS_IMAGE")" ]] || build_tools
	[[ -f "$(archive_of "$COMPANION_IMAGE")" ]] || build_companion
	[[ -f "$(archive_of "$PROXIES_IMAGE")" ]] || build_proxies
	log "images cached in $IMG_CACHE"
}

cmd_import() {
	local addr="$1" img
	for img in "${ALL_IMAGES[@]}"; do
		if ctr --address "$addr" -n k8s.io images ls -q | grep -qx "$img"; then continue; fi
		ctr --address "$addr" -n k8s.io images import "$(archive_of "$img")" >/dev/null
		log "imported $img"
	done
}

case "${1:-build}" in
build) cmd_build ;;
build-only) shift; mkdir -p "$IMG_CACHE" "$BUILDAH_ROOT"; for f in "$@"; do "build_$f"; done ;;
import) cmd_import "${2:?containerd address}" ;;
list) printf '%s\n' "${ALL_IMAGES[@]}" ;;
*) echo "usage: $0 build | import ADDRESS | list" >&2; exit 2 ;;
esac
