#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every benchmark on the release build, one after the other, each writing its JSON
# result to OUT_DIR (default bench/results/). Installs the peers first (nginx, HAProxy,
# NSD, dnsmasq, wrk, dnsperf). Usage: bench/run_all.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
out=${1:-results}
mkdir -p "$out"
../packaging/install-deps.sh --bench
for b in run_overhead api_latency rss l4_proxy proxies http2 dns_throughput health_cpu dns_malformed; do
  echo "== $b"
  /usr/bin/python3 "$b.py" > "$out/$b.json"
  grep -E '"pass"' "$out/$b.json" || true
done
