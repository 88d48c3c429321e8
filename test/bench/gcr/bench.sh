#!/usr/bin/env bash
# Benchmark of the Google backend: wall time and peak RSS of whole-process invocations of
# the plugin against the loopback Google fake (test/fake/gcpfake), measured by the shared
# runner (test/bench/runner).
#
#   cold  --no-cache: every run asks the fake metadata server for a token and its scopes
#   warm  --cache-dir with an entry made by one priming run: no network at all
#   dropin-cold (BENCH_DROPIN=1): the same binary invoked as auth-provider-gcp with the
#         anchor's arguments; off by default because the drop-in uses the default cache
#         directory, which this script does not want to touch
#   anchor (ANCHOR_BIN=/path/to/auth-provider-gcp): the anchor itself, for comparison
#
# Usage: test/bench/gcr/bench.sh            (N=30 runs per command; N=100 for more)
# Reference on these machines: auth-provider-gcp, one cold run against a loopback
# metadata fake, 10.5 ms median wall, 10.7 MiB peak RSS.
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

if [ ! -d cmd/image-credential-provider ]; then
	echo "bench: cmd/image-credential-provider is not in this tree yet; nothing to measure" >&2
	exit 1
fi
go build -trimpath -o "$work/image-credential-provider" ./cmd/image-credential-provider
go build -o "$work/fakegcp" ./test/fake/gcpfake/cmd/fakegcp
ln -s image-credential-provider "$work/auth-provider-gcp"

"$work/fakegcp" >"$work/fake.env" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do
	grep -qx READY "$work/fake.env" 2>/dev/null && break
	sleep 0.1
done
grep -qx READY "$work/fake.env" || { echo "bench: the Google fake did not start" >&2; cat "$work/fake.log" >&2; exit 1; }
mds=$(sed -n 's/^GCE_METADATA_HOST=//p' "$work/fake.env")

printf '%s\n' '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"us-docker.pkg.dev/fake-project/repo/app"}' >"$work/request.json"

# Everything the plugin may read from the environment points into $work.
envs=(-env "GCE_METADATA_HOST=$mds" -env "HOME=$work/home" -env "XDG_CACHE_HOME=$work/xdg" -env "GOOGLE_APPLICATION_CREDENTIALS=")
mkdir -p "$work/home" "$work/xdg"

# Prime the warm cache with one run, and check the answer is a Google token.
GCE_METADATA_HOST=$mds HOME=$work/home XDG_CACHE_HOME=$work/xdg GOOGLE_APPLICATION_CREDENTIALS= \
	"$work/image-credential-provider" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
grep -q '"username":"oauth2accesstoken"' "$work/primed.json" || { echo "bench: the priming run gave no Google token" >&2; exit 1; }

cmds=(
	-cmd "cold=$work/image-credential-provider --no-cache"
	-cmd "warm=$work/image-credential-provider --cache-dir $work/cache"
)
if [ "${BENCH_DROPIN:-}" = 1 ]; then
	cmds+=(-cmd "dropin-cold=$work/auth-provider-gcp get-credentials --authFlow=gcr")
fi
if [ -n "${ANCHOR_BIN:-}" ]; then
	cmds+=(-cmd "anchor=$ANCHOR_BIN get-credentials --authFlow=gcr")
fi

go run ./test/bench/runner -n "$N" -stdin "$work/request.json" "${envs[@]}" "${cmds[@]}"

# The fake's counters: cold runs cost one token and one scopes call each, warm runs none.
kill -TERM "$fake_pid"
wait "$fake_pid" || true
fake_pid=
echo "fake metadata server calls (1 priming run + the cold runs; warm runs must add none):"
grep -E 'metadata-(token|scopes) calls' "$work/fake.log"
