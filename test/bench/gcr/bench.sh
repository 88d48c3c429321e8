#!/usr/bin/env bash
# Benchmark of the Google backend: wall time and peak RSS of whole-process invocations of
# the plugin against the loopback Google fake (test/fake/gcpfake), measured by the shared
# runner (test/bench/runner).
#
#   cold  --no-cache: every run asks the fake metadata server for a token and its scopes
#   warm  --cache-dir with an entry made by one priming run: no network at all
#   dropin the same binary installed as auth-provider-gcp, with that plugin's
#         arguments: its warm-up run hands the request to the companion, which records
#         the answer in the default cache ($XDG_CACHE_HOME, pointed into the temp dir);
#         every timed run is the front end replaying it, no network
#   plugin (GCP_PLUGIN=/path/to/auth-provider-gcp, the name side-by-side.sh reads too):
#         Google's own plugin, for comparison; it ignores GCE_METADATA_HOST, so it
#         reaches the fake through HTTP_PROXY, and its answer is checked once before
#         timing (it exits 0 with no credentials when it cannot reach a metadata server)
#
# Every binary is built static (CGO_ENABLED=0, -trimpath); helpers in test/bench/lib.sh.
# Usage: test/bench/gcr/bench.sh            (N=30 runs per command; N=100 for more)
# Reference on these machines: auth-provider-gcp, one cold run against the loopback
# metadata fake through HTTP_PROXY, 6.5-9.5 ms median wall, 8.6 MiB peak RSS.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init
N=${N:-30}
work=$BENCH_WORK

bench_build_ours "$work/bin"
bench_build_tools
ours=$work/bin/image-credential-provider
ln -s image-credential-provider "$work/bin/auth-provider-gcp"

bench_start_fake google "$BENCH_TOOLS/fakegcp"
bench_request "$work/request.json" us-docker.pkg.dev/fake-project/repo/app

# Everything the plugins may read from the environment points into $work or at the fake:
# GCE_METADATA_HOST for ours, HTTP_PROXY for auth-provider-gcp (see bench_env_gcp).
bench_env_gcp google

# Prime the warm cache with one run, and check the answer is a Google token.
env "${BENCH_ENV[@]}" "$ours" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
bench_check_answer "$work/primed.json" gcp "the priming run"
# auth-provider-gcp exits 0 with an empty auth map when it cannot reach the metadata
# server: check it really got a token before timing it.
if [ -n "${GCP_PLUGIN:-}" ]; then
	env "${BENCH_ENV[@]}" "$GCP_PLUGIN" get-credentials --authFlow=gcr <"$work/request.json" >"$work/plugin.json"
	bench_check_answer "$work/plugin.json" gcp "auth-provider-gcp"
fi

cmds=(
	-cmd "cold=$ours --no-cache"
	-cmd "warm=$ours --cache-dir $work/cache"
	-cmd "dropin=$work/bin/auth-provider-gcp get-credentials --authFlow=gcr"
)
if [ -n "${GCP_PLUGIN:-}" ]; then
	cmds+=(-cmd "plugin=$GCP_PLUGIN get-credentials --authFlow=gcr")
fi

bench_runner -n "$N" -stdin "$work/request.json" "${BENCH_ENV_FLAGS[@]}" "${cmds[@]}"

# The fake's counters: cold runs cost one token and one scopes call each, the drop-in's
# warm-up run one of each, warm runs none.
bench_stop_fake google
echo "fake metadata server calls (1 priming run + the cold runs + 1 drop-in warm-up, + 1 check and the plugin runs when GCP_PLUGIN is set; warm runs must add none):"
grep -E 'metadata-(token|scopes|other) calls' "$work/fake-google.log"
# Without Google's plugin every call is ours: check the figure (the plugin's own calls
# per run are not known here, so with it the counters are only shown).
if [ -z "${GCP_PLUGIN:-}" ]; then
	want=$((1 + (N + 1) + 1))
	got=$(bench_fake_count google metadata-token)
	echo "metadata token calls: $got, want $want"
	[ "$got" -eq "$want" ] || bench_die "the fake counted $got token calls, want $want: a warm or drop-in run made a call, or a cold run did not"
fi
