#!/usr/bin/env bash
# What the disk under the data folder can do, measured with fio: the yardstick
# the micro benchmarks are compared with (bench/micro.sh prints the engine's
# figures as shares of these).
#
#   bench/fio.sh [FOLDER]      FOLDER: on the filesystem of the data folder
#                              (default: data-bench/ in the repository); fio
#                              works in a temporary folder inside it and
#                              removes it at the end.
#
# Jobs, one after the other, each for RUNTIME_S seconds (5; 2 with SMOKE=1):
#   seq_write    sequential write, 1 MiB blocks, O_DIRECT, io_uring, 16 in flight
#   fdatasync    4 KiB O_DIRECT writes each followed by fdatasync, one at a time,
#                into blocks already written: a durable commit, as the log does
#                into its zero-filled segments
#   dsync_write  the same with one O_DSYNC write instead of write + fdatasync
#   rand_read    random 4 KiB reads, O_DIRECT, io_uring, 32 in flight
#   seq_read     sequential read, 1 MiB blocks, O_DIRECT, io_uring, 16 in flight
#
# Prints a table and writes $RESULTS_DIR/fio.json (the figures) and
# $RESULTS_DIR/fio-raw.json (fio's own report); RESULTS_DIR defaults to
# build-release/bench-results in the repository.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

folder=${1:-$repo/data-bench}
results_dir=${RESULTS_DIR:-$repo/build-release/bench-results}
if [ "${SMOKE:-0}" = 1 ]; then
  runtime_s=${RUNTIME_S:-2}
  file_size=64M
else
  runtime_s=${RUNTIME_S:-5}
  file_size=1G
fi

command -v fio >/dev/null || { echo "fio is not installed (tools/setup.sh installs it)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to read fio's report" >&2; exit 1; }

made_folder=0
[ -d "$folder" ] || made_folder=1
mkdir -p "$folder" "$results_dir"
work=$(mktemp -d "$folder/fio-XXXXXX")
cleanup() {
  rm -rf "$work"
  if [ "$made_folder" = 1 ]; then rmdir "$folder" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Write the files out first: fio would otherwise fallocate them, and a write
# into an unwritten extent costs a journal commit (reads of one cost nothing)
# while the engine writes into segments it has already zero-filled.
prefill() {
  dd if=/dev/zero of="$1" bs=1M count="$2" oflag=direct conv=fsync status=none
}
case $file_size in
  *G) prefill "$work/seq" $(( ${file_size%G} * 1024 )) ;;
  *M) prefill "$work/seq" "${file_size%M}" ;;
esac
prefill "$work/sync" 64

raw="$results_dir/fio-raw.json"
fio --output-format=json --output="$raw" \
  --directory="$work" --runtime="$runtime_s" --time_based --fallocate=none --group_reporting=0 \
  --name=seq_write --filename=seq --rw=write --bs=1M --size="$file_size" --direct=1 \
  --ioengine=io_uring --iodepth=16 \
  --name=fdatasync --stonewall --filename=sync --rw=write --bs=4k --size=64M --direct=1 \
  --ioengine=psync --fdatasync=1 \
  --name=dsync_write --stonewall --filename=sync --rw=write --bs=4k --size=64M --direct=1 \
  --ioengine=psync --sync=dsync \
  --name=rand_read --stonewall --filename=seq --rw=randread --bs=4k --size="$file_size" --direct=1 \
  --ioengine=io_uring --iodepth=32 \
  --name=seq_read --stonewall --filename=seq --rw=read --bs=1M --size="$file_size" --direct=1 \
  --ioengine=io_uring --iodepth=16

fstype=$(df -PT "$work" | awk 'NR==2 {print $2}')
device=$(df -PT "$work" | awk 'NR==2 {print $1}')

python3 - "$raw" "$results_dir/fio.json" "$folder" "$fstype" "$device" "$runtime_s" <<'EOF'
import json, sys

raw_path, out_path, folder, fstype, device, runtime_s = sys.argv[1:]
with open(raw_path) as f:
    jobs = {j["jobname"]: j for j in json.load(f)["jobs"]}

def mb_s(job, kind):
    return jobs[job][kind]["bw_bytes"] / 1e6

def iops(job, kind):
    return jobs[job][kind]["iops"]

fig = {
    "folder": folder,
    "filesystem": fstype,
    "device": device,
    "runtime_s": int(runtime_s),
    "seq_write_MBps": round(mb_s("seq_write", "write"), 1),
    "fdatasync_per_s": round(iops("fdatasync", "write"), 1),
    "dsync_write_per_s": round(iops("dsync_write", "write"), 1),
    "rand_read_4k_iops": round(iops("rand_read", "read"), 1),
    "seq_read_MBps": round(mb_s("seq_read", "read"), 1),
}
sync = jobs["fdatasync"].get("sync", {}).get("lat_ns", {})
if sync.get("mean"):
    fig["fdatasync_mean_us"] = round(sync["mean"] / 1000, 1)
with open(out_path, "w") as f:
    json.dump(fig, f, indent=2)
    f.write("\n")

print(f"fio on {folder} ({fstype}, {device}), {runtime_s} s per job")
print(f"  {'sequential write, 1 MiB, O_DIRECT, QD16':44} {fig['seq_write_MBps']:>10.0f} MB/s")
extra = f"   (fdatasync {fig['fdatasync_mean_us']:.0f} us)" if "fdatasync_mean_us" in fig else ""
print(f"  {'4 KiB write + fdatasync, QD1':44} {fig['fdatasync_per_s']:>10.0f} sync/s{extra}")
print(f"  {'4 KiB O_DSYNC write, QD1':44} {fig['dsync_write_per_s']:>10.0f} writes/s")
print(f"  {'random read, 4 KiB, O_DIRECT, QD32':44} {fig['rand_read_4k_iops']:>10.0f} IOPS")
print(f"  {'sequential read, 1 MiB, O_DIRECT, QD16':44} {fig['seq_read_MBps']:>10.0f} MB/s")
print(f"  -> {out_path}")
EOF
