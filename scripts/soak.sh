#!/usr/bin/env bash
# Soak test: tinyhttpd under mixed keep-alive load on 127.0.0.1 for MINUTES
# (default 30), its memory, descriptors and threads sampled every
# SAMPLE_SECONDS (default 10); see scripts/soak.py for the mix, the other
# settings and what makes it fail. Takes MINUTES plus about 20 seconds.
#
#   scripts/soak.sh                                  # builds target/release/tinyhttpd first
#   MINUTES=5 scripts/soak.sh /tmp/tinyhttpd-before  # a binary of your own, as it is
#   MIX=missing=0 MALLOC_ARENA_MAX=2 scripts/soak.sh target/release/tinyhttpd
#
# Installs wrk (and python3) from Debian's packages when missing. Ctrl-C
# stops the server and wrk and removes the fixtures (soak.py does that).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ $# -eq 0 ]; then
  cargo build --release --quiet
fi
exec python3 scripts/soak.py "${1:-target/release/tinyhttpd}"
