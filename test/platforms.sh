#!/usr/bin/env bash
# Platforms: Windows and arm64 without a Windows or arm64 machine.
#
#   1. go build and go vet of every package for windows/amd64, windows/arm64 and
#      linux/arm64;
#   2. the tests of the packages in WINDOWS below, built as windows/amd64 test binaries
#      and run under wine, in a private wine prefix under the work directory. The
#      binary-level tests among them (internal/testbin) drive the product's own
#      windows/amd64 binaries, built here into one directory (ICP_TEST_BIN_DIR): the
#      front end hands over to its companions there as it does on a Windows node, as
#      a child process in a job object; the loopback fakes run in the test process.
#      The tests that run the go command check what the Windows binaries link on the
#      host instead, with go list for windows/amd64 (2b);
#   3. the tests of the packages in ARM64 below, built as linux/arm64 test binaries
#      and run under qemu-user, the binary-level ones against linux/arm64 binaries. A
#      process under qemu-user starts another arm64 binary (the front end's execve of a
#      companion, a test's child) only through the kernel's binfmt_misc, so the script
#      registers qemu-aarch64 there for the run (root only; removed at the end);
#      without it the packages that need it are NOT RUN, with the reason.
#
# Every package with tests is in each list or excluded from it with a reason, and every
# test left out on a platform is named with a reason (the script checks both). Prints a
# line per build and per package and platform, lists skipped tests with their reasons
# (a skip is not a pass), then the proofs issue 16 asks for, one line each (PASS, FAIL,
# or NOT RUN with the reason: a test that could not run is never counted as passed),
# and ends with "N passed, M failed": each build+vet, each package's tests on each
# platform, each host link check and each proof count one. Exit status is non-zero
# when something failed.
#
# Installs what it lacks with apt-get (wine64, gcc-mingw-w64-x86-64, qemu-user-static;
# root only). See ../../shared/docs/emulated-platforms.md for why wine needs the
# ProcessPrng shim built here (test/platforms/processprng.c).
#
# Environment:
#   PLATFORMS_TIMEOUT  overall limit in seconds (default 1800)
#   PLATFORMS          which test runs: "windows arm64" (default), "windows" or "arm64"
#   KEEP_WORK=1        keep the work directory (logs, wine prefix, binaries)
set -uo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "$0")/harness/lib.sh"
icp_init platforms "${PLATFORMS_TIMEOUT:-1800}"
PLATFORMS=${PLATFORMS:-windows arm64}
MODULE=$(go list -m)
START=$(now)

# ------------------------------------------------------------------ the package lists

# Run as windows/amd64 test binaries under wine.
WINDOWS=(
  ./acr
  ./acr/acrhost
  ./acr/acrtoken
  ./acr/azureconfig
  ./acr/exchange
  ./cache
  ./cmd/image-credential-provider
  ./dockercfg
  ./ecr
  ./ecr/ecrhost
  ./ecr/ecrtoken
  ./gcr
  ./gcr/gcrhost
  ./gcr/gcrtoken
  ./hack/notices
  ./hack/release
  ./internal/answer
  ./internal/backends
  ./internal/binaries
  ./internal/check
  ./internal/cliargs
  ./internal/config
  ./internal/dnsname
  ./internal/duration
  ./internal/filestate
  ./internal/frontend
  ./internal/handoff
  ./internal/imageref
  ./internal/install
  ./internal/kubeletconfig
  ./internal/kubeletproc
  ./internal/match
  ./internal/nodecmd
  ./internal/plugin
  ./internal/proctree
  ./internal/protocol
  ./internal/quote
  ./internal/strictyaml
  ./internal/textfile
  ./internal/tty
  ./internal/udiff
  ./internal/version
  ./internal/wirelog
  ./providers
  ./test/bench/checkanswer
  ./test/fake/awsfake
  ./test/fake/azurefake
  ./test/fake/cmd/fakes
  ./test/fake/connectproxy
  ./test/fake/gcpfake
  ./test/fake/registry
  ./test/fake/testca
)
# Packages with tests that are not run under wine, and why.
# shellcheck disable=SC2034 # read through a nameref
declare -A WINDOWS_OUT=(
  [./internal/godeps]="it tests the go list wrapper itself, which runs the go command (a Windows test binary under wine cannot); nothing in it depends on the platform"
  [./internal/lightdeps]="it runs go list; run on the host against GOOS=windows instead (2b)"
  [./test/bench/runner]="a Linux measuring tool: peak RSS from Linux's rusage, shell scripts as the commands it times"
  [./test/bench/bounds]="Linux measuring programs for test/bench/bounds.sh (front hands over with execve); its test builds them with the go command"
  [./internal/docs]="it holds README.md to the names of the configuration keys and of the flags, which are the same on every platform; it runs in go test ./..."
)
# Tests of packages in WINDOWS that are not run under wine (go test -skip), and why.
# shellcheck disable=SC2034 # read through a nameref
declare -A WINDOWS_SKIP=(
  [TestLinksNothingHeavy]="runs go list; run on the host against GOOS=windows instead (2b)"
  [TestFrontEndLinksNothingHeavy]="runs go list; run on the host against GOOS=windows instead (2b)"
  [TestCompanionsLinkOneCloud]="runs go list; run on the host against GOOS=windows instead (2b)"
  [TestBuiltBinary]="builds a binary with the go command; the Windows binaries' version line is checked by the binary-level tests"
  [TestCommittedFileIsCurrent]="runs go list for every release platform, windows/amd64 included, from any host; it runs in go test ./..."
  [TestShellExportsQuote]="checks the fakes' shell exports with bash, for the Linux harness"
  [TestSymlinkedKubeletConfig]="a kubelet config reached through a symbolic link: wine 8 reports a link made and makes none"
)
# What the Windows binaries link, checked on the host with go list for windows/amd64:
# package:test regexp.
HOST_LINKS=(
  "./internal/lightdeps:."
  "./internal/imageref:^TestLinksNothingHeavy$"
  "./internal/protocol:^TestLinksNothingHeavy$"
  "./internal/frontend:^(TestFrontEndLinksNothingHeavy|TestCompanionsLinkOneCloud)$"
)

# Run as linux/arm64 test binaries under qemu-user.
ARM64=(
  ./acr
  ./acr/acrhost
  ./acr/acrtoken
  ./acr/azureconfig
  ./acr/exchange
  ./cache
  ./cmd/image-credential-provider
  ./dockercfg
  ./ecr
  ./ecr/ecrhost
  ./ecr/ecrtoken
  ./gcr
  ./gcr/gcrhost
  ./gcr/gcrtoken
  ./hack/notices
  ./hack/release
  ./internal/answer
  ./internal/backends
  ./internal/binaries
  ./internal/check
  ./internal/cliargs
  ./internal/config
  ./internal/dnsname
  ./internal/duration
  ./internal/filestate
  ./internal/frontend
  ./internal/godeps
  ./internal/handoff
  ./internal/imageref
  ./internal/install
  ./internal/kubeletconfig
  ./internal/kubeletproc
  ./internal/lightdeps
  ./internal/match
  ./internal/nodecmd
  ./internal/plugin
  ./internal/proctree
  ./internal/protocol
  ./internal/quote
  ./internal/strictyaml
  ./internal/textfile
  ./internal/tty
  ./internal/udiff
  ./internal/version
  ./internal/wirelog
  ./providers
  ./test/bench/checkanswer
  ./test/bench/runner
  ./test/fake/awsfake
  ./test/fake/azurefake
  ./test/fake/cmd/fakes
  ./test/fake/connectproxy
  ./test/fake/gcpfake
  ./test/fake/registry
  ./test/fake/testca
)
# shellcheck disable=SC2034 # read through a nameref
declare -A ARM64_OUT=(
  [./test/bench/bounds]="measuring programs for test/bench/bounds.sh, timed on the host; its test builds them with the go command"
  [./internal/docs]="it holds README.md to the names of the configuration keys and of the flags, which are the same on every platform; it runs in go test ./..."
)
# shellcheck disable=SC2034 # read through a nameref
declare -A ARM64_SKIP=()
# Packages of ARM64 whose tests start arm64 binaries from an emulated process: run only
# with binfmt_misc registered (see 3).
ARM64_NEEDS_BINFMT=(./cmd/image-credential-provider ./internal/frontend ./internal/handoff)

# The proofs issue 16 asks for on each platform: description|test (its package is in
# both lists; its result is read from the platform's log).
PROOFS=(
  "static backend answering a kubelet request (front end, companion, every API version)|TestKubeletModeEveryAPIVersion"
  "Google backend against the loopback fake, the second run served from the disk cache (the fake counts one call)|TestCacheDirSettings"
  "ECR backend against the loopback fake, the second run asks AWS nothing, per-role entries kept apart|TestECRCacheBetweenRuns"
  "parallel cold runs (50; 20 under wine, as the issue asks) go upstream once: one fetches, the others answer with its token|TestCacheParallelInvocationsMakeOneUpstreamCall"
  "a cache entry others may change (Windows: an access list letting Everyone write; Linux: its mode) is ignored and replaced by a private one|TestCacheLooseEntryIgnoredAndReplaced"
  "an unsafe cache directory (Windows: Everyone may write; Linux: modes, symlink, owner) is refused and the pull still answered|TestCacheUnsafeDirFallsBackToNoCache"
  "the front end replays a recorded answer with no companion installed|TestReplayAfterMiss"
  "single-cloud plugin names (.exe on Windows) reach their companion|TestDropInNamesGoToTheirCompanion"
  "ECR drop-in ecr-credential-provider with that plugin's arguments|TestECRDropIn"
  "Azure (ACR) backend against the loopback fake|TestACRManagedIdentityHosts"
)

# ---------------------------------------------------------------------------- helpers
PASSED=0
FAILED=0
NOTRUN=0
pass() { PASSED=$((PASSED + 1)); say "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL  $*"; }
notrun() { NOTRUN=$((NOTRUN + 1)); say "NOT RUN  $*"; }
finish() {
  say ""
  say "platforms: $(elapsed "$START") in all"
  [ "$NOTRUN" = 0 ] || say "$NOTRUN not run (counted neither way; see NOT RUN above)"
  say "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
  exit
}

# The run's own wine server and binfmt_misc entry go with it.
WINESERVER=""
BINFMT_DIR=/proc/sys/fs/binfmt_misc
BINFMT_NAME=""
BINFMT_MOUNTED=0
# shellcheck disable=SC2317 # run by the EXIT trap
platforms_cleanup() {
  local status=$?
  [ -z "$WINESERVER" ] || "$WINESERVER" -k >/dev/null 2>&1
  binfmt_unregister
  (exit "$status")
  icp_cleanup
}
trap platforms_cleanup EXIT

# check_lists NAME LIST_ARRAY OUT_ASSOC SKIP_ASSOC: every package with tests is in the
# list or excluded with a reason, the list names only such packages, and every skipped
# test exists.
check_lists() {
  local -n list=$2 out=$3 skip=$4
  local pkg name ok=0
  for pkg in "${WITH_TESTS[@]}"; do
    if [[ " ${list[*]} " != *" $pkg "* ]] && [ -z "${out[$pkg]:-}" ]; then
      say "FAIL lists: $pkg has tests but is neither in $1's list nor excluded from it with a reason"
      ok=1
    fi
  done
  for pkg in "${list[@]}" "${!out[@]}"; do
    if [[ " ${WITH_TESTS[*]} " != *" $pkg "* ]]; then
      say "FAIL lists: $1 names $pkg, which has no tests"
      ok=1
    fi
  done
  for name in "${!skip[@]}"; do
    if ! git grep -q "^func $name(t \*testing.T)" -- '*_test.go'; then
      say "FAIL lists: $1 leaves out $name, which is no test"
      ok=1
    fi
  done
  return $ok
}

# excluded NAME OUT_ASSOC SKIP_ASSOC: say what is left out and why.
excluded() {
  local -n out=$2 skip=$3
  local k
  for k in $(printf '%s\n' "${!out[@]}" | sort); do
    say "      not on $1: package $k: ${out[$k]}"
  done
  for k in $(printf '%s\n' "${!skip[@]}" | sort); do
    say "      not on $1: test $k: ${skip[$k]}"
  done
}

# skip_regexp SKIP_ASSOC: the go test -skip argument leaving out those tests.
skip_regexp() {
  local -n skip=$1
  local IFS='|'
  [ ${#skip[@]} = 0 ] || printf '^(%s)$' "${!skip[*]}"
}

# run_tests PLATFORM LOG GO_TEST_FLAGS... -- PKG...: go test (with the environment the
# caller set) and one line per package; skipped tests are listed with what they logged.
# PACKAGE_TIMEOUT: how long one package's tests may take under an emulator; the
# slowest takes about 2 minutes under qemu, 1 under wine (a hang costs this much).
PACKAGE_TIMEOUT=${PACKAGE_TIMEOUT:-5m}

# start_failure LOG IMPORTPATH: prints why, and succeeds, when the package failed only
# because the emulator could not start a process, the one failure that reruns a
# package (see rerun): wine under load now and then answers CreateProcess with
# ERROR_INTERNAL_ERROR, and qemu-user now and then leaves a child of a multi-threaded
# program stuck between fork and exec, so that the test waiting for it times out with
# a goroutine in syscall.forkExec.
start_failure() {
  local out
  out=$(package_output "$1" "$2")
  if grep -m1 -E 'fork/exec [^ ]+: Internal error' <<<"$out"; then
    return 0
  fi
  if grep -q '^panic: test timed out' <<<"$out" && grep -q '^syscall\.forkExec(' <<<"$out"; then
    echo "the tests timed out with a process start stuck between fork and exec"
    return 0
  fi
  return 1
}

# rerun LOG IMPORTPATH PKG GO_TEST_FLAGS...: runs PKG alone, up to twice more, while
# its only failure is one start_failure names; succeeds when a run passes, with RUNS
# the number of that run and LOG.again its output. A package alone on the machine
# meets the emulator's start failures far less often than in the parallel run.
rerun() {
  local log=$1 ip=$2 pkg=$3 i
  shift 3
  for i in 2 3; do
    go test -v -count 1 -timeout "$PACKAGE_TIMEOUT" "$@" "$pkg" >"$log.again" 2>&1
    if grep -qE "^ok  	$ip	" "$log.again"; then
      RUNS=$i
      return 0
    fi
    start_failure "$log.again" "$ip" >/dev/null || return 1
  done
  return 1
}

run_tests() {
  local platform=$1 log=$2 pkg ip t why flags=()
  shift 2
  while [ "$1" != -- ]; do
    flags+=("$1")
    shift
  done
  shift
  t=$(now)
  go test -v -p 2 -timeout "$PACKAGE_TIMEOUT" "${flags[@]}" "$@" >"$log" 2>&1
  for pkg in "$@"; do
    ip="$MODULE/${pkg#./}"
    rm -f "$log.again"
    if grep -qE "^ok  	$ip	" "$log"; then
      pass "$platform $pkg ($(grep -E "^ok  	$ip	" "$log" | cut -f3))"
    elif why=$(start_failure "$log" "$ip") && rerun "$log" "$ip" "$pkg" "${flags[@]}"; then
      # The package ran again alone (see start_failure and rerun), and the line says so.
      pass "$platform $pkg (on run $RUNS; the runs before it could not start a process: $(printf '%s' "$why" | sed 's/^ *//' | cut -c1-160))"
      package_output "$log" "$ip" | sed -n '/^[[:space:]]*running tests:/,/^$/{/^$/d;p}' | head -8 | sed 's/^/      first run: /'
      cat "$log.again" >>"$log"
    else
      fail "$platform $pkg"
      # The last run's output: the first, or the last rerun.
      [ -s "$log.again" ] && cp "$log.again" "$log.failed" || cp "$log" "$log.failed"
      package_output "$log.failed" "$ip" | failure_lines | head -60 | sed 's/^/      /'
      if grep -q '^panic: test timed out' <(package_output "$log.failed" "$ip"); then
        say "      where the goroutines were (the first frame outside the runtime), for a hang:"
        package_output "$log.failed" "$ip" | awk '
          /^goroutine [0-9]+ / { g = 1; next }
          g && /^[A-Za-z]/ && !/^(runtime\.|internal\/|sync\.|created by)/ { f = $0; sub(/\([^()]*\)$/, "", f); print "        " f; g = 0 }
        ' | sort | uniq -c | sort -rn | head -15
      fi
    fi
  done
  awk '
    /^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
    /^ *--- SKIP: / { name = $3; printf "      skipped on %s: %s\n", platform, name; n = split(logs[name], l, "\n"); for (i = 1; i <= n; i++) if (l[i] != "") printf "        %s\n", l[i]; next }
    /^    / && !/--- (PASS|FAIL|SKIP)/ && cur != "" { logs[cur] = logs[cur] $0 "\n" }
  ' platform="$platform" "$log"
  say "      $platform tests: $(elapsed "$t")"
}

# failure_lines: of a package's output, the lines that say why it failed: failures,
# each test message with the lines it runs on to (a message holding a program's
# stderr spans several), panics and build errors.
failure_lines() {
  awk '
    /^[[:space:]]*(---|===) / { more = 0 }
    /--- FAIL|\.go:[0-9]+:|panic|build failed|setup failed|^#|^[[:space:]]*running tests:|^[[:space:]]+Test/ {
      print; more = /\.go:[0-9]+:/; next
    }
    more && /^[[:space:]]/ { print; next }
    { more = 0 }
  '
}

# package_output LOG IMPORTPATH: the lines go test printed for one package.
package_output() {
  awk -v ip="$2" '
    { buf = buf $0 "\n" }
    /^(ok|FAIL|\?) +\t?[^ \t]+/ || /^(ok|FAIL)\t/ {
      split($0, f, /[ \t]+/)
      if (f[2] == ip) { printf "%s", buf }
      buf = ""
    }
  ' "$1"
}

# proofs PLATFORM LOG [REASON]: one line per proof, from the test results in LOG; with
# REASON (the packages did not run at all), every proof is NOT RUN for it.
proofs() {
  local platform=$1 log=$2 reason=${3:-} p what name why
  say "== proofs on $platform"
  for p in "${PROOFS[@]}"; do
    what=${p%|*} name=${p##*|}
    if [ -n "$reason" ]; then
      notrun "$platform proof: $what ($name): $reason"
    elif grep -qE -- "--- PASS: $name \(" "$log"; then
      pass "$platform proof: $what ($name)"
    elif grep -qE -- "--- FAIL: $name \(" "$log"; then
      fail "$platform proof: $what ($name)"
    elif grep -qE -- "--- SKIP: $name \(" "$log"; then
      why=$(awk -v n="$name" '$0 ~ "^=== RUN   " n "$" { on = 1; next } on && /^    / { sub(/^ +[^ ]+_test\.go:[0-9]+: /, ""); print; exit }' "$log")
      notrun "$platform proof: $what ($name): skipped: ${why:-no reason logged}"
    else
      fail "$platform proof: $what ($name): no result in the log"
    fi
  done
}

# install PACKAGE...: apt-get install, root only.
install() {
  if [ "$(id -u)" != 0 ]; then
    fail "setup: ${*} missing, and installing them needs root"
    finish
  fi
  say "installing $* (apt-get)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >"$WORK/apt.log" 2>&1; then
    tail -20 "$WORK/apt.log"
    fail "setup: apt-get install $*"
    finish
  fi
}

# build_binaries GOOS GOARCH DIR: every binary under cmd/, static, as released.
build_binaries() {
  mkdir -p "$3"
  GOOS=$1 GOARCH=$2 CGO_ENABLED=0 go build -trimpath -o "$3/" ./cmd/... 2>"$WORK/build-$1-$2.log"
}

# binfmt_register QEMU: lets the kernel start linux/arm64 binaries through qemu, with an
# entry of this run's own (the system's own entry, when there is one, serves as well).
# Sets BINFMT_WHY and fails when it cannot.
binfmt_register() {
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf e
  BINFMT_WHY=""
  if [ "$(id -u)" != 0 ]; then
    BINFMT_WHY="starting an arm64 binary from an emulated process needs binfmt_misc, and registering it needs root"
    return 1
  fi
  if [ ! -e "$BINFMT_DIR/register" ]; then
    if ! mount -t binfmt_misc binfmt_misc "$BINFMT_DIR" 2>"$WORK/binfmt.log"; then
      BINFMT_WHY="binfmt_misc cannot be mounted here ($(head -1 "$WORK/binfmt.log"))"
      return 1
    fi
    BINFMT_MOUNTED=1
  fi
  for e in "$BINFMT_DIR"/*; do
    case ${e##*/} in register | status) continue ;; esac
    if grep -qx enabled "$e" 2>/dev/null && grep -q '^interpreter .*aarch64' "$e" 2>/dev/null; then
      say "      binfmt_misc: the system's entry ${e##*/} starts arm64 binaries"
      return 0
    fi
  done
  if [ ! -f "$conf" ]; then
    BINFMT_WHY="$conf (qemu-user-static's binfmt entry) is missing"
    return 1
  fi
  BINFMT_NAME="icp-platforms-aarch64-$$"
  # The entry qemu-user-static ships, under this run's name: magic and mask of an
  # aarch64 ELF, the interpreter that keeps argv[0] (P), opened now (F).
  if ! sed -n "s/^:qemu-aarch64:/:$BINFMT_NAME:/p" "$conf" >"$BINFMT_DIR/register" 2>"$WORK/binfmt.log"; then
    BINFMT_WHY="registering with binfmt_misc failed: $(head -1 "$WORK/binfmt.log")"
    BINFMT_NAME=""
    return 1
  fi
  say "      binfmt_misc: registered $BINFMT_NAME for the run"
}

binfmt_unregister() {
  if [ -n "$BINFMT_NAME" ] && [ -e "$BINFMT_DIR/$BINFMT_NAME" ]; then
    echo -1 >"$BINFMT_DIR/$BINFMT_NAME" 2>/dev/null
  fi
  BINFMT_NAME=""
  if [ "$BINFMT_MOUNTED" = 1 ] && [ "$(find "$BINFMT_DIR" -mindepth 1 -maxdepth 1 ! -name register ! -name status | wc -l)" = 0 ]; then
    umount "$BINFMT_DIR" 2>/dev/null
  fi
  BINFMT_MOUNTED=0
}

# ----------------------------------------------------------------------------- lists
mapfile -t WITH_TESTS < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | sed "s|^$MODULE|.|")
check_lists windows WINDOWS WINDOWS_OUT WINDOWS_SKIP || { fail "lists"; finish; }
check_lists arm64 ARM64 ARM64_OUT ARM64_SKIP || { fail "lists"; finish; }

# ------------------------------------------------------------------- 1. build and vet
say "== build and vet"
for target in windows/amd64 windows/arm64 linux/arm64; do
  t=$(now)
  if out=$(GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build ./... 2>&1 &&
    GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go vet ./... 2>&1); then
    pass "build+vet $target ($(elapsed "$t"))"
  else
    fail "build+vet $target"
    printf '%s\n' "$out" | head -30 | sed 's/^/      /'
  fi
done

# -------------------------------------------------------------------- 2. under wine
if [[ " $PLATFORMS " == *" windows "* ]]; then
  say "== windows/amd64 under wine: ${#WINDOWS[@]} packages"
  excluded windows WINDOWS_OUT WINDOWS_SKIP
  WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
  need=()
  [ -x "$WINE" ] || need+=(wine64)
  command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
  [ ${#need[@]} = 0 ] || install "${need[@]}"
  WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)

  t=$(now)
  export WINEPREFIX="$WORK/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  "$WINE" wineboot --init >"$WORK/wineboot.log" 2>&1
  "$(dirname "$WINE")/wineserver" -w
  # Go 1.22+ needs ProcessPrng from bcryptprimitives.dll, which wine 8.0 lacks.
  if ! x86_64-w64-mingw32-gcc -shared -O2 -s -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    test/platforms/processprng.c -ladvapi32 2>"$WORK/shim.log"; then
    cat "$WORK/shim.log"
    fail "setup: the ProcessPrng shim does not build"
    finish
  fi
  # One wine server for every test binary, stopped when the run ends, with wine's own
  # background processes started now: started by the first test binary, they would
  # inherit its stdout and go test would wait for them to close it.
  WINESERVER=$(dirname "$WINE")/wineserver
  "$WINESERVER" -p >/dev/null 2>&1
  "$WINE" cmd.exe /c exit </dev/null >/dev/null 2>&1
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$WINE" >"$WORK/wine-exec"
  chmod +x "$WORK/wine-exec"
  say "      wine prefix and shim ready in $(elapsed "$t")"

  # wine 8.0 answers FileDispositionInformationEx with STATUS_NOT_IMPLEMENTED where
  # Windows without it answers STATUS_INVALID_INFO_CLASS; Go 1.26's os.RemoveAll only
  # falls back to the older call on the latter, so every t.TempDir cleanup would fail.
  # The Windows test builds get Go's own source with wine's status added to that
  # fallback (a build overlay; nothing else changes). The product's binaries are built
  # without it, as released.
  overlay=()
  at="$(go env GOROOT)/src/internal/syscall/windows/at_windows.go"
  if [ -f "$at" ] && grep -q '^		STATUS_NOT_SUPPORTED: ' "$at"; then
    sed 's|^\(		STATUS_NOT_SUPPORTED\):\(.*\)$|\1,\2\n		NTStatus(0xC0000002): // STATUS_NOT_IMPLEMENTED: wine 8.0|' "$at" >"$WORK/at_windows.go"
    printf '{"Replace":{"%s":"%s"}}\n' "$at" "$WORK/at_windows.go" >"$WORK/overlay.json"
    overlay=(-overlay "$WORK/overlay.json")
  else
    say "      note: Go's RemoveAll fallback was not found in $at; test directory cleanups may fail under wine"
  fi

  t=$(now)
  if build_binaries windows amd64 "$WORK/bin-windows-amd64"; then
    say "      windows/amd64 binaries built for the binary-level tests in $(elapsed "$t")"
    winbin=$("$WINE" winepath -w "$WORK/bin-windows-amd64" 2>/dev/null)
    # ICP_TEST_PARALLEL_RUNS: the test starting the product 50 times at once starts it
    # 20 times (see testbin.ParallelRuns).
    GOOS=windows GOARCH=amd64 CGO_ENABLED=0 ICP_TEST_BIN_DIR="$winbin" ICP_TEST_PARALLEL_RUNS=20 \
      run_tests windows/amd64 "$WORK/windows.log" "${overlay[@]}" -exec "$WORK/wine-exec" -skip "$(skip_regexp WINDOWS_SKIP)" -- "${WINDOWS[@]}"
    proofs windows/amd64 "$WORK/windows.log"
  else
    sed 's/^/      /' "$WORK/build-windows-amd64.log" | head -20
    fail "build: the windows/amd64 binaries"
    proofs windows/amd64 /dev/null "the binaries did not build"
  fi

  say "== 2b. what the Windows binaries link, on the host (go list for windows/amd64)"
  mkdir -p "$WORK/links"
  for item in "${HOST_LINKS[@]}"; do
    pkg=${item%%:*} run=${item#*:}
    t=$(now)
    bin="$WORK/links/$(basename "$pkg").test"
    if ! go test -c -o "$bin" "$pkg" >"$WORK/links.log" 2>&1; then
      fail "links windows/amd64 $pkg: the test does not build"
      sed 's/^/      /' "$WORK/links.log" | head -20
      continue
    fi
    # The test binary is the host's; the go command it runs lists for windows/amd64.
    if (cd "${pkg#./}" && GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$bin" -test.run "$run" -test.count 1 >"$WORK/links.log" 2>&1) &&
      grep -q '^PASS$' "$WORK/links.log"; then
      pass "links windows/amd64 $pkg $run ($(elapsed "$t"))"
    else
      fail "links windows/amd64 $pkg $run"
      grep -E -- '--- FAIL|\.go:[0-9]+:' "$WORK/links.log" | head -20 | sed 's/^/      /'
    fi
  done
fi

# --------------------------------------------------------------------- 3. under qemu
if [[ " $PLATFORMS " == *" arm64 "* ]]; then
  say "== linux/arm64 under qemu: ${#ARM64[@]} packages"
  excluded arm64 ARM64_OUT ARM64_SKIP
  command -v qemu-aarch64-static >/dev/null || install qemu-user-static
  QEMU=$(command -v qemu-aarch64-static)
  run=("${ARM64[@]}")
  if ! binfmt_register; then
    run=()
    for pkg in "${ARM64[@]}"; do
      if [[ " ${ARM64_NEEDS_BINFMT[*]} " == *" $pkg "* ]]; then
        notrun "linux/arm64 $pkg: $BINFMT_WHY"
      else
        run+=("$pkg")
      fi
    done
  fi
  # The test binaries run with GOMAXPROCS=1 (and so do the processes they start, which
  # inherit it). qemu-user 7.2 (Debian 12) forks the whole emulator for a guest's
  # fork, and a lock another emulator thread holds at that moment stays held in the
  # child, which then never reaches its exec: with one P no other thread runs guest
  # code while Go forks. Measured here on ./cmd/image-credential-provider: a fork stuck
  # in about half of the runs with the default (in 3 runs of 3 on a loaded machine),
  # in none of 8 with GOMAXPROCS=1, each run as fast.
  printf '#!/bin/sh\nGOMAXPROCS=1 exec "%s" "$@"\n' "$QEMU" >"$WORK/qemu-exec"
  chmod +x "$WORK/qemu-exec"
  t=$(now)
  if build_binaries linux arm64 "$WORK/bin-linux-arm64"; then
    say "      linux/arm64 binaries built for the binary-level tests in $(elapsed "$t")"
    # ICP_TEST_EXEC: tests that start processes of the platform under test prefix them
    # with the emulator (needed where binfmt_misc is not registered).
    GOARCH=arm64 CGO_ENABLED=0 ICP_TEST_EXEC="$QEMU" ICP_TEST_BIN_DIR="$WORK/bin-linux-arm64" \
      run_tests linux/arm64 "$WORK/arm64.log" -exec "$WORK/qemu-exec" -skip "$(skip_regexp ARM64_SKIP)" -- "${run[@]}"
    if [ -n "$BINFMT_WHY" ]; then
      proofs linux/arm64 /dev/null "$BINFMT_WHY"
    else
      proofs linux/arm64 "$WORK/arm64.log"
    fi
  else
    sed 's/^/      /' "$WORK/build-linux-arm64.log" | head -20
    fail "build: the linux/arm64 binaries"
    proofs linux/arm64 /dev/null "the binaries did not build"
  fi
  binfmt_unregister
fi

finish
