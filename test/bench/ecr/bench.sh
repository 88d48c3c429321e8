#!/usr/bin/env bash
# ECR rows that test/bench/side-by-side.sh does not time: wall time and peak RSS of
# whole-process invocations against the loopback AWS fake (test/fake/awsfake, reached
# through AWS_ENDPOINT_URL_ECR with static test credentials), measured side by side by
# the shared runner (test/bench/runner); ratios are against the first command,
# ecr-credential-provider. side-by-side.sh is the comparison that checks the goals;
# this script adds the ways of running ours it leaves out.
#
#   plugin        ecr-credential-provider (k8s.io/cloud-provider-aws@v1.37.0), installed
#                 with `go install` (static) into a temp GOBIN ($ECR_PLUGIN=/path skips
#                 the install); one GetAuthorizationToken per run, it caches nothing
#   cold          ours, --no-cache, default backends: one GetAuthorizationToken per run
#   cold-ecr      ours, --no-cache --backends=ecr
#   warm          ours, --cache-dir with an answer recorded by one priming run: the
#                 front end replays it, no network
#   warm-ecr      the same with --backends=ecr
#   dropin        ours installed as ecr-credential-provider, with that plugin's (empty)
#                 arguments: its warm-up run hands the request to
#                 image-credential-provider-ecr, which records the answer in the
#                 default cache, $XDG_CACHE_HOME (pointed into the temp dir); every
#                 timed run is the front end replaying it, no network
#   floor         a Go program that only reads stdin (test/bench/floor), for scale
#
# Every binary is built static (CGO_ENABLED=0, -trimpath); helpers in test/bench/lib.sh.
# Usage: test/bench/ecr/bench.sh            (N=30 runs per command; N=100 for more)
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init
N=${N:-30}
work=$BENCH_WORK

plugin=${ECR_PLUGIN:-}
if [ -z "$plugin" ]; then
	plugin=$(bench_install_ecr_plugin "$work/ecr-plugin") ||
		bench_die "the module proxy refused ecr-credential-provider; set ECR_PLUGIN to a built one"
fi

bench_build_ours "$work/bin"
bench_build_tools
ours=$work/bin/image-credential-provider
ln -s image-credential-provider "$work/bin/ecr-credential-provider"

bench_start_fake aws "$BENCH_TOOLS/fakeaws"
bench_request "$work/request.json" 123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app

# Everything either plugin may read from the environment points into $work: the fake's
# endpoints and static credentials, empty shared files, no instance metadata, no CA
# bundle or proxy from the calling shell.
bench_env_ecr aws

# Both must answer with an ECR token before anything is timed.
env "${BENCH_ENV[@]}" "$plugin" <"$work/request.json" >"$work/plugin.json" 2>"$work/plugin.log"
bench_check_answer "$work/plugin.json" ecr "ecr-credential-provider"
env "${BENCH_ENV[@]}" "$ours" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
bench_check_answer "$work/primed.json" ecr "the priming run"

bench_runner -n "$N" -stdin "$work/request.json" "${BENCH_ENV_FLAGS[@]}" \
	-cmd "plugin=$plugin" \
	-cmd "cold=$ours --no-cache" \
	-cmd "cold-ecr=$ours --no-cache --backends=ecr" \
	-cmd "warm=$ours --cache-dir $work/cache" \
	-cmd "warm-ecr=$ours --backends=ecr --cache-dir $work/cache" \
	-cmd "dropin=$work/bin/ecr-credential-provider" \
	-cmd "floor=$BENCH_TOOLS/floor"

# The fake's counters: every plugin and cold run costs one GetAuthorizationToken, warm
# runs none; the drop-in's warm-up run fills its cache with one call.
bench_stop_fake aws
want=$((2 + 3 * (N + 1) + 1))
got=$(bench_fake_count aws ecr:GetAuthorizationToken)
echo "fake ECR calls: $got, want $want (2 checks, 3 cold commands x $((N + 1)) runs, 1 drop-in warm-up; warm runs add none)"
[ "$got" -eq "$want" ] || bench_die "the fake counted $got GetAuthorizationToken calls, want $want: a warm run made a call, or a cold run did not"
