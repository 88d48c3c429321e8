#!/usr/bin/env bash
# Demo: one command that shows image-credential-provider working through the real
# kubelet credential-provider code (k8s.io/kubernetes v1.37.1) and real registry pulls.
#
# It starts the loopback fakes (registries enforcing each cloud's registry auth, the
# cloud token endpoints), runs one kubelet session over an image of every backend that
# has landed — each pulled twice, the second time served from the kubelet's cache —
# and prints the harness's table: plugin executions with the request the kubelet sent,
# kubelet cache hits, the credential that worked (password masked), bytes and digests.
#
# The first run builds the kubelet code (4-8 minutes); later runs take seconds.
# KEEP_WORK=1 keeps the configs, the JSON report and the logs.
set -euo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "$0")/harness/lib.sh"
icp_init demo "${DEMO_TIMEOUT:-1200}"

icp_build
icp_start_fakes

match=$DOCS_MATCH
backends=static
args=(--dockercfg "$WORK/config.json")
write_docs_config "$WORK/config.json"
images=(my-registry.example/images/my-image:v1 my-registry.example/images/subpath/my-image:v1 sub.my-registry.example/images/my-image:v1)
for c in ecr gcr acr; do
  backend_in "$c" && cloud_profile "$c" || continue
  backends+=",$c"
  match+=",$MATCH"
  for ((i = 0; i < ${#ARGS[@]}; i++)); do
    if [ "${ARGS[$i]}" = --backends ]; then
      i=$((i + 1))
      continue
    fi
    args+=("${ARGS[$i]}")
  done
  images+=("$IMG_A" "$IMG_C" "${IMG_EXTRA[@]}")
done

kubelet_config "$WORK/credential-provider-config.yaml" v1 "$match" "$(plugin_env_yaml)" -- \
  --backends "$backends" "${args[@]}" --cache-dir "$WORK/plugin-cache"
harness_args=()
for im in "${images[@]}"; do harness_args+=(-image "$im"); done

say
say "kubelet CredentialProviderConfig: $WORK/credential-provider-config.yaml (backends: $backends)"
say
"$PULLER" -config "$WORK/credential-provider-config.yaml" -bin-dir "$BIN" -fakes "$WORK/fakes.json" \
  -repeat 2 -json "$WORK/report.json" "${harness_args[@]}"
