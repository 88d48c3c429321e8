#!/usr/bin/env bash
# End-to-end test: a real kubelet pulls static pods' images from a private TLS registry
# on 127.0.0.1, through containerd, with credentials from our plugin.
#
# Run as root on a throwaway Linux VM (cgroup v1 or v2 hybrid, no systemd needed):
#   test/e2e/run.sh
# Everything listens on loopback only. The kubelet binary is built once from the Go module
# proxy (test/e2e/kubelet/go.mod) and cached under $E2E_CACHE_DIR.
#
# Environment (all optional):
#   E2E_CACHE_DIR    where the kubelet build is kept        (/var/cache/imagecred-e2e)
#   E2E_KEEP=1       keep the run directory after the run   (it is deleted otherwise)
#   E2E_LOG_DIR      where logs are copied when a case fails (/tmp/icp-e2e-logs.<id>)
#   E2E_KUBELET      use this kubelet binary instead of the cached build
#   E2E_PLUGIN       use this plugin binary (with its companions beside it) instead of
#                    building ./cmd/...
#   E2E_TIMEOUT      hard limit for the whole run, seconds  (2700; the kubelet build is most of it)
#   E2E_SKIP_APT=1   do not install missing Debian packages (fail instead)
#   E2E_RELEASE_TAR  use this OCI image tarball (make release's *_oci-image.tar, for this
#                    machine's architecture) instead of building one
#
# test/e2e/README.md says what each case proves and why each setting below is what it is.
set -euo pipefail
umask 022

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
KUBE_VERSION=v1.37.1
CACHE_DIR=${E2E_CACHE_DIR:-/var/cache/imagecred-e2e}
TOTAL_TIMEOUT=${E2E_TIMEOUT:-2700}
APT_PACKAGES=(containerd runc docker-registry apache2-utils skopeo busybox-static openssl jq curl iproute2 util-linux)

SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

CASES=(case1 case2 case3 case4 case5 case6 case7)
# Cases 1-4 pull through the plugin behind logging shims, under one kubelet; cases 5-7
# install the release image the way examples/deploy does, under kubelets of their own.
PULL_CASES=(case1 case2 case3 case4)
declare -A DESC=(
	[case1]="static config.json, wildcard host + path-prefix key matches the pod image"
	[case2]="static, two matching credentials, the first wrong: the kubelet falls back to the second"
	[case3]="ECR backend through the loopback AWS fake (AWS_ENDPOINT_URL_ECR in the provider env)"
	[case4]="static, wrong credentials: pull fails with 401 and the registry saw our user"
	[case5]="the release image's install, as the DaemonSet's pod (static pod), fills an empty bin dir and kubelet config; the kubelet has no credential provider flags"
	[case6]="the kubelet restarted with the two flags install reported pulls a private image through the installed plugin"
	[case7]="the installer pod run again changes nothing (install says unchanged; every file's inode and mtime kept)"
)

log() { printf '%s e2e: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 2; }
# Before the teardown trap exists (nothing started yet): report every case as not run.
early_fail() {
	local c
	log "FATAL: $*"
	for c in "${CASES[@]}"; do printf 'FAIL %s: %s: not run: %s\n' "$c" "${DESC[$c]}" "$*"; done
	echo "0 passed, ${#CASES[@]} failed"
	exit 2
}

exec 7>&1 8>&2
[ "$(id -u)" = 0 ] || early_fail "must run as root (it starts containerd and a kubelet)"

# One run at a time per machine: runs share the kubelet's fixed device-plugin socket dir
# and containerd's shim socket dir. Daemons never inherit this descriptor.
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/run.lock"
flock -w 1200 9 || early_fail "another e2e run has held $CACHE_DIR/run.lock for 20 minutes"

# ---------------------------------------------------------------------------------------
# Run state. Everything the run creates lives in $RUN, except: the kubelet cache, the
# per-run cgroup root, /run/containerd/s (containerd 1.6 shims always use it), the
# /var/log/containers symlinks the kubelet makes, and the kernel settings it changes.
RUN=$(mktemp -d /tmp/icp-e2e.XXXXXX)
RUN_ID=${RUN##*.}
RUN_ID=${RUN_ID,,}
CGROUP_ROOT=/icp-e2e-$RUN_ID
NODE_NAME=icp-e2e-$RUN_ID # the kubelet's --hostname-override; static pods are named <name>-<node>
POD_NS=icp-e2e-$RUN_ID
LOGS=$RUN/logs
KLOG=$LOGS/kubelet.log # the kubelet log the pull checks read (each kubelet of the run has its own)
mkdir -p "$LOGS"
declare -A PIDS=()          # name -> pid of each daemon we started
declare -A SAVED_SYSCTL=()
# Host paths the run may create outside $RUN (kubelet device-plugin socket dir, skopeo's
# blob info cache, util-linux's utab dir, kubelet log symlinks, containerd shim sockets):
# each one that did not exist before the run is removed after it.
HOST_PATHS=(/var/lib/kubelet /var/lib/containers /run/mount /var/log/containers /run/containerd/s /run/containerd)
# The node directories the DaemonSet's pod writes (its hostPath volumes, case 5), and
# those of their parents that did not exist: filled in before the installer runs, which
# it does only when the directories do not exist yet (never on a real node's files).
INSTALL_PATHS=()
INSTALL_PARENTS=()
declare -A PREEXISTING=()
for p in "${HOST_PATHS[@]}"; do [ -e "$p" ] && PREEXISTING[$p]=1; done
WATCHDOG_PID=
FAILED_ANY=0
SUMMARY_DONE=0

# stop_pid NAME: SIGTERM, wait up to 10 s, then SIGKILL; by PID only.
stop_pid() {
	local name=$1 pid=${PIDS[$1]:-} i
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name ($pid) ignored SIGTERM; SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		fi
	fi
	wait "$pid" 2>/dev/null || true
	unset "PIDS[$name]"
}

# pids_in_our_cgroups: every process whose cgroup path is under our cgroup root.
pids_in_our_cgroups() {
	local f pid
	for f in /proc/[0-9]*/cgroup; do
		pid=${f#/proc/}; pid=${pid%/cgroup}
		grep -E ":$CGROUP_ROOT(/|\$)" "$f" >/dev/null 2>&1 && echo "$pid"
	done | sort -u
}

# pids_of_our_shims: containerd shims started for our containerd (their argv names our socket).
pids_of_our_shims() {
	local f pid
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}; pid=${pid%/cmdline}
		tr '\0' ' ' 2>/dev/null <"$f" | grep -F -- "-address $RUN/containerd/containerd.sock" >/dev/null && echo "$pid"
	done
}

our_mounts() { awk '{print $5}' /proc/self/mountinfo | grep -E "^$RUN(/|\$)" | sort -r || true; }

cleanup() {
	local rc=$? i pid m mp c
	set +e
	# The run may end inside a redirected block: report on the original stdout/stderr.
	exec 1>&7 2>&8
	trap - EXIT INT TERM
	[ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null && wait "$WATCHDOG_PID" 2>/dev/null
	log "teardown"
	stop_pid kubelet-build
	stop_pid release-build
	rm -f "$CACHE_DIR"/kubelet-*/kubelet.tmp.$$
	# 1. Let the kubelet stop the pods itself (it unmounts what it mounted), bounded.
	if [ -n "${PIDS[kubelet]:-}" ] && kill -0 "${PIDS[kubelet]}" 2>/dev/null; then
		rm -f "$RUN"/manifests/*.yaml
		for i in $(seq 1 150); do
			[ -z "$(ctr_ tasks ls -q 2>/dev/null)" ] && break
			sleep 0.2
		done
	fi
	stop_pid kubelet
	# 2. Whatever the kubelet left: kill and delete through containerd.
	if [ -n "${PIDS[containerd]:-}" ] && kill -0 "${PIDS[containerd]}" 2>/dev/null; then
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			timeout 10 ctr --address "$RUN/containerd/containerd.sock" -n k8s.io tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
		done
		for id in $(ctr_ tasks ls -q 2>/dev/null); do
			timeout 10 ctr --address "$RUN/containerd/containerd.sock" -n k8s.io tasks rm -f "$id" >/dev/null 2>&1
		done
		for id in $(ctr_ containers ls -q 2>/dev/null); do
			timeout 10 ctr --address "$RUN/containerd/containerd.sock" -n k8s.io containers rm "$id" >/dev/null 2>&1
		done
	fi
	stop_pid containerd
	# 3. Any process still in our cgroups or any shim of our containerd: SIGKILL by PID.
	for i in 1 2 3; do
		pid=$( { pids_in_our_cgroups; pids_of_our_shims; } | sort -u | tr '\n' ' ')
		[ -z "${pid// /}" ] && break
		log "killing leftover processes: $pid"
		# shellcheck disable=SC2086 # a list of PIDs, split on purpose
		kill -KILL $pid 2>/dev/null
		sleep 0.5
	done
	stop_pid fakeaws
	stop_pid registry
	# 4. Mounts under the run directory (kubelet root dir rshared bind, rootfs, shm).
	for i in 1 2 3; do
		m=$(our_mounts)
		[ -z "$m" ] && break
		for mp in $m; do umount "$mp" 2>/dev/null || { [ "$i" = 3 ] && umount -l "$mp"; }; done
	done
	# 5. The per-run cgroup root in every hierarchy, deepest first.
	while read -r mp; do
		[ -d "$mp$CGROUP_ROOT" ] || continue
		for i in 1 2 3 4 5; do
			find "$mp$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null
			[ -d "$mp$CGROUP_ROOT" ] || break
			sleep 0.5
		done
		[ -d "$mp$CGROUP_ROOT" ] && log "WARNING: could not remove cgroup $mp$CGROUP_ROOT"
	done < <(awk '$3 ~ /^cgroup2?$/ {print $2}' /proc/self/mounts | sort -u)
	# 6. Kernel settings the kubelet rewrote.
	for k in "${!SAVED_SYSCTL[@]}"; do
		[ "$(sysctl -n "$k" 2>/dev/null)" = "${SAVED_SYSCTL[$k]}" ] || sysctl -q -w "$k=${SAVED_SYSCTL[$k]}" >/dev/null
	done
	# 7. Files outside the run dir: log symlinks of our pods, host paths the run created.
	rm -f /var/log/containers/*_"$POD_NS"_*.log 2>/dev/null
	for p in "${HOST_PATHS[@]}"; do
		[ -n "${PREEXISTING[$p]:-}" ] && continue
		case $p in
		/run/containerd/s | /run/containerd | /var/log/containers) rmdir "$p" 2>/dev/null ;;
		*) rm -rf --one-file-system "$p" 2>/dev/null ;;
		esac
	done
	for p in "${INSTALL_PATHS[@]}"; do rm -rf --one-file-system "$p" 2>/dev/null; done
	for p in "${INSTALL_PARENTS[@]}"; do rmdir "$p" 2>/dev/null; done
	# 8. Leftover checks, then the run directory.
	m=$(our_mounts)
	[ -n "$m" ] && log "WARNING: mounts left: $m"
	pid=$( { pids_in_our_cgroups; pids_of_our_shims; } | sort -u | tr '\n' ' ')
	[ -n "${pid// /}" ] && log "WARNING: processes left: $pid"
	if [ "$SUMMARY_DONE" = 0 ]; then
		for c in "${CASES[@]}"; do
			[ -n "${REPORTED[$c]:-}" ] || report "$c" 0 "not run: the run was aborted (see the log above)"
		done
		[ "$rc" = 0 ] && rc=1
	fi
	if [ "$FAILED_ANY" = 1 ] || [ "$rc" != 0 ]; then
		local keep=${E2E_LOG_DIR:-/tmp/icp-e2e-logs.$RUN_ID}
		mkdir -p "$keep" && cp -a "$LOGS"/. "$keep"/ 2>/dev/null && log "logs kept in $keep"
	fi
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		log "run directory kept: $RUN"
	elif [ -z "$(our_mounts)" ]; then
		rm -rf --one-file-system "$RUN"
	fi
	echo "$PASSED passed, $FAILED failed" # last, so it ends the combined output too
	exit "$rc"
}
trap cleanup EXIT
trap 'if [ -e "$RUN/.timed-out" ]; then log "run exceeded ${TOTAL_TIMEOUT}s (E2E_TIMEOUT); aborting"; else log "interrupted"; fi; exit 130' INT TERM

# The whole run is bounded: the watchdog sends SIGTERM, which runs the teardown. It holds
# none of our output open (a caller reading our stdout through a pipe must see EOF), and
# stops its sleep when it is stopped.
(
	exec </dev/null >/dev/null 2>&1
	sleep "$TOTAL_TIMEOUT" &
	s=$!
	trap 'kill $s; exit 0' TERM
	wait $s && touch "$RUN/.timed-out" && kill -TERM $$
) &
WATCHDOG_PID=$!

ctr_() { timeout 15 ctr --address "$RUN/containerd/containerd.sock" -n k8s.io "$@"; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s until it succeeds.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { log "timed out after ${secs}s waiting for $what"; return 1; }
		sleep 0.2
	done
}

# ---------------------------------------------------------------------------------------
# 1. Debian packages (only what is missing).
install_packages() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
	done
	[ ${#missing[@]} = 0 ] && return 0
	[ "${E2E_SKIP_APT:-0}" = 1 ] && die "missing Debian packages: ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get -o DPkg::Lock::Timeout=120 update -qq >"$LOGS/apt.log" 2>&1 || die "apt-get update failed (see $LOGS/apt.log)"
	timeout 900 apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 ||
		die "apt-get install ${missing[*]} failed (see $LOGS/apt.log)"
}

# 2. The kubelet, built from the module proxy once per version and go.sum.
KUBELET=
build_kubelet() {
	local key dir lock
	if [ -n "${E2E_KUBELET:-}" ]; then
		KUBELET=$E2E_KUBELET
		log "using kubelet $KUBELET (E2E_KUBELET)"
		return 0
	fi
	key=$(cat "$E2E_DIR/kubelet/go.mod" "$E2E_DIR/kubelet/go.sum" | sha256sum | cut -c1-12)
	dir=$CACHE_DIR/kubelet-$KUBE_VERSION-$key
	KUBELET=$dir/kubelet
	mkdir -p "$dir"
	exec {lock}>"$dir/.lock"
	flock -w 2400 "$lock" || die "kubelet build lock busy for 40 minutes"
	if [ -x "$KUBELET" ] && timeout 20 "$KUBELET" --version 2>/dev/null | grep -F "Kubernetes $KUBE_VERSION" >/dev/null; then
		exec {lock}>&-
		return 0
	fi
	log "building kubelet $KUBE_VERSION into $dir (takes minutes on a cold Go cache)"
	local start=$SECONDS
	# Plain `go build` flags (no -trimpath, default cgo) like test/harness's build of the
	# kubelet code, so the two share compiled packages in the Go build cache. In the
	# background and waited for, so that the watchdog and Ctrl-C act at once.
	(cd "$E2E_DIR/kubelet" && exec timeout 2400 go build \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" \
		-o "$KUBELET.tmp.$$" k8s.io/kubernetes/cmd/kubelet) >"$LOGS/kubelet-build.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	PIDS[kubelet-build]=$!
	if ! wait "${PIDS[kubelet-build]}"; then
		unset "PIDS[kubelet-build]"
		rm -f "$KUBELET.tmp.$$"
		exec {lock}>&-
		tail -n 20 "$LOGS/kubelet-build.log" >&2
		die "kubelet build failed (see $LOGS/kubelet-build.log)"
	fi
	unset "PIDS[kubelet-build]"
	mv -f "$KUBELET.tmp.$$" "$KUBELET"
	exec {lock}>&-
	log "kubelet built in $((SECONDS - start))s"
}

# 3. Our plugin.
PLUGIN=
build_plugin() {
	mkdir -p "$RUN/plugin"
	if [ -n "${E2E_PLUGIN:-}" ]; then
		PLUGIN=$E2E_PLUGIN
		log "using plugin $PLUGIN (E2E_PLUGIN)"
		return 0
	fi
	if [ ! -d "$REPO/cmd/image-credential-provider" ]; then
		log "cmd/image-credential-provider does not exist yet: every case fails"
		return 1
	fi
	# Every binary: the front end the kubelet config names finds its companions beside it.
	mkdir -p "$RUN/plugin/real"
	(cd "$REPO" && CGO_ENABLED=0 timeout 600 go build -o "$RUN/plugin/real/" ./cmd/...) \
		>"$LOGS/plugin-build.log" 2>&1 || { log "plugin build failed (see $LOGS/plugin-build.log)"; return 1; }
	PLUGIN=$RUN/plugin/real/image-credential-provider
}

FAKEAWS=
build_fakeaws() {
	[ -d "$REPO/test/fake/awsfake/cmd/fakeaws" ] || { log "test/fake/awsfake/cmd/fakeaws does not exist yet: case 3 cannot run"; return 1; }
	(cd "$REPO" && CGO_ENABLED=0 timeout 600 go build -o "$RUN/plugin/fakeaws" ./test/fake/awsfake/cmd/fakeaws) \
		>"$LOGS/fakeaws-build.log" 2>&1 || { log "fakeaws build failed (see $LOGS/fakeaws-build.log)"; return 1; }
	FAKEAWS=$RUN/plugin/fakeaws
}

# The release image (cases 5-7): `make release` for this machine's platform only, into
# the run directory. The same target and the same hack/release code write the same OCI
# layout and tarball as a full release; only the index lists one platform instead of two
# (test/release.sh checks the two-platform index, its reproducibility and its import),
# which saves cross-compiling every binary for the other architecture. ALLOW_DIRTY: the
# working tree is what is tested, as for the plugin above.
RELEASE_VERSION=v0.0.0-e2e
RELEASE_TAR=
build_release() {
	if [ -n "${E2E_RELEASE_TAR:-}" ]; then
		RELEASE_TAR=$E2E_RELEASE_TAR
		log "using release image $RELEASE_TAR (E2E_RELEASE_TAR)"
		return 0
	fi
	local arch
	arch=$(go env GOARCH) || return 1
	# In the background and waited for, like the kubelet build, so that the watchdog and
	# Ctrl-C act at once. safe.directory: root may run this on a checkout it does not own.
	(cd "$REPO" && exec timeout 900 env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*' \
		make release VERSION="$RELEASE_VERSION" PLATFORMS="linux/$arch" DIST="$RUN/dist" ALLOW_DIRTY=1) \
		>"$LOGS/release-build.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	PIDS[release-build]=$!
	if ! wait "${PIDS[release-build]}"; then
		unset "PIDS[release-build]"
		log "make release failed (see $LOGS/release-build.log)"
		return 1
	fi
	unset "PIDS[release-build]"
	RELEASE_TAR=$RUN/dist/image-credential-provider_${RELEASE_VERSION}_oci-image.tar
	[ -f "$RELEASE_TAR" ] || { log "make release wrote no $RELEASE_TAR"; return 1; }
}

# The example DaemonSet's pod as a static pod (test/harness/cmd/daemonset-pod).
DSPOD=
build_dspod() {
	(cd "$REPO/test/harness" && CGO_ENABLED=0 timeout 600 go build -o "$RUN/plugin/daemonset-pod" ./cmd/daemonset-pod) \
		>"$LOGS/daemonset-pod-build.log" 2>&1 || { log "daemonset-pod build failed (see $LOGS/daemonset-pod-build.log)"; return 1; }
	DSPOD=$RUN/plugin/daemonset-pod
}

# ---------------------------------------------------------------------------------------
# Images, built here from the static busybox: no image comes from outside.
sha() { sha256sum "$1" | cut -d' ' -f1; }

# put_blob LAYOUT FILE: copy FILE into the OCI layout's blob store; prints its sha256.
put_blob() {
	local d
	d=$(sha "$2")
	cp "$2" "$1/blobs/sha256/$d"
	echo "$d"
}

BUSYBOX_LAYER=
BUSYBOX_DIFFID=
make_busybox_layer() {
	local root=$RUN/images/rootfs
	mkdir -p "$root/bin" "$root/tmp" "$root/etc"
	cp /bin/busybox "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
	ln -sf busybox "$root/bin/sleep"
	echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$RUN/images/layer.tar" .
	BUSYBOX_DIFFID=$(sha "$RUN/images/layer.tar")
	gzip -n -c "$RUN/images/layer.tar" >"$RUN/images/layer.tar.gz"
	BUSYBOX_LAYER=$RUN/images/layer.tar.gz
}

# make_image NAME TAG LABEL CMD_JSON: an OCI layout in $RUN/images/NAME; prints the manifest digest.
make_image() {
	local name=$1 tag=$2 label=$3 cmd=$4 lay=$RUN/images/$1 cfg man ld cd md
	mkdir -p "$lay/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
	ld=$(put_blob "$lay" "$BUSYBOX_LAYER")
	cfg=$RUN/images/$name.config.json
	jq -cn --arg diff "sha256:$BUSYBOX_DIFFID" --arg lbl "$label" --argjson cmd "$cmd" '{
		architecture: "amd64", os: "linux",
		config: {Entrypoint: $cmd, Env: ["PATH=/bin"], WorkingDir: "/", Labels: {"e2e.icp/image": $lbl}},
		rootfs: {type: "layers", diff_ids: [$diff]},
		history: [{created_by: "test/e2e/run.sh", created: "1970-01-01T00:00:00Z"}]}' >"$cfg"
	cd=$(put_blob "$lay" "$cfg")
	man=$RUN/images/$name.manifest.json
	jq -cn --arg cd "sha256:$cd" --argjson cs "$(stat -c %s "$cfg")" \
		--arg ld "sha256:$ld" --argjson ls "$(stat -c %s "$BUSYBOX_LAYER")" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
		layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' >"$man"
	md=$(put_blob "$lay" "$man")
	jq -cn --arg md "sha256:$md" --argjson ms "$(stat -c %s "$man")" --arg tag "$tag" '{
		schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $md, size: $ms, annotations: {"org.opencontainers.image.ref.name": $tag}}]}' >"$lay/index.json"
	echo "sha256:$md"
}

# ---------------------------------------------------------------------------------------
# Registry: distribution with TLS (our own CA for 127.0.0.1) and htpasswd.
REG_PORT=
REG=
make_ca() {
	local d=$RUN/tls
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=icp-e2e test CA $RUN_ID" \
		-keyout "$d/ca.key" -out "$d/ca.crt" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign >"$LOGS/openssl.log" 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" >>"$LOGS/openssl.log" 2>&1
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/server.ext" -out "$d/server.crt" >>"$LOGS/openssl.log" 2>&1
	# skopeo reads *.crt from a directory.
	mkdir -p "$d/skopeo"
	cp "$d/ca.crt" "$d/skopeo/ca.crt"
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep . >/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

start_registry() {
	local try cfg=$RUN/registry/config.yml code
	mkdir -p "$RUN/registry/data"
	for try in 1 2 3; do
		REG_PORT=$(free_port)
		REG=127.0.0.1:$REG_PORT
		cat >"$cfg" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $RUN/registry/data
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: $REG
  tls:
    certificate: $RUN/tls/server.crt
    key: $RUN/tls/server.key
auth:
  htpasswd:
    realm: icp-e2e
    path: $RUN/registry/htpasswd
EOF
		setsid docker-registry serve "$cfg" >"$LOGS/registry.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
		PIDS[registry]=$!
		code=
		for _ in $(seq 1 100); do
			kill -0 "${PIDS[registry]}" 2>/dev/null || break
			code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' --cacert "$RUN/tls/ca.crt" "https://$REG/v2/" || true)
			[ "$code" = 401 ] && return 0
			sleep 0.1
		done
		log "registry did not come up on $REG (http $code); retrying"
		stop_pid registry
		cp "$LOGS/registry.log" "$LOGS/registry.try$try.log"
	done
	die "registry would not start (see $LOGS/registry.log)"
}

# push NAME TAG REPO USER:PASS: pushes $RUN/images/NAME to $REG/REPO:TAG; prints the registry's digest.
push() {
	timeout 60 skopeo --policy "$RUN/images/policy.json" --tmpdir "$RUN/images/tmp" copy -q --preserve-digests \
		--dest-cert-dir "$RUN/tls/skopeo" --dest-creds "$4" --digestfile "$RUN/images/$1.pushed" \
		"oci:$RUN/images/$1:$2" "docker://$REG/$3:$2" >>"$LOGS/skopeo.log" 2>&1 || return 1
	cat "$RUN/images/$1.pushed"
}

# ---------------------------------------------------------------------------------------
# containerd with its own root, state, socket and runc root; hosts.toml trusts our CA.
PAUSE_IMAGE=e2e.icp.invalid/pause:1
start_containerd() {
	local c=$RUN/containerd
	mkdir -p "$c/root" "$c/state" "$c/runc" "$c/certs.d/$REG" "$c/opt" "$c/cni/bin" "$c/cni/net.d"
	cat >"$c/certs.d/$REG/hosts.toml" <<EOF
server = "https://$REG"

[host."https://$REG"]
  capabilities = ["pull", "resolve"]
  ca = "$RUN/tls/ca.crt"
EOF
	# An ECR-looking host that is served by the local registry (case 3): the pull never leaves
	# loopback, but the kubelet and the plugin see a real ECR registry name.
	mkdir -p "$c/certs.d/$ECR_HOST"
	cat >"$c/certs.d/$ECR_HOST/hosts.toml" <<EOF
server = "https://$REG"

[host."https://$REG"]
  capabilities = ["pull", "resolve"]
  ca = "$RUN/tls/ca.crt"
EOF
	cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$c/containerd.sock"

[ttrpc]
  address = "$c/containerd.sock.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "$c/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$c/cni/bin"
    conf_dir = "$c/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$c/certs.d"
EOF
	setsid containerd --config "$c/config.toml" >"$LOGS/containerd.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	PIDS[containerd]=$!
	wait_for 30 containerd ctr --address "$c/containerd.sock" version ||
		die "containerd did not start (see $LOGS/containerd.log)"
}

import_pause() {
	make_image pause 1 pause '["/bin/busybox","sleep","2147483647"]' >/dev/null
	# The importer names an image after the io.containerd.image.name annotation.
	jq --arg n "$PAUSE_IMAGE" '.manifests[0].annotations["io.containerd.image.name"] = $n' \
		"$RUN/images/pause/index.json" >"$RUN/images/pause/index.json.new"
	mv "$RUN/images/pause/index.json.new" "$RUN/images/pause/index.json"
	tar -C "$RUN/images/pause" -cf "$RUN/images/pause.tar" .
	ctr_ images import "$RUN/images/pause.tar" >"$LOGS/pause-import.log" 2>&1 || die "pause import failed (see $LOGS/pause-import.log)"
	ctr_ images ls -q | grep -Fx "$PAUSE_IMAGE" >/dev/null || die "pause image not in containerd after import"
}

# ---------------------------------------------------------------------------------------
# The plugin bin dir: one logging shim per provider (the kubelet runs <bin-dir>/<name>),
# each recording the request, the exit code and the answer with passwords redacted.
make_shim() {
	local name=$1
	cat >"$RUN/plugin/bin/$name" <<EOF
#!/bin/sh
# e2e logging shim for provider $name: runs the real plugin, logs request and answer.
d=\$(mktemp -d "$RUN/plugin/tmp/$name.XXXXXX") || exit 1
cat >"\$d/req"
"$PLUGIN" "\$@" <"\$d/req" >"\$d/out" 2>"\$d/err"
rc=\$?
jq -cn --arg name "$name" --argjson rc "\$rc" --rawfile req "\$d/req" --rawfile out "\$d/out" --rawfile err "\$d/err" '{
	time: (now | todate), name: \$name, rc: \$rc,
	request: (\$req | try fromjson catch \$req),
	response: (\$out | try (fromjson | if (.auth | type) == "object" then .auth |= map_values(.password = "<redacted>") else . end) catch "<not JSON>"),
	stderr: \$err}' >>"$LOGS/plugin-$name.log" 2>&1
cat "\$d/out"
cat "\$d/err" >&2
rm -rf "\$d"
exit \$rc
EOF
	chmod 0755 "$RUN/plugin/bin/$name"
}

# ---------------------------------------------------------------------------------------
# The kubelet, standalone (no API server), static pods only.
save_sysctls() {
	local k
	for k in "${SYSCTLS[@]}"; do SAVED_SYSCTL[$k]=$(sysctl -n "$k"); done
}

make_cgroup_root() {
	local mp
	while read -r mp; do
		mkdir -p "$mp$CGROUP_ROOT"
		if [ -f "$mp/cpuset.cpus" ]; then
			cat "$mp/cpuset.cpus" >"$mp$CGROUP_ROOT/cpuset.cpus"
			cat "$mp/cpuset.mems" >"$mp$CGROUP_ROOT/cpuset.mems"
		fi
	done < <(awk '$3 == "cgroup" {print $2}' /proc/self/mounts | sort -u)
}

# start_kubelet LOG [FLAGS...]: the kubelet, logging to $LOGS/LOG, with FLAGS (the
# credential provider flags, or none).
start_kubelet() {
	local klog=$1 k=$RUN/kubelet-root
	shift
	mkdir -p "$k" "$RUN/volume-plugins" "$RUN/pod-logs" "$RUN/home"
	: >"$RUN/resolv.conf"
	cat >"$RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: $RUN/manifests
fileCheckFrequency: 1s
syncFrequency: 5s
containerRuntimeEndpoint: unix://$RUN/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
enableServer: false
healthzPort: 0
readOnlyPort: 0
makeIPTablesUtilChains: false
volumePluginDir: $RUN/volume-plugins
podLogsDir: $RUN/pod-logs
resolvConf: $RUN/resolv.conf
serializeImagePulls: false
localStorageCapacityIsolation: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
EOF
	# Saved once: a later kubelet of the run would find the first one's settings.
	[ ${#SAVED_SYSCTL[@]} -gt 0 ] || save_sysctls
	make_cgroup_root
	# A clean environment: HOME points into the run dir, so neither the kubelet's node
	# credentials nor the plugin's default docker config or token cache touch the host's.
	(cd "$RUN" && exec setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$RUN/home" XDG_CACHE_HOME="$RUN/home/.cache" \
		"$KUBELET" --config="$RUN/kubelet.yaml" --root-dir="$k" --cert-dir="$k/pki" \
		--hostname-override="$NODE_NAME" \
		"$@" --v=3 >"$LOGS/$klog" 2>&1 </dev/null 7>&- 8>&- 9>&-) &
	PIDS[kubelet]=$!
}

# stop_pods_and_kubelet: the static pods removed and stopped by the kubelet (bounded),
# then the kubelet; the next kubelet of the run starts with no pod.
stop_pods_and_kubelet() {
	rm -f "$RUN"/manifests/*.yaml
	if [ -n "${PIDS[kubelet]:-}" ] && kill -0 "${PIDS[kubelet]}" 2>/dev/null; then
		wait_for 60 "the kubelet to stop its pods" no_tasks || true
	fi
	stop_pid kubelet
}
no_tasks() { [ -z "$(ctr_ tasks ls -q 2>/dev/null)" ]; }

static_pod() {
	local name=$1 image=$2
	cat >"$RUN/manifests/$name.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: $POD_NS
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $image
    imagePullPolicy: Always
    command: ["/bin/busybox", "sleep", "3600"]
EOF
}

# ---------------------------------------------------------------------------------------
# Cases. Each has a provider (its own shim and args), a repository and users.
ECR_ACCOUNT=111122223333
ECR_REGION=us-west-2
ECR_HOST=$ECR_ACCOUNT.dkr.ecr.$ECR_REGION.amazonaws.com
declare -A IMAGE=() DIGEST=() NOTRUN=()
# Test fixtures: obvious fake values, used only against the loopback registry. Every user
# below is in the registry's htpasswd with this password; the wrong credentials the plugin
# hands out (case2-stale, decoy-user, case4-user) carry WRONG[user] instead, so a
# request with them is a logged "error authenticating user" and never a success.
declare -A PASS=(
	[pusher]=pusher-pass-e2e
	[case1-user]=case1-pass-e2e
	[decoy-user]=decoy-pass-e2e
	[case2-user]=case2-pass-e2e
	[case2-stale]=case2-stale-pass-e2e
	[case4-user]=case4-pass-e2e
	[case6-user]=case6-pass-e2e
)
declare -A WRONG=(
	[decoy-user]=decoy-wrong-e2e
	[case2-stale]=case2-rotated-away-e2e
	[case4-user]=case4-wrong-e2e
)

write_provider_config() {
	local a=$RUN/plugin/auth f=$RUN/plugin/credential-providers.yaml
	mkdir -p "$a"
	# case 1: a wildcard host label and a path prefix; the decoy's path does not match.
	jq -n --arg k1 "*.0.0.1:$REG_PORT/e2e/case1" --arg a1 "$(printf 'case1-user:%s' "${PASS[case1-user]}" | base64 -w0)" \
		--arg k2 "$REG/e2e/elsewhere" --arg p2 "${WRONG[decoy-user]}" \
		'{auths: {($k1): {auth: $a1}, ($k2): {username: "decoy-user", password: $p2}}}' >"$a/case1.json"
	# case 2: the kubelet tries keys in reverse lexical order, so the longer (wrong) one first.
	jq -n --arg k "$REG/e2e/case2" --arg p "${WRONG[case2-stale]}" \
		'{auths: {($k): {username: "case2-stale", password: $p}}}' >"$a/case2-first.json"
	jq -n --arg k "$REG" --arg p "${PASS[case2-user]}" \
		'{auths: {($k): {username: "case2-user", password: $p}}}' >"$a/case2-second.json"
	# case 4: a real user with the wrong password.
	jq -n --arg k "$REG/e2e/case4" --arg p "${WRONG[case4-user]}" '{auths: {($k): {username: "case4-user", password: $p}}}' >"$a/case4.json"
	{
		echo "apiVersion: kubelet.config.k8s.io/v1"
		echo "kind: CredentialProviderConfig"
		echo "providers:"
		# Backends are named explicitly so that no backend probes anything off loopback
		# (a cloud metadata server); the token cache lives in the run directory.
		provider icp-case1 "$REG/e2e/case1" --backends static --cache-dir "$RUN/plugin/cache" --v=9 \
			--dockercfg "$a/case1.json"
		provider icp-case2 "$REG/e2e/case2" --backends static --cache-dir "$RUN/plugin/cache" --v=9 \
			--dockercfg "$a/case2-first.json" --dockercfg "$a/case2-second.json"
		provider icp-case4 "$REG/e2e/case4" --backends static --cache-dir "$RUN/plugin/cache" --v=9 \
			--dockercfg "$a/case4.json"
		if [ -z "${NOTRUN[case3]:-}" ]; then
			# The patterns a deployment puts in its kubelet config (what install writes for the ECR backend), so
			# the kubelet's own validation of every ECR host family is exercised too. The
			# environment is all the ECR backend gets: the fake's endpoints and static test
			# keys. No AWS_REGION: the region comes from the image's host. Instance metadata
			# is off so the credential chain never probes 169.254.169.254.
			provider_m icp-case3 "$ECR_MATCH" --backends ecr --cache-dir "$RUN/plugin/cache" --v=9
			cat <<EOF
  env:
  - {name: AWS_ENDPOINT_URL_ECR, value: "$FAKEAWS_ECR_URL"}
  - {name: AWS_ENDPOINT_URL_STS, value: "$FAKEAWS_STS_URL"}
  - {name: AWS_ACCESS_KEY_ID, value: "$FAKEAWS_KEY_ID"}
  - {name: AWS_SECRET_ACCESS_KEY, value: "$FAKEAWS_SECRET"}
  - {name: AWS_EC2_METADATA_DISABLED, value: "true"}
EOF
		fi
	} >"$f"
	for p in icp-case1 icp-case2 icp-case3 icp-case4; do make_shim "$p"; done
}

# provider NAME MATCH ARGS...: one CredentialProviderConfig entry with one matchImages pattern.
provider() {
	local name=$1 match=$2
	shift 2
	provider_m "$name" "\"$match\"" "$@"
}

# provider_m NAME PATTERNS ARGS...: PATTERNS is a comma-separated list of quoted patterns.
provider_m() {
	local name=$1 match=$2
	shift 2
	printf -- '- name: %s\n  matchImages: [%s]\n  defaultCacheDuration: "1m"\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  args: [%s]\n' \
		"$name" "$match" "$(printf '"%s", ' "$@" | sed 's/, $//')"
}

# The ECR case's loopback AWS fake (test/fake/awsfake/cmd/fakeaws). It answers every
# GetAuthorizationToken with ECR_TOKEN, a fixed test password the registry's user AWS
# is given before the kubelet starts; it still verifies every call's SigV4 signature
# against its static test key, so only the real SDK path with those keys gets the token.
FAKEAWS_ECR_URL=
FAKEAWS_STS_URL=
FAKEAWS_KEY_ID=
FAKEAWS_SECRET=
ECR_TOKEN=
ECR_MATCH=
start_fakeaws() {
	local out=$LOGS/fakeaws.out
	# One source for the patterns: what install writes for the ECR backend (into a scratch
	# root, as JSON for jq), from the same host tables the backend serves.
	local m=$RUN/plugin/ecr-match
	mkdir -p "$m/proc"
	"$(dirname "$PLUGIN")/image-credential-provider-all" install --root "$m" --proc "$m/proc" --bin-dir /bin \
		--kubelet-config /kubelet.json --backends=ecr >"$LOGS/ecr-match.log" 2>&1 || { log "install --backends=ecr failed (see $LOGS/ecr-match.log)"; return 1; }
	ECR_MATCH=$(jq -r '.providers[0].matchImages | map("\"" + . + "\"") | join(",")' "$m/kubelet.json" || true)
	[ -n "$ECR_MATCH" ] || { log "install --backends=ecr wrote no matchImages (see $m/kubelet.json)"; return 1; }
	# Colons inside on purpose: an ECR password is split at the first colon only.
	ECR_TOKEN="e2e-ecr-token:$RUN_ID:$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	setsid "$FAKEAWS" -password "$ECR_TOKEN" >"$out" 2>"$LOGS/fakeaws.log" </dev/null 7>&- 8>&- 9>&- &
	PIDS[fakeaws]=$!
	wait_for 30 "the AWS fake" grep -x READY "$out" || { log "fakeaws did not start (see $LOGS/fakeaws.log)"; return 1; }
	FAKEAWS_ECR_URL=$(sed -n 's/^AWS_ENDPOINT_URL_ECR=//p' "$out")
	FAKEAWS_STS_URL=$(sed -n 's/^AWS_ENDPOINT_URL_STS=//p' "$out")
	FAKEAWS_KEY_ID=$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$out")
	FAKEAWS_SECRET=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$out")
	if [ -z "$FAKEAWS_ECR_URL" ] || [ -z "$FAKEAWS_STS_URL" ] || [ -z "$FAKEAWS_KEY_ID" ] || [ -z "$FAKEAWS_SECRET" ]; then
		log "fakeaws printed no endpoint or key (see $out)"
		return 1
	fi
	log "AWS fake at $FAKEAWS_ECR_URL"
}

# ---------------------------------------------------------------------------------------
# Checks. Each prints nothing on success and a reason on failure.
plugin_ran() { # provider image: the shim logged a request for image with exit 0
	jq -e --arg img "$2" 'select(.request.image == $img and .rc == 0)' "$LOGS/plugin-$1.log" >/dev/null 2>&1 ||
		{ echo "plugin $1 has no successful request for $2"; return 1; }
}
plugin_answered_user() { # provider image user
	jq -e --arg img "$2" --arg u "$3" 'select(.request.image == $img and .rc == 0) | .response.auth[] | select(.username == $u)' \
		"$LOGS/plugin-$1.log" >/dev/null 2>&1 || { echo "plugin $1 did not answer user $3 for $2"; return 1; }
}
in_containerd() { # ref digest
	local got
	got=$(ctr_ images ls 2>/dev/null | awk -v r="$1" '$1 == r {print $3}')
	[ "$got" = "$2" ] || { echo "containerd has ${got:-no image} for $1, want $2"; return 1; }
}
not_in_containerd() { # repo (any tag)
	! ctr_ images ls -q 2>/dev/null | grep -F "$1" >/dev/null || { echo "containerd has $1 but the pull should have failed"; return 1; }
}
kubelet_pulled() { # ref
	grep -F "Successfully pulled image \\\"$1\\\"" "$KLOG" >/dev/null ||
		{ echo "kubelet log has no 'Successfully pulled image \"$1\"'"; return 1; }
}
kubelet_pull_failed_401() { # ref
	grep -F "$1" "$KLOG" | grep -F 'Failed to pull image' | grep -F '401 Unauthorized' >/dev/null ||
		{ echo "kubelet log has no 'Failed to pull image' with 401 Unauthorized for $1"; return 1; }
}
# The registry (distribution 2.8) logs the user name of every failed basic-auth login
# ('error authenticating user \"NAME\"') but not of successful ones; it requires a login
# for every request. So a success is proven by elimination: the pull worked, and every
# other credential the kubelet could have sent is either absent from the log or rejected.
registry_rejected() { # user repo: a failed login by user on repo
	grep -F "error authenticating user \\\"$1\\\"" "$LOGS/registry.log" | grep -F "vars.name=$2 " >/dev/null ||
		{ echo "registry log has no rejected login by $1 on $2"; return 1; }
}
registry_not_rejected() { # user
	! grep -F "error authenticating user \\\"$1\\\"" "$LOGS/registry.log" >/dev/null ||
		{ echo "registry rejected $1, whose credentials are right"; return 1; }
}
registry_never_saw() { # user
	! grep -F "$1" "$LOGS/registry.log" >/dev/null || { echo "registry saw $1, which must not be sent for this image"; return 1; }
}
registry_served_as() { # repo host: the registry answered a manifest GET of repo that containerd made for an image named on host (its hosts.toml mirror adds ?ns=host)
	grep -F "\"GET /v2/$1/manifests/" "$LOGS/registry.log" | grep -F "?ns=$2 HTTP/1.1\" 200 " >/dev/null ||
		{ echo "registry log has no successful manifest GET of $1 for $2"; return 1; }
}
containerd_pulls() { # ref n: containerd saw exactly n PullImage calls for ref (one per credential tried)
	local got
	got=$(grep -cF "msg=\"PullImage \\\"$1\\\"\"" "$LOGS/containerd.log" || true)
	[ "$got" = "$2" ] || { echo "containerd saw $got PullImage calls for $1, want $2"; return 1; }
}
fake_calls() { # op n: the AWS fake answered op n times (it prints its counters when stopped)
	local got
	got=$(sed -n "s/^fakeaws: $1 calls: //p" "$LOGS/fakeaws.log")
	[ "$got" = "$2" ] || { echo "the AWS fake answered ${got:-an unknown number of} $1 calls, want $2"; return 1; }
}
no_secret_in_logs() { # pass...: secrets never reach the kubelet log or the plugin's stderr
	local p
	for p in "$@"; do
		if grep -F -- "$p" "$KLOG" >/dev/null || jq -r .stderr "$LOGS"/plugin-*.log 2>/dev/null | grep -F -- "$p" >/dev/null; then
			echo "a password appears in the kubelet log or the plugin's stderr"
			return 1
		fi
	done
}

# check_case NAME: runs the case's checks; prints "PASS/FAIL name: ..." and returns 0/1.
PASSED=0
FAILED=0
declare -A REPORTED=()
report() {
	local c=$1 ok=$2 why=$3
	REPORTED[$c]=1
	if [ "$ok" = 1 ]; then
		PASSED=$((PASSED + 1))
		printf 'PASS %s: %s\n' "$c" "${DESC[$c]}"
	else
		FAILED=$((FAILED + 1))
		FAILED_ANY=1
		printf 'FAIL %s: %s: %s\n' "$c" "${DESC[$c]}" "$why"
	fi
}

run_checks() { # case check...: each check is a quoted command line; stops at the first failure
	local c=$1 chk why
	shift
	for chk in "$@"; do
		if ! why=$(eval "$chk"); then
			report "$c" 0 "$why"
			return
		fi
	done
	report "$c" 1 ""
}

case_done() { # case: its pull finished one way or the other
	case $1 in
	case4) grep -F "${IMAGE[case4]}" "$KLOG" | grep -F 'Failed to pull image' >/dev/null ;;
	*) grep -F "Successfully pulled image \\\"${IMAGE[$1]}\\\"" "$KLOG" >/dev/null ||
		grep -F "${IMAGE[$1]}" "$KLOG" | grep -F 'Failed to pull image' >/dev/null ;;
	esac
}
all_done() {
	local c
	for c in "${PULL_CASES[@]}"; do
		[ -n "${NOTRUN[$c]:-}" ] && continue
		case_done "$c" || return 1
	done
}

pulls_done_or_kubelet_gone() { all_done || ! kill -0 "${PIDS[kubelet]}" 2>/dev/null; }

# ---------------------------------------------------------------------------------------
# Cases 5-7: the DaemonSet installation of examples/deploy, on this machine as its node.
# The DaemonSet's pod runs as a static pod (test/harness/cmd/daemonset-pod: the same
# container, args, security context, resources and hostPath volumes; the ConfigMap and
# Secret as directories; host network, as this kubelet has no pod network) from the
# release image imported into containerd. It installs into the real node paths of the
# manifest, which must not exist before the run and are removed after it.
RELEASE_REF=
INSTALL_DIR=$RUN/installer
install_prepare() {
	local p d
	build_release || { NOTRUN[case5]="the release image did not build"; return 1; }
	build_dspod || { NOTRUN[case5]="test/harness/cmd/daemonset-pod did not build"; return 1; }
	mkdir -p "$INSTALL_DIR/config" "$INSTALL_DIR/docker"
	RELEASE_REF=$(tar -xOf "$RELEASE_TAR" index.json | jq -r '.manifests[0].annotations["io.containerd.image.name"] // empty' || true)
	[ -n "$RELEASE_REF" ] || { NOTRUN[case5]="$RELEASE_TAR names no image (io.containerd.image.name)"; return 1; }
	# The docker config the Secret holds: this run's registry and user.
	jq -n --arg k "$REG" --arg p "${PASS[case6-user]}" '{auths: {($k): {username: "case6-user", password: $p}}}' >"$INSTALL_DIR/docker-config.json"
	installer_manifest installer || { NOTRUN[case5]="the DaemonSet's pod could not be made a static pod (see $LOGS/daemonset-pod.log)"; return 1; }
	while read -r p; do
		if [ -e "$p" ]; then
			NOTRUN[case5]="$p exists on this machine: the e2e installs only into node directories it creates"
			return 1
		fi
	done <"$INSTALL_DIR/host-paths"
	while read -r p; do
		INSTALL_PATHS+=("$p")
		d=$(dirname "$p")
		while [ ! -e "$d" ]; do
			INSTALL_PARENTS+=("$d")
			d=$(dirname "$d")
		done
	done <"$INSTALL_DIR/host-paths"
	# The image's binaries, to compare with what lands in the bin dir.
	image_binaries || { NOTRUN[case5]="the release image's binaries could not be read from $RELEASE_TAR"; return 1; }
}

# installer_manifest NAME: the DaemonSet's pod as static pod NAME in $INSTALL_DIR/NAME.yaml.
installer_manifest() {
	"$DSPOD" -dir "$REPO/examples/deploy" -name "$1" -namespace "$POD_NS" -image "$RELEASE_REF" -host-network \
		-volume-dir plugin-config="$INSTALL_DIR/config" -volume-dir docker-config="$INSTALL_DIR/docker" \
		-replace docker-config/.dockerconfigjson="$INSTALL_DIR/docker-config.json" \
		-host-paths "$INSTALL_DIR/host-paths" -out "$INSTALL_DIR/$1.yaml" >>"$LOGS/daemonset-pod.log" 2>&1
}

# image_binaries: /usr/local/bin of this platform's image in the tarball, into $INSTALL_DIR/image.
image_binaries() {
	local oci=$INSTALL_DIR/oci arch idx man layer
	arch=$(go env GOARCH)
	mkdir -p "$oci" "$INSTALL_DIR/image"
	tar -xf "$RELEASE_TAR" -C "$oci" || return 1
	idx=$(jq -r '.manifests[0].digest' "$oci/index.json")
	man=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.os == "linux" and .platform.architecture == $a) | .digest' "$oci/blobs/sha256/${idx#sha256:}")
	layer=$(jq -r '.layers[0].digest' "$oci/blobs/sha256/${man#sha256:}")
	[ -n "$layer" ] && [ "$layer" != null ] || return 1
	tar -xzf "$oci/blobs/sha256/${layer#sha256:}" -C "$INSTALL_DIR/image" usr/local/bin
}

import_release() {
	ctr_ images import "$RELEASE_TAR" >"$LOGS/release-import.log" 2>&1 || { log "ctr images import failed (see $LOGS/release-import.log)"; return 1; }
	ctr_ images ls -q | grep -Fx "$RELEASE_REF" >/dev/null || { log "$RELEASE_REF is not in containerd after the import"; return 1; }
}

# pod_log NAME: what the static pod's container printed (CRI log prefixes removed).
pod_log() {
	local f
	for f in "$RUN/pod-logs/${POD_NS}_$1-${NODE_NAME}"_*/install/*.log; do
		[ -f "$f" ] && sed -E 's/^[^ ]+ (stdout|stderr) [FP] //' "$f"
	done
}
installer_stays() { pod_log "$1" | grep -Fx 'staying until SIGTERM or SIGINT' >/dev/null; }

# snapshot: every file of the installed node directories with inode, mtime, mode, size.
snapshot() {
	local p
	for p in "${INSTALL_PATHS[@]}"; do
		find "$p" -printf '%p %i %T@ %m %s\n'
	done | sort
}

# Checks of cases 5-7 (each prints nothing on success and a reason on failure).
installer_ran() { # name
	installer_stays "$1" || { echo "installer $1 never said it stays; its log: $(pod_log "$1" | tail -n 5 | tr '\n' '|')"; return 1; }
}
installer_wrote_everything() { # name: every file new, none unchanged
	local n want
	want=$(( $(find "$INSTALL_DIR/image/usr/local/bin" -type f | wc -l) + 3 ))
	n=$(pod_log "$1" | grep -c '^wrote ' || true)
	[ "$n" = "$want" ] && pod_log "$1" | grep -Fx "installed: $want files written, 0 unchanged" >/dev/null ||
		{ echo "installer $1 wrote $n files, want all $want new (the image's binaries and 3 files); its log: $(pod_log "$1" | tr '\n' '|')"; return 1; }
}
installer_changed_nothing() { # name
	local want n
	want=$(( $(find "$INSTALL_DIR/image/usr/local/bin" -type f | wc -l) + 3 ))
	n=$(pod_log "$1" | grep -c '^unchanged ' || true)
	[ "$n" = "$want" ] && ! pod_log "$1" | grep '^wrote ' >/dev/null &&
		pod_log "$1" | grep -Fx "nothing to change: all $want files are already installed" >/dev/null ||
		{ echo "installer $1 did not report all $want files unchanged; its log: $(pod_log "$1" | tr '\n' '|')"; return 1; }
}
bin_dir_is_the_image() { # the bin dir holds exactly the image's binaries, 0755
	local bin=$1 f n
	n=0
	for f in "$INSTALL_DIR"/image/usr/local/bin/*; do
		n=$((n + 1))
		cmp -s "$f" "$bin/$(basename "$f")" || { echo "$bin/$(basename "$f") is not the image's $(basename "$f")"; return 1; }
		[ "$(stat -c %a "$bin/$(basename "$f")")" = 755 ] || { echo "$bin/$(basename "$f") is not mode 0755"; return 1; }
	done
	[ "$(find "$bin" -mindepth 1 | wc -l)" = "$n" ] || { echo "$bin holds $(find "$bin" -mindepth 1 | wc -l) entries, want the image's $n binaries"; return 1; }
}
file_is() { # node-file source mode
	cmp -s "$1" "$2" || { echo "$1 does not hold $2"; return 1; }
	[ "$(stat -c %a "$1")" = "$3" ] || { echo "$1 has mode $(stat -c %a "$1"), want $3"; return 1; }
}
kubelet_config_names() { # file: our provider runs the front end with the installed plugin config
	grep -F -- "- name: image-credential-provider" "$1" >/dev/null &&
		grep -F -- "--config=$CFG_DEST" "$1" >/dev/null &&
		grep -F -- "$REG" "$1" >/dev/null ||
		{ echo "$1 has no provider image-credential-provider with --config=$CFG_DEST and matchImages $REG"; return 1; }
}
reported_flags() { # name: the flags install reported, naming the installed files
	[ -f "$KCONFIG" ] && [ -d "$KBINDIR" ] ||
		{ echo "install reported --image-credential-provider-config=${KCONFIG:-?} --image-credential-provider-bin-dir=${KBINDIR:-?}, which are not what it installed"; return 1; }
	pod_log "$1" | grep -F 'kubelet: no running kubelet found' >/dev/null ||
		{ echo "install did not report that no kubelet uses the files (the pod has no host PID namespace)"; return 1; }
}
container_confined() { # pod limit-bytes: the runtime runs the installer as the manifest says
	local id info
	for id in $(ctr_ containers ls -q); do
		info=$(ctr_ containers info "$id")
		jq -e --arg p "$1-$NODE_NAME" '.Labels["io.kubernetes.pod.name"] == $p and .Labels["io.kubernetes.container.name"] == "install"' >/dev/null <<<"$info" || continue
		jq -e '.Spec.root.readonly == true and .Spec.process.user.uid == 0 and .Spec.process.noNewPrivileges == true
			and ([.Spec.process.capabilities // {} | .[] | length] | add // 0) == 0
			and .Spec.linux.resources.memory.limit == ($lim | tonumber) and .Spec.linux.seccomp != null' --arg lim "$2" >/dev/null <<<"$info" && return 0
		echo "container $id of $1 is not confined as the manifest says: $(jq -c '{root: .Spec.root, user: .Spec.process.user, nnp: .Spec.process.noNewPrivileges, caps: .Spec.process.capabilities, mem: .Spec.linux.resources.memory, seccomp: (.Spec.linux.seccomp != null)}' <<<"$info")"
		return 1
	done
	echo "no running container of pod $1"
	return 1
}
not_pulled() { # ref: containerd never pulled it (the imported image serves IfNotPresent)
	! grep -F "PullImage \\\"$1\\\"" "$LOGS/containerd.log" >/dev/null || { echo "containerd pulled $1, which was imported"; return 1; }
}
# memory_limit POD-YAML: the container's memory limit in bytes (Mi or Gi).
memory_limit() {
	local q
	q=$(awk '/^ *limits:/ {f = 1; next} f && /memory:/ {print $2; exit}' "$1")
	case $q in
	*Mi) echo $((${q%Mi} * 1024 * 1024)) ;;
	*Gi) echo $((${q%Gi} * 1024 * 1024 * 1024)) ;;
	*) echo "$q" ;;
	esac
}
was() { # a check's result recorded earlier: "ok" or the reason
	[ "$1" = ok ] || { echo "$1"; return 1; }
}
stopped_on_sigterm() { # seconds the kubelet took to stop the installer pod
	[ "$1" -lt 8 ] || { echo "the installer pod took ${1}s to stop: SIGTERM did not end it (the grace period is 10s)"; return 1; }
}
plugin_answer_recorded() { # the installed plugin ran as the kubelet's provider: its answer for the registry is on disk
	local out
	out=$("$KBINDIR/image-credential-provider-all" cache list --cache-dir "$RUN/home/.cache/image-credential-provider" 2>&1)
	awk -v r="$REG" '$2 == "kubelet-answer" && $3 == r' <<<"$out" | grep . >/dev/null ||
		{ echo "the installed plugin recorded no answer for $REG: $(tr '\n' '|' <<<"$out")"; return 1; }
}
same_files() { # before after
	diff "$1" "$2" >/dev/null || { echo "the installed files changed: $(diff "$1" "$2" | grep '^[<>]' | tr '\n' '|')"; return 1; }
}

KCONFIG=
KBINDIR=
CFG_DEST=
run_installer_cases() {
	local c t
	if [ -n "${NOTRUN[case5]:-}" ]; then
		for c in case5 case6 case7; do report "$c" 0 "not run: ${NOTRUN[case5]}"; done
		return
	fi
	# Case 5: a kubelet without credential provider flags runs the installer.
	stop_pods_and_kubelet
	if ! import_release; then
		for c in case5 case6 case7; do report "$c" 0 "not run: the release image could not be imported"; done
		return
	fi
	KLOG=$LOGS/kubelet-install.log
	cp "$INSTALL_DIR/installer.yaml" "$RUN/manifests/"
	start_kubelet kubelet-install.log
	wait_for 120 "the installer pod to install" installer_stays installer || log "the installer did not finish in time"
	pod_log installer >"$LOGS/pod-installer.log"
	KCONFIG=$(pod_log installer | grep -o -- '--image-credential-provider-config=[^ ]*' | head -n1 | cut -d= -f2- || true)
	KBINDIR=$(pod_log installer | grep -o -- '--image-credential-provider-bin-dir=[^ ]*' | head -n1 | cut -d= -f2- || true)
	CFG_DEST=$(sed -n 's/^ *- --config-dest=//p' "$INSTALL_DIR/installer.yaml")
	local docker_dest
	docker_dest=$(sed -n 's/^ *- --file=[^:]*://p' "$INSTALL_DIR/installer.yaml")
	snapshot >"$INSTALL_DIR/files.before"
	# How the runtime runs the container, while it runs; then how it stops.
	local confined
	confined=$(container_confined installer "$(memory_limit "$INSTALL_DIR/installer.yaml")") && confined=ok
	t=$SECONDS
	stop_pods_and_kubelet
	t=$((SECONDS - t))
	run_checks case5 \
		"installer_ran installer" \
		"installer_wrote_everything installer" \
		"reported_flags installer" \
		"bin_dir_is_the_image $KBINDIR" \
		"file_is $CFG_DEST $INSTALL_DIR/config/config.yaml 644" \
		"file_is $docker_dest $INSTALL_DIR/docker-config.json 600" \
		"kubelet_config_names $KCONFIG" \
		"was '${confined//\'/}'" \
		"stopped_on_sigterm $t" \
		"not_pulled $RELEASE_REF"
	if [ -z "$KCONFIG" ] || [ -z "$KBINDIR" ]; then
		report case6 0 "not run: install reported no kubelet flags"
		report case7 0 "not run: install reported no kubelet flags"
		return
	fi

	# Case 6: the kubelet with the reported flags pulls through the installed plugin.
	KLOG=$LOGS/kubelet-installed.log
	static_pod case6 "${IMAGE[case6]}"
	start_kubelet kubelet-installed.log --image-credential-provider-config="$KCONFIG" --image-credential-provider-bin-dir="$KBINDIR"
	wait_for 120 "the pull of case 6" case_done_or_kubelet_gone case6 || log "the pull of case 6 did not finish in time"
	kill -0 "${PIDS[kubelet]}" 2>/dev/null || { log "the kubelet exited early; last lines of its log:"; tail -n 15 "$KLOG" >&2; }
	run_checks case6 \
		"kubelet_pulled ${IMAGE[case6]}" \
		"in_containerd ${IMAGE[case6]} ${DIGEST[case6]}" \
		"containerd_pulls ${IMAGE[case6]} 1" \
		"registry_not_rejected case6-user" \
		"plugin_answer_recorded" \
		"no_secret_in_logs ${PASS[case6-user]}"

	# Case 7: the installer pod again, under the kubelet that uses what it installed.
	installer_manifest installer-again && cp "$INSTALL_DIR/installer-again.yaml" "$RUN/manifests/"
	wait_for 120 "the second installer pod" installer_stays installer-again || log "the second installer did not finish in time"
	pod_log installer-again >"$LOGS/pod-installer-again.log"
	snapshot >"$INSTALL_DIR/files.after"
	run_checks case7 \
		"installer_ran installer-again" \
		"installer_changed_nothing installer-again" \
		"same_files $INSTALL_DIR/files.before $INSTALL_DIR/files.after"
	stop_pods_and_kubelet
}
case_done_or_kubelet_gone() { case_done "$1" || ! kill -0 "${PIDS[kubelet]}" 2>/dev/null; }

# ---------------------------------------------------------------------------------------
main() {
	local t0=$SECONDS c user
	install_packages
	build_kubelet
	local plugin_ok=1
	build_plugin || plugin_ok=0
	if [ "$plugin_ok" = 0 ]; then
		for c in "${CASES[@]}"; do NOTRUN[$c]="plugin binary not available"; done
	fi
	build_fakeaws && start_fakeaws || NOTRUN[case3]=${NOTRUN[case3]:-"the AWS fake (test/fake/awsfake/cmd/fakeaws) did not build or start"}
	log "setup: packages, kubelet, plugin in $((SECONDS - t0))s"

	local t1=$SECONDS
	make_ca
	mkdir -p "$RUN/images/tmp"
	echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$RUN/images/policy.json"
	: >"$RUN/registry.htpasswd.tmp"
	mkdir -p "$RUN/registry"
	for user in "${!PASS[@]}"; do
		htpasswd -Bbn -C 4 "$user" "${PASS[$user]}" >>"$RUN/registry/htpasswd" 2>/dev/null
	done
	[ -n "$ECR_TOKEN" ] && htpasswd -Bbn -C 4 AWS "$ECR_TOKEN" >>"$RUN/registry/htpasswd" 2>/dev/null
	start_registry
	make_busybox_layer
	for c in "${PULL_CASES[@]}" case6; do
		make_image "$c" v1 "$c" '["/bin/busybox","sleep","3600"]' >/dev/null
		DIGEST[$c]=$(push "$c" v1 "e2e/$c" "pusher:${PASS[pusher]}") || die "push of $c failed (see $LOGS/skopeo.log)"
		IMAGE[$c]=$REG/e2e/$c:v1
	done
	IMAGE[case3]=$ECR_HOST/e2e/case3:v1
	start_containerd
	import_pause
	mkdir -p "$RUN/plugin/bin" "$RUN/plugin/tmp"
	write_provider_config
	mkdir -p "$RUN/manifests"
	for c in "${PULL_CASES[@]}"; do
		[ -n "${NOTRUN[$c]:-}" ] || static_pod "$c" "${IMAGE[$c]}"
	done
	log "infrastructure up in $((SECONDS - t1))s (registry $REG)"
	if [ -z "${NOTRUN[case5]:-}" ]; then
		local t3=$SECONDS
		install_prepare || log "cases 5-7 will not run: ${NOTRUN[case5]}"
		log "release image built in $((SECONDS - t3))s"
	fi

	local t2=$SECONDS
	if [ "$plugin_ok" = 1 ]; then
		start_kubelet kubelet.log \
			--image-credential-provider-config="$RUN/plugin/credential-providers.yaml" \
			--image-credential-provider-bin-dir="$RUN/plugin/bin"
		wait_for 120 "every case's pull to finish" pulls_done_or_kubelet_gone || log "not every pull finished in time"
		kill -0 "${PIDS[kubelet]}" 2>/dev/null || { log "the kubelet exited early; last lines of its log:"; tail -n 15 "$LOGS/kubelet.log" >&2; }
		log "pulls finished in $((SECONDS - t2))s"
		# Give the failing case's retry a moment so its registry lines are flushed.
		sleep 1
	fi
	# The AWS fake prints its call counters when it stops; every ECR pull is over by now.
	if [ -n "${PIDS[fakeaws]:-}" ]; then
		stop_pid fakeaws
	fi

	for c in "${PULL_CASES[@]}"; do
		if [ -n "${NOTRUN[$c]:-}" ]; then
			report "$c" 0 "not run: ${NOTRUN[$c]}"
			continue
		fi
		case $c in
		case1) run_checks case1 \
			"plugin_ran icp-case1 $REG/e2e/case1" \
			"plugin_answered_user icp-case1 $REG/e2e/case1 case1-user" \
			"in_containerd ${IMAGE[case1]} ${DIGEST[case1]}" \
			"kubelet_pulled ${IMAGE[case1]}" \
			"containerd_pulls ${IMAGE[case1]} 1" \
			"registry_never_saw decoy-user" \
			"registry_not_rejected case1-user" \
			"no_secret_in_logs ${PASS[case1-user]} ${WRONG[decoy-user]}" ;;
		case2) run_checks case2 \
			"plugin_ran icp-case2 $REG/e2e/case2" \
			"plugin_answered_user icp-case2 $REG/e2e/case2 case2-stale" \
			"plugin_answered_user icp-case2 $REG/e2e/case2 case2-user" \
			"in_containerd ${IMAGE[case2]} ${DIGEST[case2]}" \
			"kubelet_pulled ${IMAGE[case2]}" \
			"containerd_pulls ${IMAGE[case2]} 2" \
			"registry_rejected case2-stale e2e/case2" \
			"registry_not_rejected case2-user" \
			"no_secret_in_logs ${PASS[case2-user]} ${WRONG[case2-stale]}" ;;
		case3) run_checks case3 \
			"plugin_ran icp-case3 $ECR_HOST/e2e/case3" \
			"plugin_answered_user icp-case3 $ECR_HOST/e2e/case3 AWS" \
			"in_containerd ${IMAGE[case3]} ${DIGEST[case3]}" \
			"kubelet_pulled ${IMAGE[case3]}" \
			"containerd_pulls ${IMAGE[case3]} 1" \
			"registry_served_as e2e/case3 $ECR_HOST" \
			"fake_calls ecr:GetAuthorizationToken 1" \
			"fake_calls sts:AssumeRole 0" \
			"fake_calls sts:AssumeRoleWithWebIdentity 0" \
			"fake_calls unknown 0" \
			"registry_not_rejected AWS" \
			"no_secret_in_logs $ECR_TOKEN $FAKEAWS_SECRET" ;;
		case4) run_checks case4 \
			"plugin_ran icp-case4 $REG/e2e/case4" \
			"plugin_answered_user icp-case4 $REG/e2e/case4 case4-user" \
			"kubelet_pull_failed_401 ${IMAGE[case4]}" \
			"registry_rejected case4-user e2e/case4" \
			"not_in_containerd $REG/e2e/case4" \
			"no_secret_in_logs ${WRONG[case4-user]}" ;;
		esac
	done
	local t4=$SECONDS
	run_installer_cases
	log "installer cases in $((SECONDS - t4))s"
	log "total $((SECONDS - t0))s"
	SUMMARY_DONE=1 # the summary line is printed by cleanup, after the teardown
	[ "$FAILED" = 0 ]
}

main "$@"
