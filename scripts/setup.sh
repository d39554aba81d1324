#!/usr/bin/env bash
# Installs everything hypha needs on a Debian 12 node with Node/npm and root.
# Idempotent: installs only what is missing, so it is cheap to run before every command.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(clang llvm libbpf1 libbpf-dev bpftool iproute2 iputils-ping gcc libc6-dev make procps
  util-linux etcd-server etcd-client iperf3 containernetworking-plugins iptables nftables
  ethtool curl python3 prometheus chromium fonts-dejavu-core)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Deno and the npm libraries, exactly as package-lock.json pins them.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ "$(cat node_modules/.hypha-lock 2>/dev/null)" != "$lock_sum" ]]; then
  echo "setup: installing Deno and npm libraries from package-lock.json (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_sum" >node_modules/.hypha-lock
fi

# eBPF objects are built from bpf/ (clang) and embedded by the compile task; the test and
# benchmark tools (tests/tools, gcc) next to them.
scripts/deno task -q build:bpf
scripts/deno task -q build:tools
