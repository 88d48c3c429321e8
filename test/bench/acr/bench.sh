#!/usr/bin/env bash
# Benchmark of the Azure Container Registry backend: wall time and peak RSS of
# whole-process invocations of the plugin against the loopback Azure fake
# (test/fake/azurefake), reached by the real host names through a loopback CONNECT
# proxy (HTTPS_PROXY) with the fake's test CA (SSL_CERT_FILE), measured by the shared
# runner (test/bench/runner).
#
#   cold-mi  --no-cache, managed identity (App Service protocol on loopback): one
#            managed identity call, the registry challenge and the exchange per run
#   cold-sp  --no-cache, service principal with a secret: AAD instance discovery,
#            tenant discovery and token, then challenge and exchange per run
#   warm     --cache-dir with an entry made by one priming run: no network at all
#   dropin   the binary installed as acr-credential-provider, with that plugin's
#            arguments: its warm-up run hands the request to the companion, which
#            records the answer in the default cache ($XDG_CACHE_HOME, pointed into the
#            temp dir); every timed run is the front end replaying it, no network
#   plugin (ACR_PLUGIN=/path/to/acr-credential-provider, the name side-by-side.sh reads
#            too): Azure's own plugin, same azure.json, same fake, for comparison; its
#            answer is checked once first
#
# Every binary is built static (CGO_ENABLED=0, -trimpath); helpers in test/bench/lib.sh.
# Usage: test/bench/acr/bench.sh            (N=30 runs per command; N=100 for more)
# Reference on these machines: acr-credential-provider, managed identity + exchange on
# loopback fakes, 28 ms median wall, 26 MiB peak RSS for one cold run.
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench_init
N=${N:-30}
work=$BENCH_WORK

bench_build_ours "$work/bin"
bench_build_tools
ours=$work/bin/image-credential-provider
ln -s image-credential-provider "$work/bin/acr-credential-provider"

bench_start_fake azure "$BENCH_TOOLS/fakeazure" -ca-out "$work/ca.pem" -user-assigned ua-bench -secret-principal sp-bench=fake-bench-secret
tenant=$(bench_fake_val azure AZURE_TENANT_ID)

printf '%s\n' '{"useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-bench"}' >"$work/azure-mi.json"
printf '{"tenantId":"%s","aadClientId":"sp-bench","aadClientSecret":"fake-bench-secret"}\n' "$tenant" >"$work/azure-sp.json"
bench_request "$work/request.json" myacr.azurecr.io/team/app

# Everything the plugins may read from the environment points into $work or the fake.
bench_env_acr azure

acr=(--backends=acr)
# Check both identities answer with an ACR refresh token, and prime the warm cache.
for id in mi sp; do
	env "${BENCH_ENV[@]}" "$ours" "${acr[@]}" --no-cache --acr-azure-config "$work/azure-$id.json" \
		<"$work/request.json" >"$work/check-$id.json"
	bench_check_answer "$work/check-$id.json" acr "the $id run"
done
env "${BENCH_ENV[@]}" "$ours" "${acr[@]}" --cache-dir "$work/cache" --acr-azure-config "$work/azure-mi.json" \
	<"$work/request.json" >"$work/primed.json"
bench_check_answer "$work/primed.json" acr "the priming run"
if [ -n "${ACR_PLUGIN:-}" ]; then
	env "${BENCH_ENV[@]}" "$ACR_PLUGIN" "$work/azure-mi.json" <"$work/request.json" >"$work/plugin.json"
	bench_check_answer "$work/plugin.json" acr "acr-credential-provider"
fi

cmds=(
	-cmd "cold-mi=$ours ${acr[*]} --no-cache --acr-azure-config $work/azure-mi.json"
	-cmd "cold-sp=$ours ${acr[*]} --no-cache --acr-azure-config $work/azure-sp.json"
	-cmd "warm=$ours ${acr[*]} --cache-dir $work/cache --acr-azure-config $work/azure-mi.json"
	-cmd "dropin=$work/bin/acr-credential-provider $work/azure-mi.json"
)
if [ -n "${ACR_PLUGIN:-}" ]; then
	cmds+=(-cmd "plugin=$ACR_PLUGIN $work/azure-mi.json")
fi

bench_runner -n "$N" -stdin "$work/request.json" "${BENCH_ENV_FLAGS[@]}" "${cmds[@]}"

# The fake's counters: cold runs cost one exchange each, the drop-in's warm-up run one,
# warm runs none.
bench_stop_fake azure
echo "fake Azure calls (2 checks + 1 priming run + the cold runs + 1 drop-in warm-up, + 1 check and the plugin runs when ACR_PLUGIN is set; warm runs must add none):"
cat "$work/fake-azure.log"
# Without Azure's plugin every call is ours: check the figure (the plugin's own calls
# per run are not known here, so with it the counters are only shown).
if [ -z "${ACR_PLUGIN:-}" ]; then
	want=$((2 + 1 + 2 * (N + 1) + 1))
	got=$(bench_fake_count azure exchanges)
	echo "refresh token exchanges: $got, want $want"
	[ "$got" -eq "$want" ] || bench_die "the fake counted $got exchanges, want $want: a warm or drop-in run made a call, or a cold run did not"
fi
