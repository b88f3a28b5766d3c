#!/usr/bin/env bash
# redcar against redis-server 7 over the Redis protocol, with redis-benchmark
# as the client for both, in the same run:
#   redcar (--fsync always)  vs  redis-server (appendonly yes, appendfsync always)
# Workloads alternate server by server (A B A B ...) for ROUNDS rounds; each
# figure is the median of its rounds, with min and max beside it, and the
# ratio redcar / redis. A table goes to stdout, JSON to $OUT (default
# build-release/bench-results/resp_vs_redis.json).
#
#   bench/resp_vs_redis.sh                   3 rounds, 200k requests each
#   ROUNDS=5 REQUESTS=100000 bench/resp_vs_redis.sh
#   SMOKE=1 bench/resp_vs_redis.sh           1 round, 2k requests (tests)
#   REDCAR_ARGS="--shards 1" bench/resp_vs_redis.sh   extra server flags
set -euo pipefail
set -f  # workload arguments hold "*"
cd "$(dirname "$0")/.."

smoke=${SMOKE:-0}
rounds=${ROUNDS:-3}
requests=${REQUESTS:-200000}
clients=${CLIENTS:-50}
build_dir=${BUILD_DIR:-build-release}
if [ "$smoke" = 1 ]; then rounds=1; requests=2000; fi
out=${OUT:-$build_dir/bench-results/resp_vs_redis.json}

# shellcheck source=bench/lib.sh
. bench/lib.sh
if [ ! -x "$build_dir/bin/redcar" ]; then
  bench_build "$build_dir" redcar
fi
mkdir -p "$(dirname "$out")"

bench_workdir redcar-resp-bench
work=$bench_work

rc_port=$(free_port)
"$build_dir/bin/redcar" --data-dir "$work/redcar" --resp-addr "127.0.0.1:$rc_port" --grpc-addr '' --http-addr '' \
  --fsync always -o "$work/redcar.log" ${REDCAR_ARGS:-} &
rc_pid=$!
bench_track "$rc_pid"
rd_port=$(free_port)
mkdir -p "$work/redis"
redis-server --port "$rd_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes --appendfsync always \
  --save '' --daemonize no --logfile "$work/redis.log" &
rd_pid=$!
bench_track "$rd_pid"
wait_for redcar "$rc_pid" redis-cli -p "$rc_port" ping
wait_for redis-server "$rd_pid" redis-cli -p "$rd_port" ping

value=$(head -c 100 /dev/zero | tr '\0' v)
# name | redis-benchmark arguments
workloads=(
  "PING|-t ping_mbulk"
  "XADD 100B|XADD bench:s * f $value"
  "XADD 100B -P16|-P 16 XADD bench:p * f $value"
  "SET 100B|-t set -d 100"
  "GET|-t get -d 100"
  "XRANGE COUNT 10|XRANGE bench:s - + COUNT 10"
)

run_one() {  # port, args... -> requests per second
  local port=$1; shift
  # shellcheck disable=SC2086
  redis-benchmark -p "$port" -q -c "$clients" -n "$requests" "$@" 2>/dev/null | tr '\r' '\n' |
    grep -v 'rps=' | grep 'requests per second' | tail -1 | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}

declare -A results
total=$(( ${#workloads[@]} * rounds * 2 ))
done_runs=0
start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    args=${w#*|}
    for server in redcar redis; do
      port=$rc_port
      [ "$server" = redis ] && port=$rd_port
      # shellcheck disable=SC2086
      v=$(run_one "$port" $args || true)
      results["$server|$name"]+="${v:-0} "
      done_runs=$((done_runs + 1))
      elapsed=$(( $(date +%s) - start ))
      eta=$(( elapsed * (total - done_runs) / done_runs ))
      printf '\r[%3d/%3d] round %d %-18s %-7s %10s req/s  eta %ds   ' "$done_runs" "$total" "$r" "$name" "$server" "${v:-?}" "$eta" >&2
    done
  done
done
echo >&2

/usr/bin/python3 - "$out" "$rounds" "$requests" "$clients" <<PY
import json, statistics, sys
out, rounds, requests, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raw = """$(for k in "${!results[@]}"; do echo "$k|${results[$k]}"; done)"""
data = {}
for line in raw.strip().splitlines():
    server, name, vals = line.split("|", 2)
    data.setdefault(name, {})[server] = [float(v) for v in vals.split()]
order = [w.split("|")[0] for w in """$(printf '%s\n' "${workloads[@]}")""".strip().splitlines()]
rows = []
print(f"redis-benchmark -c {clients} -n {requests}, {rounds} round(s), median [min-max] requests/s")
print(f"{'workload':<18} {'redcar':>24} {'redis (fsync always)':>24} {'ratio':>7}")
for name in order:
    rc, rd = data[name]["redcar"], data[name]["redis"]
    m1, m2 = statistics.median(rc), statistics.median(rd)
    ratio = m1 / m2 if m2 else 0.0
    fmt = lambda v: f"{statistics.median(v):,.0f} [{min(v):,.0f}-{max(v):,.0f}]"
    print(f"{name:<18} {fmt(rc):>24} {fmt(rd):>24} {ratio:>6.2f}x")
    rows.append({"workload": name, "redcar": rc, "redis": rd, "redcar_median": m1, "redis_median": m2, "ratio": ratio})
json.dump({"clients": clients, "requests": requests, "rounds": rounds, "rows": rows}, open(out, "w"), indent=2)
print(f"JSON: {out}")
PY
