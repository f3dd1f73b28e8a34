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

# --- build once, then test -----------------------------------------------------------------------
log "dotnet build"
dotnet build IdentityGraph.sln --nologo -v quiet -clp:ErrorsOnly

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
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
