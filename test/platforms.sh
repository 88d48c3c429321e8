#!/usr/bin/env bash
# Platforms: Windows and arm64 without a Windows or arm64 machine.
#
#   1. go build and go vet of every package for windows/amd64, windows/arm64 and
#      linux/arm64;
#   2. the unit tests of the packages in WINDOWS below, built as windows/amd64 binaries
#      and run under wine, in a private wine prefix under the work directory;
#   3. the unit tests of the packages in ARM64 below, built as linux/arm64 binaries and
#      run under qemu-user.
#
# Every package with tests is in each list or excluded from it with a reason (the
# script checks). Prints a line per build and per package and platform, lists skipped
# tests with their reasons (a skip is not a pass), and ends with "N passed, M failed":
# each build+vet and each package's tests on each platform count one. Exit status is
# non-zero when something failed.
#
# Installs what it lacks with apt-get (wine64, gcc-mingw-w64-x86-64, qemu-user-static;
# root only). See ../../shared/docs/emulated-platforms.md for why wine needs the
# ProcessPrng shim built here (test/platforms/processprng.c).
#
# Environment:
#   PLATFORMS_TIMEOUT  overall limit in seconds (default 1800)
#   PLATFORMS          which test runs: "windows arm64" (default), "windows" or "arm64"
#   KEEP_WORK=1        keep the work directory (logs, wine prefix)
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
  ./acr/azureconfig
  ./acr/exchange
  ./cache
  ./ecr/ecrhost
  ./internal/answer
  ./internal/cliargs
  ./internal/duration
  ./internal/imageref
  ./internal/match
  ./internal/protocol
  ./internal/quote
  ./providers
  ./test/fake/awsfake
  ./test/fake/azurefake
  ./test/fake/connectproxy
  ./test/fake/gcpfake
  ./test/fake/registry
  ./test/fake/testca
)
# Packages with tests that are not run under wine, and why.
# shellcheck disable=SC2034 # read through a nameref
declare -A WINDOWS_OUT=(
  [./acr]="its tests paste Windows paths into azure.json unescaped (a backslash starts a JSON escape)"
  [./dockercfg]="its test credential helpers are shell scripts, and it expects Linux default paths and Linux error texts"
  [./ecr]="TestUnreachableEndpointFailsInBoundedTime expects Linux's \"connection refused\" error text"
  [./gcr]="TestKeyFileFailures expects Linux's \"no such file\" error text"
  [./cmd/image-credential-provider]="its TestMain builds the plugin with the go command, which a Windows test binary cannot run under wine"
  [./cmd/image-credential-provider-fast]="its tests build binaries with the go command, which a Windows test binary cannot run under wine"
  [./test/bench/runner]="a Linux measuring tool: peak RSS from Linux's rusage, shell scripts as the commands it times"
  [./test/fake/cmd/fakes]="checks its shell exports with bash; the fakes serve the Linux harness"
)

# Run as linux/arm64 test binaries under qemu-user.
ARM64=(
  ./acr
  ./acr/azureconfig
  ./acr/exchange
  ./cache
  ./dockercfg
  ./ecr
  ./ecr/ecrhost
  ./gcr
  ./internal/answer
  ./internal/cliargs
  ./internal/duration
  ./internal/imageref
  ./internal/match
  ./internal/protocol
  ./internal/quote
  ./providers
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
  [./cmd/image-credential-provider]="its tests build the plugin and start it directly; an arm64 binary started by an emulated process needs binfmt_misc, which this script does not register on the host"
  [./cmd/image-credential-provider-fast]="its tests build binaries and start them directly (see ./cmd/image-credential-provider)"
)

# ---------------------------------------------------------------------------- helpers
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); say "PASS  $*"; }
fail() { FAILED=$((FAILED + 1)); say "FAIL  $*"; }
finish() {
  say ""
  say "platforms: $(elapsed "$START") in all"
  say "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
  exit
}

# check_lists NAME LIST_ARRAY OUT_ASSOC: every package with tests is in the list or
# excluded with a reason, and the list names only such packages.
check_lists() {
  local -n list=$2 out=$3
  local pkg ok=0
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
  return $ok
}

# excluded NAME OUT_ASSOC: say what is left out and why.
excluded() {
  local -n out=$2
  local pkg
  for pkg in $(printf '%s\n' "${!out[@]}" | sort); do
    say "      not on $1: $pkg: ${out[$pkg]}"
  done
}

# run_tests PLATFORM LOG GO_TEST_FLAGS... -- PKG...: go test (with the environment the
# caller set) and one line per package; skipped tests are listed with what they logged.
run_tests() {
  local platform=$1 log=$2 pkg ip t flags=()
  shift 2
  while [ "$1" != -- ]; do
    flags+=("$1")
    shift
  done
  shift
  t=$(now)
  go test -v -p 2 -timeout 15m "${flags[@]}" "$@" >"$log" 2>&1
  for pkg in "$@"; do
    ip="$MODULE/${pkg#./}"
    if grep -qE "^ok  	$ip	" "$log"; then
      pass "$platform $pkg ($(grep -E "^ok  	$ip	" "$log" | cut -f3))"
    else
      fail "$platform $pkg"
      package_output "$log" "$ip" | grep -E -- '--- FAIL|\.go:[0-9]+:|panic|build failed|setup failed|^#' | head -40 | sed 's/^/      /'
    fi
  done
  awk '
    /^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
    /^ *--- SKIP: / { name = $3; printf "      skipped on %s: %s\n", platform, name; n = split(logs[name], l, "\n"); for (i = 1; i <= n; i++) if (l[i] != "") printf "        %s\n", l[i]; next }
    /^    / && !/--- (PASS|FAIL|SKIP)/ && cur != "" { logs[cur] = logs[cur] $0 "\n" }
  ' platform="$platform" "$log"
  say "      $platform tests: $(elapsed "$t")"
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

# ----------------------------------------------------------------------------- lists
mapfile -t WITH_TESTS < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | sed "s|^$MODULE|.|")
check_lists windows WINDOWS WINDOWS_OUT || { fail "lists"; finish; }
check_lists arm64 ARM64 ARM64_OUT || { fail "lists"; finish; }

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
  excluded windows WINDOWS_OUT
  WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
  need=()
  [ -x "$WINE" ] || need+=(wine64)
  command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
  [ ${#need[@]} = 0 ] || install "${need[@]}"
  WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
  WINESERVER=$(dirname "$WINE")/wineserver

  t=$(now)
  export WINEPREFIX="$WORK/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  "$WINE" wineboot --init >"$WORK/wineboot.log" 2>&1
  "$WINESERVER" -w
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
  "$WINESERVER" -p >/dev/null 2>&1
  "$WINE" cmd.exe /c exit </dev/null >/dev/null 2>&1
  # shellcheck disable=SC2154 # status is set in the trap itself
  trap 'status=$?; "$WINESERVER" -k >/dev/null 2>&1; (exit $status); icp_cleanup' EXIT
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$WINE" >"$WORK/wine-exec"
  chmod +x "$WORK/wine-exec"
  say "      wine prefix and shim ready in $(elapsed "$t")"

  # wine 8.0 answers FileDispositionInformationEx with STATUS_NOT_IMPLEMENTED where
  # Windows without it answers STATUS_INVALID_INFO_CLASS; Go 1.26's os.RemoveAll only
  # falls back to the older call on the latter, so every t.TempDir cleanup would fail.
  # The Windows test builds get Go's own source with wine's status added to that
  # fallback (a build overlay; nothing else changes).
  overlay=()
  at="$(go env GOROOT)/src/internal/syscall/windows/at_windows.go"
  if [ -f "$at" ] && grep -q '^		STATUS_NOT_SUPPORTED: ' "$at"; then
    sed 's|^\(		STATUS_NOT_SUPPORTED\):\(.*\)$|\1,\2\n		NTStatus(0xC0000002): // STATUS_NOT_IMPLEMENTED: wine 8.0|' "$at" >"$WORK/at_windows.go"
    printf '{"Replace":{"%s":"%s"}}\n' "$at" "$WORK/at_windows.go" >"$WORK/overlay.json"
    overlay=(-overlay "$WORK/overlay.json")
  else
    say "      note: Go's RemoveAll fallback was not found in $at; test directory cleanups may fail under wine"
  fi

  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 \
    run_tests windows/amd64 "$WORK/windows.log" "${overlay[@]}" -exec "$WORK/wine-exec" -- "${WINDOWS[@]}"
fi

# --------------------------------------------------------------------- 3. under qemu
if [[ " $PLATFORMS " == *" arm64 "* ]]; then
  say "== linux/arm64 under qemu: ${#ARM64[@]} packages"
  excluded arm64 ARM64_OUT
  command -v qemu-aarch64-static >/dev/null || install qemu-user-static
  QEMU=$(command -v qemu-aarch64-static)
  # ICP_TEST_EXEC: tests that start processes of the platform under test prefix them
  # with the emulator (the kernel has no binfmt_misc entry for arm64 here).
  GOARCH=arm64 CGO_ENABLED=0 ICP_TEST_EXEC="$QEMU" \
    run_tests linux/arm64 "$WORK/arm64.log" -exec "$QEMU" -- "${ARM64[@]}"
fi

finish
