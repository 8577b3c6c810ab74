#!/usr/bin/env bash
# Builds the release binary and runs the slow- and idle-connection stress test
# against it on 127.0.0.1 (see scripts/stress.py). Takes about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exec python3 scripts/stress.py --binary target/release/tinyhttpd "$@"
