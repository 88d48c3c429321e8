# shellcheck shell=bash
# Shell functions shared by the bench scripts (test/bench/*.sh, test/bench/*/bench.sh).
# Source it, then call bench_init:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#   bench_init                   # cd to the repo top, make $BENCH_WORK, clean up on exit
#   bench_build_ours "$BENCH_WORK/bin"   # every main package under ./cmd/..., static
#   bench_build_tools            # runner, floor, checkanswer, the three fakes: $BENCH_TOOLS
#   bench_start_fake aws "$BENCH_TOOLS/fakeaws"
#   bench_env_ecr aws            # BENCH_ENV (K=V...) and BENCH_ENV_FLAGS (-env K=V...)
#   env "${BENCH_ENV[@]}" "$BENCH_WORK/bin/image-credential-provider" <req >answer.json
#   bench_check_answer answer.json ecr "the priming run"
#   bench_runner -n 30 -stdin req "${BENCH_ENV_FLAGS[@]}" -cmd "name=PROGRAM ARGS"...
#   bench_stop_fake aws; bench_fake_counters aws
#
# Everything measured is built static (CGO_ENABLED=0, -trimpath), as a release is: a cgo
# build pays about 0.7 ms of dynamic loading per exec, which would swamp the differences
# these scripts look for. Everything a plugin may read from the environment points into
# $BENCH_WORK or at a loopback fake; nothing reaches the internet.

# Usernames of each cloud's registry credentials, as checkanswer takes them: ECR's
# fixed "AWS"; Google's "oauth2accesstoken" (ours) or "_token" (the Google plugin);
# ACR's refresh-token user.
declare -A BENCH_USERNAMES=(
	[ecr]=AWS
	[gcp]="oauth2accesstoken,_token"
	[acr]=00000000-0000-0000-0000-000000000000
)

# bench_init: cd to the repository top (found from this file, so a script runs from any
# directory); a temp dir $BENCH_WORK (with home/, xdg/ and an empty docker config dir)
# removed on exit, with every fake still running stopped.
bench_init() {
	cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
	BENCH_WORK=$(mktemp -d)
	BENCH_TOOLS=$BENCH_WORK/tools
	declare -gA BENCH_FAKE_PID=()
	trap bench_cleanup EXIT
	mkdir -p "$BENCH_WORK/home/.docker" "$BENCH_WORK/xdg" "$BENCH_TOOLS"
}

bench_cleanup() {
	local name
	for name in "${!BENCH_FAKE_PID[@]}"; do
		kill -TERM "${BENCH_FAKE_PID[$name]}" 2>/dev/null || true
		wait "${BENCH_FAKE_PID[$name]}" 2>/dev/null || true
	done
	rm -rf "$BENCH_WORK"
}

bench_die() {
	echo "bench: $*" >&2
	exit 1
}

# bench_build_static OUT PKG: a static, trimmed build of one package.
bench_build_static() {
	CGO_ENABLED=0 go build -trimpath -o "$1" "$2"
}

# bench_build_ours DIR: every main package under ./cmd/... into DIR, static. The front
# end finds its companions beside it, so they must share one directory.
bench_build_ours() {
	mkdir -p "$1"
	CGO_ENABLED=0 go build -trimpath -o "$1/" ./cmd/...
	[ -x "$1/image-credential-provider" ] || bench_die "no cmd/image-credential-provider in this tree"
}

# bench_build_tools: the runner, the floor, checkanswer and the three cloud fakes, all
# static, into $BENCH_TOOLS.
bench_build_tools() {
	local p
	for p in test/bench/runner test/bench/floor test/bench/checkanswer \
		test/fake/awsfake/cmd/fakeaws test/fake/gcpfake/cmd/fakegcp test/fake/azurefake/cmd/fakeazure; do
		bench_build_static "$BENCH_TOOLS/$(basename "$p")" "./$p"
	done
}

# bench_runner ARGS...: the shared runner (test/bench/runner), run from $BENCH_WORK so
# that no plugin finds a docker config in the repository's directory.
bench_runner() {
	(cd "$BENCH_WORK" && "$BENCH_TOOLS/runner" "$@")
}

# bench_install_ecr_plugin DIR: go install the ECR plugin (k8s.io/cloud-provider-aws,
# v1.37.0) static into DIR; prints its path. Fails when the module proxy refuses.
bench_install_ecr_plugin() {
	echo "bench: installing ecr-credential-provider (go install k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0)" >&2
	mkdir -p "$1"
	(cd "$1" && CGO_ENABLED=0 GOBIN="$1" GOFLAGS=-mod=mod go install -trimpath k8s.io/cloud-provider-aws/cmd/ecr-credential-provider@v1.37.0) >&2 ||
		return 1
	echo "$1/ecr-credential-provider"
}

# bench_start_fake NAME PROGRAM ARGS...: starts a fake with its NAME=value lines going to
# $BENCH_WORK/fake-NAME.env and its log (the call counters, on exit) to fake-NAME.log,
# and waits until it prints READY.
bench_start_fake() {
	local name=$1
	shift
	local envf=$BENCH_WORK/fake-$name.env logf=$BENCH_WORK/fake-$name.log
	"$@" >"$envf" 2>"$logf" &
	BENCH_FAKE_PID[$name]=$!
	local _
	for _ in $(seq 100); do
		grep -qx READY "$envf" 2>/dev/null && return 0
		kill -0 "${BENCH_FAKE_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$logf" >&2
	bench_die "the fake $name ($1) did not start"
}

# bench_stop_fake NAME: stops the fake and waits for it to print its counters.
bench_stop_fake() {
	local pid=${BENCH_FAKE_PID[$1]}
	unset "BENCH_FAKE_PID[$1]"
	kill -TERM "$pid"
	wait "$pid" || true
}

# bench_fake_val NAME KEY: the value the fake printed for KEY.
bench_fake_val() {
	sed -n "s/^$2=//p" "$BENCH_WORK/fake-$1.env"
}

# bench_fake_counters NAME: the stopped fake's call counters, one "COUNTER N" a line.
# fakeaws and fakegcp print "fakeX: COUNTER calls: N" lines, fakeazure one line of
# COUNTER=N fields (and tunnels=map[...], which is not a counter).
bench_fake_counters() {
	awk '
		/ calls: [0-9]+$/ { name = $0; sub(/^[^:]*: /, "", name); sub(/ calls: [0-9]+$/, "", name); print name, $NF; next }
		{ for (i = 1; i <= NF; i++) if ($i ~ /^[A-Za-z:-]+=[0-9]+$/) { split($i, kv, "="); print kv[1], kv[2] } }
	' "$BENCH_WORK/fake-$1.log"
}

# bench_fake_count NAME COUNTER: one counter of the stopped fake (0 when absent).
bench_fake_count() {
	bench_fake_counters "$1" | awk -v c="$2" '$1 == c { n = $2 } END { print n + 0 }'
}

# bench_set_env K=V...: BENCH_ENV, and BENCH_ENV_FLAGS for the runner.
bench_set_env() {
	BENCH_ENV=("$@")
	BENCH_ENV_FLAGS=()
	local e
	for e in "${BENCH_ENV[@]}"; do BENCH_ENV_FLAGS+=(-env "$e"); done
}

# The part of every cloud's environment that is not the fake's: home, caches and docker
# config in $BENCH_WORK, no proxy but the ones a cloud sets.
bench_common_env() {
	echo "HOME=$BENCH_WORK/home"
	echo "XDG_CACHE_HOME=$BENCH_WORK/xdg"
	echo "DOCKER_CONFIG=$BENCH_WORK/home/.docker"
}

# bench_env_ecr FAKE: the AWS fake's endpoints and static test credentials, empty shared
# config files, no instance metadata, no CA bundle, no proxy.
bench_env_ecr() {
	: >"$BENCH_WORK/aws-config"
	: >"$BENCH_WORK/aws-credentials"
	local -a e
	mapfile -t e < <(bench_common_env)
	e+=(AWS_CONFIG_FILE="$BENCH_WORK/aws-config" AWS_SHARED_CREDENTIALS_FILE="$BENCH_WORK/aws-credentials"
		AWS_EC2_METADATA_DISABLED=true AWS_CA_BUNDLE= AWS_PROFILE= AWS_REGION= AWS_ROLE_ARN= AWS_WEB_IDENTITY_TOKEN_FILE=
		HTTPS_PROXY= HTTP_PROXY= https_proxy= http_proxy= NO_PROXY= no_proxy=)
	local line
	while IFS= read -r line; do
		case "$line" in AWS_*=*) e+=("$line") ;; esac
	done <"$BENCH_WORK/fake-$1.env"
	bench_set_env "${e[@]}"
}

# bench_env_gcp FAKE: the Google fake as the metadata server. Ours reads
# GCE_METADATA_HOST; the Google plugin hard-codes metadata.google.internal. and ignores
# it, but honours HTTP_PROXY, and the fake answers proxied requests: so both are set.
# Go never proxies loopback, so ours still goes straight to the fake.
bench_env_gcp() {
	local mds
	mds=$(bench_fake_val "$1" GCE_METADATA_HOST)
	local -a e
	mapfile -t e < <(bench_common_env)
	e+=("GCE_METADATA_HOST=$mds" "HTTP_PROXY=http://$mds" http_proxy= HTTPS_PROXY= https_proxy= NO_PROXY= no_proxy=
		GOOGLE_APPLICATION_CREDENTIALS=)
	bench_set_env "${e[@]}"
}

# bench_env_acr FAKE: the Azure fake reached by the real host names through its loopback
# CONNECT proxy with its test CA, managed identity by the App Service protocol on
# loopback, and none of the caller's Azure settings.
bench_env_acr() {
	local -a e
	mapfile -t e < <(bench_common_env)
	e+=("HTTPS_PROXY=$(bench_fake_val "$1" HTTPS_PROXY)" "SSL_CERT_FILE=$(bench_fake_val "$1" SSL_CERT_FILE)"
		"IDENTITY_ENDPOINT=$(bench_fake_val "$1" IDENTITY_ENDPOINT)" "IDENTITY_HEADER=$(bench_fake_val "$1" IDENTITY_HEADER)"
		AZURE_CLIENT_ID= AZURE_TENANT_ID= AZURE_CLIENT_SECRET= AZURE_FEDERATED_TOKEN_FILE= AZURE_AUTHORITY_HOST=
		https_proxy= HTTP_PROXY= http_proxy= NO_PROXY= no_proxy=)
	bench_set_env "${e[@]}"
}

# bench_request FILE IMAGE: a kubelet CredentialProviderRequest for IMAGE.
bench_request() {
	printf '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"%s"}\n' "$2" >"$1"
}

# bench_check_answer FILE CLOUD WHAT: fails the script unless FILE is an answer with
# CLOUD's (ecr, gcp, acr) credentials in it: a run that exits 0 with an empty auth map
# must not be timed as a success.
bench_check_answer() {
	"$BENCH_TOOLS/checkanswer" -username "${BENCH_USERNAMES[$2]}" <"$1" >/dev/null ||
		bench_die "$3 gave no ${2^^} credentials"
}

# ratio A B: A / B to two decimals ("?" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "?" }'; }
# le A B: A <= B (decimal)
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }
# col TSV COMMAND COLUMN: a figure of the runner's -tsv output.
col() { awk -F'\t' -v c="$2" -v k="$3" '$1 == c { print $k }' "$1"; }
