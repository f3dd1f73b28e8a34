#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every test in the solution.
# Exits non-zero on any failure. Prints "tests: N passed, N failed, N skipped" as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------------
# Each test suite that needs an outside program declares it here; the script installs what is missing.
# Today the suites need only the .NET SDK (global.json); later suites add PostgreSQL, kcat, promtool and helm.
if ! command -v dotnet >/dev/null 2>&1; then
  log "The .NET 10 SDK is required (https://dotnet.microsoft.com/download); install it and run again."
  exit 1
fi

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
