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
# Every binary but warm-cgo is built with CGO_ENABLED=0, as a release should be
# (helpers in test/bench/lib.sh).
#
# The cache is filled by one run against the Google fake (test/fake/gcpfake); the
# fake's call counters afterwards prove the warm runs made no call.
#
# Usage: test/bench/warm.sh            (N=30 runs per command; N=100 for more)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init
N=${N:-30}
work=$BENCH_WORK

bench_build_ours "$work/bin"
bench_build_tools
bench_build_static "$BENCH_TOOLS/hit" ./test/bench/hit
ours=$work/bin/image-credential-provider
[ -x "$work/bin/image-credential-provider-fast" ] || bench_die "no cmd/image-credential-provider-fast in this tree"
# The one deliberate exception to static builds: the row that shows what cgo costs.
CGO_ENABLED=1 go build -trimpath -o "$work/image-credential-provider-cgo" ./cmd/image-credential-provider

bench_start_fake google "$BENCH_TOOLS/fakegcp"
bench_request "$work/request.json" gcr.io/fake-project/app

# Everything the plugin may read from the environment points into $work.
bench_env_gcp google

# Fill the cache with one GCR token, and check the answer and the entry.
env "${BENCH_ENV[@]}" "$ours" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
bench_check_answer "$work/primed.json" gcp "the priming run"
env "${BENCH_ENV[@]}" "$ours" --cache-dir "$work/cache" cache list
"$BENCH_TOOLS/hit" -dir "$work/hitcache" -prime <"$work/request.json"

bench_runner -n "$N" -stdin "$work/request.json" "${BENCH_ENV_FLAGS[@]}" \
	-cmd "floor=$BENCH_TOOLS/floor" \
	-cmd "hit=$BENCH_TOOLS/hit -dir $work/hitcache" \
	-cmd "warm=$ours --cache-dir $work/cache" \
	-cmd "warm-cgo=$work/image-credential-provider-cgo --cache-dir $work/cache" \
	-cmd "warm-gcr=$ours --backends=gcr --cache-dir $work/cache" \
	-cmd "fast=$work/bin/image-credential-provider-fast --backends=gcr --cache-dir $work/cache" \
	-cmd "cold=$ours --backends=gcr --no-cache"

bench_stop_fake google
echo "fake metadata token calls (1 priming run + the cold runs incl. warm-up; warm runs add none): $((N + 2)) expected"
grep -E 'metadata-token calls' "$work/fake-google.log" || cat "$work/fake-google.log"
