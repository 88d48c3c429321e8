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
#   dropin-cold (BENCH_DROPIN=1): the binary invoked as acr-credential-provider with the
#            anchor's arguments; off by default because the drop-in uses the default
#            cache directory (/var/lib/... as root), which this script does not touch
#   anchor (ANCHOR_BIN=/path/to/acr-credential-provider): the anchor itself, same
#            azure.json, same fake, for comparison
#
# Usage: test/bench/acr/bench.sh            (N=30 runs per command; N=100 for more)
# Reference on these machines: acr-credential-provider, managed identity + exchange on
# loopback fakes, 28 ms median wall, 26 MiB peak RSS for one cold run.
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

if [ ! -d cmd/image-credential-provider ]; then
	echo "bench: cmd/image-credential-provider is not in this tree yet; nothing to measure" >&2
	exit 1
fi
go build -trimpath -o "$work/image-credential-provider" ./cmd/image-credential-provider
go build -o "$work/fakeazure" ./test/fake/azurefake/cmd/fakeazure
ln -s image-credential-provider "$work/acr-credential-provider"

"$work/fakeazure" -ca-out "$work/ca.pem" -user-assigned ua-bench -secret-principal sp-bench=fake-bench-secret \
	>"$work/fake.env" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do
	grep -qx READY "$work/fake.env" 2>/dev/null && break
	sleep 0.1
done
grep -qx READY "$work/fake.env" || { echo "bench: the Azure fake did not start" >&2; cat "$work/fake.log" >&2; exit 1; }
val() { sed -n "s/^$1=//p" "$work/fake.env"; }
tenant=$(val AZURE_TENANT_ID)

printf '%s\n' '{"useManagedIdentityExtension":true,"userAssignedIdentityID":"ua-bench"}' >"$work/azure-mi.json"
printf '{"tenantId":"%s","aadClientId":"sp-bench","aadClientSecret":"fake-bench-secret"}\n' "$tenant" >"$work/azure-sp.json"
printf '%s\n' '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"myacr.azurecr.io/team/app"}' >"$work/request.json"

# Everything the plugin may read from the environment points into $work or the fake.
mkdir -p "$work/home" "$work/xdg"
runenv=(
	"HTTPS_PROXY=$(val HTTPS_PROXY)" "SSL_CERT_FILE=$(val SSL_CERT_FILE)"
	"IDENTITY_ENDPOINT=$(val IDENTITY_ENDPOINT)" "IDENTITY_HEADER=$(val IDENTITY_HEADER)"
	"HOME=$work/home" "XDG_CACHE_HOME=$work/xdg"
	"AZURE_CLIENT_ID=" "AZURE_TENANT_ID=" "AZURE_CLIENT_SECRET=" "AZURE_FEDERATED_TOKEN_FILE=" "AZURE_AUTHORITY_HOST="
	"NO_PROXY=" "no_proxy="
)
envs=()
for e in "${runenv[@]}"; do envs+=(-env "$e"); done

acr=(--backends=acr)
# Check both identities answer with an ACR refresh token, and prime the warm cache.
for id in mi sp; do
	env "${runenv[@]}" "$work/image-credential-provider" "${acr[@]}" --no-cache --acr-azure-config "$work/azure-$id.json" \
		<"$work/request.json" >"$work/check-$id.json"
	grep -q '"username":"00000000-0000-0000-0000-000000000000"' "$work/check-$id.json" ||
		{ echo "bench: the $id run gave no ACR credentials" >&2; exit 1; }
done
env "${runenv[@]}" "$work/image-credential-provider" "${acr[@]}" --cache-dir "$work/cache" --acr-azure-config "$work/azure-mi.json" \
	<"$work/request.json" >"$work/primed.json"
grep -q '"username":"00000000-0000-0000-0000-000000000000"' "$work/primed.json" ||
	{ echo "bench: the priming run gave no ACR credentials" >&2; exit 1; }

cmds=(
	-cmd "cold-mi=$work/image-credential-provider ${acr[*]} --no-cache --acr-azure-config $work/azure-mi.json"
	-cmd "cold-sp=$work/image-credential-provider ${acr[*]} --no-cache --acr-azure-config $work/azure-sp.json"
	-cmd "warm=$work/image-credential-provider ${acr[*]} --cache-dir $work/cache --acr-azure-config $work/azure-mi.json"
)
if [ "${BENCH_DROPIN:-}" = 1 ]; then
	cmds+=(-cmd "dropin-cold=$work/acr-credential-provider $work/azure-mi.json")
fi
if [ -n "${ANCHOR_BIN:-}" ]; then
	cmds+=(-cmd "anchor=$ANCHOR_BIN $work/azure-mi.json")
fi

go run ./test/bench/runner -n "$N" -stdin "$work/request.json" "${envs[@]}" "${cmds[@]}"

# The fake's counters: cold runs cost one exchange each, warm runs none.
kill -TERM "$fake_pid"
wait "$fake_pid" || true
fake_pid=
echo "fake Azure calls (2 checks + 1 priming run + the cold runs; warm runs must add none):"
cat "$work/fake.log"
