#!/usr/bin/env bash
# Side by side: image-credential-provider (the binary the kubelet config names) against
# each cloud's own kubelet credential provider plugin, on the same loopback fake, timed
# interleaved in one runner invocation per cloud (test/bench/runner).
#
# Usage:
#   test/bench/side-by-side.sh [--ecr PATH] [--gcp PATH] [--acr PATH] [--clouds ecr,gcp,acr] [-n N]
#
#   --ecr PATH   ecr-credential-provider (k8s.io/cloud-provider-aws); default $ECR_PLUGIN,
#                else `go install ...@v1.37.0` (static) into a temp dir
#   --gcp PATH   auth-provider-gcp (kubernetes/cloud-provider-gcp); default $GCP_PLUGIN
#   --acr PATH   acr-credential-provider (kubernetes-sigs/cloud-provider-azure); default
#                $ACR_PLUGIN
#   --clouds L   which clouds to measure (default $CLOUDS, else ecr,gcp,acr)
#   -n N         timed runs per command (default $N, else 40)
#
# A cloud whose plugin is not given (or, for ECR, cannot be installed) is reported as
# not measured; it never counts as a pass. Build the plugins static (CGO_ENABLED=0), as
# ours is, or the comparison is off by the cost of dynamic loading.
#
# What it does:
# - builds every main package under ./cmd/... static (CGO_ENABLED=0, -trimpath) into one
#   bin dir, so that a front end finds its companions beside it, and measures
#   bin/image-credential-provider;
# - per cloud, with that cloud's fake (test/fake/{awsfake,gcpfake,azurefake}) and
#   environment (test/bench/lib.sh):
#     plugin  the cloud's plugin (it caches nothing on disk: every run fetches a token)
#     cold    ours, token cache enabled but empty at every run (--cache-dir {fresh}: the
#             runner makes a new empty dir per run, outside the timed region)
#     warm    ours, --cache-dir holding what one priming run stored
#     floor   test/bench/floor, a static Go program that only reads stdin
#   Before timing, every answer is checked to hold the cloud's credentials
#   (test/bench/checkanswer: an exit 0 with an empty auth map fails the script): 10 runs
#   of the plugin and 10 cold runs of ours (+1 under strace), each group against a fake
#   of its own, so that the fake's call counters give the upstream calls per plugin run
#   and per cold run of ours (each cold run must make exactly one token fetch); then a
#   priming run and one warm run of ours against the timed fake. After timing, the timed
#   fake's counters must equal what those per-run figures predict with no call at all
#   from warm runs.
# - prints per cloud the runner's table, then a summary: cold, warm, peak RSS (cold) and
#   binary size as ratios to the cloud's plugin, warm as a ratio to the floor, against
#   the goals of issue 15; the date, machine, Go version and commit; which files the
#   binary size counts (the executables a cold run of ours exec'd, seen with strace when
#   available); and the GODEBUG=inittrace=1 top 10 packages by clock of one cold run of
#   ours per cloud (the least disturbed of the 10: the one with least init clock in all),
#   per process when a front end hands over to a companion.
#
# Peak RSS is the runner's (median ru_maxrss). The runner starts children with vfork, so
# a child's ru_maxrss is the larger of the runner's own peak RSS and the child's own; the
# script prints that floor and says whether ours and the plugin are both well above it
# (then the figures, and the ratio, are their own).
#
# The timed cold runs write the cache on this machine's disk (fresh dirs under the temp
# dir), as a node writes its cache dir: the durable write is part of a cold run.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '6,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

abspath() { [ -z "$1" ] || realpath -m -- "$1"; }

N=${N:-40}
CLOUDS=${CLOUDS:-ecr,gcp,acr}
declare -A plugin=([ecr]=${ECR_PLUGIN:-} [gcp]=${GCP_PLUGIN:-} [acr]=${ACR_PLUGIN:-})
while [ $# -gt 0 ]; do
	case "$1" in
	--ecr | --gcp | --acr)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		plugin[${1#--}]=$2
		shift 2
		;;
	--ecr=* | --gcp=* | --acr=*)
		k=${1%%=*}
		plugin[${k#--}]=${1#*=}
		shift
		;;
	--clouds) CLOUDS=${2:?}; shift 2 ;;
	--clouds=*) CLOUDS=${1#*=}; shift ;;
	-n) N=${2:?}; shift 2 ;;
	-n=* | --n=*) N=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) { echo "side-by-side: unknown argument $1"; usage; } >&2; exit 2 ;;
	esac
done
[[ $N =~ ^[1-9][0-9]*$ ]] || bench_die "-n wants a positive number, got $N"
for c in ecr gcp acr; do
	plugin[$c]=$(abspath "${plugin[$c]}")
	[ -z "${plugin[$c]}" ] || [ -x "${plugin[$c]}" ] || bench_die "${c^^} plugin ${plugin[$c]} is not an executable file"
done
IFS=, read -r -a clouds <<<"$CLOUDS"
for c in "${clouds[@]}"; do
	case "$c" in ecr | gcp | acr) ;; *) bench_die "unknown cloud $c (want ecr, gcp, acr)" ;; esac
done

bench_init
work=$BENCH_WORK
bin=$work/bin
ours=$bin/image-credential-provider
mkdir -p "$work/fresh-tmp" "$work/out"

echo "side-by-side: building ours (./cmd/..., static) and the tools" >&2
bench_build_ours "$bin"
bench_build_tools

# strace shows which of our executables a cold run uses (a front end may hand over).
have_strace=0
if command -v strace >/dev/null && strace -f -qq -e trace=execve -o /dev/null true 2>/dev/null; then
	have_strace=1
fi

declare -A skipped=()
for c in "${clouds[@]}"; do
	p=${plugin[$c]}
	if [ -z "$p" ] && [ "$c" = ecr ]; then
		p=$(bench_install_ecr_plugin "$work/ecr-plugin") || { skipped[$c]="go install of ecr-credential-provider failed; pass --ecr PATH"; continue; }
		plugin[$c]=$p
	fi
	[ -n "$p" ] || skipped[$c]="no plugin given (--$c PATH or ${c^^}_PLUGIN)"
done

# Per cloud: the plugin's name, the fake and its flags, the environment function, the
# image, the plugin's and our arguments, and the counters that are token fetches.
declare -A plugin_name=([ecr]=ecr-credential-provider [gcp]=auth-provider-gcp [acr]=acr-credential-provider)
declare -A companion=([ecr]=image-credential-provider-ecr [gcp]=image-credential-provider-gcr [acr]=image-credential-provider-acr)
declare -A image=([ecr]=123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app
	[gcp]=us-docker.pkg.dev/fake-project/repo/app [acr]=myacr.azurecr.io/team/app)
declare -A token_counters=([ecr]="ecr:GetAuthorizationToken" [gcp]="metadata-token" [acr]="appservice exchanges")
printf '%s\n' '{"useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-bench"}' >"$work/azure.json"

# start_cloud_fake CLOUD NAME: the cloud's fake, as NAME, and BENCH_ENV for it.
start_cloud_fake() {
	case "$1" in
	ecr) bench_start_fake "$2" "$BENCH_TOOLS/fakeaws" && bench_env_ecr "$2" ;;
	gcp) bench_start_fake "$2" "$BENCH_TOOLS/fakegcp" && bench_env_gcp "$2" ;;
	acr)
		bench_start_fake "$2" "$BENCH_TOOLS/fakeazure" -ca-out "$work/$2-ca.pem" -user-assigned ua-bench &&
			bench_env_acr "$2"
		;;
	esac
}

# plugin_args CLOUD / ours_args CLOUD: the arguments a kubelet config would give, one a line.
plugin_args() {
	case "$1" in
	gcp) printf '%s\n' get-credentials --authFlow=gcr ;;
	acr) printf '%s\n' "$work/azure.json" ;;
	esac
}
ours_args() {
	case "$1" in
	acr) printf '%s\n' --acr-azure-config "$work/azure.json" ;;
	esac
}

# stop_and_count NAME: stops the fake and writes its counters to out/NAME.calls.
stop_and_count() {
	bench_stop_fake "$1"
	bench_fake_counters "$1" >"$work/out/$1.calls"
}

# count FILE COUNTER: one counter from a .calls file (0 when absent).
count() { awk -v c="$2" '$1 == c { n = $2 } END { print n + 0 }' "$1"; }

# execs_of TRACE: the paths a strace -f -e trace=execve log shows exec'd successfully,
# in order (an execve cut in two by another process's syscall is joined by pid).
execs_of() {
	awk '
		/execve\("/ { p = $0; sub(/^[^"]*"/, "", p); sub(/".*/, "", p); path[$1] = p }
		/= 0$/ && ($1 in path) { print path[$1]; delete path[$1] }
	' "$1"
}

# inittrace FILE: the init lines of FILE as "PROCESS<TAB>CLOCK_MS<TAB>PACKAGE"; a new
# process starts where the @time since process start goes down.
inittrace() {
	awk '
		/^init [^ ]+ @[0-9.]+ ms, [0-9.]+ ms clock/ {
			at = $3; sub(/^@/, "", at); at += 0
			if (n == 0 || at < prev) n++
			prev = at
			printf "%d\t%s\t%s\n", n, $5, $2
		}
	' "$1"
}

# traced_runs CLOUD WHAT REQUEST PREFIX PROGRAM ARGS...: $TRACED_RUNS runs of PROGRAM
# with GODEBUG=inittrace=1 in the cloud's environment (BENCH_ENV), each answer checked,
# each {fresh} in ARGS a new empty directory per run. PREFIX.init gets the init trace
# (see inittrace) of the run whose package inits took least clock in all: the one least
# disturbed by whatever else this shared machine was doing.
TRACED_RUNS=10
traced_runs() {
	local c=$1 what=$2 req=$3 prefix=$4
	shift 4
	local i a best=0 bestsum=0 sum fresh
	local -a argv
	for ((i = 1; i <= TRACED_RUNS; i++)); do
		argv=()
		fresh=$(mktemp -d "$work/fresh-tmp/check-XXXXXX")
		for a in "$@"; do argv+=("${a//\{fresh\}/$fresh}"); done
		(cd "$work" && env "${BENCH_ENV[@]}" GODEBUG=inittrace=1 "${argv[@]}") <"$req" >"$prefix.$i.json" 2>"$prefix.$i.err" ||
			{ cat "$prefix.$i.err" >&2; bench_die "$what failed"; }
		bench_check_answer "$prefix.$i.json" "$c" "$what"
		inittrace "$prefix.$i.err" >"$prefix.$i.init"
		sum=$(awk -F'\t' '{ s += $2 } END { printf "%.3f", s }' "$prefix.$i.init")
		if [ "$best" = 0 ] || ! le "$bestsum" "$sum"; then
			best=$i bestsum=$sum
		fi
	done
	cp "$prefix.$best.init" "$prefix.init"
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
msf() { awk -v ns="$1" 'BEGIN { printf "%.2f ms", ns / 1e6 }'; }

measure() {
	local c=$1 p=${plugin[$1]} out=$work/out
	local -a pargs oargs
	mapfile -t pargs < <(plugin_args "$c")
	mapfile -t oargs < <(ours_args "$c")
	local req=$work/request-$c.json
	bench_request "$req" "${image[$c]}"
	echo
	echo "== ${c^^}: ${plugin_name[$c]} against image-credential-provider, image ${image[$c]}"
	echo "plugin: $p"
	local info
	if info=$(go version -m "$p" 2>&1); then
		echo "$info" | awk -F'\t' 'NR == 1 { sub(/^[^:]*: /, ""); printf "  built with %s", $0 } $2 == "mod" { printf ", module %s %s", $3, $4 } END { print "" }'
	else
		echo "  not a Go binary"
	fi

	# 1. The plugin on a fake of its own: its answer, its init, its calls per run.
	start_cloud_fake "$c" "$c-plugin"
	traced_runs "$c" "${plugin_name[$c]}" "$req" "$out/$c-plugin" "$p" "${pargs[@]}"
	stop_and_count "$c-plugin"

	# 2. Ours cold on a fake of its own: the runs with GODEBUG=inittrace=1, one under
	# strace to see which executables a cold run uses; each must fetch exactly one token.
	start_cloud_fake "$c" "$c-cold"
	traced_runs "$c" "ours (cold)" "$req" "$out/$c-cold" "$ours" "${oargs[@]}" --cache-dir "{fresh}"
	local runs=$TRACED_RUNS fresh
	: >"$out/$c-execs"
	if [ "$have_strace" = 1 ]; then
		fresh=$(mktemp -d "$work/fresh-tmp/check-XXXXXX")
		(cd "$work" && strace -f -qq -e trace=execve -o "$out/$c-strace" env "${BENCH_ENV[@]}" "$ours" "${oargs[@]}" --cache-dir "$fresh") \
			<"$req" >"$out/$c-cold-strace.json" || bench_die "ours (cold, under strace) failed"
		bench_check_answer "$out/$c-cold-strace.json" "$c" "ours (cold, under strace)"
		runs=$((runs + 1))
		execs_of "$out/$c-strace" >"$out/$c-execs"
	fi
	stop_and_count "$c-cold"
	local k got
	for k in ${token_counters[$c]}; do
		got=$(count "$out/$c-plugin.calls" "$k")
		[ $((got % TRACED_RUNS)) -eq 0 ] || bench_die "${c^^}: $TRACED_RUNS runs of ${plugin_name[$c]} made $got $k calls, not the same number each"
		got=$(count "$out/$c-cold.calls" "$k")
		[ "$got" -eq "$runs" ] || bench_die "${c^^}: $runs cold runs of ours made $got $k calls, want exactly one each"
	done

	# 3. The timed run, on one fake: prime the warm cache, check a warm run answers, then
	# plugin, cold, warm and floor interleaved.
	start_cloud_fake "$c" "$c-timed"
	local cache=$work/cache-$c
	(cd "$work" && env "${BENCH_ENV[@]}" "$ours" "${oargs[@]}" --cache-dir "$cache") <"$req" >"$out/$c-primed.json"
	bench_check_answer "$out/$c-primed.json" "$c" "ours (priming run)"
	(cd "$work" && env "${BENCH_ENV[@]}" "$ours" "${oargs[@]}" --cache-dir "$cache") <"$req" >"$out/$c-warm.json"
	bench_check_answer "$out/$c-warm.json" "$c" "ours (warm)"
	echo
	TMPDIR=$work/fresh-tmp bench_runner -n "$N" -stdin "$req" -tsv "$out/$c.tsv" "${BENCH_ENV_FLAGS[@]}" \
		-cmd "plugin=$p ${pargs[*]}" \
		-cmd "cold=$ours ${oargs[*]} --cache-dir {fresh}" \
		-cmd "warm=$ours ${oargs[*]} --cache-dir $cache" \
		-cmd "floor=$BENCH_TOOLS/floor"
	stop_and_count "$c-timed"

	# The timed fake's counters against the per-run figures: 1 priming run (a cold run)
	# + N+1 plugin runs + N+1 cold runs (the runner's warm-up included) + 0 warm runs.
	echo
	echo "upstream calls counted by the fake (per plugin run | per cold run of ours | timed fake: got = want):"
	local ok=1 name pc cc want
	while read -r name _; do
		pc=$(count "$out/$c-plugin.calls" "$name")
		cc=$(count "$out/$c-cold.calls" "$name")
		got=$(count "$out/$c-timed.calls" "$name")
		if [ $((pc % TRACED_RUNS)) -ne 0 ] || [ $((cc % runs)) -ne 0 ]; then
			echo "  $name: $pc calls in $TRACED_RUNS plugin runs, $cc in $runs cold runs of ours: not the same number per run"
			ok=0
			continue
		fi
		pc=$((pc / TRACED_RUNS)) cc=$((cc / runs))
		want=$((cc + (N + 1) * (pc + cc)))
		[ "$pc$cc$got" = 000 ] && continue
		printf '  %-28s %3d | %3d | %5d = %5d%s\n' "$name" "$pc" "$cc" "$got" "$want" "$([ "$got" -eq "$want" ] || echo "  MISMATCH")"
		[ "$got" -eq "$want" ] || ok=0
	done < <(cat "$out/$c-plugin.calls" "$out/$c-cold.calls" "$out/$c-timed.calls" | sort -u -k1,1)
	[ "$ok" = 1 ] || bench_die "${c^^}: the fake's counters do not match one token fetch per cold run and none per warm run"
	echo "  so: each cold run of ours made exactly one token fetch (${token_counters[$c]}), the warm runs made no call"

	# Which of our files a cold run uses: the executables strace saw exec'd from the bin
	# dir, else the front end and the companion named for this cloud if there is one.
	local f files=() how
	while read -r f; do
		f=$(cd "$work" && realpath -m -- "$f") # relative to the cwd the run had
		case "$f" in "$bin"/*) [[ " ${files[*]} " == *" $f "* ]] || files+=("$f") ;; esac
	done <"$out/$c-execs"
	how="exec'd by one cold run (strace)"
	if [ ${#files[@]} -eq 0 ]; then
		files=("$ours")
		[ -x "$bin/${companion[$c]}" ] && files+=("$bin/${companion[$c]}")
		how="by name (strace not available)"
	fi
	local size=0
	for f in "${files[@]}"; do size=$((size + $(stat -c %s "$f"))); done
	echo "$size" >"$out/$c.size"
	{
		echo "${c^^}: $how:"
		for f in "${files[@]}"; do echo "  $(basename "$f") $(mib "$(stat -c %s "$f")")"; done
		echo "  ${plugin_name[$c]} $(mib "$(stat -c %s "$p")")"
	} >"$out/$c.sizes"

	# Init trace: ours per process (labelled by the executables strace saw, in order),
	# the plugin's total.
	{
		local nproc_ours i label
		nproc_ours=$(cut -f1 "$out/$c-cold.init" | sort -un | wc -l)
		echo "${c^^}: GODEBUG=inittrace=1, the least disturbed of $TRACED_RUNS cold runs of ours ($nproc_ours process(es) with Go package inits); ${plugin_name[$c]}, least of $TRACED_RUNS: $(awk -F'\t' '{ s += $2; n++ } END { printf "%.2f ms of init in %d packages", s, n }' "$out/$c-plugin.init")"
		while read -r i; do
			label="process $i"
			if [ ${#files[@]} -eq "$nproc_ours" ] && [ "$how" != "by name (strace not available)" ]; then
				label=$(basename "${files[$((i - 1))]}")
			fi
			awk -F'\t' -v i="$i" -v l="$label" '$1 == i { s += $2; n++ } END { printf "  %s: %.2f ms of init in %d packages; top 10 by clock:\n", l, s, n }' "$out/$c-cold.init"
			awk -F'\t' -v i="$i" '$1 == i { print $2 "\t" $3 }' "$out/$c-cold.init" | sort -t"$(printf '\t')" -k1,1gr |
				awk -F'\t' 'NR <= 10 { printf "    %6.3f ms  %s\n", $1, $2 }'
		done < <(cut -f1 "$out/$c-cold.init" | sort -un)
	} >"$out/$c.inittrace"
}

for c in "${clouds[@]}"; do
	[ -n "${skipped[$c]:-}" ] && continue
	measure "$c"
done

# The summary.
echo
echo "== Summary"
echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); machine $(uname -m), $(nproc) CPUs (nproc); $(go version | sed 's/^go version //')"
echo "ours: $(git describe --always --dirty 2>/dev/null || echo unknown) (every main package under ./cmd/ built with CGO_ENABLED=0 -trimpath); $N timed runs per command, interleaved, after one warm-up run each"
echo
echo "| cloud | plugin (median wall) | cold × plugin | warm × plugin | warm × floor | peak RSS cold × plugin | binary size × plugin |"
echo "|---|---|---|---|---|---|---|"
met=0 missed=0 notmeasured=0
goals=()
for c in "${clouds[@]}"; do
	if [ -n "${skipped[$c]:-}" ]; then
		echo "| ${c^^} | not measured: ${skipped[$c]} | | | | | |"
		notmeasured=$((notmeasured + 1))
		continue
	fi
	t=$work/out/$c.tsv
	pw=$(col "$t" plugin 2) cw=$(col "$t" cold 2) ww=$(col "$t" warm 2) fw=$(col "$t" floor 2)
	pr=$(col "$t" plugin 4) cr=$(col "$t" cold 4)
	cold=$(ratio "$cw" "$pw") warm=$(ratio "$ww" "$pw") warmf=$(ratio "$ww" "$fw") rss=$(ratio "$cr" "$pr")
	size=$(ratio "$(cat "$work/out/$c.size")" "$(stat -c %s "${plugin[$c]}")")
	echo "| ${c^^} | ${plugin_name[$c]} ($(msf "$pw")) | ${cold}× | ${warm}× | ${warmf}× | ${rss}× | ${size}× |"
	for g in "cold:$cold:0.8:× plugin" "warm:$warmf:1.5:× floor" "peak RSS cold:$rss:1.0:× plugin"; do
		IFS=: read -r what v limit unit <<<"$g"
		if le "$v" "$limit"; then
			goals+=("${c^^} $what ${v}$unit <= ${limit}$unit: met")
			met=$((met + 1))
		else
			goals+=("${c^^} $what ${v}$unit > ${limit}$unit: MISSED")
			missed=$((missed + 1))
		fi
	done
done
echo
echo "Absolute figures (median wall, p90 wall, median peak RSS):"
echo
echo "| cloud | command | median wall | p90 wall | peak RSS |"
echo "|---|---|---|---|---|"
for c in "${clouds[@]}"; do
	[ -n "${skipped[$c]:-}" ] && continue
	t=$work/out/$c.tsv
	for cmd in plugin cold warm floor; do
		label=$cmd
		[ "$cmd" = plugin ] && label=${plugin_name[$c]}
		echo "| ${c^^} | $label | $(msf "$(col "$t" "$cmd" 2)") | $(msf "$(col "$t" "$cmd" 3)") | $(mib "$(col "$t" "$cmd" 4)") |"
	done
done
echo
echo "cold: ours with its token cache enabled and empty at every run (one token fetch), the cache dirs under"
echo "$(dirname "$work") ($(stat -f -c %T "$work/fresh-tmp")); warm: ours with the token and answer one priming run stored on disk;"
echo "floor: a static Go program that only reads stdin."
echo
echo "Peak RSS: the runner starts children with vfork, so a child's ru_maxrss is the larger of the"
echo "runner's own peak RSS (the floor) and the child's own peak; a figure well above the floor is the child's own."
for c in "${clouds[@]}"; do
	[ -n "${skipped[$c]:-}" ] && continue
	t=$work/out/$c.tsv
	hwm=$(col "$t" "#runner-hwm" 4) pr=$(col "$t" plugin 4) cr=$(col "$t" cold 4)
	if [ "$hwm" -gt 0 ] && [ $((4 * pr)) -ge $((5 * hwm)) ] && [ $((4 * cr)) -ge $((5 * hwm)) ]; then
		echo "  ${c^^}: floor $(mib "$hwm"); ours cold $(mib "$cr") and the plugin $(mib "$pr") are both well above it (>= 1.25x): the ratio is theirs"
	else
		echo "  ${c^^}: floor $(mib "$hwm"); ours cold $(mib "$cr"), the plugin $(mib "$pr"): NOT both well above it, a figure near the floor is an upper bound and the ratio is not exact"
	fi
done
echo
echo "Binary size counted:"
for c in "${clouds[@]}"; do
	[ -n "${skipped[$c]:-}" ] && continue
	cat "$work/out/$c.sizes"
done
echo
echo "Where a cold run of ours spends its package initialization:"
for c in "${clouds[@]}"; do
	[ -n "${skipped[$c]:-}" ] && continue
	cat "$work/out/$c.inittrace"
done
echo
echo "Goals (issue 15): cold <= 0.8x plugin, warm <= 1.5x floor, peak RSS cold <= 1.0x plugin"
for g in "${goals[@]}"; do echo "  $g"; done
echo "$met goals met, $missed missed, $notmeasured cloud(s) not measured"
