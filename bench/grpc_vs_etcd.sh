#!/usr/bin/env bash
# redcar's gRPC front end against etcd 3.4, with redcar-bench as the client
# for both, in the same run:
#   redcar (-a, --fsync always, the default)  vs  etcd 3.4 (its default
#   durability: every Put is in its fsynced WAL before it is answered)
# etcd-put and etcd-range with $CLIENTS (64) calls outstanding alternate
# server by server (A B A B ...) for $ROUNDS rounds, and native-append
# ($BATCH events of $VALUE_BYTES bytes per call) runs against redcar in each
# round, once with a CloudEvent id on every event and once with an id on the
# first event of each call only (the one the server's retry check reads). Each figure is the median of its rounds with [min-max] beside it,
# with the median p99, the server's CPU use (cores busy over the run) and
# the ratio redcar / etcd. A table goes to stdout, JSON to $OUT (default
# build-release/bench-results/grpc_vs_etcd.json). A run with errors fails
# the script (after the table).
#
#   bench/grpc_vs_etcd.sh                      3 rounds of 10 s (2 s warm-up)
#   ROUNDS=5 DURATION=20 bench/grpc_vs_etcd.sh
#   SMOKE=1 bench/grpc_vs_etcd.sh              1 round of 2 s each (tests)
#   REDCAR_ARGS="--shards 1" bench/grpc_vs_etcd.sh   extra server flags
#   BENCH_ARGS="--channels 8" bench/grpc_vs_etcd.sh  extra redcar-bench flags
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

smoke=${SMOKE:-0}
rounds=${ROUNDS:-3}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
clients=${CLIENTS:-64}
batch=${BATCH:-100}
value_bytes=${VALUE_BYTES:-100}
build_dir=${BUILD_DIR:-build-release}
if [ "$smoke" = 1 ]; then rounds=1; duration=2; warmup=0.5; fi
out=${OUT:-$build_dir/bench-results/grpc_vs_etcd.json}

bench_build "$build_dir" redcar redcar-bench
mkdir -p "$(dirname "$out")"
bench="$build_dir/bin/redcar-bench"

bench_workdir redcar-grpc-bench
work=$bench_work

rc_port=$(free_port)
# shellcheck disable=SC2086  # REDCAR_ARGS is a list of flags
"$build_dir/bin/redcar" --data-dir "$work/redcar" -a "127.0.0.1:$rc_port" --resp-addr '' --http-addr '' \
  -o "$work/redcar.log" ${REDCAR_ARGS:-} &
rc_pid=$!
bench_track "$rc_pid"

etcd_port=$(free_port)
etcd_peer=$(free_port)
bench_start_etcd "$work/etcd" "$etcd_port" "$etcd_peer"
etcd_pid=$bench_started

wait_for redcar "$rc_pid" tcp_open "$rc_port" || { tail -20 "$work/redcar.log" >&2; exit 1; }
wait_for etcd "$etcd_pid" env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$etcd_port" endpoint health ||
  { tail -20 "$work/etcd.log" >&2; exit 1; }

# name | servers | redcar-bench arguments
workloads=(
  "etcd-put $clients calls|redcar etcd|-w etcd-put -c $clients"
  "etcd-range $clients calls|redcar etcd|-w etcd-range -c $clients"
  "native-append ${batch}x${value_bytes}B|redcar|-w native-append -c $clients -b $batch"
  "native-append ${batch}x${value_bytes}B, 1 id|redcar|-w native-append -c $clients -b $batch --event-ids first"
)

total=0
for w in "${workloads[@]}"; do
  servers=${w#*|}
  servers=${servers%%|*}
  total=$((total + rounds * $(wc -w <<<"$servers")))
done

files=()
failed=0
done_runs=0
start=$(date +%s)
for ((r = 1; r <= rounds; r++)); do
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    rest=${w#*|}
    servers=${rest%%|*}
    args=${rest#*|}
    for server in $servers; do
      if [ "$server" = redcar ]; then
        pid=$rc_pid
        target=redcar-etcd
        [[ "$args" == *native-* ]] && target=redcar-native
        addr="127.0.0.1:$rc_port"
      else
        pid=$etcd_pid
        target=etcd
        addr="127.0.0.1:$etcd_port"
      fi
      file="$work/run-$r-$(tr -c 'a-zA-Z0-9\n' _ <<<"$name")-$server.json"
      cpu0=$(cpu_seconds "$pid")
      rc=0
      # shellcheck disable=SC2086
      bench_run "$bench" --target "$target" --addr "$addr" $args -d "$value_bytes" --duration "$duration" \
        --warmup "$warmup" --label "$server|$name|$r" --json "$file" -q ${BENCH_ARGS:-} >"$file.txt" 2>&1 || rc=$?
      cpu1=$(cpu_seconds "$pid")
      printf '{"cpu_s": %s, "load": %s}\n' "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" \
        "$(load_avg)" >"$file.server"
      files+=("$file")
      if [ "$rc" != 0 ]; then
        failed=1
        echo >&2
        echo "run failed ($server, $name, round $r, exit $rc):" >&2
        tail -15 "$file.txt" >&2
      fi
      done_runs=$((done_runs + 1))
      elapsed=$(( $(date +%s) - start ))
      eta=$(( elapsed * (total - done_runs) / done_runs ))
      rate=$(grep -E '^(operations|events) ' "$file.txt" | tail -1 | awk '{print $3}')
      printf '\r[%2d/%2d] round %d %-30s %-7s %12s/s  eta %ds   ' "$done_runs" "$total" "$r" "$name" "$server" \
        "${rate:-?}" "$eta" >&2
    done
  done
done
echo >&2

meta=$(printf '{"rounds": %d, "duration_s": %s, "warmup_s": %s, "clients": %d, "batch": %d, "value_bytes": %d, "redcar_args": "%s"}' \
  "$rounds" "$duration" "$warmup" "$clients" "$batch" "$value_bytes" "${REDCAR_ARGS:-}")
compare_rc=0
/usr/bin/python3 bench/compare.py --a redcar --b etcd --out "$out" --meta "$meta" \
  --title "redcar-bench, $rounds round(s) of ${duration} s after ${warmup} s warm-up, median [min-max]; redcar --fsync always vs etcd 3.4 defaults" \
  "${files[@]}" || compare_rc=$?
if [ "$failed" != 0 ] || [ "$compare_rc" != 0 ]; then exit 1; fi
