#!/usr/bin/env bash
# The fault run (see benchmarks/README.md#the-fault-run-chaossh): three `identitygraph serve` nodes forming one cluster
# on one PostgreSQL journal and the dev broker. A seeded workload streams at a fixed rate while, at seeded random
# moments, one fault at a time: a node is killed (-9) and restarted, a node is stopped (SIGTERM) and restarted, or
# PostgreSQL is stopped (immediate: no checkpoint, connections cut) and started again. Never the dev broker: it keeps
# its data in memory. Then it waits until the stream is resolved and published and checks that nothing was lost:
# export = reference partition, downstream view = reference, every profile's versions complete, every malformed record
# on the dead-letter topic. Prints a report; exit 0 only when nothing was lost.
#
#   benchmarks/chaos.sh [--minutes 3] [--seed 1] [--rate 100] [--run-dir DIR] [--results FILE] [--no-build]
#
# --minutes: how long faults are injected (the stream lasts as long); --rate: observations per second produced;
# --results: where the Markdown report goes (default: RUN_DIR/CHAOS.md). Environment: PG_BIN, CHAOS_WORKLOAD (extra
# workload options, default "--customers 20000 --malformed-rate 0.01").
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes=3
seed=1
rate=100
build=1
run_dir=""
results=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift ;;
    --seed) seed="$2"; shift ;;
    --rate) rate="$2"; shift ;;
    --run-dir) run_dir="$2"; shift ;;
    --results) results="$2"; shift ;;
    --no-build) build=0 ;;
    *) echo "usage: benchmarks/chaos.sh [--minutes 3] [--seed 1] [--rate 100] [--run-dir DIR] [--results FILE] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
[[ "$minutes" =~ ^[0-9]+$ && "$seed" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ && $minutes -gt 0 && $rate -gt 0 ]] \
  || { echo "--minutes, --seed and --rate take whole numbers (minutes and rate > 0)" >&2; exit 2; }
command_line="benchmarks/chaos.sh --minutes $minutes --seed $seed --rate $rate"
read -r -a workload <<< "--seed $seed ${CHAOS_WORKLOAD:---customers 20000 --malformed-rate 0.01}"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
run_dir="${run_dir:-$(mktemp -d /tmp/identitygraph-chaos.XXXXXX)}"
results="${results:-$run_dir/CHAOS.md}"
mkdir -p "$run_dir"
started=$(date +%s)
# shellcheck source=benchmarks/lib.sh
source "$root/benchmarks/lib.sh"

[[ $build == 1 ]] && build_if_needed
log "run directory $run_dir"
: > "$run_dir/commands.txt"
machine_lines > "$run_dir/machine.txt"
RANDOM=$seed # the fault schedule is seeded too (the moments it lands on still depend on the machine's speed)
count=$((rate * minutes * 60))

start_broker chaos 8
start_postgres graph
persistence="postgres:Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=graph"

# ---- the three nodes, configured as the Helm chart configures its pods: fixed remoting ports, every node a seed ----
nodes=3
remoting=() http=() node_pid=()
for ((i = 0; i < nodes; i++)); do remoting+=("$(free_port)"); http+=("$(free_port)"); node_pid+=(0); done
seeds=()
for ((i = 0; i < nodes; i++)); do seeds+=("IdentityGraph__Cluster__SeedNodes__$i=akka.tcp://identitygraph@127.0.0.1:${remoting[$i]}"); done

start_node() { # start_node I: starts (or restarts) node I; its output is appended to node-I.out / .err
  local i="$1"
  env "${seeds[@]}" IdentityGraph__Cluster__Hostname=127.0.0.1 IdentityGraph__Cluster__Port="${remoting[$i]}" \
    IdentityGraph__Http__GrpcUrl=none IdentityGraph__Kafka__Client__client.id="node-$i" \
    dotnet "$server_dll" serve --kafka "$bootstrap" --persistence "$persistence" --http "http://127.0.0.1:${http[$i]}" \
    >> "$run_dir/node-$i.out" 2>> "$run_dir/node-$i.err" &
  node_pid[$i]=$!; pids+=("$!")
}
alive() { kill -0 "${node_pid[$1]}" 2>/dev/null; }
ready() { curl -sf -m 2 "http://127.0.0.1:${http[$1]}/readyz" > /dev/null 2>&1; }
wait_ready() { # wait_ready SECONDS NODE...: until every node answers /readyz 200; prints the seconds it took, fails on time-out
  local limit="$1" from; shift; from=$(date +%s.%N)
  while true; do
    local all=1
    for i in "$@"; do ready "$i" || { all=0; break; }; done
    [[ $all == 1 ]] && break
    (( $(date +%s) - ${from%.*} > limit )) && { echo "timeout"; return 1; }
    sleep 0.5
  done
  python3 -c "import time; print(f'{time.time() - $from:.1f}')"
}
# An orchestrator restarts a node that exits on its own: so does the run, and the report says so.
supervise() {
  for ((i = 0; i < nodes; i++)); do
    if ! alive "$i"; then
      local code=0; wait "${node_pid[$i]}" 2>/dev/null || code=$?
      start_node "$i"
      fault "exited on its own" "node-$i" "exit code $code, restarted" "-" "$(wait_ready 300 "$i" || true)"
    fi
  done
}

stream_started=0
: > "$run_dir/faults.tsv"
fault() { # fault KIND TARGET DETAIL DOWN_S READY_AFTER_S: one row of the report
  local at=$(( $(date +%s) - stream_started ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$at" "$1" "$2" "$3" "$4" "$5" >> "$run_dir/faults.tsv"
  log "fault: $1 $2 ($3; down ${4}s; ready again after ${5}s)"
}

log "starting $nodes serve nodes (PostgreSQL journal, dev broker $bootstrap)"
record "for each node I: IdentityGraph__Cluster__Port=REMOTING_I IdentityGraph__Cluster__SeedNodes__0..2=akka.tcp://identitygraph@127.0.0.1:REMOTING_0..2 IdentityGraph__Http__GrpcUrl=none dotnet $server_dll serve --kafka $bootstrap --persistence '$persistence' --http http://127.0.0.1:HTTP_I"
for ((i = 0; i < nodes; i++)); do start_node "$i"; done
log "all nodes ready after $(wait_ready 300 0 1 2)s"

# ---- the stream, in the background at a fixed rate; the load tool ends once the group has committed every record ----
load_args=(load --bootstrap "$bootstrap" --name chaos --from 0 --count "$count" --rate "$rate" --index-header 1
  --timeout-s $((minutes * 60 + 1200)) --summary "$run_dir/load.json" "${workload[@]}")
record "dotnet $bench_dll ${load_args[*]}"
dotnet "$bench_dll" "${load_args[@]}" > "$run_dir/load.out" 2> "$run_dir/load.err" &
load_pid=$!; pids+=("$load_pid")
stream_started=$(date +%s)
log "streaming $count records at $rate/s for $minutes min with faults"

# ---- faults: one at a time, each recovered (and the cluster ready again) before the next ----
window_end=$((stream_started + minutes * 60))
while true; do
  pause=$((10 + RANDOM % 21))
  (( $(date +%s) + pause >= window_end )) && break
  sleep "$pause"
  supervise
  kind=$((RANDOM % 3)); node=$((RANDOM % nodes)); down=$((2 + RANDOM % 14))
  case $kind in
    0)
      kill -KILL "${node_pid[$node]}" 2>/dev/null || true
      wait "${node_pid[$node]}" 2>/dev/null || true
      sleep "$down"; start_node "$node"
      fault "kill -9" "node-$node" "restarted after ${down}s" "$down" "$(wait_ready 300 "$node" || true)"
      ;;
    1)
      term_at=$(date +%s); kill -TERM "${node_pid[$node]}" 2>/dev/null || true
      code=0; wait "${node_pid[$node]}" 2>/dev/null || code=$?
      stopped_in=$(( $(date +%s) - term_at ))
      sleep "$down"; start_node "$node"
      fault "SIGTERM" "node-$node" "exit code $code after ${stopped_in}s, restarted after ${down}s" "$((stopped_in + down))" "$(wait_ready 300 "$node" || true)"
      ;;
    2)
      down=$((5 + RANDOM % 21))
      pg_stop_immediately; sleep "$down"; pg_start
      fault "PostgreSQL stop -m immediate" "postgres" "started again after ${down}s" "$down" "$(wait_ready 300 0 1 2 || true)"
      ;;
  esac
done
supervise
faults_ended=$(date +%s)

# ---- quiesce: the load tool returns once every record is committed (durable) and the output is quiet ----
log "fault window over; waiting for the stream to be resolved and published"
load_rc=0; wait "$load_pid" || load_rc=$?
quiesced=$(date +%s)
cat "$run_dir/load.out"
supervise

record "dotnet $server_dll export --out $run_dir/export.jsonl --persistence '$persistence'"
dotnet "$server_dll" export --out "$run_dir/export.jsonl" --persistence "$persistence" 2>> "$run_dir/export.err"
record "dotnet $bench_dll verify-stream --bootstrap $bootstrap --count $count --export $run_dir/export.jsonl --wait-s 300 ${workload[*]}"
verify_rc=0
bench verify-stream --bootstrap "$bootstrap" --count "$count" --export "$run_dir/export.jsonl" --wait-s 300 \
  --summary "$run_dir/verify.json" "${workload[@]}" | tee "$run_dir/verify.out" || verify_rc=$?
verified=$(date +%s)

# ---- report ----
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], "?"))' "$1" "$2"; }
{
  echo "# Fault run (benchmarks/chaos.sh)"
  echo
  echo "Command: \`$command_line\` (workload: \`${workload[*]}\`)"
  echo
  echo '```'
  cat "$run_dir/machine.txt"
  echo '```'
  echo
  echo "Three \`identitygraph serve\` nodes (Release build) on one PostgreSQL 15 journal (fsync on) and the dev broker"
  echo "(8 partitions); $count records streamed at $rate/s while faults were injected for $minutes min, one at a time."
  echo
  echo "| at (s) | fault | target | detail | down (s) | ready again after (s) |"
  echo "|---:|---|---|---|---:|---:|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$run_dir/faults.tsv"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| faults injected | $(grep -vc 'exited on its own' "$run_dir/faults.tsv" || true) ($(cut -f2 "$run_dir/faults.tsv" | sort | uniq -c | awk '{ n = $1; $1 = ""; printf "%s%s ×%s", sep, substr($0, 2), n; sep = ", " }')) |"
  echo "| nodes that exited on their own | $(grep -c 'exited on its own' "$run_dir/faults.tsv" || true) |"
  echo "| records streamed | $count ($(field "$run_dir/verify.json" MalformedRecords) refused as a whole) |"
  echo "| load tool: every record committed | $([[ $load_rc == 0 ]] && echo yes || echo "NO (exit $load_rc)") |"
  echo "| time to quiesce after the last fault | $((quiesced - faults_ended)) s (all records committed and the output quiet; the topics then agreed with the reference after $(field "$run_dir/verify.json" WaitedSeconds) s more) |"
  echo "| reference profiles / identifiers | $(field "$run_dir/verify.json" ReferenceProfiles) / $(field "$run_dir/verify.json" ReferenceIdentifiers) |"
  echo "| export = reference | $(field "$run_dir/verify.json" ExportEqualsReference) ($(field "$run_dir/verify.json" ExportProfiles) profiles) |"
  echo "| downstream view = reference | $(field "$run_dir/verify.json" ViewEqualsReference) ($(field "$run_dir/verify.json" ViewProfiles) profiles) |"
  echo "| profile events (distinct profile id + version) | $(field "$run_dir/verify.json" ProfileEvents) ($(field "$run_dir/verify.json" DistinctProfileEvents)); missing versions: $(field "$run_dir/verify.json" MissingVersions) |"
  echo "| dead letters / malformed records | $(field "$run_dir/verify.json" DeadLetters) / $(field "$run_dir/verify.json" MalformedRecords); missing: $(field "$run_dir/verify.json" MissingDeadLetters), valid records dead-lettered: $(field "$run_dir/verify.json" UnexpectedDeadLetters) |"
  echo "| output truncated by the dev broker | $(field "$run_dir/verify.json" OutputTruncated) |"
  echo "| **lost** | **$(field "$run_dir/verify.json" Lost)** |"
  echo
  echo "Run time: $((verified - started)) s. Logs of every process: \`$run_dir\`."
} > "$results"
cat "$results"
log "report written to $results"
[[ $verify_rc == 0 && $load_rc == 0 ]]
