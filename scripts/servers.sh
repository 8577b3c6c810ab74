# Sourced by bench.sh and pageload.sh. `prepare COMMAND:PACKAGE ...`
# installs from Debian's packages whatever named command is missing, plus
# nginx and lighttpd (the reference servers), then stops any daemon those
# packages started: the benchmarks start their own.
prepare() {
  local missing=() pair
  for pair in nginx:nginx-light lighttpd:lighttpd "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  pkill -x nginx 2>/dev/null || true
  pkill -x lighttpd 2>/dev/null || true
}
