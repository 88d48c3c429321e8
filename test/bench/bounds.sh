#!/usr/bin/env bash
# Lower bounds for the goals of issue 15, per cloud: how fast any design of the plugin
# could be on this machine, timed side by side with the cloud's own plugin.
#
# Usage:
#   test/bench/bounds.sh [--ecr PATH] [--gcp PATH] [--clouds ecr,gcp] [-n N]
#
#   --ecr PATH   ecr-credential-provider; default $ECR_PLUGIN, else `go install ...@v1.37.0`
#   --gcp PATH   auth-provider-gcp (kubernetes/cloud-provider-gcp); default $GCP_PLUGIN
#   --clouds L   which clouds (default $CLOUDS, else ecr,gcp)
#   -n N         timed runs per command (default $N, else 40)
#
# The binary the kubelet runs is fixed before a run starts, and every run, warm or cold,
# starts in it. So a design is one of two shapes:
#   one process   the binary links the cloud's SDK; a warm run pays for linking it too;
#   two processes an SDK-free front end answers warm runs and execs a companion that
#                 links the SDK on a miss; a cold run pays for two process starts.
# test/bench/bounds/ holds the least program of each shape (see its package comment):
#   one-cold, one-warm  bounds/<cloud> DIR: stdin read, then DIR/answer served, or else
#                       one token fetched through the SDK and stored
#   two-cold, two-warm  bounds/front DIR bounds/<cloud>: stdin read, then DIR/answer
#                       served, or else execve of bounds/<cloud> DIR
# timed interleaved with the plugin, ours (cold and warm, as side-by-side.sh runs them),
# ours in the one-process shape (the cloud's companion run directly: it takes the same
# arguments and cache) and the floor, against the cloud's loopback fake. Cold runs start
# with an empty DIR, warm runs with one a priming run filled. Any real design of a shape
# does at least what its program does, so it is at least as slow: when each shape misses
# one goal, no design meets both on this machine.
#
# Goals: cold <= 0.8x the cloud's plugin; warm <= 1.5x the floor. ACR is not measured
# here: side-by-side.sh shows ours meets both goals there.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '5,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

N=${N:-40}
CLOUDS=${CLOUDS:-ecr,gcp}
declare -A plugin=([ecr]=${ECR_PLUGIN:-} [gcp]=${GCP_PLUGIN:-})
while [ $# -gt 0 ]; do
	case "$1" in
	--ecr | --gcp)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		plugin[${1#--}]=$2
		shift 2
		;;
	--ecr=* | --gcp=*)
		k=${1%%=*}
		plugin[${k#--}]=${1#*=}
		shift
		;;
	--clouds) CLOUDS=${2:?}; shift 2 ;;
	--clouds=*) CLOUDS=${1#*=}; shift ;;
	-n) N=${2:?}; shift 2 ;;
	-n=*) N=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) { echo "bounds: unknown argument $1"; usage; } >&2; exit 2 ;;
	esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive number, got $N"
IFS=, read -r -a clouds <<<"$CLOUDS"
for c in "${clouds[@]}"; do
	case "$c" in ecr | gcp) ;; *) bench_die "unknown cloud $c (want ecr, gcp)" ;; esac
	if [ -n "${plugin[$c]}" ]; then
		plugin[$c]=$(realpath -m -- "${plugin[$c]}")
		[ -x "${plugin[$c]}" ] || bench_die "${c^^} plugin ${plugin[$c]} is not an executable file"
	fi
done

bench_init
work=$BENCH_WORK
ours=$work/bin/image-credential-provider
mkdir -p "$work/fresh-tmp" "$work/out"
echo "bounds: building ours, the bound programs and the tools (static)" >&2
bench_build_ours "$work/bin"
bench_build_tools
for p in front gcp ecr; do
	bench_build_static "$work/bounds/$p" "./test/bench/bounds/$p"
done

declare -A plugin_name=([ecr]=ecr-credential-provider [gcp]=auth-provider-gcp)
declare -A plugin_args=([ecr]="" [gcp]="get-credentials --authFlow=gcr")
declare -A companion=([ecr]=image-credential-provider-ecr [gcp]=image-credential-provider-gcr)
declare -A image=([ecr]=123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app [gcp]=us-docker.pkg.dev/fake-project/repo/app)

verdict() { if le "$1" "$2"; then echo met; else echo MISSED; fi; }

summary=()
measure() {
	local c=$1 p=${plugin[$1]}
	local req=$work/request-$c.json tsv=$work/out/$c.tsv
	bench_request "$req" "${image[$c]}"
	echo
	echo "== ${c^^}: ${plugin_name[$c]}, image ${image[$c]}"
	bench_start_fake "$c" "$BENCH_TOOLS/fake$([ "$c" = ecr ] && echo aws || echo gcp)"
	"bench_env_$c" "$c"
	# Prime the warm dirs, and check each primed answer is the cloud's.
	local one=$work/warm-one-$c two=$work/warm-two-$c cache=$work/warm-ours-$c cache1=$work/warm-ours1-$c
	local comp=$work/bin/${companion[$c]}
	mkdir -p "$one" "$two"
	(cd "$work" && env "${BENCH_ENV[@]}" "$work/bounds/$c" "$one") <"$req" >/dev/null
	(cd "$work" && env "${BENCH_ENV[@]}" "$work/bounds/front" "$two" "$work/bounds/$c") <"$req" >/dev/null
	[ -s "$one/answer" ] && [ -s "$two/answer" ] || bench_die "${c^^}: a priming run of a bound stored no answer"
	(cd "$work" && env "${BENCH_ENV[@]}" "$ours" --cache-dir "$cache") <"$req" >"$work/out/$c-primed.json"
	bench_check_answer "$work/out/$c-primed.json" "$c" "ours (priming run)"
	(cd "$work" && env "${BENCH_ENV[@]}" "$comp" --cache-dir "$cache1") <"$req" >"$work/out/$c-primed1.json"
	bench_check_answer "$work/out/$c-primed1.json" "$c" "${companion[$c]} (priming run)"
	# shellcheck disable=SC2086 # plugin_args is split on purpose
	TMPDIR=$work/fresh-tmp bench_runner -n "$N" -stdin "$req" -tsv "$tsv" "${BENCH_ENV_FLAGS[@]}" \
		-cmd "plugin=$p ${plugin_args[$c]}" \
		-cmd "one-cold=$work/bounds/$c {fresh}" \
		-cmd "two-cold=$work/bounds/front {fresh} $work/bounds/$c" \
		-cmd "ours-cold=$ours --cache-dir {fresh}" \
		-cmd "ours1-cold=$comp --cache-dir {fresh}" \
		-cmd "floor=$BENCH_TOOLS/floor" \
		-cmd "one-warm=$work/bounds/$c $one" \
		-cmd "two-warm=$work/bounds/front $two $work/bounds/$c" \
		-cmd "ours-warm=$ours --cache-dir $cache" \
		-cmd "ours1-warm=$comp --cache-dir $cache1"
	bench_stop_fake "$c"

	local pl fl oc ow tc tw uc uw vc vw
	pl=$(col "$tsv" plugin 2) fl=$(col "$tsv" floor 2)
	oc=$(ratio "$(col "$tsv" one-cold 2)" "$pl") ow=$(ratio "$(col "$tsv" one-warm 2)" "$fl")
	tc=$(ratio "$(col "$tsv" two-cold 2)" "$pl") tw=$(ratio "$(col "$tsv" two-warm 2)" "$fl")
	uc=$(ratio "$(col "$tsv" ours-cold 2)" "$pl") uw=$(ratio "$(col "$tsv" ours-warm 2)" "$fl")
	vc=$(ratio "$(col "$tsv" ours1-cold 2)" "$pl") vw=$(ratio "$(col "$tsv" ours1-warm 2)" "$fl")
	echo
	printf '  %-52s %-18s %s\n' "design (least program of its shape)" "cold, x plugin" "warm, x floor"
	printf '  %-52s %-18s %s\n' "one process: bounds/$c" "$oc ($(verdict "$oc" 0.8))" "$ow ($(verdict "$ow" 1.5))"
	printf '  %-52s %-18s %s\n' "two processes: bounds/front -> bounds/$c" "$tc ($(verdict "$tc" 0.8))" "$tw ($(verdict "$tw" 1.5))"
	printf '  %-52s %-18s %s\n' "ours, two processes: image-credential-provider" "$uc ($(verdict "$uc" 0.8))" "$uw ($(verdict "$uw" 1.5))"
	printf '  %-52s %-18s %s\n' "ours, one process: ${companion[$c]}" "$vc ($(verdict "$vc" 0.8))" "$vw ($(verdict "$vw" 1.5))"
	local line
	if { le "$oc" 0.8 && le "$ow" 1.5; } || { le "$tc" 0.8 && le "$tw" 1.5; }; then
		line="${c^^}: a shape's bound meets both goals here (one process: cold ${oc}x plugin, warm ${ow}x floor; two processes: cold ${tc}x, warm ${tw}x)"
	else
		line="${c^^}: no design meets both goals here: one process is at least cold ${oc}x plugin, warm ${ow}x floor; two processes at least cold ${tc}x plugin, warm ${tw}x floor"
	fi
	summary+=("$line")
}

for c in "${clouds[@]}"; do
	if [ -z "${plugin[$c]}" ] && [ "$c" = ecr ]; then
		plugin[$c]=$(bench_install_ecr_plugin "$work/ecr-plugin") || { summary+=("ECR: not measured (go install failed; pass --ecr PATH)"); continue; }
	fi
	if [ -z "${plugin[$c]}" ]; then
		summary+=("${c^^}: not measured (no plugin given: --$c PATH or ${c^^}_PLUGIN)")
		continue
	fi
	measure "$c"
done

echo
echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); machine $(uname -m), $(nproc) CPUs; $(go version | cut -d' ' -f3-); commit $(git describe --always --dirty 2>/dev/null || echo unknown); $N runs per command"
echo "Goals (issue 15): cold <= 0.8x plugin, warm <= 1.5x floor"
printf '%s\n' "${summary[@]}"
