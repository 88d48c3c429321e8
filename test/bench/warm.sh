#!/usr/bin/env bash
# Warm-invocation benchmark: the plugin answering from its token cache (no network)
# against the floor, a Go program that only reads stdin and exits, run side by side by
# the shared runner (test/bench/runner). Target: warm median wall <= 1.5x the floor's.
#
#   floor     test/bench/floor
#   hit       test/bench/hit: the cache package alone answering from its entry (no SDK,
#             no kubelet API types linked): the lower bound of a cache hit
#   warm      the plugin with its default backends and --cache-dir holding one GCR
#             token: what a default install does on a cache hit
#   warm-cgo  the same binary built with cgo (the go build default here): klog's
#             os/user import makes it dynamically linked, and ld.so + libc cost
#             about 0.7 ms per exec
#   warm-gcr  the same with --backends=gcr (the other backends not even built)
#   fast      image-credential-provider-fast, the lean front end, replaying the answer
#             the full plugin recorded on the runner's warm-up run (a miss it delegates)
#   cold      --no-cache against the loopback Google fake, for scale
#
# Every binary but warm-cgo is built with CGO_ENABLED=0, as a release should be.
#
# The cache is filled by one run against the Google fake (test/fake/gcpfake); the
# fake's call counters afterwards prove the warm runs made no call.
#
# Usage: test/bench/warm.sh            (N=30 runs per command; N=100 for more)
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
N=${N:-30}
work=$(mktemp -d)
fake_pid=
cleanup() {
	if [ -n "$fake_pid" ]; then
		kill -TERM "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/image-credential-provider" ./cmd/image-credential-provider
CGO_ENABLED=0 go build -trimpath -o "$work/image-credential-provider-fast" ./cmd/image-credential-provider-fast
CGO_ENABLED=1 go build -trimpath -o "$work/image-credential-provider-cgo" ./cmd/image-credential-provider
CGO_ENABLED=0 go build -trimpath -o "$work/floor" ./test/bench/floor
CGO_ENABLED=0 go build -trimpath -o "$work/hit" ./test/bench/hit
go build -o "$work/fakegcp" ./test/fake/gcpfake/cmd/fakegcp

"$work/fakegcp" >"$work/fake.env" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do
	grep -qx READY "$work/fake.env" 2>/dev/null && break
	sleep 0.1
done
grep -qx READY "$work/fake.env" || { echo "warm: the Google fake did not start" >&2; cat "$work/fake.log" >&2; exit 1; }
mds=$(sed -n 's/^GCE_METADATA_HOST=//p' "$work/fake.env")

printf '%s\n' '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"gcr.io/fake-project/app"}' >"$work/request.json"

# Everything the plugin may read from the environment points into $work.
mkdir -p "$work/home" "$work/xdg"
runenv=("GCE_METADATA_HOST=$mds" "HOME=$work/home" "XDG_CACHE_HOME=$work/xdg" "GOOGLE_APPLICATION_CREDENTIALS=" "DOCKER_CONFIG=$work/home/.docker")
envs=()
for e in "${runenv[@]}"; do envs+=(-env "$e"); done

# Fill the cache with one GCR token, and check the answer and the entry.
env "${runenv[@]}" "$work/image-credential-provider" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
grep -q '"username":"oauth2accesstoken"' "$work/primed.json" || { echo "warm: the priming run gave no Google token" >&2; exit 1; }
env "${runenv[@]}" "$work/image-credential-provider" --cache-dir "$work/cache" cache list
"$work/hit" -dir "$work/hitcache" -prime <"$work/request.json"

go run ./test/bench/runner -n "$N" -stdin "$work/request.json" "${envs[@]}" \
	-cmd "floor=$work/floor" \
	-cmd "hit=$work/hit -dir $work/hitcache" \
	-cmd "warm=$work/image-credential-provider --cache-dir $work/cache" \
	-cmd "warm-cgo=$work/image-credential-provider-cgo --cache-dir $work/cache" \
	-cmd "warm-gcr=$work/image-credential-provider --backends=gcr --cache-dir $work/cache" \
	-cmd "fast=$work/image-credential-provider-fast --backends=gcr --cache-dir $work/cache" \
	-cmd "cold=$work/image-credential-provider --backends=gcr --no-cache"

kill -TERM "$fake_pid"
wait "$fake_pid" || true
fake_pid=
echo "fake metadata token calls (1 priming run + the cold runs incl. warm-up; warm runs add none): $(( N + 2 )) expected"
grep -E 'metadata-token calls' "$work/fake.log" || cat "$work/fake.log"
