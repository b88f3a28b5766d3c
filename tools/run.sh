#!/usr/bin/env bash
# Installs what is missing, builds in Release, and starts redcar in the
# foreground with its data in ./data (Ctrl-C stops it cleanly). Extra
# arguments go to the server, e.g. tools/run.sh --fsync interval:10
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREDCAR_BUILD_TESTS=OFF -DREDCAR_BUILD_BENCH=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target redcar
exec build-release/bin/redcar --data-dir ./data -o stdout "$@"
