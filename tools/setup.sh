#!/usr/bin/env bash
# Installs every Debian package redcar needs to build, test and benchmark.
# Safe to run again: packages already present are skipped, and apt is only
# asked for what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  liburing-dev libboost-dev libboost-system-dev libxxhash-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libspdlog-dev libfmt-dev libcli11-dev libssl-dev openssl nlohmann-json3-dev
  redis-server redis-tools etcd-server etcd-client
  python3 python3-redis python3-etcd3
  fio netcat-openbsd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The peers (redis-server, etcd-server) must not be left running as system
# services: tests and benchmarks start their own on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
