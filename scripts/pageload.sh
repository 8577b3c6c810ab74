#!/usr/bin/env bash
# Page-load benchmark in headless Chromium (see scripts/pageload/pageload.mjs):
# an unbundled app of 1,200 ES modules from tinyhttpd, nginx, lighttpd,
# python3 -m http.server, and npm's http-server and serve (pinned in
# scripts/pageload/package-lock.json). Installs what it needs from Debian's
# packages and the npm registry, builds the release binary, prints a table.
# ROUNDS (default 5) sets its length: about ROUNDS x 6 x 10 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/servers.sh
prepare chromium:chromium

cargo build --release --quiet
cd scripts/pageload
npm ci --no-audit --no-fund --silent
exec node pageload.mjs
