#!/usr/bin/env bash
# Page-load benchmark in headless Chromium (see scripts/pageload/pageload.mjs):
# an unbundled app of 1,200 ES modules from tinyhttpd, nginx, lighttpd,
# python3 -m http.server, and npm's http-server and serve (pinned in
# scripts/pageload/package-lock.json). Installs what it needs from Debian's
# packages and the npm registry, builds the release binary, prints a table.
# ROUNDS (default 5) sets its length: about ROUNDS x 6 x 10 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v lighttpd >/dev/null || missing+=(lighttpd)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Debian packages may start their own daemons; this script starts its own.
pkill -x nginx 2>/dev/null || true
pkill -x lighttpd 2>/dev/null || true

cargo build --release --quiet
cd scripts/pageload
npm ci --no-audit --no-fund --silent
exec node pageload.mjs
