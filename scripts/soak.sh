#!/usr/bin/env bash
# Soak test: tinyhttpd under mixed keep-alive load for MINUTES (default 30)
# on 127.0.0.1, sampling its memory, descriptors and threads every
# SAMPLE_SECONDS (default 10); see scripts/soak.py for the mix, the
# settings and what makes it fail. Takes MINUTES plus about half a minute.
#
#   scripts/soak.sh                       # builds target/release/tinyhttpd, 30 minutes
#   MINUTES=5 scripts/soak.sh /tmp/tinyhttpd-before
#   MIX=missing=0 MALLOC_ARENA_MAX=2 scripts/soak.sh BINARY
#
# Installs wrk from Debian's packages when it is missing. Given no BINARY,
# builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

if [ $# -eq 0 ]; then
  cargo build --release --quiet
fi
exec python3 scripts/soak.py "${1:-target/release/tinyhttpd}"
