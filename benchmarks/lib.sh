# Pieces shared by benchmarks/run.sh and benchmarks/chaos.sh (sourced, not run): the incremental Release build, the
# clean-up trap that stops every child (PostgreSQL included), the dev broker and the throw-away PostgreSQL server.
# The caller sets: root (the repository), run_dir (exists), started (epoch seconds), pg_bin; then sources this file.

server_dll="$root/src/IdentityGraph.Server/bin/Release/net10.0/identitygraph.dll"
bench_dll="$root/benchmarks/IdentityGraph.Benchmarks/bin/Release/net10.0/IdentityGraph.Benchmarks.dll"
micro_dll="$root/benchmarks/IdentityGraph.MicroBenchmarks/bin/Release/net10.0/IdentityGraph.MicroBenchmarks.dll"

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
record() { echo "$*" | sed "s|$root/||g" >> "$run_dir/commands.txt"; } # paths relative to the repository

stop_pid() { # stop_pid PID: SIGTERM, wait (graceful stop is bounded by 45 s), then SIGKILL
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# ---- build ----
# Incremental: skipped when the three programs exist and no source, project or proto file changed since the last
# build by these scripts (a no-op `dotnet build` of these projects takes 5-30 s here).
stamp="$root/benchmarks/IdentityGraph.Benchmarks/obj/run.sh.built" # written after each successful build (obj/ is ignored)
needs_build() {
  for dll in "$server_dll" "$bench_dll" "$micro_dll" "$stamp"; do [[ -f "$dll" ]] || return 0; done
  [[ -n "$(cd "$root" && find src benchmarks proto tests/IdentityGraph.Server.Tests/Support Directory.Build.props Directory.Packages.props global.json -newer "$stamp" -type f \
    \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.proto' -o -name '*.json' -o -name '*.slnf' \) \
    -not -path '*/bin/*' -not -path '*/obj/*' -not -path '*/BenchmarkDotNet.Artifacts/*' -print -quit)" ]]
}
build_if_needed() {
  needs_build || return 0
  log "building Release (incremental)"
  dotnet build -c Release "$root/benchmarks/benchmarks.slnf" -v q -nologo > "$run_dir/build.log" 2>&1 || { tail -30 "$run_dir/build.log" >&2; exit 1; }
  touch "$stamp"
}

start_broker() { # start_broker NAME [PARTITIONS]: a fresh dev broker; sets broker_pid and bootstrap
  local out="$run_dir/broker-$1.out" partitions="${2:-8}"
  record "dotnet $server_dll kafka --port 0 --partitions $partitions"
  dotnet "$server_dll" kafka --port 0 --partitions "$partitions" > "$out" 2> "$run_dir/broker-$1.err" &
  broker_pid=$!; pids+=("$broker_pid")
  for _ in $(seq 1 300); do
    if grep -q '^bootstrap.servers=' "$out"; then bootstrap="$(sed -n 's/^bootstrap.servers=//p' "$out" | head -1)"; return 0; fi
    kill -0 "$broker_pid" 2>/dev/null || { cat "$run_dir/broker-$1.err" >&2; return 1; }
    sleep 0.1
  done
  echo "dev broker did not start" >&2; return 1
}

# ---- PostgreSQL: one throw-away server (Debian's binaries as the postgres user, a temp directory, a free port, trust
# auth) with full durability; sets pg_data, pg_port, pg_opts, pg_log ----
pg_port=""
start_postgres() { # start_postgres DATABASE...
  local dir; dir="$(mktemp -d /tmp/identitygraph-bench-pg.XXXXXX)"
  chown postgres:postgres "$dir"
  pg_data="$dir/data"
  pg_log="$dir/server.log"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync --no-instructions > "$run_dir/initdb.log" 2>&1
  pg_port="$(free_port)"
  pg_opts="-c listen_addresses=127.0.0.1 -p $pg_port -k $dir -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300 -c shared_buffers=512MB"
  record "$pg_bin/pg_ctl -D DATA -o \"$pg_opts\" start   (initdb as postgres, trust, temp dir)"
  pg_start
  for db in "$@"; do
    runuser -u postgres -- "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE $db" postgres
  done
}
pg_start() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -o "$pg_opts" -w -t 60 start > /dev/null; }
pg_stop_immediately() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w -t 60 stop > /dev/null; }
postmaster_pid() { head -1 "$pg_data/postmaster.pid"; }

machine_lines() { # the machine, the code and what else runs, one line each
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "dotnet: $(dotnet --version)"
  echo "postgresql: $("$pg_bin/postgres" --version 2>/dev/null || echo none)"
  echo "git: $(git -C "$root" rev-parse --short HEAD) ($(git -C "$root" rev-parse --abbrev-ref HEAD))$(git -C "$root" diff --quiet HEAD -- src benchmarks/run.sh benchmarks/chaos.sh benchmarks/lib.sh 'benchmarks/*.cs' 'benchmarks/*.csproj' || echo ', with uncommitted changes')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "busiest other processes at start (ps, %CPU since their start):"
  ps -eo pcpu,comm --sort=-pcpu | sed -n '2,6p' | sed 's/^/  /'
}
