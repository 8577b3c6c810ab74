#!/usr/bin/env bash
# Side-by-side benchmark: tinyhttpd against nginx and lighttpd on loopback,
# servers pinned to CPU 0 and wrk to CPU 1. Installs what it needs from
# Debian's packages, builds the release binary, prints markdown tables.
# ROUNDS (default 6) and SECONDS_PER_RUN (default 5) set its length: about
# ROUNDS x (7 scenarios x 3 servers + 2 through the proxy) x (SECONDS_PER_RUN + 2)
# seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/servers.sh
prepare wrk:wrk taskset:util-linux

cargo build --release --quiet
# The design's yardstick (see scripts/baseline.c); cc is the linker cargo uses.
cc -O2 -pthread scripts/baseline.c -o target/baseline
exec python3 scripts/bench.py target/release/tinyhttpd
