#!/usr/bin/env bash
# Side-by-side benchmark: tinyhttpd against nginx and lighttpd on loopback,
# servers pinned to CPU 0 and wrk to CPU 1. Installs what it needs from
# Debian's packages, builds the release binary, prints markdown tables.
# ROUNDS (default 6) and SECONDS_PER_RUN (default 5) set its length: about
# ROUNDS x 7 scenarios x 3 servers x (SECONDS_PER_RUN + 2) seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v lighttpd >/dev/null || missing+=(lighttpd)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian packages may start their own daemons; this script starts its own.
pkill -x nginx 2>/dev/null || true
pkill -x lighttpd 2>/dev/null || true

cargo build --release --quiet
# The design's yardstick (see scripts/baseline.c); cc is the linker cargo uses.
cc -O2 -pthread scripts/baseline.c -o target/baseline
exec python3 scripts/bench.py target/release/tinyhttpd
