#!/usr/bin/env bash
# Installs what prisn needs from Debian 12's archive. `--test` adds what the test suite uses,
# `--bench` what the benchmarks in bench/ compare prisn with.
# Runs apt-get only when something is missing, so it is quick (and works offline) once done.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev libssl-dev
)
# prisnd's bridge network mode (SPEC 7.1) drives iproute2 and nftables.
runtime_packages=(iproute2 nftables)
test_packages=(
  libgtest-dev libgmock-dev
  python3 python3-pytest python3-requests python3-dnspython python3-yaml curl
  bind9-dnsutils dnsmasq-base openssl pebble
  python3-h2 nghttp2-client
  clang libclang-rt-14-dev
)

bench_packages=(wrk nginx-light haproxy dnsperf nsd dnsmasq-base python3-dnspython nghttp2-client)

packages=("${build_packages[@]}" "${runtime_packages[@]}")
case "${1:-}" in
  --test) packages+=("${test_packages[@]}") ;;
  --bench) packages+=("${test_packages[@]}" "${bench_packages[@]}") ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if (( ${#missing[@]} == 0 )); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
