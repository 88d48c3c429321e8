#!/usr/bin/env bash
# Benchmark of the ECR backend against the anchor: wall time and peak RSS of
# whole-process invocations against the loopback AWS fake (test/fake/awsfake, reached
# through AWS_ENDPOINT_URL_ECR with static test credentials), measured side by side by
# the shared runner (test/bench/runner); ratios are against the first command, the
# anchor.
#
#   anchor        k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0, installed
#                 with `go install` into a temp GOBIN (ANCHOR_BIN=/path skips the
#                 install); one GetAuthorizationToken per run, it caches nothing
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
# Usage: test/bench/ecr/bench.sh            (N=30 runs per command; N=100 for more)
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

anchor=${ANCHOR_BIN:-}
if [ -z "$anchor" ]; then
	echo "bench: installing the anchor (go install k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0)" >&2
	if ! (cd "$work" && GOBIN="$work/anchor" GOFLAGS=-mod=mod go install k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0); then
		echo "bench: the module proxy refused the anchor; set ANCHOR_BIN to a built ecr-credential-provider" >&2
		exit 1
	fi
	anchor=$work/anchor/ecr-credential-provider
fi

go build -trimpath -o "$work/image-credential-provider" ./cmd/image-credential-provider
go build -o "$work/fakeaws" ./test/fake/awsfake/cmd/fakeaws
go build -trimpath -o "$work/floor" ./test/bench/floor
fast=
if [ -d cmd/image-credential-provider-fast ]; then
	go build -trimpath -o "$work/image-credential-provider-fast" ./cmd/image-credential-provider-fast
	fast=$work/image-credential-provider-fast
fi
ln -s image-credential-provider "$work/ecr-credential-provider"

"$work/fakeaws" >"$work/fake.env" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do
	grep -qx READY "$work/fake.env" 2>/dev/null && break
	sleep 0.1
done
grep -qx READY "$work/fake.env" || { echo "bench: the AWS fake did not start" >&2; cat "$work/fake.log" >&2; exit 1; }

printf '%s\n' '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app"}' >"$work/request.json"

# Everything either plugin may read from the environment points into $work: the fake's
# endpoints and static credentials, empty shared files, no instance metadata, no CA
# bundle or proxy from the calling shell.
mkdir -p "$work/home/.docker" "$work/xdg"
: >"$work/aws-config"
: >"$work/aws-credentials"
runenv=(HOME="$work/home" XDG_CACHE_HOME="$work/xdg" DOCKER_CONFIG="$work/home/.docker"
	AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
	AWS_EC2_METADATA_DISABLED=true AWS_CA_BUNDLE= AWS_PROFILE= AWS_REGION= AWS_ROLE_ARN= AWS_WEB_IDENTITY_TOKEN_FILE=
	HTTPS_PROXY= HTTP_PROXY= https_proxy= http_proxy=)
while IFS= read -r line; do
	case "$line" in AWS_*=*) runenv+=("$line") ;; esac
done <"$work/fake.env"
envs=()
for e in "${runenv[@]}"; do envs+=(-env "$e"); done

# Both must answer with an ECR token before anything is timed.
env "${runenv[@]}" "$anchor" <"$work/request.json" >"$work/anchor.json" 2>"$work/anchor.log"
grep -q '"username":"AWS"' "$work/anchor.json" || { echo "bench: the anchor gave no ECR token" >&2; cat "$work/anchor.json" >&2; exit 1; }
env "${runenv[@]}" "$work/image-credential-provider" --cache-dir "$work/cache" <"$work/request.json" >"$work/primed.json"
grep -q '"username":"AWS"' "$work/primed.json" || { echo "bench: the priming run gave no ECR token" >&2; exit 1; }

cmds=(
	-cmd "anchor=$anchor"
	-cmd "cold=$work/image-credential-provider --no-cache"
	-cmd "cold-ecr=$work/image-credential-provider --no-cache --backends=ecr"
	-cmd "warm=$work/image-credential-provider --cache-dir $work/cache"
	-cmd "warm-ecr=$work/image-credential-provider --backends=ecr --cache-dir $work/cache"
	-cmd "dropin=$work/ecr-credential-provider"
)
if [ -n "$fast" ]; then
	cmds+=(-cmd "fast=$fast --cache-dir $work/cache")
fi
cmds+=(-cmd "floor=$work/floor")

go run ./test/bench/runner -n "$N" -stdin "$work/request.json" "${envs[@]}" "${cmds[@]}"

# The fake's counters: every anchor and cold run costs one GetAuthorizationToken, warm
# runs none; the drop-in's warm-up run fills its cache with one call.
kill -TERM "$fake_pid"
wait "$fake_pid" || true
fake_pid=
echo "fake ECR calls: want $((2 + 3 * (N + 1) + 1)) (2 checks, 3 cold commands x $((N + 1)) runs, 1 drop-in warm-up; warm runs add none)"
grep -E 'ecr:GetAuthorizationToken calls' "$work/fake.log"
