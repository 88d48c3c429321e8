#!/usr/bin/env bash
# Conformance: image-credential-provider through the REAL kubelet credential-provider
# code (k8s.io/kubernetes v1.37.1, linked into test/harness's kubelet-puller) and real
# registry pulls against loopback fakes that enforce each cloud's registry auth.
#
# Builds the plugin, the harness and the fakes; starts the fakes; runs a matrix of
# cases, each one kubelet session (one kubelet-puller run with its own
# CredentialProviderConfig and scenario); prints one line per case and ends with
# "N passed, M failed". Exit status is non-zero when a case fails.
#
# Cases are grouped by backend: static, ecr, gcr, acr. A backend the plugin does not
# know, or whose fakes do not run, fails its "<backend>/landed" case.
#
# Environment:
#   CONFORMANCE_TIMEOUT  overall limit in seconds (default 1800; the first build of the
#                        kubelet code alone takes 4-8 minutes on 2 cores)
#   KEEP_WORK=1          keep the work directory (reports, configs, logs) for inspection
#   CASES=regex          run only the cases whose name matches
set -uo pipefail

# shellcheck source=harness/lib.sh
. "$(dirname "$0")/harness/lib.sh"
icp_init conformance "${CONFORMANCE_TIMEOUT:-1800}"
CASES=${CASES:-.}

say "== build"
icp_build || { say "0 passed, 1 failed"; exit 1; }
say "== fakes"
icp_start_fakes || { say "0 passed, 1 failed"; exit 1; }

# ---------------------------------------------------------------------------- helpers
PASSED=0
FAILED=0
FAILED_NAMES=()

selected() { [[ "$1" =~ $CASES ]]; }

pass() { PASSED=$((PASSED + 1)); say "PASS  $1 ($2)${3:+  $3}"; }
fail() {
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  say "FAIL  $1 ($2)${3:+  $3}"
}

# run_case NAME KUBELET_CONFIG SCENARIO [HARNESS_ARGS...]: one kubelet session.
run_case() {
  local name=$1 cfg=$2 scn=$3
  shift 3
  selected "$name" || return 0
  local out="$WORK/out/${name//\//_}" t
  mkdir -p "$WORK/out"
  t=$(now)
  if timeout 120 "$PULLER" -config "$cfg" -bin-dir "$BIN" -fakes "$WORK/fakes.json" \
      -scenario "$scn" -json "$out.json" -work-dir "$out.work" "$@" >"$out.txt" 2>"$out.err"; then
    pass "$name" "$(elapsed "$t")" "$(tail -1 "$out.txt")"
  else
    fail "$name" "$(elapsed "$t")"
    sed 's/^/      /' "$out.txt" | tail -40
    sed 's/^/      stderr: /' "$out.err" | tail -10
  fi
}

static_args() { # plugin args for the static backend reading config.json $1
  printf '%s\n' --backends static --dockercfg "$1" --cache-dir "$WORK/plugin-cache"
}

# ---------------------------------------------------------------------------- matcher
say "== matcher: internal/match against the kubelet's URLsMatchStr and keyring"
if selected matcher/differential; then
  t=$(now)
  if (cd test/harness && timeout 300 go test -count=1 -v -run 'TestMatchAgrees|TestLookupAgrees' ./matchdiff) >"$WORK/matchdiff.txt" 2>&1 \
      && grep -q '^matchdiff: .* 0 disagreements' "$WORK/matchdiff.txt" \
      && ! grep -q '^matchdiff: .* [1-9][0-9]* disagreements' "$WORK/matchdiff.txt"; then
    pass matcher/differential "$(elapsed "$t")" "$(grep '^matchdiff:' "$WORK/matchdiff.txt" | sed 's/^matchdiff: //' | paste -sd ';' -)"
  else
    fail matcher/differential "$(elapsed "$t")"
    sed 's/^/      /' "$WORK/matchdiff.txt" | tail -30
  fi
fi

say "== static: the kubelet with the plugin against the kubelet's own keyring, on broken docker config files"
if selected static/keyring-differential; then
  t=$(now)
  if (cd test/harness && ICP_PLUGIN_BIN="$TOOLS/plugin/$PLUGIN" timeout 300 go test -count=1 -v -run 'TestPluginMatchesNodeKeyring' ./keyringdiff) >"$WORK/keyringdiff.txt" 2>&1 \
      && grep -q '^keyringdiff: .* 0 disagreements' "$WORK/keyringdiff.txt"; then
    pass static/keyring-differential "$(elapsed "$t")" "$(grep '^keyringdiff:' "$WORK/keyringdiff.txt" | sed 's/^keyringdiff: //')"
  else
    fail static/keyring-differential "$(elapsed "$t")"
    grep -v '^=== RUN' "$WORK/keyringdiff.txt" | sed 's/^/      /' | tail -30
  fi
fi

say "== kubelet config: install and check read and validate it as the kubelet does; what install writes is loaded and routed by the kubelet's code"
if selected config/differential; then
  t=$(now)
  if (cd test/harness && timeout 300 go test -count=1 -v ./kubeletconfigdiff) >"$WORK/kubeletconfigdiff.txt" 2>&1 \
      && grep -q '^kubeletconfigdiff: .* 0 disagreements' "$WORK/kubeletconfigdiff.txt" \
      && grep -q '^kubeletconfigdiff: the installed config sends \([0-9]*\) of \1 served images' "$WORK/kubeletconfigdiff.txt"; then
    pass config/differential "$(elapsed "$t")" "$(grep '^kubeletconfigdiff:' "$WORK/kubeletconfigdiff.txt" | sed 's/^kubeletconfigdiff: //' | paste -sd ';' -)"
  else
    fail config/differential "$(elapsed "$t")"
    grep -v '^=== RUN' "$WORK/kubeletconfigdiff.txt" | sed 's/^/      /' | tail -30
  fi
fi

say "== harness self-tests (its own module: not part of the main module's go test ./...)"
if selected harness/self-tests; then
  t=$(now)
  if (cd test/harness && ICP_PLUGIN_BIN="$TOOLS/plugin/$PLUGIN" timeout 600 go test -count=1 ./...) >"$WORK/harness-tests.txt" 2>&1; then
    pass harness/self-tests "$(elapsed "$t")" "$(grep -c '^ok' "$WORK/harness-tests.txt") packages ok"
  else
    fail harness/self-tests "$(elapsed "$t")"
    grep -v '^ok\|no test files' "$WORK/harness-tests.txt" | sed 's/^/      /' | tail -30
  fi
fi

# ---------------------------------------------------------------------------- examples
# The examples as the README tells an operator to copy them, on a simulated node: the
# README's install by hand (install with examples/image-credential-provider.yaml and
# examples/dockercfg/config.json, into a node root under $WORK instead of /); then, with
# that root's /etc, /usr and /var laid over the machine's (in_node_root), the kubelet's
# code started with the two flags install reports pulls an image of every backend with
# the credentials the examples ship (the fake registries take them), and the README's
# check passes. The clouds' endpoints come from the environment, which the kubelet passes
# on to its plugins (on a node, the clouds themselves; here, their loopback fakes), so
# the example configuration runs unchanged.
#   examples/install   the README gives the commands this case runs; install reports the
#                      kubelet flags the README names
#   examples/pull      the kubelet's code with those flags: every backend's image pulled
#   examples/check     check on the installed files and those images: 0 failed
cases_examples() {
  selected examples/install || selected examples/pull || selected examples/check || return 0
  local d="$WORK/examples" node="$WORK/examples/node" t
  mkdir -p "$node" "$d/no-proc"
  t=$(now)
  # The README's commands, with shell line continuations joined.
  sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' README.md >"$d/readme.txt"
  local install_cmd="image-credential-provider install --config examples/image-credential-provider.yaml --file examples/dockercfg/config.json:/etc/kubernetes/docker-config.json"
  local check_cmd="image-credential-provider check --kubelet-config /etc/kubernetes/credential-provider-config.yaml --bin-dir /usr/local/lib/kubelet-credential-providers"
  local missing=""
  grep -qF -- "$install_cmd" "$d/readme.txt" || missing+=" [$install_cmd]"
  grep -qF -- "$check_cmd" "$d/readme.txt" || missing+=" [$check_cmd]"
  # --root: the node is a directory; --proc: a node with no kubelet running yet (this
  # machine may be running one for another test).
  if ! "$TOOLS/plugin/$PLUGIN" install --root "$node" --proc "$d/no-proc" \
    --config examples/image-credential-provider.yaml \
    --file examples/dockercfg/config.json:/etc/kubernetes/docker-config.json >"$d/install.txt" 2>&1; then
    fail examples/install "$(elapsed "$t")" "install failed"
    sed 's/^/      /' "$d/install.txt" | tail -20
    return
  fi
  local config bindir
  config=$(sed -n 's/.*--image-credential-provider-config=\([^ ]*\).*/\1/p' "$d/install.txt" | head -1)
  bindir=$(sed -n 's/.*--image-credential-provider-bin-dir=\([^ ]*\).*/\1/p' "$d/install.txt" | head -1)
  if [ -n "$missing" ]; then
    fail examples/install "$(elapsed "$t")" "README.md does not give the command(s)$missing"
  elif [ "$config" != /etc/kubernetes/credential-provider-config.yaml ] || [ "$bindir" != /usr/local/lib/kubelet-credential-providers ]; then
    fail examples/install "$(elapsed "$t")" "install reported the kubelet flags config=$config bin-dir=$bindir, not the README's"
    sed 's/^/      /' "$d/install.txt" | tail -20
  else
    pass examples/install "$(elapsed "$t")" "$(grep '^installed:' "$d/install.txt")"
  fi

  cat >"$d/scenario.yaml" <<'EOF'
name: the examples as copied
pulls:
- image: my-registry.example/images/my-image:v1
  expect: {ok: true, execs: 1, usedIndex: 0, user: example-images-reader, response: {cacheKeyType: Registry}}
- image: my-registry.example/images/subpath/my-image:v1
  expect: {ok: true, execs: 0, cacheHit: true, usedIndex: 0, user: example-subpath-reader}
- image: sub.my-registry.example/images/my-image:v1
  expect: {ok: true, execs: 1, user: example-mirror-reader}
- image: busybox
  expect: {ok: true, execs: 1, user: example-hub-user, request: {image: docker.io/library/busybox}}
- image: ${AWS_ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/team/app:v1
  expect: {ok: true, execs: 1, user: "${ECR_USERNAME}"}
- image: public.ecr.aws/fake-alias/app:v1
  expect: {ok: true, execs: 1, user: "${ECR_USERNAME}"}
- image: gcr.io/fake-project/app:v1
  expect: {ok: true, execs: 1, user: oauth2accesstoken}
- image: us-docker.pkg.dev/fake-project/repo/app:v1
  expect: {ok: true, execs: 1, user: oauth2accesstoken}
- image: myacr.azurecr.io/team/app:v1
  expect: {ok: true, execs: 1, user: "${ACR_USERNAME}"}
- image: quay.io/org/app:v1
  expect: {ok: false, execs: 0, credentials: 0}
EOF
  # The environment a kubelet would pass on to its plugins.
  local envs=() v
  for v in $(compgen -v PLUGIN_ENV_); do envs+=("${v#PLUGIN_ENV_}=${!v}"); done

  t=$(now)
  if (export "${envs[@]}" && in_node_root "$node" timeout 120 \
    "$PULLER" -config "$config" -bin-dir "$bindir" -fakes "$WORK/fakes.json" \
    -scenario "$d/scenario.yaml" -json "$d/pull.json" -work-dir "$d/pull.work") >"$d/pull.txt" 2>"$d/pull.err"; then
    pass examples/pull "$(elapsed "$t")" "$(tail -1 "$d/pull.txt")"
  else
    fail examples/pull "$(elapsed "$t")"
    sed 's/^/      /' "$d/pull.txt" | tail -40
    sed 's/^/      stderr: /' "$d/pull.err" | tail -10
  fi

  t=$(now)
  if (export "${envs[@]}" && in_node_root "$node" timeout 120 \
    "$bindir/$PLUGIN" check --kubelet-config "$config" --bin-dir "$bindir" \
    my-registry.example/images/my-image:v1 busybox "$AWS_ACCOUNT.dkr.ecr.us-west-2.amazonaws.com/team/app:v1" \
    gcr.io/fake-project/app:v1 myacr.azurecr.io/team/app:v1) >"$d/check.txt" 2>&1 \
    && grep -q '^[0-9]* ok, 0 warnings, 0 failed$' "$d/check.txt"; then
    pass examples/check "$(elapsed "$t")" "$(tail -1 "$d/check.txt")"
  else
    fail examples/check "$(elapsed "$t")"
    sed 's/^/      /' "$d/check.txt" | tail -40
  fi
}

# ---------------------------------------------------------------------------- static
cases_static() {
  local d="$WORK/static" docs=$DOCS_MATCH
  mkdir -p "$d"
  # config.json in the style of the kubelet documentation (seed pages): paths and wildcards.
  write_docs_config "$d/docs.json"

  # 1. The request/response apiVersion is the one the kubelet config chooses.
  local api
  for api in v1 v1beta1 v1alpha1; do
    mapfile -t args < <(static_args "$d/docs.json")
    kubelet_config "$d/kubelet-$api.yaml" "$api" "$docs" "" -- "${args[@]}"
    cat >"$d/apiversion-$api.yaml" <<EOF
name: static apiVersion $api
pulls:
- image: my-registry.example/images/my-image:v1
  expect:
    ok: true
    execs: 1
    user: images-user
    request: {apiVersion: credentialprovider.kubelet.k8s.io/$api, image: my-registry.example/images/my-image}
    response: {apiVersion: credentialprovider.kubelet.k8s.io/$api}
EOF
    run_case "static/apiversion-$api" "$d/kubelet-$api.yaml" "$d/apiversion-$api.yaml"
  done

  # 2. Repeated pulls are served from the kubelet cache per the answer's cacheKeyType
  #    (static answers Registry: other repositories of the registry hit too).
  cat >"$d/cache.yaml" <<EOF
name: static kubelet cache, cacheKeyType Registry
pulls:
- image: my-registry.example/images/my-image:v1
  repeat: 3
  expect: {ok: true, execs: 1, cacheHit: false, response: {cacheKeyType: Registry}}
  expectRepeat: {ok: true, execs: 0, cacheHit: true}
- image: my-registry.example/images/another-image:v1
  expect: {ok: true, execs: 0, cacheHit: true, user: images-user}
- image: sub.my-registry.example/images/my-image:v1
  expect: {ok: true, execs: 1, cacheHit: false, user: wild-user}
EOF
  run_case static/kubelet-cache-registry "$d/kubelet-v1.yaml" "$d/cache.yaml"

  # 3. cacheDuration 0s: the kubelet keeps nothing, every pull runs the plugin.
  mapfile -t args < <(static_args "$d/docs.json")
  kubelet_config "$d/kubelet-nocache.yaml" v1 "$docs" "" -- "${args[@]}" --dockercfg-cache-duration 0s
  cat >"$d/nocache.yaml" <<EOF
name: static cacheDuration 0s
pulls:
- image: my-registry.example/images/my-image:v1
  repeat: 3
  expect: {ok: true, execs: 1, cacheHit: false}
EOF
  run_case static/cache-duration-zero "$d/kubelet-nocache.yaml" "$d/nocache.yaml"

  # 4. The seed pages' wildcard and path cases, each proven by the registry: the
  #    credential that worked is the one of the right config.json entry.
  cat >"$d/docs-cases.yaml" <<EOF
name: static wildcards and paths from the kubelet documentation
pulls:
- image: my-registry.example/images
  expect: {ok: true, credentials: 1, user: images-user}
- image: my-registry.example/images/my-image
  expect: {ok: true, credentials: 1, user: images-user}
- image: my-registry.example/images/another-image
  expect: {ok: true, credentials: 1, user: images-user}
- image: my-registry.example/images/subpath/my-image
  expect: {ok: true, credentials: 2, usedIndex: 0, user: subpath-user}
- image: sub.my-registry.example/images/my-image
  expect: {ok: true, credentials: 1, user: wild-user}
- image: a.sub.my-registry.example/images/my-image
  expect: {ok: false, credentials: 0}
- image: a.b.sub.my-registry.example/images/my-image
  expect: {ok: false, credentials: 0}
- image: abc.kubernetes.io/app
  expect: {ok: true, credentials: 1, user: k8s-user}
- image: kubernetes.io/app
  expect: {ok: false, credentials: 0}
- image: abc.def.kubernetes.io/app
  expect: {ok: true, credentials: 1, user: k8s-user}
- image: prefix.kubernetes.io/app
  expect: {ok: true, credentials: 2, user: k8s-user}
- image: prefix-good.kubernetes.io/app
  expect: {ok: true, credentials: 1, user: k8s-user}
EOF
  run_case static/seed-wildcards-and-paths "$d/kubelet-v1.yaml" "$d/docs-cases.yaml"

  # 5. Several matching credentials, the first wrong: the runtime tries the second.
  cat >"$d/first-wrong.json" <<EOF
{"auths": {
  "my-registry.example/images/subpath": {"username": "subpath-user", "password": "wrong-password"},
  "my-registry.example/images": {"auth": "$IMAGES_USER_AUTH"}
}}
EOF
  mapfile -t args < <(static_args "$d/first-wrong.json")
  kubelet_config "$d/kubelet-first-wrong.yaml" v1 "$docs" "" -- "${args[@]}"
  cat >"$d/first-wrong.yaml" <<EOF
name: first credential wrong, second works
pulls:
- image: my-registry.example/images/subpath/my-image:v1
  expect: {ok: true, credentials: 2, attempts: 2, usedIndex: 1, user: images-user}
EOF
  run_case static/first-credential-wrong "$d/kubelet-first-wrong.yaml" "$d/first-wrong.yaml"

  # 6. Ports: a key with a port matches that port only; no port matches no port only.
  cat >"$d/ports.json" <<EOF
{"auths": {
  "$STATIC_PORT_ADDR": {"auth": "$PORT_USER_AUTH"},
  "127.0.0.1": {"auth": "$PORT2_USER_AUTH"}
}}
EOF
  mapfile -t args < <(static_args "$d/ports.json")
  kubelet_config "$d/kubelet-ports.yaml" v1 "$STATIC_PORT_ADDR,$STATIC_PORT2_ADDR" "" -- "${args[@]}"
  cat >"$d/ports.yaml" <<EOF
name: ports
pulls:
- image: $STATIC_PORT_ADDR/team/app:v1
  expect: {ok: true, credentials: 1, user: port-user}
- image: $STATIC_PORT2_ADDR/team/app:v1
  expect: {ok: false, credentials: 0, execs: 1}
EOF
  run_case static/ports "$d/kubelet-ports.yaml" "$d/ports.yaml"

  # 7. Docker Hub: short names are normalized by the kubelet; the legacy key serves them.
  cat >"$d/hub.json" <<EOF
{"auths": {"https://index.docker.io/v1/": {"auth": "$HUB_USER_AUTH"}}}
EOF
  mapfile -t args < <(static_args "$d/hub.json")
  kubelet_config "$d/kubelet-hub.yaml" v1 "docker.io" "" -- "${args[@]}"
  cat >"$d/hub.yaml" <<EOF
name: Docker Hub
pulls:
- image: busybox
  expect: {ok: true, user: hub-user, request: {image: docker.io/library/busybox}}
- image: docker.io/someuser/app:v1
  expect: {ok: true, user: hub-user, execs: 0, cacheHit: true}
EOF
  run_case static/dockerhub "$d/kubelet-hub.yaml" "$d/hub.yaml"

  # 8. A docker config file that does not parse gives an empty answer with
  #    cacheDuration 0s (it blocks nothing, and the kubelet keeps nothing): the next
  #    pull runs the plugin again, and once the file is repaired the pull works.
  cp "$d/docs.json" "$d/flaky.json"
  printf '{"auths": {' >"$d/broken.json"
  mapfile -t args < <(static_args "$d/flaky.json")
  kubelet_config "$d/kubelet-flaky.yaml" v1 "$docs" "" -- "${args[@]}"
  cat >"$d/flaky.yaml" <<EOF
name: a file that does not parse is not cached
pulls:
- image: my-registry.example/images/my-image:v1
  run: [cp, "$d/broken.json", "$d/flaky.json"]
  repeat: 2
  expect: {ok: false, execs: 1, credentials: 0}
- image: my-registry.example/images/my-image:v1
  run: [cp, "$d/docs.json", "$d/flaky.json"]
  expect: {ok: true, execs: 1, user: images-user}
- image: my-registry.example/images/my-image:v1
  expect: {ok: true, execs: 0, cacheHit: true}
EOF
  run_case static/failure-not-cached "$d/kubelet-flaky.yaml" "$d/flaky.yaml"

  # 8b. Issue 12: broken parts of docker config files block nothing they do not serve. A
  #     file that does not parse, a credsStore and a credHelpers helper that are not
  #     installed, an entry whose auth does not decode: images with a usable credential
  #     pull, with cacheDuration 0s (the plugin runs on every pull until the files are
  #     fixed); an image whose only credential is broken gets none from the plugin.
  printf '{"auths": {"my-registry.example/images": {"auth": "' >"$d/unparseable.json"
  cat >"$d/broken-parts.json" <<EOF
{"auths": {
  "my-registry.example/images": {"auth": "$IMAGES_USER_AUTH"},
  "*.my-registry.example/images": {"auth": "!!not-base64"},
  "abc.kubernetes.io": {"auth": "$K8S_USER_AUTH"},
  "prefix.kubernetes.io": {}
 },
 "credsStore": "desktop",
 "credHelpers": {"prefix.kubernetes.io": "icp-not-installed"}}
EOF
  args=(--backends static --dockercfg "$d/unparseable.json" --dockercfg "$d/broken-parts.json" --cache-dir "$WORK/plugin-cache")
  kubelet_config "$d/kubelet-broken-parts.yaml" v1 "$docs" "" -- "${args[@]}"
  cat >"$d/broken-parts.yaml" <<EOF
name: broken parts of docker config files block nothing they do not serve
pulls:
- image: my-registry.example/images/my-image:v1
  repeat: 2
  expect: {ok: true, execs: 1, cacheHit: false, credentials: 1, user: images-user}
- image: abc.kubernetes.io/app
  expect: {ok: true, execs: 1, credentials: 1, user: k8s-user}
- image: sub.my-registry.example/images/my-image:v1
  expect: {ok: false, execs: 1, credentials: 0}
- image: prefix.kubernetes.io/app
  expect: {ok: false, execs: 1, credentials: 0}
EOF
  run_case static/broken-parts-block-nothing "$d/kubelet-broken-parts.yaml" "$d/broken-parts.yaml"

  # 9. Service-account-token mode plumbing: the kubelet sends the token and the
  #    annotations; the plugin accepts them; the cache is per service account; a
  #    missing required annotation means no call.
  mapfile -t args < <(static_args "$d/docs.json")
  kubelet_config "$d/kubelet-sa.yaml" v1 "$docs" "  tokenAttributes:
    serviceAccountTokenAudience: conformance.imagecred.dev
    cacheType: ServiceAccount
    requireServiceAccount: true
    requiredServiceAccountAnnotationKeys: [imagecred.dev/role]
    optionalServiceAccountAnnotationKeys: [imagecred.dev/region]" -- "${args[@]}"
  cat >"$d/sa.yaml" <<EOF
name: service account token plumbing
serviceAccounts:
- {namespace: team-a, name: puller, annotations: {imagecred.dev/role: reader, imagecred.dev/region: eu, other.example/x: y}}
- {namespace: team-a, name: other, annotations: {imagecred.dev/role: reader}}
- {namespace: team-a, name: bare}
pulls:
- image: my-registry.example/images/my-image:v1
  pod: {namespace: team-a, name: p1, serviceAccount: puller}
  expect:
    ok: true
    execs: 1
    tokenRequests: 1
    request: {hasToken: true, annotations: {imagecred.dev/role: reader, imagecred.dev/region: eu}}
- image: my-registry.example/images/my-image:v1
  pod: {namespace: team-a, name: p2, serviceAccount: puller}
  expect: {ok: true, execs: 0, cacheHit: true, tokenRequests: 1}
- image: my-registry.example/images/my-image:v1
  pod: {namespace: team-a, name: p3, serviceAccount: other}
  expect: {ok: true, execs: 1, request: {hasToken: true, annotations: {imagecred.dev/role: reader}}}
- image: my-registry.example/images/my-image:v1
  pod: {namespace: team-a, name: p4, serviceAccount: bare}
  expect: {ok: false, execs: 0, skipped: true, credentials: 0}
- image: my-registry.example/images/my-image:v1
  pod: {namespace: team-a, name: p5}
  expect: {ok: false, execs: 0, skipped: true, credentials: 0}
EOF
  run_case static/sa-token-plumbing "$d/kubelet-sa.yaml" "$d/sa.yaml"

  # 10. Debian's docker-registry (the distribution registry) with htpasswd over TLS.
  distribution_case
}

# distribution_case: a real registry implementation, not our fake.
distribution_case() {
  local name=static/distribution-htpasswd-tls
  selected "$name" || return 0
  local d="$WORK/distribution" t
  t=$(now)
  mkdir -p "$d/data"
  if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null || ! command -v openssl >/dev/null; then
    if [ "$(id -u)" != 0 ]; then
      fail "$name" "$(elapsed "$t")" "docker-registry/htpasswd/openssl missing and not root to install them"
      return
    fi
    say "installing docker-registry apache2-utils openssl..."
    if ! { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq docker-registry apache2-utils openssl; } >"$d/apt.log" 2>&1; then
      fail "$name" "$(elapsed "$t")" "apt-get install failed"; tail -5 "$d/apt.log" | sed 's/^/      /'
      return
    fi
  fi
  local port pw
  port=$("$TOOLS/fakes" free-port)
  pw="dist-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1
  htpasswd -Bbn distuser "$pw" >"$d/htpasswd" 2>/dev/null
  cat >"$d/config.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $d/data}}
http:
  addr: 127.0.0.1:$port
  tls: {certificate: $d/cert.pem, key: $d/key.pem}
auth:
  htpasswd: {realm: conformance, path: $d/htpasswd}
EOF
  docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 &
  local rpid=$!
  PIDS+=("$rpid")
  local up=""
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
    sleep 0.1
  done
  if [ -z "$up" ]; then
    fail "$name" "$(elapsed "$t")" "docker-registry did not start"; tail -5 "$d/registry.log" | sed 's/^/      /'
    return
  fi
  if ! DIST_PW="$pw" "$TOOLS/fakes" push -registry "127.0.0.1:$port" -user distuser -password-env DIST_PW \
      -ca "$d/cert.pem" -repo team/app -tag v1 >"$d/pushed.json" 2>"$d/push.err"; then
    fail "$name" "$(elapsed "$t")" "seeding the registry failed: $(tail -1 "$d/push.err")"
    return
  fi
  local auth wrong
  auth=$(printf 'distuser:%s' "$pw" | base64 -w0)
  wrong=$(printf 'distuser:%s' "not-$pw" | base64 -w0)
  printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$port" "$auth" >"$d/config.json"
  printf '{"auths": {"https://127.0.0.1:%s/v2/": {"auth": "%s"}}}\n' "$port" "$wrong" >"$d/wrong.json"
  local digest
  digest=$(sed -n 's/.*"digest":"\([^"]*\)".*/\1/p' "$d/pushed.json")
  mapfile -t args < <(static_args "$d/config.json")
  kubelet_config "$d/kubelet.yaml" v1 "127.0.0.1:$port" "" -- "${args[@]}"
  cat >"$d/scenario.yaml" <<EOF
name: distribution registry, htpasswd over TLS
pulls:
- image: 127.0.0.1:$port/team/app:v1
  repeat: 2
  expect: {ok: true, execs: 1, user: distuser}
  expectRepeat: {ok: true, execs: 0, cacheHit: true, user: distuser}
- image: 127.0.0.1:$port/team/app@$digest
  expect: {ok: true, execs: 0, user: distuser}
EOF
  run_case "$name" "$d/kubelet.yaml" "$d/scenario.yaml" -ca-file "$d/cert.pem"
  mapfile -t args < <(static_args "$d/wrong.json")
  kubelet_config "$d/kubelet-wrong.yaml" v1 "127.0.0.1:$port" "" -- "${args[@]}"
  cat >"$d/scenario-wrong.yaml" <<EOF
name: distribution registry refuses a wrong password
pulls:
- image: 127.0.0.1:$port/team/app:v1
  expect: {ok: false, credentials: 1, attempts: 1}
EOF
  run_case "$name-wrong-password" "$d/kubelet-wrong.yaml" "$d/scenario-wrong.yaml" -ca-file "$d/cert.pem"
}

# ---------------------------------------------------------------------------- clouds
# Every cloud backend gets the same cases, driven by its profile (cloud_profile):
#   <cloud>/apiversion-{v1,v1beta1,v1alpha1}  the configured apiVersion end to end
#   <cloud>/kubelet-cache                     repeated pulls served from the kubelet cache
#                                             per cacheKeyType (Registry: other repos hit)
#   <cloud>/failure-not-cached                the cloud fails: no cached empty answer, the
#                                             next pull runs the plugin again and recovers
#   <cloud>/plugin-disk-cache-*               a restarted kubelet runs the plugin, which
#                                             answers from its disk cache: no cloud call
#   <cloud>/sa-token                          service-account-token mode: the pod's token is
#                                             exchanged (the fake confirms the flow), cache
#                                             per service account
#   mixed/all-backends-no-global-leak         static and every cloud in one kubelet session
# and then a cloud's own cases (cases_<cloud>_extra), if it has some.

cloud_cases() { # NAME
  local c=$1 d="$WORK/$1" api envy
  if ! cloud_profile "$c"; then
    fail "$c/landed" "0.0s" "no cloud_profile for $c in test/harness/lib.sh"
    return
  fi
  mkdir -p "$d"
  envy=$(plugin_env_yaml)

  for api in v1 v1beta1 v1alpha1; do
    kubelet_config "$d/kubelet-$api.yaml" "$api" "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-$api"
    cat >"$d/apiversion-$api.yaml" <<EOF
name: $c apiVersion $api
pulls:
- image: $IMG_A
  expect:
    ok: true
    execs: 1
    user: "$USERNAME"
    request: {apiVersion: credentialprovider.kubelet.k8s.io/$api, image: $(repo_of "$IMG_A")}
    response: {apiVersion: credentialprovider.kubelet.k8s.io/$api}
EOF
    run_case "$c/apiversion-$api" "$d/kubelet-$api.yaml" "$d/apiversion-$api.yaml"
  done

  kubelet_config "$d/kubelet-cache.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-cache"
  cat >"$d/cache.yaml" <<EOF
name: $c kubelet cache
pulls:
- image: $IMG_A
  repeat: 3
  expect: {ok: true, execs: 1, cacheHit: false, user: "$USERNAME", response: {cacheKeyType: Registry}}
  expectRepeat: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
- image: $IMG_B
  expect: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
- image: $IMG_C
  expect: {ok: true, execs: 1, cacheHit: false, user: "$USERNAME", response: {cacheKeyType: Registry}}
EOF
  run_case "$c/kubelet-cache" "$d/kubelet-cache.yaml" "$d/cache.yaml"

  # The plugin's on-disk token cache across kubelet restarts: the second kubelet runs
  # the plugin again (its memory cache is gone) but the cloud is not called again.
  kubelet_config "$d/kubelet-disk.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-disk"
  printf 'name: %s first kubelet\npulls:\n- image: %s\n  expect: {ok: true, execs: 1, user: "%s"}\n' "$c" "$IMG_A" "$USERNAME" >"$d/disk-1.yaml"
  run_case "$c/plugin-disk-cache-first-kubelet" "$d/kubelet-disk.yaml" "$d/disk-1.yaml"
  local calls
  calls=$("$TOOLS/fakes" ctl "$FAKES_ADMIN_URL" "/calls?$TOKEN_CALLS" 2>/dev/null || echo 0)
  {
    printf 'name: %s restarted kubelet, same plugin cache dir\npulls:\n- image: %s\n' "$c" "$IMG_A"
    printf '  runAfter: %s\n' "$(ctl_argv "/calls?$TOKEN_CALLS&max=$calls")"
    printf '  expect: {ok: true, execs: 1, user: "%s"}\n' "$USERNAME"
  } >"$d/disk-2.yaml"
  run_case "$c/plugin-disk-cache-restarted-kubelet" "$d/kubelet-disk.yaml" "$d/disk-2.yaml"

  kubelet_config "$d/kubelet-fail.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-fail"
  cat >"$d/fail.yaml" <<EOF
name: $c failure is not cached
pulls:
- image: $IMG_A
  run: $(ctl_argv "$FAIL")
  repeat: 2
  expect: {ok: false, execs: 1, credentials: 0}
- image: $IMG_A
  run: $(ctl_argv "$REPAIR")
  expect: {ok: true, execs: 1, user: "$USERNAME"}
- image: $IMG_A
  expect: {ok: true, execs: 0, cacheHit: true}
EOF
  run_case "$c/failure-not-cached" "$d/kubelet-fail.yaml" "$d/fail.yaml"

  kubelet_config "$d/kubelet-sa.yaml" v1 "$MATCH" "  tokenAttributes:
    serviceAccountTokenAudience: \"$SA_AUDIENCE\"
    cacheType: ServiceAccount
    requireServiceAccount: true
    requiredServiceAccountAnnotationKeys: $SA_REQUIRED
$envy" -- "${ARGS[@]}" "${SA_ARGS[@]}" --cache-dir "$d/cache-sa"
  {
    printf 'name: %s service-account-token mode\n' "$c"
    printf 'serviceAccounts:\n'
    printf -- '- {namespace: team-a, name: %s-puller, annotations: %s}\n' "$c" "$SA_ANNOTATIONS"
    printf -- '- {namespace: team-a, name: plain}\n'
    printf 'pulls:\n'
    local i=0 q
    for q in "${SA_CHECKS[@]}"; do
      i=$((i + 1))
      printf -- '- image: %s\n  pod: {namespace: team-a, name: p%d, serviceAccount: %s-puller}\n' "$IMG_A" "$i" "$c"
      printf '  runAfter: %s\n' "$(ctl_argv "$q")"
      if [ "$i" = 1 ]; then
        printf '  expect: {ok: true, execs: 1, tokenRequests: 1, user: "%s", request: {hasToken: true}}\n' "$USERNAME"
      else
        printf '  expect: {ok: true, execs: 0, cacheHit: true, tokenRequests: 1, user: "%s"}\n' "$USERNAME"
      fi
    done
    printf -- '- image: %s\n  pod: {namespace: team-a, name: p-plain, serviceAccount: plain}\n' "$IMG_A"
    printf '  expect: {ok: false, execs: 0, skipped: true, credentials: 0}\n'
  } >"$d/sa.yaml"
  run_case "$c/sa-token" "$d/kubelet-sa.yaml" "$d/sa.yaml"

  if declare -F "cases_${c}_extra" >/dev/null; then
    "cases_${c}_extra" "$d" "$envy"
  fi
}

# ctl_check QUERY: a runAfter hook asserting one of the fakes' call counters.
ctl_check() { ctl_argv "/calls?$1"; }

# aws_calls QUERY: the fake AWS's current count for /calls?fake=aws&QUERY.
aws_calls() { "$TOOLS/fakes" ctl "$FAKES_ADMIN_URL" "/calls?fake=aws&$1" 2>/dev/null || echo 0; }

# cases_ecr_extra DIR ENV_YAML: what only ECR has.
#   ecr/public                        ECR Public (public.ecr.aws, ecr-public.aws.com): an
#                                     ECR Public token (signed for us-east-1) through the
#                                     registry's token flow; one call, then the cache
#   ecr/host-families                 FIPS, dual-stack and China hosts reach the plugin
#                                     through ecrhost.MatchImages; each registry takes
#                                     only a token of its own region
#   ecr/sa-token-per-service-account  two service accounts with roles of their own: one
#                                     AssumeRoleWithWebIdentity each, never shared
#   ecr/sa-token-plugin-disk-cache    a restarted kubelet: the plugin answers both
#                                     service accounts from its disk cache (no AWS call);
#                                     a third service account with the same role as the
#                                     first still gets its own exchange
#   ecr/expired-token-refused         once the fake expires its tokens, the registry
#                                     refuses the one the kubelet cached
cases_ecr_extra() {
  local d=$1 envy=$2 acct=$AWS_ACCOUNT
  local ecr_q="fake=aws&endpoint=ecr:GetAuthorizationToken"
  local pub_q="fake=aws&endpoint=ecr-public:GetAuthorizationToken"
  local web_q="fake=aws&endpoint=sts:AssumeRoleWithWebIdentity"

  kubelet_config "$d/kubelet-public.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-public"
  local pub0
  pub0=$(aws_calls "endpoint=ecr-public:GetAuthorizationToken")
  cat >"$d/public.yaml" <<EOF
name: ecr public
pulls:
- image: public.ecr.aws/fake-alias/app:v1
  repeat: 2
  runAfter: $(ctl_check "$pub_q&min=$((pub0 + 1))&max=$((pub0 + 1))")
  expect: {ok: true, execs: 1, user: "$USERNAME", request: {image: public.ecr.aws/fake-alias/app}, response: {cacheKeyType: Registry}}
  expectRepeat: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
- image: public.ecr.aws/fake-alias/app:latest
  expect: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
- image: ecr-public.aws.com/fake-alias/app:v1
  expect: {ok: true, execs: 1, cacheHit: false, user: "$USERNAME", response: {cacheKeyType: Registry}}
EOF
  run_case ecr/public "$d/kubelet-public.yaml" "$d/public.yaml"

  kubelet_config "$d/kubelet-hosts.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-hosts"
  local h
  {
    printf 'name: ecr host families\npulls:\n'
    for h in "$acct.dkr.ecr-fips.us-west-2.amazonaws.com" "$acct.dkr-ecr.us-west-2.on.aws" "$acct.dkr.ecr.cn-north-1.amazonaws.com.cn"; do
      printf -- '- image: %s/app:v1\n' "$h"
      printf '  expect: {ok: true, execs: 1, user: "%s", request: {image: %s/app}, response: {cacheKeyType: Registry}}\n' "$USERNAME" "$h"
    done
  } >"$d/hosts.yaml"
  run_case ecr/host-families "$d/kubelet-hosts.yaml" "$d/hosts.yaml"

  # Service accounts team-a/ecr-a and team-b/ecr-b with roles of their own, and
  # team-a/ecr-c with ecr-a's role (used only by the restarted kubelet).
  local role_a="arn:aws:iam::$acct:role/conformance-ecr-a" role_b="arn:aws:iam::$acct:role/conformance-ecr-b"
  kubelet_config "$d/kubelet-sa2.yaml" v1 "$MATCH" "  tokenAttributes:
    serviceAccountTokenAudience: \"$SA_AUDIENCE\"
    cacheType: ServiceAccount
    requireServiceAccount: true
    requiredServiceAccountAnnotationKeys: $SA_REQUIRED
$envy" -- "${ARGS[@]}" "${SA_ARGS[@]}" --cache-dir "$d/cache-sa2"
  local sas
  sas="serviceAccounts:
- {namespace: team-a, name: ecr-a, annotations: {eks.amazonaws.com/ecr-role-arn: \"$role_a\"}}
- {namespace: team-b, name: ecr-b, annotations: {eks.amazonaws.com/ecr-role-arn: \"$role_b\"}}
- {namespace: team-a, name: ecr-c, annotations: {eks.amazonaws.com/ecr-role-arn: \"$role_a\"}}"
  cat >"$d/sa2.yaml" <<EOF
name: ecr service-account-token mode, one role exchange per service account
$sas
pulls:
- image: $IMG_A
  pod: {namespace: team-a, name: a1, serviceAccount: ecr-a}
  runAfter: $(ctl_check "$web_q&role=$role_a&min=1&max=1")
  expect: {ok: true, execs: 1, tokenRequests: 1, user: "$USERNAME", request: {hasToken: true, annotations: {eks.amazonaws.com/ecr-role-arn: "$role_a"}}}
- image: $IMG_A
  pod: {namespace: team-b, name: b1, serviceAccount: ecr-b}
  runAfter: $(ctl_check "$web_q&role=$role_b&min=1&max=1")
  expect: {ok: true, execs: 1, tokenRequests: 1, user: "$USERNAME", request: {hasToken: true, annotations: {eks.amazonaws.com/ecr-role-arn: "$role_b"}}}
- image: $IMG_B
  pod: {namespace: team-b, name: b2, serviceAccount: ecr-b}
  runAfter: $(ctl_check "$ecr_q&role=$role_b&min=1&max=1")
  expect: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
- image: $IMG_A
  pod: {namespace: team-a, name: a2, serviceAccount: ecr-a}
  runAfter: $(ctl_check "$ecr_q&role=$role_a&min=1&max=1")
  expect: {ok: true, execs: 0, cacheHit: true, user: "$USERNAME"}
EOF
  run_case ecr/sa-token-per-service-account "$d/kubelet-sa2.yaml" "$d/sa2.yaml"

  local all
  all=$(aws_calls "endpoint=all")
  cat >"$d/sa3.yaml" <<EOF
name: ecr service-account-token mode, restarted kubelet, same plugin cache dir
$sas
pulls:
- image: $IMG_A
  pod: {namespace: team-a, name: a3, serviceAccount: ecr-a}
  expect: {ok: true, execs: 1, tokenRequests: 1, user: "$USERNAME"}
- image: $IMG_A
  pod: {namespace: team-b, name: b3, serviceAccount: ecr-b}
  runAfter: $(ctl_check "fake=aws&endpoint=all&max=$all")
  expect: {ok: true, execs: 1, tokenRequests: 1, user: "$USERNAME"}
- image: $IMG_A
  pod: {namespace: team-a, name: c1, serviceAccount: ecr-c}
  runAfter: $(ctl_check "$web_q&role=$role_a&min=2&max=2")
  expect: {ok: true, execs: 1, tokenRequests: 1, user: "$USERNAME"}
EOF
  run_case ecr/sa-token-plugin-disk-cache "$d/kubelet-sa2.yaml" "$d/sa3.yaml"

  kubelet_config "$d/kubelet-expire.yaml" v1 "$MATCH" "$envy" -- "${ARGS[@]}" --cache-dir "$d/cache-expire"
  cat >"$d/expire.yaml" <<EOF
name: ecr expired token refused by the registry
pulls:
- image: $IMG_A
  runAfter: $(ctl_argv /aws/expire-tokens)
  expect: {ok: true, execs: 1, user: "$USERNAME"}
- image: $IMG_B
  expect: {ok: false, execs: 0, cacheHit: true, credentials: 1, attempts: 1}
EOF
  run_case ecr/expired-token-refused "$d/kubelet-expire.yaml" "$d/expire.yaml"
}

# mixed_case CLOUD...: static and every landed cloud in one kubelet session with one
# provider entry: each backend's first image runs the plugin (nothing answered Global,
# which would serve every later image from the cache), each image gets its own
# backend's credential, and repeats hit the cache.
mixed_case() {
  local name=mixed/all-backends-no-global-leak d="$WORK/mixed" c i
  selected "$name" || return 0
  mkdir -p "$d"
  local match="my-registry.example,*.my-registry.example" backends=static
  write_docs_config "$d/docs.json"
  local args=(--dockercfg "$d/docs.json")
  {
    printf 'name: all backends in one kubelet session\npulls:\n'
    printf -- '- image: my-registry.example/images/my-image:v1\n  repeat: 2\n'
    printf '  expect: {ok: true, execs: 1, user: images-user, response: {cacheKeyType: Registry}}\n'
    printf '  expectRepeat: {ok: true, execs: 0, cacheHit: true, user: images-user}\n'
  } >"$d/scenario.yaml"
  for c in "$@"; do
    cloud_profile "$c" || continue
    match+=",$MATCH"
    backends+=",$c"
    for ((i = 0; i < ${#ARGS[@]}; i++)); do
      if [ "${ARGS[$i]}" = --backends ]; then
        i=$((i + 1))
        continue
      fi
      args+=("${ARGS[$i]}")
    done
    {
      printf -- '- image: %s\n  repeat: 2\n' "$IMG_A"
      printf '  expect: {ok: true, execs: 1, user: "%s", response: {cacheKeyType: Registry}}\n' "$USERNAME"
      printf '  expectRepeat: {ok: true, execs: 0, cacheHit: true, user: "%s"}\n' "$USERNAME"
    } >>"$d/scenario.yaml"
  done
  printf -- '- image: sub.my-registry.example/images/my-image:v1\n  expect: {ok: true, execs: 1, user: wild-user}\n' >>"$d/scenario.yaml"
  kubelet_config "$d/kubelet.yaml" v1 "$match" "$(plugin_env_yaml)" -- --backends "$backends" "${args[@]}" --cache-dir "$d/cache"
  run_case "$name" "$d/kubelet.yaml" "$d/scenario.yaml"
}

# ---------------------------------------------------------------------------- run
say "== examples: installed as the README says, pulled through the kubelet's code, checked"
cases_examples

IN=()
for b in static ecr gcr acr; do
  if backend_in "$b"; then
    IN+=("$b")
  elif selected "$b/landed"; then
    fail "$b/landed" "0.0s" "the plugin does not know backend $b or the fakes do not serve it (fakes: $FAKES_BACKENDS)"
  fi
done
say "== backends in: ${IN[*]:-none}"
for b in "${IN[@]}"; do
  say "== $b"
  if [ "$b" = static ]; then cases_static; else cloud_cases "$b"; fi
done
CLOUDS_IN=()
for b in "${IN[@]}"; do [ "$b" != static ] && CLOUDS_IN+=("$b"); done
if [ ${#CLOUDS_IN[@]} -gt 0 ] && [[ " ${IN[*]} " == *" static "* ]]; then
  say "== mixed"
  mixed_case "${CLOUDS_IN[@]}"
fi

say
if [ "$FAILED" -gt 0 ]; then
  say "failed: ${FAILED_NAMES[*]}"
fi
say "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
