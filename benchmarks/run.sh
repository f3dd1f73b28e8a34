#!/usr/bin/env bash
# The benchmark suite of issue 6 (see benchmarks/README.md): builds Release (incrementally), runs the BenchmarkDotNet
# micro benchmarks, then the end-to-end load benchmark on one seeded stream — B1 Kafka pass-through, B2 Core
# union-find, B3 warehouse SQL label propagation, and `identitygraph serve` on SQLite and on PostgreSQL (fsync on) —
# checks every system run against the reference, and writes benchmarks/RESULTS.md.
#
#   benchmarks/run.sh [--quick] [--systems sqlite,postgres] [--run-dir DIR] [--no-build] [--results FILE]
#
# --quick: small counts, PostgreSQL only, one latency rate, micro benchmarks with 2 short iterations; under 90 s once
# built. The last line printed is always: observations_per_s=N passthrough_ratio=R p99_ms=L
# Environment overrides (defaults in brackets, quick / full): BENCH_COUNT max-phase records [2000 / 30000],
# BENCH_WARMUP [200 / 3000], BENCH_PASSTHROUGH_COUNT [20000 / 200000], BENCH_LATENCY_S seconds per latency rate
# [6 / 30], BENCH_LATENCY_RATES percentages of the measured maximum ["50" / "25 50 75"], BENCH_WORKLOAD extra workload options (e.g. "--seed 2 --merge-rate 0.05"), PG_BIN [/usr/lib/postgresql/15/bin].
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
quick=0
build=1
systems=""
run_dir=""
results=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --systems) systems="$2"; shift ;;
    --run-dir) run_dir="$2"; shift ;;
    --results) results="$2"; shift ;;
    *) echo "usage: benchmarks/run.sh [--quick] [--systems sqlite,postgres] [--run-dir DIR] [--no-build] [--results FILE]" >&2; exit 2 ;;
  esac
  shift
done

if [[ $quick == 1 ]]; then
  count="${BENCH_COUNT:-2000}"; warmup="${BENCH_WARMUP:-200}"; pass_count="${BENCH_PASSTHROUGH_COUNT:-20000}"
  latency_s="${BENCH_LATENCY_S:-6}"; latency_rates="${BENCH_LATENCY_RATES:-50}"; systems="${systems:-postgres}"
  micro_args=(--warmupCount 1 --iterationCount 2 --iterationTime 25)
else
  count="${BENCH_COUNT:-30000}"; warmup="${BENCH_WARMUP:-3000}"; pass_count="${BENCH_PASSTHROUGH_COUNT:-200000}"
  latency_s="${BENCH_LATENCY_S:-30}"; latency_rates="${BENCH_LATENCY_RATES:-25 50 75}"; systems="${systems:-sqlite,postgres}"
  micro_args=(--job short)
fi
read -r -a workload <<< "${BENCH_WORKLOAD:-}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
run_dir="${run_dir:-$(mktemp -d /tmp/identitygraph-bench.XXXXXX)}"
# Only a full run replaces the committed results; a quick run (a smoke test) writes its report into the run directory.
if [[ -z "$results" ]]; then
  if [[ $quick == 1 ]]; then results="$run_dir/RESULTS.md"; else results="$root/benchmarks/RESULTS.md"; fi
fi
mkdir -p "$run_dir"
[[ $quick == 1 ]] && echo quick > "$run_dir/mode.txt" || echo full > "$run_dir/mode.txt"

server_dll="$root/src/IdentityGraph.Server/bin/Release/net10.0/identitygraph.dll"
bench_dll="$root/benchmarks/IdentityGraph.Benchmarks/bin/Release/net10.0/IdentityGraph.Benchmarks.dll"
micro_dll="$root/benchmarks/IdentityGraph.MicroBenchmarks/bin/Release/net10.0/IdentityGraph.MicroBenchmarks.dll"
started=$(date +%s)

# ---- clean-up: every child we start is recorded and stopped, PostgreSQL included, whatever way the script ends ----
pids=()
pg_data=""
cleanup() {
  set +e
  # Newest first: a client before the broker it talks to.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    local pid="${pids[$i]}"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  if [[ -n "$pg_data" && -f "$pg_data/postmaster.pid" ]]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1
  fi
  # The throw-away server's files (its log was copied into the run directory's records when it mattered).
  [[ -n "$pg_data" ]] && rm -rf "$(dirname "$pg_data")"
} 
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - started ))s] $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
bench() { dotnet "$bench_dll" "$@"; }
# A long step as a background child that the script waits for: a signal then interrupts the wait at once (bash runs
# traps only between foreground commands), and the child is on the list the clean-up stops.
step() { # step OUTFILE ARGS...: runs the load tool, prints its output, returns its exit code
  local out="$1"; shift
  dotnet "$bench_dll" "$@" > "$out" 2>> "$run_dir/load.err" &
  local pid=$!; pids+=("$pid")
  local rc=0; wait "$pid" || rc=$?
  cat "$out" | tee -a "$run_dir/load.log"
  return "$rc"
}
record() { echo "$*" | sed "s|$root/||g" >> "$run_dir/commands.txt"; } # paths relative to the repository

stop_pid() { # stop_pid PID: SIGTERM, wait (graceful stop is bounded by 45 s), then SIGKILL
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

start_broker() { # start_broker NAME: a fresh dev broker; sets broker_pid and bootstrap
  local out="$run_dir/broker-$1.out"
  record "dotnet $server_dll kafka --port 0 --partitions 8"
  dotnet "$server_dll" kafka --port 0 --partitions 8 > "$out" 2> "$run_dir/broker-$1.err" &
  broker_pid=$!; pids+=("$broker_pid")
  for _ in $(seq 1 300); do
    if grep -q '^bootstrap.servers=' "$out"; then bootstrap="$(sed -n 's/^bootstrap.servers=//p' "$out" | head -1)"; return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || { cat "$run_dir/broker-$1.err" >&2; return 1; }
    sleep 0.1
  done
  echo "dev broker did not start" >&2; return 1
}

load_phase() { # load_phase SYSTEM PHASE FROM COUNT RATE [extra load args]
  local system="$1" phase="$2" from="$3" n="$4" rate="$5"; shift 5
  local args=(load --bootstrap "$bootstrap" --name "$system-$phase" --from "$from" --count "$n" --rate "$rate"
    --summary "$run_dir/phase-$system-$phase.json" "$@" "${workload[@]}")
  record "dotnet $bench_dll ${args[*]}"
  step "$run_dir/phase-$system-$phase.out" "${args[@]}" || log "phase $system-$phase did not complete (see the report)"
}

max_rate() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ObservationsPerSecond"])' "$1"; }

machine_info() {
  {
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "dotnet: $(dotnet --version)"
    echo "postgresql: $("$pg_bin/postgres" --version 2>/dev/null || echo none)"
    echo "git: $(git -C "$root" rev-parse --short HEAD) ($(git -C "$root" rev-parse --abbrev-ref HEAD))$(git -C "$root" diff --quiet HEAD -- src benchmarks/run.sh 'benchmarks/*.cs' 'benchmarks/*.csproj' || echo ', with uncommitted changes')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "busiest other processes at start (ps, %CPU since their start):"
    ps -eo pcpu,comm --sort=-pcpu | sed -n '2,6p' | sed 's/^/  /'
    echo "run: $([[ $quick == 1 ]] && echo 'quick' || echo 'full'); max-phase records $count after $warmup warm-up; pass-through $pass_count; latency ${latency_s}s at ${latency_rates// /, } % of max; systems $systems"
  } > "$run_dir/machine.txt"
}

# ---- build ----
# Incremental: skipped when the three programs exist and no source, project or proto file changed since the last
# build by this script (a no-op `dotnet build` of these projects takes 5-30 s here).
stamp="$root/benchmarks/IdentityGraph.Benchmarks/obj/run.sh.built" # written after each successful build (obj/ is ignored)
needs_build() {
  for dll in "$server_dll" "$bench_dll" "$micro_dll" "$stamp"; do [[ -f "$dll" ]] || return 0; done
  [[ -n "$(cd "$root" && find src benchmarks proto Directory.Build.props Directory.Packages.props global.json -newer "$stamp" -type f \
    \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.proto' -o -name '*.json' -o -name '*.slnf' \) \
    -not -path '*/bin/*' -not -path '*/obj/*' -not -path '*/BenchmarkDotNet.Artifacts/*' -print -quit)" ]]
}
if [[ $build == 1 ]] && needs_build; then
  log "building Release (incremental)"
  dotnet build -c Release "$root/benchmarks/benchmarks.slnf" -v q -nologo > "$run_dir/build.log" 2>&1 || { tail -30 "$run_dir/build.log" >&2; exit 1; }
  touch "$stamp"
fi
log "run directory $run_dir"
: > "$run_dir/commands.txt"
machine_info

# ---- micro benchmarks ----
log "micro benchmarks (BenchmarkDotNet ${micro_args[*]})"
record "dotnet $micro_dll --filter '*' --inProcess --join ${micro_args[*]} --artifacts $run_dir/bdn"
(cd "$run_dir" && dotnet "$micro_dll" --filter '*' --inProcess --join "${micro_args[@]}" --artifacts "$run_dir/bdn" > "$run_dir/micro.log" 2>&1) \
  || { tail -30 "$run_dir/micro.log" >&2; exit 1; }
sed -n '/^| Type/,/^$/p' "$run_dir/micro.log" > "$run_dir/micro.md"
# Environment lines of the BenchmarkDotNet summary (runtime, GC, hardware intrinsics).
sed -n '/^BenchmarkDotNet v/,/^$/p' "$run_dir/micro.log" | sed 's/^/    /' >> "$run_dir/micro.md"

# ---- PostgreSQL: one throw-away server, full durability (B3 and the PostgreSQL system run) ----
pg_port=""
start_postgres() {
  local dir; dir="$(mktemp -d /tmp/identitygraph-bench-pg.XXXXXX)"
  chown postgres:postgres "$dir"
  pg_data="$dir/data"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync --no-instructions > "$run_dir/initdb.log" 2>&1
  pg_port="$(free_port)"
  local opts="-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300 -c shared_buffers=512MB"
  record "$pg_bin/pg_ctl -D DATA -o \"$opts\" start   (initdb as postgres, trust, temp dir)"
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/server.log" -o "$opts" -w -t 60 start > /dev/null
  for db in warehouse graph; do
    runuser -u postgres -- "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE $db" postgres
  done
}
postmaster_pid() { head -1 "$pg_data/postmaster.pid"; }

# ---- B1: Kafka pass-through, its own dev broker ----
log "B1 pass-through: $pass_count records"
start_broker passthrough
record "dotnet $bench_dll passthrough --bootstrap $bootstrap"
# dotnet itself, not the bench function: $! must be the process to stop, not a subshell around it.
dotnet "$bench_dll" passthrough --bootstrap "$bootstrap" > "$run_dir/passthrough.out" 2> "$run_dir/passthrough.err" &
pass_pid=$!; pids+=("$pass_pid")
for _ in $(seq 1 200); do grep -q '^assigned' "$run_dir/passthrough.out" && break; sleep 0.1; done
watch="passthrough=$pass_pid,broker=$broker_pid"
load_phase passthrough warmup 0 "$warmup" 0 --output observation --group bench-passthrough --watch "$watch"
load_phase passthrough max "$warmup" "$pass_count" 0 --output observation --group bench-passthrough --max-lag 50000 --watch "$watch"
load_phase passthrough lat50 $((warmup + pass_count)) $((latency_s * 1000)) 1000 --output observation --group bench-passthrough --watch "$watch"
stop_pid "$pass_pid"; stop_pid "$broker_pid"

# ---- B2 + B3 on the stream's first warm-up + count records ----
start_postgres
log "B2 reference union-find and B3 warehouse label propagation: $((warmup + count)) records"
record "dotnet $bench_dll baselines --count $((warmup + count)) --postgres 'Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=warehouse' ${workload[*]}"
step "$run_dir/baselines.out" baselines --count $((warmup + count)) --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=warehouse" \
  --summary "$run_dir/baselines.json" "${workload[@]}"

# ---- the system: identitygraph serve (separate process) against a separate dev broker ----
run_system() { # run_system sqlite|postgres
  local system="$1" persistence
  case "$system" in
    sqlite) mkdir -p "$run_dir/sqlite"; persistence="sqlite:$run_dir/sqlite/graph.db" ;;
    postgres) persistence="postgres:Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=graph;Maximum Pool Size=100" ;;
  esac
  log "system $system: warm-up $warmup, max $count, latency ${latency_s}s at ${latency_rates// /, } %"
  start_broker "$system"
  local http grpc; http="$(free_port)"; grpc="$(free_port)"
  record "IdentityGraph__Http__GrpcUrl=http://127.0.0.1:$grpc dotnet $server_dll serve --kafka $bootstrap --persistence '$persistence' --http http://127.0.0.1:$http"
  IdentityGraph__Http__GrpcUrl="http://127.0.0.1:$grpc" dotnet "$server_dll" serve --kafka "$bootstrap" --persistence "$persistence" \
    --http "http://127.0.0.1:$http" > "$run_dir/serve-$system.out" 2> "$run_dir/serve-$system.err" &
  local serve_pid=$!; pids+=("$serve_pid")
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$http/readyz" > /dev/null 2>&1 && break
    kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$run_dir/serve-$system.err" >&2; return 1; }
    sleep 0.1
  done
  local watch="serve=$serve_pid,broker=$broker_pid"
  [[ $system == postgres ]] && watch="$watch,postgres=$(postmaster_pid)"
  local at=0
  load_phase "$system" warmup $at "$warmup" 0 --watch "$watch"; at=$((at + warmup))
  load_phase "$system" max $at "$count" 0 --watch "$watch"; at=$((at + count))
  local max; max="$(max_rate "$run_dir/phase-$system-max.json")"
  for pct in $latency_rates; do
    local rate n
    rate="$(python3 -c "print(max(1, round($max * $pct / 100)))")"
    n=$((rate * latency_s))
    load_phase "$system" "lat$pct" $at "$n" "$rate" --watch "$watch"; at=$((at + n))
  done
  local rss; rss="$(awk '/^VmHWM:/ {print $2}' "/proc/$serve_pid/status")"
  log "system $system: stopping serve (peak RSS ${rss} kB)"
  stop_pid "$serve_pid"; stop_pid "$broker_pid"
  printf '{"peakRssKb": %s, "observations": %s}\n' "$rss" "$at" > "$run_dir/system-$system.json"
  record "dotnet $bench_dll storage --persistence '$persistence'"
  bench storage --persistence "$persistence" --summary "$run_dir/storage-$system.json" | tee -a "$run_dir/load.log"
  record "dotnet $server_dll export --out $run_dir/export-$system.jsonl --persistence '$persistence'"
  dotnet "$server_dll" export --out "$run_dir/export-$system.jsonl" --persistence "$persistence" 2>> "$run_dir/export.log"
  record "dotnet $bench_dll compare-stream --count $at --export $run_dir/export-$system.jsonl ${workload[*]}"
  bench compare-stream --count "$at" --export "$run_dir/export-$system.jsonl" --summary "$run_dir/compare-$system.json" "${workload[@]}" \
    | tee -a "$run_dir/load.log" || log "system $system: export differs from the reference"
}

for system in ${systems//,/ }; do
  run_system "$system"
done

log "writing $results"
bench report --dir "$run_dir" --out "$results" | tee "$run_dir/summary.txt" > /dev/null
log "done in $(( $(date +%s) - started )) s"
tail -1 "$run_dir/summary.txt"
