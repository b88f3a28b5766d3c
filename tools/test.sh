#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit, crash,
# gRPC front-end and integration tests (ctest), the unit tests (engine,
# RESP, redcar-ctl) and the gRPC tests again under ASan+UBSan, and the micro benchmarks in smoke mode so that they cannot
# rot.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== tests =="
ctest --test-dir build --output-on-failure --timeout 600 -j 2

echo "== sanitizer build (ASan+UBSan) =="
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DREDCAR_SANITIZE=ON -DREDCAR_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs" --target redcar_unit_tests redcar_grpc_tests redcar_ctl_unit_tests redcar_bench_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900 -L 'unit|grpc' -j 2

if [ -x bench/micro.sh ]; then
  echo "== micro benchmarks (smoke) =="
  SMOKE=1 BUILD_DIR=build bash bench/micro.sh
fi
if [ -x bench/compare ]; then
  echo "== comparison with redis-server and etcd (smoke) =="
  SMOKE=1 BUILD_DIR=build bash bench/compare
fi
echo "all tests passed"
