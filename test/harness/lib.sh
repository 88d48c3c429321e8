# Shared by test/conformance.sh and test/demo.sh (source it; bash only).
#
#   icp_init NAME LIMIT   work dir, cleanup on exit, a watchdog bounding the run
#   icp_build             the plugin, the fakes and the harness into $TOOLS
#   icp_start_fakes       every fake; their variables ($FAKES_*, users, ...) exported
#   backend_in NAME       the plugin knows the backend and the fakes serve it
#   kubelet_config ...    a kubelet CredentialProviderConfig for our plugin
#   cloud_profile NAME    images, plugin args and knobs of one cloud backend
#   in_node_root DIR CMD  CMD on a node whose files are the ones installed under DIR
#
# Everything listens on loopback only; every process started is stopped on exit.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS="$ROOT/bin"
PLUGIN=image-credential-provider
PIDS=()

say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# icp_init NAME LIMIT_SECONDS
icp_init() {
  cd "$ROOT" || exit 1
  export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null)/bin"
  WORK=$(mktemp -d "/tmp/icp-$1.XXXXXX")
  BIN="$WORK/kubelet-bin" # the kubelet's --image-credential-provider-bin-dir
  mkdir -p "$TOOLS" "$BIN"
  trap icp_cleanup EXIT
  trap 'echo "$0: interrupted"; exit 130' INT TERM
  # The run is bounded. The watchdog leaves quietly when cleanup stops it; its sleep
  # gets no copy of stdout/stderr, so an orphaned sleep cannot hold a pipe open.
  (
    trap 'exit 0' TERM
    sleep "$2" </dev/null >/dev/null 2>&1 &
    wait $! 2>/dev/null
    echo "$0: over the ${2}s limit, stopping" >&2
    kill -TERM $$ 2>/dev/null
  ) &
  PIDS+=("$!")
}

icp_cleanup() {
  local status=$? pid
  set +e # a process that already ended must not stop the cleanup (errexit in a trap)
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  if [ "${KEEP_WORK:-}" = 1 ]; then
    echo "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

# icp_build: returns non-zero (after saying what failed) when something does not build.
icp_build() {
  local t
  t=$(now)
  # Every binary: the front end the kubelet config names finds its companions beside it.
  mkdir -p "$TOOLS/plugin"
  CGO_ENABLED=0 go build -o "$TOOLS/plugin/" ./cmd/... || { say "FAIL build: the plugin does not build"; return 1; }
  go build -o "$TOOLS/fakes" ./test/fake/cmd/fakes || { say "FAIL build: the fakes do not build"; return 1; }
  say "plugin and fakes built in $(elapsed "$t")"
  t=$(now)
  if [ ! -x "$TOOLS/kubelet-puller" ]; then
    say "building the harness on the kubelet code (first build: 4-8 minutes and 1.6 GB, then cached)..."
  fi
  (cd test/harness && go build -o "$TOOLS/kubelet-puller" ./cmd/kubelet-puller) || { say "FAIL build: the harness does not build"; return 1; }
  say "harness built in $(elapsed "$t")"
  cp "$TOOLS"/plugin/* "$BIN/"
  PULLER="$TOOLS/kubelet-puller"
}

# icp_start_fakes: starts the fakes and sources their variables. The static registries
# also take the credentials of examples/dockercfg/config.json, so that the examples pull
# with what they ship.
icp_start_fakes() {
  "$TOOLS/fakes" -out "$WORK/fakes.json" -env-out "$WORK/fakes.env" \
    -dockercfg-users "$ROOT/examples/dockercfg/config.json" 2>"$WORK/fakes.log" &
  PIDS+=("$!")
  local _
  for _ in $(seq 1 150); do
    [ -s "$WORK/fakes.json" ] && break
    sleep 0.2
  done
  if [ ! -s "$WORK/fakes.json" ]; then
    say "FAIL fakes: did not start"
    cat "$WORK/fakes.log"
    return 1
  fi
  # shellcheck disable=SC1091
  . "$WORK/fakes.env"
  say "$(tail -1 "$WORK/fakes.log")"
}

# backend_in NAME: the plugin binary knows the backend and the fakes serve it.
backend_in() {
  local out
  out=$("$TOOLS/plugin/$PLUGIN" --backends "$1" --cache-dir "$WORK/plugin-cache" get probe.invalid/x 2>&1)
  if printf '%s' "$out" | grep -q 'unknown backend'; then
    return 1
  fi
  [[ " $FAKES_BACKENDS " == *" $1 "* ]]
}

# kubelet_config FILE APIVERSION MATCHIMAGES(comma-separated) EXTRA_YAML -- PLUGIN_ARGS...
# writes a kubelet CredentialProviderConfig with one provider, our plugin. EXTRA_YAML
# (provider-level keys, indented two spaces: env, tokenAttributes) may be empty.
kubelet_config() {
  local file=$1 api=$2 match=$3 extra=${4:-}
  shift 4
  [ "${1:-}" = "--" ] && shift
  local m
  m=$(printf '%s' "$match" | awk -F, '{ for (i = 1; i <= NF; i++) printf "%s\"%s\"", (i > 1 ? ", " : ""), $i }')
  cat >"$file" <<EOF
apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
- name: $PLUGIN
  apiVersion: credentialprovider.kubelet.k8s.io/$api
  matchImages: [$m]
  defaultCacheDuration: 5m
  args: $(yaml_argv "$@")
$extra
EOF
}

# yaml_argv ARGS...: a YAML flow sequence of double-quoted strings.
yaml_argv() {
  local out="" x
  for x in "$@"; do out+="${out:+, }\"$x\""; done
  printf '[%s]' "$out"
}

# plugin_env_yaml: the env block that lets the plugin reach the cloud fakes.
plugin_env_yaml() {
  local v
  printf '  env:\n'
  for v in $(compgen -v PLUGIN_ENV_); do
    printf '  - {name: %s, value: "%s"}\n' "${v#PLUGIN_ENV_}" "${!v}"
  done
}

# ctl_argv PATH: the command turning a fakes knob, as a YAML sequence.
ctl_argv() { yaml_argv "$TOOLS/fakes" ctl "$FAKES_ADMIN_URL" "$1"; }

# repo_of IMAGE: the image without tag or digest (what the kubelet sends).
repo_of() {
  local r=${1%@*}
  r=${r%:*}
  printf '%s' "$r"
}

# write_docs_config FILE: a static config.json in the style of the kubelet
# documentation (paths and wildcards), with the fakes' users.
write_docs_config() {
  cat >"$1" <<EOF
{"auths": {
  "my-registry.example/images": {"auth": "$IMAGES_USER_AUTH"},
  "my-registry.example/images/subpath": {"auth": "$SUBPATH_USER_AUTH"},
  "*.my-registry.example/images": {"auth": "$WILD_USER_AUTH"},
  "*.kubernetes.io": {"auth": "$K8S_USER_AUTH"},
  "*.*.kubernetes.io": {"auth": "$K8S_USER_AUTH"},
  "prefix.*.io": {"auth": "$K8S_USER_AUTH"}
}}
EOF
}
DOCS_MATCH="my-registry.example,*.my-registry.example,kubernetes.io,*.kubernetes.io,*.*.kubernetes.io"

# cloud_profile NAME sets: MATCH, USERNAME, IMG_A, IMG_B (same registry as A), IMG_C
# (another registry), IMG_EXTRA (more images the demo shows), ARGS (plugin args), FAIL
# and REPAIR (admin paths), SA_AUDIENCE, SA_ARGS, SA_ANNOTATIONS (YAML map), SA_REQUIRED
# (annotation keys), SA_CHECKS (admin /calls queries proving the token exchange
# happened), TOKEN_CALLS (the /calls query of the cloud calls a plugin cache hit
# spares). Returns 1 for unknown clouds.
cloud_profile() {
  IMG_EXTRA=()
  case $1 in
  ecr)
    # The patterns the ECR backend documents (ecrhost.MatchImages, exported by the fakes).
    MATCH=$ECR_MATCH_IMAGES
    USERNAME=$ECR_USERNAME
    IMG_A=$AWS_ACCOUNT.dkr.ecr.us-west-2.amazonaws.com/team/app:v1
    IMG_B=$AWS_ACCOUNT.dkr.ecr.us-west-2.amazonaws.com/app:v1
    IMG_C=$AWS_ACCOUNT.dkr.ecr.eu-west-1.amazonaws.com/app:v1
    IMG_EXTRA=(public.ecr.aws/fake-alias/app:v1)
    ARGS=(--backends ecr)
    FAIL="/aws/fail?endpoint=ecr:GetAuthorizationToken&n=100000&status=500"
    REPAIR="/aws/fail?endpoint=ecr:GetAuthorizationToken&n=0&status=500"
    SA_AUDIENCE=sts.amazonaws.com
    ECR_SA_ROLE="arn:aws:iam::$AWS_ACCOUNT:role/conformance-ecr-puller"
    SA_ARGS=(--ecr-require-sa-role)
    SA_ANNOTATIONS="{eks.amazonaws.com/ecr-role-arn: \"$ECR_SA_ROLE\"}"
    SA_REQUIRED="[eks.amazonaws.com/ecr-role-arn]"
    # The pod's token was traded for the annotation's role exactly once, and the ECR
    # token was asked for as that role exactly once (the second pod hit the cache).
    SA_CHECKS=("/calls?fake=aws&endpoint=sts:AssumeRoleWithWebIdentity&role=$ECR_SA_ROLE&min=1&max=1"
      "/calls?fake=aws&endpoint=ecr:GetAuthorizationToken&role=$ECR_SA_ROLE&min=1&max=1")
    TOKEN_CALLS="fake=aws&endpoint=all"
    ;;
  gcr)
    MATCH="gcr.io,*.gcr.io,*.pkg.dev"
    USERNAME=oauth2accesstoken
    IMG_A=gcr.io/fake-project/app:v1
    IMG_B=gcr.io/fake-project/repo/app:v1
    IMG_C=us-docker.pkg.dev/fake-project/repo/app:v1
    ARGS=(--backends gcr)
    FAIL="/google/fail?endpoint=metadata-token&n=100000&status=503"
    REPAIR="/google/fail?endpoint=metadata-token&n=0&status=503"
    SA_AUDIENCE="$GCP_PROJECT.svc.id.goog"
    SA_ARGS=(--gcr-wi-audience "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/$GCP_PROJECT.svc.id.goog/providers/k8s"
      --gcr-wi-token-url "$GCP_STS_URL" --gcr-wi-iam-credentials-url "$GCP_IAM_URL")
    SA_ANNOTATIONS="{iam.gke.io/gcp-service-account: \"$GCP_WI_SA\"}"
    SA_REQUIRED="[iam.gke.io/gcp-service-account]"
    SA_CHECKS=("/calls?fake=google&endpoint=sts&min=1" "/calls?fake=google&endpoint=iamcredentials&min=1")
    TOKEN_CALLS="fake=google&endpoint=metadata-token"
    ;;
  acr)
    MATCH="*.azurecr.io"
    USERNAME=$ACR_USERNAME
    IMG_A=myacr.azurecr.io/team/app:v1
    IMG_B=myacr.azurecr.io/app:v1
    IMG_C=otheracr.azurecr.io/app:v1
    ARGS=(--backends acr --acr-azure-config "$ACR_AZURE_JSON")
    FAIL="/azure/fail?endpoint=exchange&n=100000&status=500"
    REPAIR="/azure/fail?endpoint=exchange&n=0&status=500"
    SA_AUDIENCE=$ACR_WI_AUDIENCE
    SA_ARGS=()
    SA_ANNOTATIONS="{kubernetes.azure.com/acr-client-id: \"$ACR_WI_CLIENT_ID\", kubernetes.azure.com/acr-tenant-id: \"$ACR_TENANT\"}"
    SA_REQUIRED="[kubernetes.azure.com/acr-client-id]"
    SA_CHECKS=("/calls?fake=azure&endpoint=aad-token&min=1")
    TOKEN_CALLS="fake=azure&endpoint=exchange"
    ;;
  *) return 1 ;;
  esac
}

# in_node_root DIR CMD...: runs CMD in a private mount namespace where the files under
# DIR (what `install --root DIR` wrote) are where their paths say: DIR/etc and DIR/usr
# lie over the machine's /etc and /usr (overlayfs: DIR's files on top, every write into
# DIR), and DIR/var is /var (a new node's: no token cache of this machine shows). Nothing
# outside DIR changes. Needs root, or user namespaces that may mount overlayfs (5.11+).
in_node_root() {
  local root=$1 d
  shift
  for d in etc usr var; do mkdir -p "$root/$d" "$root/.overlay-work/$d"; done
  local userns=()
  [ "$(id -u)" = 0 ] || userns=(--map-root-user)
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --propagation private "${userns[@]}" bash -c '
    set -e
    root=$1
    shift
    for d in etc usr; do
      mount -t overlay overlay -o "lowerdir=/$d,upperdir=$root/$d,workdir=$root/.overlay-work/$d" "/$d"
    done
    mount --bind "$root/var" /var
    exec "$@"' in_node_root "$root" "$@"
}
