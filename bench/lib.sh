# shellcheck shell=bash
# Helpers the comparison scripts (resp_vs_redis.sh, grpc_vs_etcd.sh, compare) share:
# a temporary work folder and the processes started in it, both removed on
# exit or interruption; free ports; waiting for a server; the build; the
# machine's load. Sourced, not run. Processes are stopped by the pid each
# script recorded, never by name.

bench_pids=()
bench_work=""

bench_cleanup() {
  local p
  if [ -n "$bench_client" ]; then kill "$bench_client" 2>/dev/null || true; fi
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do
    # A server that ignores SIGTERM for 10 s is killed.
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  bench_pids=()
  if [ -n "$bench_work" ]; then rm -rf "$bench_work"; fi
}

# bench_workdir NAME: makes the work folder ($bench_work) and arranges for
# cleanup on exit, Ctrl-C and SIGTERM.
bench_workdir() {
  bench_work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_track PID: stopped and waited for by the cleanup.
bench_track() { bench_pids+=("$1"); }

# bench_run CMD...: runs a client in the background and waits for it, so
# that an interrupted script stops at once and the cleanup stops the client
# too (a background job of a script ignores Ctrl-C itself). Returns its
# exit status.
bench_run() {
  "$@" &
  bench_client=$!
  local rc=0
  wait "$bench_client" || rc=$?
  bench_client=""
  return "$rc"
}
bench_client=""

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for WHAT PID CMD...: polls CMD for $bench_wait_s seconds (10);
# fails early if PID died.
bench_wait_s=10
wait_for() {
  local what=$1 pid=$2
  shift 2
  for _ in $(seq 1 $((bench_wait_s * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited while starting" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$what did not start" >&2
  return 1
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# bench_build DIR TARGET...: configures DIR as Release if it is not
# configured yet, then builds the targets (nothing to do when up to date).
bench_build() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ] && [ ! -f "$dir/Makefile" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$dir" -j "${JOBS:-$(nproc)}" --target "$@" >/dev/null
}

# bench_export_rev SHA DIR: the commit's files in DIR (git archive), only
# those that changed rewritten, so that a build of DIR stays incremental.
bench_export_rev() {
  local sha=$1 dst=$2 tmp
  [ "$(cat "$dst/.exported-rev" 2>/dev/null)" = "$sha" ] && return 0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/redcar-export.XXXXXX")
  git archive "$sha" | tar -x -C "$tmp"
  python3 - "$tmp" "$dst" <<'EOF_PY'
import filecmp, os, shutil, sys
new, dst = sys.argv[1:]
keep = set()
for root, _, files in os.walk(new):
    rel = os.path.relpath(root, new)
    os.makedirs(os.path.join(dst, rel), exist_ok=True)
    for f in files:
        a, b = os.path.join(root, f), os.path.join(dst, rel, f)
        keep.add(os.path.normpath(os.path.join(rel, f)))
        if not os.path.isfile(b) or not filecmp.cmp(a, b, shallow=False):
            shutil.copyfile(a, b)  # a new mtime: the build sees the change
            shutil.copymode(a, b)
for root, _, files in os.walk(dst):
    for f in files:
        rel = os.path.normpath(os.path.relpath(os.path.join(root, f), dst))
        if rel not in keep and rel != ".exported-rev":
            os.remove(os.path.join(root, f))
EOF_PY
  rm -rf "$tmp"
  echo "$sha" >"$dst/.exported-rev"
}

# The 1-minute load average, and the CPU seconds (user + system) a process
# has used so far.
load_avg() { cut -d' ' -f1 /proc/loadavg; }
cpu_seconds() {
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# Servers started the same way by every script: each helper starts one in
# the background, tracks it, and leaves its pid in $bench_started.
bench_started=""

# bench_start_redcar BIN DATA_DIR LOG FLAGS...: redcar with its data and log
# in the work folder; FLAGS pick the listeners (an empty address: off).
# BENCH_CPUS: the cores it may run on (taskset -c; all when unset).
bench_start_redcar() {
  local bin=$1 data=$2 log=$3 pin=()
  shift 3
  if [ -n "${BENCH_CPUS:-}" ]; then pin=(taskset -c "$BENCH_CPUS"); fi
  "${pin[@]}" "$bin" --data-dir "$data" -o "$log" "$@" &
  bench_started=$!
  bench_track "$bench_started"
}

# bench_start_redis DIR PORT FSYNC: redis-server with an append-only file
# (appendfsync FSYNC: always | everysec), no snapshots, its log in DIR.
bench_start_redis() {
  mkdir -p "$1"
  redis-server --port "$2" --bind 127.0.0.1 --dir "$1" --appendonly yes --appendfsync "$3" \
    --save '' --daemonize no --logfile "$1/redis.log" &
  bench_started=$!
  bench_track "$bench_started"
}

# bench_start_etcd DIR CLIENT_PORT PEER_PORT: a one-member etcd with its
# defaults (every Put in its fsynced WAL before the answer), log in DIR.log.
bench_start_etcd() {
  etcd --name bench --data-dir "$1" \
    --listen-client-urls "http://127.0.0.1:$2" --advertise-client-urls "http://127.0.0.1:$2" \
    --listen-peer-urls "http://127.0.0.1:$3" --initial-advertise-peer-urls "http://127.0.0.1:$3" \
    --initial-cluster "bench=http://127.0.0.1:$3" >"$1.log" 2>&1 &
  bench_started=$!
  bench_track "$bench_started"
}

# bench_stop PID: stops one tracked process now (SIGTERM; SIGKILL after 10
# s) and forgets it, so that the cleanup never signals a reused pid.
bench_stop() {
  local p=$1 rest=() q
  kill "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for q in "${bench_pids[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
  bench_pids=("${rest[@]}")
}

# The resident size of a process in kB (VmRSS; FIELD picks another line
# of /proc/PID/status, e.g. VmHWM).
rss_kb() { awk -v f="${2:-VmRSS}:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# children_cpu_seconds FILE: sets $children_cpu to the CPU seconds (user +
# system) used so far by the children this shell has waited for; the delta
# over a run is a client's CPU use. Not in a $(...): a subshell starts
# from zero. FILE is scratch space.
children_cpu=0
children_cpu_seconds() {
  times >"$1"
  children_cpu=$(awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1")
}

# redis_benchmark_figures FILE: the figures of a redis-benchmark --csv
# report, as "requests/s p50_ms p99_ms" (nothing if it has none).
redis_benchmark_figures() {
  awk -F'","' 'NR > 1 && NF >= 8 { print $2, $5, $7 }' "$1" 2>/dev/null | tail -1
}
