#!/usr/bin/env bash
# Release build check: the committed HEAD, cloned twice into fresh directories, built with
# `make release` in each, must give byte-identical artifacts, and those artifacts must
# hold what a node operator is promised:
#   - identical SHA256SUMS from the two clones (the second with an empty Go build cache,
#     another umask, another time zone and a longer path, as another machine would have);
#   - per-platform tar.gz (linux/amd64, linux/arm64, windows/amd64): exactly the programs
#     under cmd/ (.exe on Windows) + LICENSE, README.md, THIRD_PARTY_NOTICES; modes
#     0755/0644, owner root, times = the commit's, no gzip time; static binaries of the
#     right architecture (ELF or PE machine) reporting the version, commit and date;
#   - OCI layout and tarball: one named multi-platform index (linux/amd64 + linux/arm64),
#     every blob matching its digest, each image's labels and entrypoint, a single layer
#     holding only the binaries (0755) and licence files (0644), owned by root;
#   - as root, with containerd available (installed from Debian when missing): a private
#     containerd imports the tarball under its name (`ctr images import`), unpacks it, and
#     runs the binary in it through its entrypoint. Not root: those cases are reported as
#     not run, never as passed.
# Ends with "N passed, M failed".
#
# Environment (all optional):
#   RELEASE_VERSION=v0.0.0-ci   version to build
#   RELEASE_SHARED_CACHE=1      let the second build use the Go build cache too (faster;
#                               the first build always does)
#   RELEASE_SKIP_APT=1          do not install containerd from Debian when it is missing
#   RELEASE_KEEP=1              keep the work directory
set -euo pipefail
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${RELEASE_VERSION:-v0.0.0-ci}
IMAGE=ghcr.io/imagecred/image-credential-provider
SOURCE=https://github.com/imagecred/image-credential-provider
PLATFORMS=(linux/amd64 linux/arm64)          # the image's platforms
ARCHIVES=("${PLATFORMS[@]}" windows/amd64) # a tar.gz each (Windows: .exe programs)
PROJECT=image-credential-provider

PASSED=0
FAILED=0
NOTRUN=0
exec 3>&2 # log lines reach the terminal even from inside a check, whose output is captured
log() { printf '%s release: %s\n' "$(date +%T)" "$*" >&3; }
# check NAME COMMAND...: the command prints why it failed on stdout.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		PASSED=$((PASSED + 1))
		echo "PASS $name"
	else
		FAILED=$((FAILED + 1))
		echo "FAIL $name: $(printf '%s' "$out" | tail -n 20)"
	fi
}
notrun() {
	NOTRUN=$((NOTRUN + 1))
	echo "NOT RUN $1: $2 (not counted as passed)"
}

W=$(mktemp -d /tmp/icp-release.XXXXXX)
RUN_ID=${W##*.}
RUN_ID=${RUN_ID,,}
CTR_NS=icp-release-$RUN_ID
CONTAINERD_PID=
# Host paths a containerd 1.6 run may create outside $W (shim sockets always go to
# /run/containerd/s): each one that did not exist before is removed if empty.
HOST_PATHS=(/run/containerd/s /run/containerd/fifo /run/containerd)
declare -A PREEXISTING=()
for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] && PREEXISTING[$p]=1; done

our_mounts() { awk '{print $5}' /proc/self/mountinfo | grep -E "^$W(/|\$)" | sort -r || true; }

cleanup() {
	local rc=$? i m mp f
	set +e
	trap - EXIT INT TERM
	if [ -n "$CONTAINERD_PID" ] && kill -0 "$CONTAINERD_PID" 2>/dev/null; then
		for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1; ctr_ tasks rm -f "$id" >/dev/null 2>&1; done
		for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers rm "$id" >/dev/null 2>&1; done
		kill -TERM "$CONTAINERD_PID" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "$CONTAINERD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$CONTAINERD_PID" 2>/dev/null && kill -KILL "$CONTAINERD_PID" 2>/dev/null
		wait "$CONTAINERD_PID" 2>/dev/null
	fi
	# Shims of our containerd that outlived it: by PID, found by the socket in their argv.
	for f in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' 2>/dev/null <"$f" | grep -F -- "-address $W/containerd/containerd.sock" >/dev/null || continue
		i=${f#/proc/}
		kill -KILL "${i%/cmdline}" 2>/dev/null
	done
	for i in 1 2 3; do
		m=$(our_mounts)
		[ -z "$m" ] && break
		for mp in $m; do umount "$mp" 2>/dev/null || { [ "$i" = 3 ] && umount -l "$mp"; }; done
	done
	# The cgroup parent runc made for our namespace, in every hierarchy.
	while read -r mp; do
		[ -d "$mp/$CTR_NS" ] && find "$mp/$CTR_NS" -depth -type d -exec rmdir {} \; 2>/dev/null
	done < <(awk '$3 ~ /^cgroup2?$/ {print $2}' /proc/self/mounts | sort -u)
	for p in "${HOST_PATHS[@]}"; do
		[ -n "${PREEXISTING[$p]:-}" ] || rmdir "$p" 2>/dev/null
	done
	if [ "${RELEASE_KEEP:-0}" = 1 ]; then
		log "work directory kept: $W"
	elif [ -z "$(our_mounts)" ]; then
		chmod -R u+w "$W" 2>/dev/null # the module cache a build may have filled is read-only
		rm -rf --one-file-system "$W"
	fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ] || rc=1
	exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

REV=$(git -C "$REPO" rev-parse HEAD)
# The commit time in UTC, computed here independently of the Makefile's way.
DATE=$(date -u -d "@$(git -C "$REPO" show -s --format=%ct HEAD)" +%Y-%m-%dT%H:%M:%SZ)
MTIME=$(date -u -d "$DATE" '+%Y-%m-%d %H:%M:%S')
GOVERSION=$(go env GOVERSION)
if [ -n "$(git -C "$REPO" status --porcelain)" ]; then
	log "note: the worktree has uncommitted changes; this checks the commit $REV only"
fi
log "commit $REV ($DATE), $VERSION, $GOVERSION; work directory $W"

# ---------------------------------------------------------------------------------------
# Two clean clones, two release builds.
clone() { # dir
	git clone --quiet --no-checkout "$REPO" "$1" &&
		git -C "$1" checkout --quiet --detach "$REV"
}
A=$W/a
B=$W/b/a-longer-path/to-the/second-clone
build_a() {
	clone "$A" || return 1
	local t0=$SECONDS
	(cd "$A" && make release VERSION="$VERSION") >"$W/build-a.log" 2>&1 || { tail -n 20 "$W/build-a.log"; return 1; }
	log "first build: $((SECONDS - t0)) s"
}
build_b() {
	(umask 077 && clone "$B") || return 1
	local t0=$SECONDS cache=$W/gocache-b
	[ "${RELEASE_SHARED_CACHE:-0}" = 1 ] && cache=$(go env GOCACHE)
	(cd "$B" && umask 077 && TZ=Pacific/Chatham GOCACHE=$cache make release VERSION="$VERSION") >"$W/build-b.log" 2>&1 ||
		{ tail -n 20 "$W/build-b.log"; return 1; }
	log "second build: $((SECONDS - t0)) s (Go build cache: $cache)"
}
check "first clone: make release VERSION=$VERSION" build_a
check "second clone (empty build cache, umask 077, another time zone and path): make release" build_b
[ -f "$A/dist/SHA256SUMS" ] || { log "no release to check"; exit 1; }
DA=$A/dist

same_sums() {
	[ -f "$B/dist/SHA256SUMS" ] || { echo "the second build wrote no SHA256SUMS"; return 1; }
	diff "$DA/SHA256SUMS" "$B/dist/SHA256SUMS"
}
check "reproducible: both clones give identical SHA256SUMS" same_sums
sums_verify() { (cd "$DA" && sha256sum --quiet -c SHA256SUMS); }
check "SHA256SUMS matches every artifact (sha256sum -c)" sums_verify
sums_cover() {
	local want got
	want=$( (cd "$DA" && find . -type f ! -name SHA256SUMS ! -path './oci/*' | sed 's|^\./||' | LC_ALL=C sort))
	got=$(awk '{print $2}' "$DA/SHA256SUMS")
	[ "$want" = "$got" ] || { echo "SHA256SUMS lists:"; echo "$got"; echo "dist holds:"; echo "$want"; return 1; }
}
check "SHA256SUMS lists every artifact in dist/ (the OCI layout is in its tarball)" sums_cover

# The programs a release must ship: every main package under cmd/.
mapfile -t BINS < <(cd "$A" && go list -f '{{if eq .Name "main"}}{{.ImportPath}}{{end}}' ./cmd/... | sed 's|.*/||' | LC_ALL=C sort)
log "programs under cmd/: ${BINS[*]}"

elf_machine() { od -An -tx2 -j18 -N2 "$1" | tr -d ' '; }
declare -A MACHINE=([amd64]=003e [arm64]=00b7)
# pe_machine FILE: the machine of a Windows executable (MZ header, PE header at 0x3c).
pe_machine() {
	[ "$(head -c 2 "$1")" = MZ ] || return 0
	local pe
	pe=$(od -An -tu4 -j60 -N4 "$1" | tr -d ' ')
	[ "$(od -An -c -j"$pe" -N4 "$1" | tr -d ' ')" = 'PE\0\0' ] || return 0
	od -An -tx2 -j$((pe + 4)) -N2 "$1" | tr -d ' '
}
declare -A PE_MACHINE=([amd64]=8664 [arm64]=aa64)
# machine_ok OS ARCH FILE: FILE is an executable for OS/ARCH.
machine_ok() {
	case $1 in
	windows) [ "$(pe_machine "$3")" = "${PE_MACHINE[$2]}" ] || { echo "${3##*/}: PE machine '$(pe_machine "$3")'"; return 1; } ;;
	*) [ "$(elf_machine "$3")" = "${MACHINE[$2]}" ] || { echo "${3##*/}: ELF machine $(elf_machine "$3")"; return 1; } ;;
	esac
}

# ---------------------------------------------------------------------------------------
# Archives.
for plat in "${ARCHIVES[@]}"; do
	os=${plat%/*} arch=${plat#*/}
	exe=
	[ "$os" = windows ] && exe=.exe
	base=${PROJECT}_${VERSION}_${os}_${arch}
	tgz=$DA/$base.tar.gz
	archive_listing() {
		local want got
		want=$( {
			echo "drwxr-xr-x root/root $MTIME $base/"
			for f in LICENSE README.md THIRD_PARTY_NOTICES; do echo "-rw-r--r-- root/root $MTIME $base/$f"; done
			for b in "${BINS[@]}"; do echo "-rwxr-xr-x root/root $MTIME $base/$b$exe"; done
		} | LC_ALL=C sort -k5)
		got=$(TZ=UTC tar --full-time -tvzf "$tgz" | awk '{print $1, $2, $4, $5, $6}' | LC_ALL=C sort -k5)
		[ "$want" = "$got" ] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"; return 1; }
		# gzip: FLG 0 (no name, no comment), MTIME 0.
		local hdr
		hdr=$(od -An -tu1 -j3 -N5 "$tgz" | tr -s ' ')
		[ "$hdr" = " 0 0 0 0 0" ] || { echo "gzip header flags/mtime bytes:$hdr"; return 1; }
	}
	check "$plat archive: exactly the programs and docs, modes, root owner, commit time, no gzip time" archive_listing
	archive_contents() {
		local x=$W/x-$os-$arch f b
		mkdir -p "$x" && tar -xzf "$tgz" -C "$x" || return 1
		for f in LICENSE README.md THIRD_PARTY_NOTICES; do cmp "$A/$f" "$x/$base/$f" || return 1; done
		for b in "${BINS[@]}"; do
			cmp "$DA/bin/${os}_$arch/$b$exe" "$x/$base/$b$exe" || return 1
			machine_ok "$os" "$arch" "$x/$base/$b$exe" || return 1
		done
	}
	check "$plat archive: docs are the commit's, binaries are dist/bin's and built for $arch" archive_contents
done

# The amd64 binaries run here: static, and they report this release.
static_and_version() {
	local b out want
	for b in "${BINS[@]}"; do
		out=$(ldd "$DA/bin/linux_amd64/$b" 2>&1 || true)
		case $out in *"not a dynamic executable"* | *"statically linked"*) ;; *) echo "$b: ldd: $out"; return 1 ;; esac
	done
	want="$PROJECT $VERSION (commit $REV, $DATE) $GOVERSION linux/amd64"
	out=$(cd / && env -i "$DA/bin/linux_amd64/$PROJECT" version)
	[ "$out" = "$want" ] || { printf 'version printed:\n  %s\nwant:\n  %s\n' "$out" "$want"; return 1; }
}
check "linux/amd64 binaries are static; version prints the release, commit, commit time, Go and platform" static_and_version

# ---------------------------------------------------------------------------------------
# OCI layout and tarball.
L=$DA/oci
blob() { echo "$L/blobs/${1/://}"; }
layout_top() {
	[ "$(jq -c . "$L/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}' ] || { echo "oci-layout: $(cat "$L/oci-layout")"; return 1; }
	jq -e --arg n "$IMAGE:$VERSION" --arg v "$VERSION" '
		(.manifests | length) == 1 and
		.manifests[0].mediaType == "application/vnd.oci.image.index.v1+json" and
		.manifests[0].annotations["io.containerd.image.name"] == $n and
		.manifests[0].annotations["org.opencontainers.image.ref.name"] == $v' "$L/index.json" >/dev/null ||
		{ jq . "$L/index.json"; return 1; }
}
check "OCI layout: index.json names one multi-platform index $IMAGE:$VERSION" layout_top
blobs_match() {
	local f n=0
	for f in "$L"/blobs/sha256/*; do
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "${f##*/}" ] || { echo "${f##*/}: content does not match its name"; return 1; }
		n=$((n + 1))
	done
	# index + per platform: manifest, config, layer
	[ "$n" = $((1 + 3 * ${#PLATFORMS[@]})) ] || { echo "$n blobs, want $((1 + 3 * ${#PLATFORMS[@]}))"; return 1; }
}
check "OCI layout: every blob matches its digest, and there is nothing else" blobs_match
INDEX=$(jq -r '.manifests[0].digest' "$L/index.json")
index_platforms() {
	local got
	got=$(jq -r '.manifests[] | .platform.os + "/" + .platform.architecture' "$(blob "$INDEX")" | LC_ALL=C sort | tr '\n' ' ')
	[ "$got" = "$(printf '%s ' "${PLATFORMS[@]}")" ] || { echo "platforms: $got"; return 1; }
	jq -e --arg r "$REV" '.annotations["org.opencontainers.image.revision"] == $r' "$(blob "$INDEX")" >/dev/null ||
		{ echo "index annotations:"; jq .annotations "$(blob "$INDEX")"; return 1; }
}
check "OCI index: linux/amd64 and linux/arm64, annotated with the revision" index_platforms

for plat in "${PLATFORMS[@]}"; do
	os=${plat%/*} arch=${plat#*/}
	MANIFEST=$(jq -r --arg o "$os" --arg a "$arch" '.manifests[] | select(.platform.os == $o and .platform.architecture == $a) | .digest' "$(blob "$INDEX")")
	image_config() {
		[ -n "$MANIFEST" ] || { echo "no manifest for $plat"; return 1; }
		local cfg
		cfg=$(blob "$(jq -r .config.digest "$(blob "$MANIFEST")")")
		jq -e --arg v "$VERSION" --arg r "$REV" --arg d "$DATE" --arg s "$SOURCE" --arg o "$os" --arg a "$arch" '
			.os == $o and .architecture == $a and .created == $d and
			.config.Entrypoint == ["/usr/local/bin/image-credential-provider"] and
			(.config.Labels | .["org.opencontainers.image.version"] == $v and
				.["org.opencontainers.image.revision"] == $r and
				.["org.opencontainers.image.created"] == $d and
				.["org.opencontainers.image.source"] == $s and
				.["org.opencontainers.image.licenses"] == "Apache-2.0" and
				.["org.opencontainers.image.title"] == "image-credential-provider" and
				(.["org.opencontainers.image.description"] | length) > 20) and
			(.rootfs.diff_ids | length) == 1' "$cfg" >/dev/null || { jq . "$cfg"; return 1; }
	}
	check "$plat image: os/arch, created at the commit, entrypoint, org.opencontainers.image labels" image_config
	image_layer() {
		[ -n "$MANIFEST" ] || return 1
		local layer cfg want got x=$W/layer-$arch b
		[ "$(jq '.layers | length' "$(blob "$MANIFEST")")" = 1 ] || { echo "not one layer"; return 1; }
		[ "$(jq -r '.layers[0].mediaType' "$(blob "$MANIFEST")")" = application/vnd.oci.image.layer.v1.tar+gzip ] || return 1
		layer=$(blob "$(jq -r '.layers[0].digest' "$(blob "$MANIFEST")")")
		cfg=$(blob "$(jq -r .config.digest "$(blob "$MANIFEST")")")
		[ "sha256:$(zcat "$layer" | sha256sum | cut -d' ' -f1)" = "$(jq -r '.rootfs.diff_ids[0]' "$cfg")" ] || { echo "diff_id does not match the layer"; return 1; }
		want=$( {
			for d in usr usr/local usr/local/bin usr/share usr/share/doc usr/share/doc/image-credential-provider; do
				echo "drwxr-xr-x root/root $MTIME $d/"
			done
			for b in "${BINS[@]}"; do echo "-rwxr-xr-x root/root $MTIME usr/local/bin/$b"; done
			for f in LICENSE THIRD_PARTY_NOTICES; do echo "-rw-r--r-- root/root $MTIME usr/share/doc/image-credential-provider/$f"; done
		} | LC_ALL=C sort -k5)
		got=$(TZ=UTC tar --full-time --numeric-owner -tvzf "$layer" | awk '{print $1, $2, $4, $5, $6}' | sed 's| 0/0 | root/root |' | LC_ALL=C sort -k5)
		[ "$want" = "$got" ] || { printf 'want:\n%s\ngot:\n%s\n' "$want" "$got"; return 1; }
		mkdir -p "$x" && tar -xzf "$layer" -C "$x" || return 1
		for b in "${BINS[@]}"; do cmp "$DA/bin/${os}_$arch/$b" "$x/usr/local/bin/$b" || return 1; done
		for f in LICENSE THIRD_PARTY_NOTICES; do cmp "$A/$f" "$x/usr/share/doc/image-credential-provider/$f" || return 1; done
	}
	check "$plat image: one layer, only the binaries (0755) and licence files (0644), uid/gid 0, commit time" image_layer
done

OCITAR=$DA/${PROJECT}_${VERSION}_oci-image.tar
tarball_is_layout() {
	local x=$W/ocitar bad
	mkdir -p "$x" && tar -xf "$OCITAR" -C "$x" || return 1
	diff -r "$L" "$x" || return 1
	bad=$(TZ=UTC tar --full-time --numeric-owner -tvf "$OCITAR" | awk -v t="$MTIME" '$2 != "0/0" || ($4 " " $5) != t')
	[ -z "$bad" ] || { echo "entries not owned by 0/0 at the commit time:"; echo "$bad"; return 1; }
	tar -tf "$OCITAR" | grep -Fx index.json >/dev/null || { echo "no index.json at the tarball's root"; return 1; }
}
check "OCI tarball: the layout directory, file for file, owned by root, at the commit time" tarball_is_layout

# ---------------------------------------------------------------------------------------
# containerd: ctr images import, then run the image.
ctr_() { timeout 60 ctr --address "$W/containerd/containerd.sock" -n "$CTR_NS" "$@"; }
CTR_CASES=("ctr images import: the tarball imports as $IMAGE:$VERSION (the index)"
	"ctr images import --all-platforms: containerd takes every blob of both platforms"
	"ctr run: the entrypoint is the plugin, it answers a kubelet request, and version reports the release")
# ctr_setup: containerd, ctr and runc present, a private containerd running; else PROBLEM
# says why not. Runs in this shell (not a subshell): cleanup needs CONTAINERD_PID.
PROBLEM=
ctr_setup() {
	[ "$(id -u)" = 0 ] || { PROBLEM="not root"; return; }
	if ! command -v ctr >/dev/null || ! command -v containerd >/dev/null || ! command -v runc >/dev/null; then
		if [ "${RELEASE_SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null; then
			PROBLEM="containerd, ctr or runc missing and RELEASE_SKIP_APT=1 or no apt-get"
			return
		fi
		log "installing containerd and runc from Debian"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q containerd runc >"$W/apt.log" 2>&1 ||
			{ PROBLEM="apt-get install containerd runc failed: $(tail -n 3 "$W/apt.log" | tr '\n' ' ')"; return; }
	fi
	local c=$W/containerd i
	mkdir -p "$c/root" "$c/state" "$c/opt"
	cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"

[ttrpc]
  address = "$c/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
EOF
	setsid containerd --config "$c/config.toml" >"$W/containerd.log" 2>&1 </dev/null &
	CONTAINERD_PID=$!
	for i in $(seq 1 150); do
		ctr --address "$c/containerd.sock" version >/dev/null 2>&1 && return
		kill -0 "$CONTAINERD_PID" 2>/dev/null || break
		sleep 0.2
	done
	PROBLEM="containerd did not start: $(tail -n 3 "$W/containerd.log" | tr '\n' ' ')"
}
ctr_setup
if [ -n "$PROBLEM" ]; then
	for c in "${CTR_CASES[@]}"; do notrun "$c" "$PROBLEM"; done
else
	ctr_import() {
		ctr_ images import "$OCITAR" || return 1
		local got
		got=$(ctr_ images ls | awk -v n="$IMAGE:$VERSION" '$1 == n {print $3}')
		[ "$got" = "$INDEX" ] || { echo "images ls:"; ctr_ images ls; echo "want $IMAGE:$VERSION at $INDEX"; return 1; }
		ctr_ images check | grep -F "$IMAGE:$VERSION" | grep -F complete >/dev/null ||
			{ ctr_ images check; return 1; }
	}
	check "${CTR_CASES[0]}" ctr_import
	ctr_import_all() {
		local ns=$CTR_NS-all d
		timeout 60 ctr --address "$W/containerd/containerd.sock" -n "$ns" images import --all-platforms --no-unpack "$OCITAR" || return 1
		for d in "$L"/blobs/sha256/*; do
			timeout 60 ctr --address "$W/containerd/containerd.sock" -n "$ns" content get "sha256:${d##*/}" | cmp - "$d" || { echo "blob ${d##*/} not in containerd"; return 1; }
		done
	}
	check "${CTR_CASES[1]}" ctr_import_all
	ctr_run() {
		local out want req args id=icp-release-$RUN_ID
		# containerd derives the process from the image config: the entrypoint alone.
		ctr_ containers create "$IMAGE:$VERSION" "$id-spec" >/dev/null || return 1
		args=$(ctr_ containers info "$id-spec" | jq -c .Spec.process.args)
		ctr_ containers rm "$id-spec" >/dev/null
		[ "$args" = '["/usr/local/bin/image-credential-provider"]' ] || { echo "process args from the image: $args"; return 1; }
		want="$PROJECT $VERSION (commit $REV, $DATE) $GOVERSION linux/$(go env GOARCH)"
		out=$(ctr_ run --rm --fifo-dir "$W/fifo" --runc-root "$W/runc" "$IMAGE:$VERSION" "$id-v" \
			/usr/local/bin/image-credential-provider version 2>&1 </dev/null) || { echo "$out"; return 1; }
		[ "$out" = "$want" ] || { printf 'in the image, version printed:\n  %s\nwant:\n  %s\n' "$out" "$want"; return 1; }
		# The entrypoint as the kubelet runs it: a request on stdin, the response on stdout.
		# ctr 1.6 loses the end of stdin when it comes before the task has started, so the
		# request is written once the task runs.
		req='{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"registry.example/app"}'
		out=$( {
			for _ in $(seq 1 150); do
				ctr_ tasks ls 2>/dev/null | awk -v id="$id-e" '$1 == id && $3 == "RUNNING"' | grep . >/dev/null && break
				sleep 0.2
			done
			printf '%s' "$req"
		} | ctr_ run --rm --fifo-dir "$W/fifo" --runc-root "$W/runc" "$IMAGE:$VERSION" "$id-e" 2>&1) || { echo "$out"; return 1; }
		printf '%s' "$out" | jq -e '.kind == "CredentialProviderResponse" and .apiVersion == "credentialprovider.kubelet.k8s.io/v1"' >/dev/null ||
			{ echo "the entrypoint answered: $out"; return 1; }
	}
	check "${CTR_CASES[2]}" ctr_run
fi

log "artifacts: $(cd "$DA" && find . -maxdepth 1 -type f -printf '%f %s bytes; ' | sort)"
