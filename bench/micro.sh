#!/usr/bin/env bash
# Builds and runs the micro benchmarks (bench/micro/*.cc) and fio on the same
# filesystem, then prints the engine's figures beside the disk's.
#
#   bench/micro.sh                 Release build in build-release/, full run
#   SMOKE=1 bench/micro.sh         tiny sizes and 2-second fio jobs: checks
#                                  that everything still runs (the test suite)
#
# Environment (relative paths are taken from the repository's root):
#   BUILD_DIR    build folder (default build-release). An existing, configured
#                folder is used as it is; otherwise it is configured Release.
#   DATA_DIR     where the benchmarks and fio put their temporary files
#                (default ./data-bench; it must be on the data folder's disk)
#   JOBS         build parallelism (default: the number of cores)
#   BENCH_ARGS   extra Google Benchmark flags for every binary, e.g.
#                "--benchmark_filter=Append --benchmark_repetitions=3"
#   REDCAR_BENCH_*_MB   sizes, see bench/README.md
#
# Results: $BUILD_DIR/bench-results/<binary>.json (Google Benchmark's JSON),
# fio.json and fio-raw.json.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build-release}
data_dir=${DATA_DIR:-./data-bench}
jobs=${JOBS:-$(nproc)}
results_dir="$build_dir/bench-results"
smoke=${SMOKE:-0}

if [ "$smoke" = 1 ]; then
  export REDCAR_BENCH_SMOKE=1
else
  unset REDCAR_BENCH_SMOKE
fi

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
benches=()
for src in bench/micro/*.cc; do
  benches+=("$(basename "$src" .cc)")
done
echo "== build ${benches[*]} ($build_dir) =="
cmake --build "$build_dir" -j "$jobs" --target "${benches[@]}"

made_data_dir=0
[ -d "$data_dir" ] || made_data_dir=1
mkdir -p "$results_dir" "$data_dir"
data_dir_abs=$(cd "$data_dir" && pwd)
# A benchmark that gives up (it exits rather than hang) leaves its folder.
cleanup() {
  rm -rf "$data_dir_abs"/redcar-*-bench-*
  if [ "$made_data_dir" = 1 ]; then rmdir "$data_dir_abs" 2>/dev/null || true; fi
}
trap cleanup EXIT
# Only this script's own results: other benchmarks write beside them.
rm -f "$results_dir"/fio.json "$results_dir"/fio-raw.json
for name in "${benches[@]}"; do rm -f "$results_dir/$name.json"; done

if command -v fio >/dev/null; then
  echo "== fio =="
  SMOKE=$smoke RESULTS_DIR="$results_dir" bash bench/fio.sh "$data_dir_abs"
else
  echo "== fio is not installed (tools/setup.sh installs it): no disk figures to compare with =="
fi

# Each binary makes (and removes) its temporary data folders in the data
# folder, on the disk fio has just measured.
failed=()
for name in "${benches[@]}"; do
  echo "== $name =="
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
  if ! REDCAR_BENCH_DIR="$data_dir_abs" "$build_dir/bin/$name" --benchmark_format=console \
    --benchmark_out="$results_dir/$name.json" --benchmark_out_format=json ${BENCH_ARGS:-}; then
    failed+=("$name")
  fi
done

echo "== the engine's share of the disk =="
python3 - "$results_dir" "$smoke" <<'EOF'
import json, os, sys

results_dir, smoke = sys.argv[1], sys.argv[2] == "1"

def load(name):
    path = os.path.join(results_dir, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):  # missing, or cut short by a failed run
        return None

fio = load("fio.json")
runs = {}
for name in ("engine_bench.json", "log_bench.json"):
    doc = load(name)
    for b in (doc or {}).get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        runs.setdefault(b["run_name"], []).append(b)

def figure(prefix, field):
    """Mean of `field` over the runs whose name starts with `prefix`."""
    vals = [b[field] for name, bs in runs.items() if name.startswith(prefix + "/") or name == prefix
            for b in bs if field in b]
    return sum(vals) / len(vals) if vals else None

rows = []
def row(what, value, unit, disk_what, disk, kind="share"):
    rows.append((what, value, unit, disk_what, disk, kind))

MB = 1e6
for shards in (1, 2):
    v = figure(f"BM_EngineAppend/fsync_never/16KiB/shards:{shards}", "bytes_per_second")
    row(f"append, fsync never, 16 KiB, {shards} shard(s)", v and v / MB, "MB/s",
        "seq write", fio and fio["seq_write_MBps"])
v = figure("BM_EngineRead/cold/16KiB/in_flight:1", "bytes_per_second")
row("cold read, 16 KiB, 1 range in flight", v and v / MB, "MB/s", "seq read", fio and fio["seq_read_MBps"])
v = figure("BM_EngineRead/cold/16KiB/in_flight:4", "bytes_per_second")
row("cold read, 16 KiB, 4 ranges in flight", v and v / MB, "MB/s", "seq read", fio and fio["seq_read_MBps"])
for shards in (1, 2):
    v = figure(f"BM_EngineAppend/fsync_always/64B/shards:{shards}", "items_per_second")
    row(f"durable appends, 64 B, {shards} shard(s)", v, "/s", "fdatasync", fio and fio["fdatasync_per_s"], "times")
for shards in (1, 2):
    v = figure(f"BM_EngineRecovery/1KiB/shards:{shards}", "MB/s")
    row(f"recovery scan, 1 KiB events, {shards} shard(s)", v, "MB/s", "seq read", fio and fio["seq_read_MBps"])

def fmt(v):
    return "-" if v is None else f"{v:,.0f}"

print(f"{'engine':44} {'':>12}   {'disk (fio)':>22}   ratio")
for what, value, unit, disk_what, disk, kind in rows:
    if value is None and disk is None:
        continue
    if value is not None and disk:
        ratio = f"{value / disk:.0%}" if kind == "share" else f"{value / disk:.1f}x"
    else:
        ratio = "-"
    print(f"{what:44} {fmt(value):>7} {unit:<4}   {disk_what + ' ' + fmt(disk):>17} {unit:<4}   {ratio}")
print()
print("share: the engine's rate as a part of the raw disk's (targets: cold read >= 70%).")
print("x: durable appends per second per fdatasync the disk can do (group commit's gain).")
print("recovery target: >= 500 MB/s of log.")
if smoke:
    print("SMOKE=1: tiny sizes, these figures mean nothing; run without SMOKE for real ones.")
EOF

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (see the errors above)" >&2
  exit 1
fi
