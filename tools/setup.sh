#!/usr/bin/env bash
# Installs every Debian package redcar needs to build, test and benchmark,
# and the npm packages of the Node.js client tests (tests/integration/node,
# pinned in its package-lock.json). Safe to run again: packages already
# present are skipped, and apt and npm are only asked for what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

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
# Node.js and npm: the machine's own when it has them, else Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

# The Node.js Redis clients the integration tests drive, exactly as locked.
install_node_clients() {
  local dir=tests/integration/node
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
    echo "setup: node clients present"
    return
  fi
  echo "setup: installing the node clients (npm ci)"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  install_node_clients
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
install_node_clients
echo "setup: done"
