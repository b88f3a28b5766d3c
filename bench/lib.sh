# shellcheck shell=bash
# Helpers the comparison scripts (resp_vs_redis.sh, grpc_vs_etcd.sh) share:
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

# wait_for WHAT PID CMD...: polls CMD for 10 s; fails early if PID died.
wait_for() {
  local what=$1 pid=$2
  shift 2
  for _ in $(seq 1 100); do
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

# The 1-minute load average, and the CPU seconds (user + system) a process
# has used so far.
load_avg() { cut -d' ' -f1 /proc/loadavg; }
cpu_seconds() {
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
