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
# The full run adds a scale phase per store: BENCH_SCALE_COUNT observations [1000000] over a fresh database and node, in
# ten consecutive max-rate tenths (throughput over time, CPU per observation per process, peak RSS, journal rows),
# workload BENCH_SCALE_WORKLOAD ["--customers 400000 --seed 3"]; BENCH_SCALE=0 skips it.
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

started=$(date +%s)
# shellcheck source=benchmarks/lib.sh
source "$root/benchmarks/lib.sh"

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
    machine_lines
    echo "run: $([[ $quick == 1 ]] && echo 'quick' || echo 'full'); max-phase records $count after $warmup warm-up; pass-through $pass_count; latency ${latency_s}s at ${latency_rates// /, } % of max; systems $systems"
  } > "$run_dir/machine.txt"
}

# ---- build ----
[[ $build == 1 ]] && build_if_needed
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
start_postgres warehouse graph scale
log "B2 reference union-find and B3 warehouse label propagation: $((warmup + count)) records"
record "dotnet $bench_dll baselines --count $((warmup + count)) --postgres 'Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=warehouse' ${workload[*]}"
step "$run_dir/baselines.out" baselines --count $((warmup + count)) --postgres "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=warehouse" \
  --summary "$run_dir/baselines.json" "${workload[@]}"

# ---- the system: identitygraph serve (separate process) against a separate dev broker ----
start_serve() { # start_serve NAME SYSTEM PERSISTENCE: a fresh dev broker and serve on it, ready; sets serve_pid, watch
  local name="$1" system="$2" persistence="$3"
  start_broker "$name"
  local http grpc; http="$(free_port)"; grpc="$(free_port)"
  # The dev broker does not answer DescribeConfigs: its message limit is given, or the outbox waits 5 s for it.
  # The export is compared with the reference partition, which knows no identifier limit; the workload's households and
  # merges grow one component past the default 1,000 identifiers after about 300,000 observations (observations
  # refused with profile.identifier_limit), so the limit is raised here (benchmarks/README.md › How each figure is measured).
  record "IdentityGraph__Http__GrpcUrl=http://127.0.0.1:$grpc IdentityGraph__Kafka__Outbox__MaxMessageBytes=1000000 IdentityGraph__Identity__MaxIdentifiersPerProfile=1000000 dotnet $server_dll serve --kafka $bootstrap --persistence '$persistence' --http http://127.0.0.1:$http"
  IdentityGraph__Http__GrpcUrl="http://127.0.0.1:$grpc" IdentityGraph__Kafka__Outbox__MaxMessageBytes=1000000 IdentityGraph__Identity__MaxIdentifiersPerProfile=1000000 \
    dotnet "$server_dll" serve --kafka "$bootstrap" --persistence "$persistence" \
    --http "http://127.0.0.1:$http" > "$run_dir/serve-$name.out" 2> "$run_dir/serve-$name.err" &
  serve_pid=$!; pids+=("$serve_pid")
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$http/readyz" > /dev/null 2>&1 && break
    kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$run_dir/serve-$name.err" >&2; return 1; }
    sleep 0.1
  done
  watch="serve=$serve_pid,broker=$broker_pid"
  [[ $system == postgres ]] && watch="$watch,postgres=$(postmaster_pid)"
  return 0
}
persistence_for() { # persistence_for SYSTEM SQLITE_DIR PG_DATABASE: the --persistence spec of a fresh store
  case "$1" in
    sqlite) mkdir -p "$run_dir/$2"; echo "sqlite:$run_dir/$2/graph.db" ;;
    postgres) echo "postgres:Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=$3;Maximum Pool Size=100" ;;
  esac
}
run_system() { # run_system sqlite|postgres
  local system="$1" persistence
  persistence="$(persistence_for "$system" sqlite graph)"
  log "system $system: warm-up $warmup, max $count, latency ${latency_s}s at ${latency_rates// /, } %"
  start_serve "$system" "$system" "$persistence" || return 1
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

# ---- scale: 1M observations on a fresh database and node per store, in ten tenths ----
scale_count="${BENCH_SCALE_COUNT:-1000000}"
read -r -a scale_workload <<< "${BENCH_SCALE_WORKLOAD:---customers 400000 --seed 3}"
run_scale() { # run_scale sqlite|postgres
  local system="$1" persistence
  persistence="$(persistence_for "$system" scale-sqlite scale)"
  log "scale $system: $scale_count observations in ten tenths (${scale_workload[*]})"
  start_serve "scale-$system" "$system" "$persistence" || return 1
  local tenth=$((scale_count / 10)) i
  for i in $(seq 1 10); do
    local args=(load --bootstrap "$bootstrap" --name "scale-$system-$i" --from $(((i - 1) * tenth)) --count "$tenth" --rate 0
      --summary "$run_dir/scale-$system-$i.json" --watch "$watch" "${scale_workload[@]}")
    record "dotnet $bench_dll ${args[*]}"
    step "$run_dir/scale-$system-$i.out" "${args[@]}" || log "scale $system tenth $i did not complete (see the report)"
  done
  local rss; rss="$(awk '/^VmHWM:/ {print $2}' "/proc/$serve_pid/status")"
  log "scale $system: stopping serve (peak RSS ${rss} kB)"
  stop_pid "$serve_pid"; stop_pid "$broker_pid"
  printf '{"peakRssKb": %s, "observations": %s}\n' "$rss" "$scale_count" > "$run_dir/scale-system-$system.json"
  record "dotnet $bench_dll storage --persistence '$persistence'"
  bench storage --persistence "$persistence" --summary "$run_dir/scale-storage-$system.json" | tee -a "$run_dir/load.log"
}

for system in ${systems//,/ }; do
  run_system "$system"
done
if [[ $quick == 0 && ${BENCH_SCALE:-1} == 1 ]]; then
  for system in ${systems//,/ }; do
    run_scale "$system"
  done
fi

log "writing $results"
bench report --dir "$run_dir" --out "$results" | tee "$run_dir/summary.txt" > /dev/null
log "done in $(( $(date +%s) - started )) s"
tail -1 "$run_dir/summary.txt"
