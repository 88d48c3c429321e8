#!/usr/bin/env bash
# Benchmark of the ECR backend against the anchor: wall time and peak RSS of
# whole-process invocations against the loopback AWS fake (test/fake/awsfake, reached
# through AWS_ENDPOINT_URL_ECR with static test credentials), measured side by side by
# the shared runner (test/bench/runner); ratios are against the first command, the
# anchor.
#
#   anchor        k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0, installed
#                 with `go install` (static) into a temp GOBIN (ANCHOR_BIN=/path skips
#                 the install); one GetAuthorizationToken per run, it caches nothing
#   cold          ours, --no-cache, default backends: one GetAuthorizationToken per run
#   cold-ecr      ours, --no-cache --backends=ecr
#   warm          ours, --cache-dir with an entry made by one priming run: no network
#   warm-ecr      the same with --backends=ecr
#   dropin        ours invoked as ecr-credential-provider with the anchor's (empty)
#                 arguments: its cache is the default one, $XDG_CACHE_HOME (pointed
#                 into the temp dir), which its warm-up run fills, so this is a cache hit
#   fast          (when cmd/image-credential-provider-fast exists) the lean front end
#                 with the warm command's arguments: its warm-up run is a miss it hands
#                 to the full plugin next to it, the timed runs replay that answer
#   floor         a Go program that only reads stdin (test/bench/floor), for scale
#
# Targets (issue #4): cold <= 0.7x, warm <= 0.25x, RSS <= 0.7x the anchor.
# Every binary is built static (CGO_ENABLED=0, -trimpath); helpers in test/bench/lib.sh.
# Usage: test/bench/ecr/bench.sh            (N=30 runs per command; N=100 for more)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init
N=${N:-30}
work=$BENCH_WORK

anchor=${ANCHOR_BIN:-}
if [ -z "$anchor" ]; then
	anchor=$(bench_install_ecr_plugin "$work/anchor") ||
		bench_die "the module proxy refused the anchor; set ANCHOR_BIN to a built ecr-credential-provider"
fi

bench_build_ours "$work/bin"
bench_build_tools
ours=$work/bin/image-credential-provider
fast=
if [ -x "$work/bin/image-credential-provider-fast" ]; then
	fast=$work/bin/image-credential-provider-fast
fi
ln -s image-credential-provider "$work/bin/ecr-credential-provider"

bench_start_fake aws "$BENCH_TOOLS/fakeaws"
bench_request "$work/request.json" 123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app

# Everything either plugin may read from the environment points into $work: the fake's
# endpoints and static credentials, empty shared files, no instance metadata, no CA
# bundle or proxy from the calling shell.
bench_env_ecr aws

# Both must answer with an ECR token before anything is timed.
env "${BENCH_ENV[@]}" "$anchor" <"$work/request.json" >"$work/anchor.json" 2>"$work/anchor.log"
bench_check_answer "$work/anchor.json" ecr "the anchor"
env "${BENCH_ENV[@]}" "$ours" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
bench_check_answer "$work/primed.json" ecr "the priming run"

cmds=(
	-cmd "anchor=$anchor"
	-cmd "cold=$ours --no-cache"
	-cmd "cold-ecr=$ours --no-cache --backends=ecr"
	-cmd "warm=$ours --cache-dir $work/cache"
	-cmd "warm-ecr=$ours --backends=ecr --cache-dir $work/cache"
	-cmd "dropin=$work/bin/ecr-credential-provider"
)
if [ -n "$fast" ]; then
	cmds+=(-cmd "fast=$fast --cache-dir $work/cache")
fi
cmds+=(-cmd "floor=$BENCH_TOOLS/floor")

bench_runner -n "$N" -stdin "$work/request.json" "${BENCH_ENV_FLAGS[@]}" "${cmds[@]}"

# The fake's counters: every anchor and cold run costs one GetAuthorizationToken, warm
# runs none; the drop-in's warm-up run fills its cache with one call.
bench_stop_fake aws
echo "fake ECR calls: want $((2 + 3 * (N + 1) + 1)) (2 checks, 3 cold commands x $((N + 1)) runs, 1 drop-in warm-up; warm runs add none)"
grep -E 'ecr:GetAuthorizationToken calls' "$work/fake-aws.log"
