#!/usr/bin/env python3
"""Side-by-side benchmark of tinyhttpd, nginx and lighttpd; not part of `cargo test`.

A fourth column, "baseline", is scripts/baseline.c: the least a blocking
one-thread-per-connection server can do per request, to tell tinyhttpd's own
costs from the design's. It runs in the keep-alive file scenarios only.

Each server is pinned to CPU 0 and wrk (one thread) to CPU 1, on 127.0.0.1.
Every measurement starts a fresh server process, warms it up for a second,
then runs wrk; scenarios and servers are interleaved within each round, and
the tables report the median over rounds. Alongside requests per second it
reports wrk's p99 latency and error count, the server's CPU time per request
(user + system, from /proc/PID/stat) and its peak resident memory (VmHWM).

Run it through scripts/bench.sh, which installs wrk, nginx-light and
lighttpd from Debian's packages when they are missing and builds the release
binary (and the baseline with cc). Settings: ROUNDS (default 6) and SECONDS_PER_RUN (default 5) in the
environment; BENCH_ONLY=tinyhttpd limits the servers (comma-separated);
BENCH_SCENARIOS="1 KiB c256,1 KiB close c32" limits the scenarios (names as in
the table, comma-separated; the 1,000-connection run is "1000"); BEFORE=PATH
adds the tinyhttpd binary at PATH as a server of its own, "tinyhttpd-before",
to compare two builds in one run.

"proxy 1 KiB c32" measures tinyhttpd's reverse proxy (--proxy) against
nginx's: both forward /api/1k.bin to one backend, started once for the run
(see start_backend), and keep their connections to it alive. It runs only
for servers that can proxy: lighttpd and the baseline are skipped, and so is
a tinyhttpd build whose --help has no --proxy (an older BEFORE).
"""

import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
ROUNDS = int(os.environ.get("ROUNDS", "6"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "5"))
SERVER_CPU = "0"
CLIENT_CPU = "1"
# The proxy scenario's backend shares CPU 0 with the server under test (see
# start_backend for why).
BACKEND_CPU = "0"

# name, path, connections, extra wrk arguments, unit
SCENARIOS = [
    ("1 KiB c1", "/1k.bin", 1, [], "req/s"),
    ("1 KiB c32", "/1k.bin", 32, [], "req/s"),
    ("1 KiB c256", "/1k.bin", 256, [], "req/s"),
    ("1 KiB close c32", "/1k.bin", 32, ["-H", "Connection: close"], "req/s"),
    ("100 KiB c32", "/100k.bin", 32, [], "req/s"),
    ("20 MiB c4", "/20m.bin", 4, [], "MiB/s"),
    ("2,000-entry listing c8", "/list/", 8, [], "req/s"),
    ("proxy 1 KiB c32", "/api/1k.bin", 32, [], "req/s"),
]
# Scenarios whose server forwards PROXY_PREFIX to the backend instead of
# serving files; the path wrk asks for is sent to the backend as it is.
PROXY_SCENARIOS = {"proxy 1 KiB c32"}
PROXY_PREFIX = "/api"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("server never listened")


# How long a file must be left alone before tinyhttpd caches it
# (src/fs/version.rs), in seconds.
SETTLE = 3


def backdate(root):
    """Dates every file an hour back, as in a checkout, then waits until
    every file has settled: tinyhttpd caches a file only once its
    modification and change times are more than SETTLE seconds old, and a
    comparison must not depend on how soon after this it starts. The change
    time cannot be set back, so that part is a wait."""
    then = time.time() - 3600
    newest = 0.0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            os.utime(path, (then, then))
            newest = max(newest, os.stat(path).st_ctime)
    wait = newest + SETTLE + 0.2 - time.time()
    if wait > 0:
        time.sleep(wait)


def make_fixtures(root):
    def write(name, size):
        with open(os.path.join(root, name), "wb") as f:
            f.write(os.urandom(size))

    write("1k.bin", 1024)
    write("100k.bin", 100 * 1024)
    write("20m.bin", 20 * 1024 * 1024)
    os.mkdir(os.path.join(root, "list"))
    for i in range(2000):
        with open(os.path.join(root, "list", f"file-{i:04}.txt"), "w") as f:
            f.write("x" * (i % 97))


class Server:
    """A running server: its process group's pids, CPU time and memory."""

    def __init__(self, proc, port):
        self.proc = proc
        self.port = port

    def pids(self):
        pids = [self.proc.pid]
        try:
            children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
            pids += [int(p) for p in children.split()]
        except OSError:
            pass
        return pids

    def cpu_ticks(self):
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except OSError:
                pass
        return total

    def status_field(self, field):
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith(field + ":"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self):
        # Children first (nginx's worker), found while the parent still lives.
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        self.proc.wait()


def launch(command, port):
    """Starts a server on CPU 0 that listens on a known port."""
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(port, proc)
    return Server(proc, port)


def supports_proxy(binary):
    """Whether this tinyhttpd build has --proxy (clap lists it in --help)."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    return "--proxy" in out


def start_tinyhttpd(fixtures, tmp, binary, backend=None):
    proxy = ["--proxy", f"{PROXY_PREFIX}=http://127.0.0.1:{backend.port}"] if backend else []
    proc = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, binary, "--root", fixtures, "--port", "0", "--quiet", *proxy],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
    wait_until_listening(port, proc)
    return Server(proc, port)


def nginx_preamble(tmp, name):
    """The part of an nginx configuration every nginx here shares: one
    worker in the foreground, no access log, sendfile, keep-alive without a
    request limit, and its files under `tmp`, named after `name`. The
    caller adds what goes in `http` after it, and closes it."""
    return f"""
worker_processes 1;
daemon off;
user root;
pid {tmp}/{name}.pid;
error_log {tmp}/{name}-error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/{name}-body;
    proxy_temp_path {tmp}/{name}-proxy;
    fastcgi_temp_path {tmp}/{name}-fastcgi;
    uwsgi_temp_path {tmp}/{name}-uwsgi;
    scgi_temp_path {tmp}/{name}-scgi;"""


def start_nginx(fixtures, tmp, _binary, backend=None):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    # For the proxy scenario: connections to the backend kept alive, as
    # tinyhttpd keeps its own (keepalive_requests as for its clients, where
    # the upstream default would reconnect every 1,000 requests).
    upstream = location = ""
    if backend:
        upstream = f"""
    upstream backend {{
        server 127.0.0.1:{backend.port};
        keepalive 32;
        keepalive_requests 1000000;
    }}"""
        location = f"""
        location {PROXY_PREFIX}/ {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}"""
    with open(conf, "w") as f:
        f.write(nginx_preamble(tmp, "nginx") + f"""{upstream}
    server {{
        listen 127.0.0.1:{port};
        root {fixtures};
        autoindex on;{location}
    }}
}}
""")
    return launch(["nginx", "-c", conf, "-p", tmp], port)


def start_backend(fixtures, tmp):
    """The proxy scenario's backend, one for the whole run and for every
    server: an nginx with one worker, as the reference server, answering
    PROXY_PREFIX/1k.bin (the fixtures' 1k.bin) on keep-alive connections
    without a limit on requests per connection. nginx because it is already
    installed for the comparison and costs the same for every proxy in front
    of it; a fresh backend per measurement would only add its own warm-up.

    It is pinned to CPU 0 with the proxy under test, not to CPU 1 with wrk.
    With nginx as the proxy (2026-12-06), CPU 0 then is the limit: proxy
    17.4 + backend 15.2 µs a request at 29,000 req/s, so a cheaper proxy
    shows as more requests (diluted by the backend's share, the same for
    every proxy; the last table gives both). With the backend on CPU 1, wrk
    and the backend filled CPU 1 at 35,000 req/s while CPU 0 had room: the
    proxy's own cost could not show."""
    root = os.path.join(tmp, "backend")
    os.makedirs(os.path.join(root, PROXY_PREFIX.strip("/")))
    shutil.copy(os.path.join(fixtures, "1k.bin"), os.path.join(root, PROXY_PREFIX.strip("/"), "1k.bin"))
    port = free_port()
    conf = os.path.join(tmp, "backend.conf")
    with open(conf, "w") as f:
        f.write(nginx_preamble(tmp, "backend") + f"""
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    proc = subprocess.Popen(
        ["taskset", "-c", BACKEND_CPU, "nginx", "-c", conf, "-p", tmp],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_listening(port, proc)
    return Server(proc, port)


def check_proxied(port, path, expected):
    """One request through the proxy before measuring: a 200 with the
    backend's bytes, so a misrouted or failing proxy stops the run instead
    of being measured."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or body != expected:
        raise RuntimeError(f"proxy check: GET {path} gave {response.status} with {len(body)} bytes")


def start_baseline(fixtures, tmp, binary, backend=None):
    port = free_port()
    program = os.path.join(os.path.dirname(os.path.dirname(binary)), "baseline")
    return launch([program, fixtures, str(port)], port)


def start_lighttpd(fixtures, tmp, _binary, backend=None):
    port = free_port()
    conf = os.path.join(tmp, "lighttpd.conf")
    with open(conf, "w") as f:
        f.write(f"""
server.document-root = "{fixtures}"
server.bind = "127.0.0.1"
server.port = {port}
server.pid-file = "{tmp}/lighttpd.pid"
server.errorlog = "{tmp}/lighttpd-error.log"
server.max-keep-alive-requests = 1000000
server.max-connections = 4096
server.max-fds = 16384
server.modules += ("mod_dirlisting")
dir-listing.activate = "enable"
mimetype.assign = (".bin" => "application/octet-stream", ".txt" => "text/plain")
""")
    return launch(["lighttpd", "-D", "-f", conf], port)


def start_before(fixtures, tmp, _binary, backend=None):
    return start_tinyhttpd(fixtures, tmp, os.environ["BEFORE"], backend)


SERVERS = {
    "tinyhttpd": start_tinyhttpd,
    "nginx": start_nginx,
    "lighttpd": start_lighttpd,
    "baseline": start_baseline,
}
# BEFORE=PATH adds another build of tinyhttpd, measured in the same run, to
# compare two builds side by side.
if os.environ.get("BEFORE"):
    SERVERS["tinyhttpd-before"] = start_before
# The baseline has no listings, and spawns a thread per connection (no
# reuse), so it only stands in the keep-alive file scenarios. The proxy
# scenario compares with nginx only: the baseline cannot proxy, and lighttpd's
# mod_proxy is not configured here; main() adds a tinyhttpd build without
# --proxy.
SKIPS = {
    "baseline": {"1 KiB close c32", "2,000-entry listing c8", *PROXY_SCENARIOS},
    "lighttpd": set(PROXY_SCENARIOS),
}


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def to_mib(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"B": 1 / 1048576, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[unit]


def wrk(port, path, connections, extra, seconds):
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    out = subprocess.run(cmd + extra + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    p99 = re.search(r"^\s*99%\s+([\d.]+[a-z]+)\s*$", out, re.M)
    if not p99:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "mibps": to_mib(re.search(r"Transfer/sec:\s+(\S+)", out).group(1)),
        "p99_ms": to_ms(p99.group(1)),
        "requests": requests,
        "errors": errors,
    }


class ThreadPeak(threading.Thread):
    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.peak, self.running = server, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.server.status_field("Threads"))
            time.sleep(0.05)


def measure(start, fixtures, tmp, binary, path, connections, extra, seconds, backend=None):
    server = start(fixtures, tmp, binary, backend)
    try:
        if backend:
            if backend.proc.poll() is not None:
                raise RuntimeError(f"the proxy backend exited with {backend.proc.returncode}")
            with open(os.path.join(fixtures, "1k.bin"), "rb") as f:
                check_proxied(server.port, path, f.read())
        # Warm-up; its numbers are not kept.
        subprocess.run(
            ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", "-d1s", *extra,
             f"http://127.0.0.1:{server.port}{path}"],
            capture_output=True,
        )
        threads = ThreadPeak(server)
        threads.start()
        before = server.cpu_ticks()
        backend_before = backend.cpu_ticks() if backend else 0
        result = wrk(server.port, path, connections, extra, seconds)
        after = server.cpu_ticks()
        if backend:
            result["backend_cpu_us"] = (backend.cpu_ticks() - backend_before) / HZ / max(result["requests"], 1) * 1e6
        threads.running = False
        threads.join()
        result["cpu_us"] = (after - before) / HZ / max(result["requests"], 1) * 1e6
        result["rss_mib"] = server.status_field("VmHWM") / 1024
        result["threads"] = threads.peak
        return result
    finally:
        server.stop()


def ratio(value, reference):
    return f"{value / reference:.2f}x" if reference else "-"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/tinyhttpd"
    only = os.environ.get("BENCH_ONLY")
    servers = [s for s in SERVERS if not only or s in only.split(",")]
    wanted = os.environ.get("BENCH_SCENARIOS")
    # Names are matched whole between commas: one of them has a comma.
    scenarios = [sc for sc in SCENARIOS if not wanted or f",{sc[0]}," in f",{wanted},"]
    run_many = not wanted or "1000" in wanted.split(",")
    skips = {server: set(names) for server, names in SKIPS.items()}
    proxying = [sc[0] for sc in scenarios if sc[0] in PROXY_SCENARIOS]
    if proxying:
        builds = {"tinyhttpd": binary, "tinyhttpd-before": os.environ.get("BEFORE")}
        for server, build in builds.items():
            if server in servers and not supports_proxy(build):
                print(f"{server} ({build}) has no --proxy: skipped in {', '.join(proxying)}", file=sys.stderr)
                skips.setdefault(server, set()).update(proxying)
    tmp = tempfile.mkdtemp(prefix="tinyhttpd-bench-")
    fixtures = os.path.join(tmp, "www")
    os.mkdir(fixtures)
    os.chmod(tmp, 0o755)
    make_fixtures(fixtures)
    backdate(fixtures)
    results = {(sc[0], s): [] for sc in scenarios for s in servers}
    backend = None
    try:
        if any(name not in skips.get(s, ()) for name in proxying for s in servers):
            backend = start_backend(fixtures, tmp)
        for round_no in range(1, ROUNDS + 1):
            print(f"round {round_no}/{ROUNDS}", file=sys.stderr, flush=True)
            for name, path, conns, extra, _unit in scenarios:
                order = servers if round_no % 2 else list(reversed(servers))
                for server in order:
                    if name in skips.get(server, ()):
                        continue
                    proxy_to = backend if name in PROXY_SCENARIOS else None
                    r = measure(SERVERS[server], fixtures, tmp, binary, path, conns, extra, SECONDS, proxy_to)
                    results[(name, server)].append(r)
        many = {}
        for server in servers if run_many else []:
            many[server] = measure(SERVERS[server], fixtures, tmp, binary, "/1k.bin", 1000, [], SECONDS)
    finally:
        if backend:
            backend.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    def median(name, server, key):
        return statistics.median(r[key] for r in results[(name, server)])

    def ran(name, server):
        return bool(results.get((name, server)))

    print(f"\n## Throughput: median of {ROUNDS} rounds of {SECONDS} s (req/s; 20 MiB in MiB/s)\n")
    print("| server | " + " | ".join(sc[0] for sc in scenarios) + " |")
    print("|---|" + "---:|" * len(scenarios))
    for server in servers:
        cells = []
        for name, *_rest, unit in scenarios:
            key = "mibps" if unit == "MiB/s" else "rps"
            cells.append(f"{median(name, server, key):,.0f}" if ran(name, server) else "-")
        print(f"| {server} | " + " | ".join(cells) + " |")

    print("\n## Per scenario (medians)\n")
    print("| scenario | server | throughput | vs lighttpd | vs nginx | p99 ms | errors | server CPU µs/req | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, *_rest, unit in scenarios:
        key = "mibps" if unit == "MiB/s" else "rps"
        for server in servers:
            if not ran(name, server):
                continue
            value = median(name, server, key)
            ref_l = median(name, "lighttpd", key) if ran(name, "lighttpd") else 0
            ref_n = median(name, "nginx", key) if ran(name, "nginx") else 0
            errors = sum(r["errors"] for r in results[(name, server)])
            print(
                f"| {name} | {server} | {value:,.0f} {unit} | {ratio(value, ref_l)} | {ratio(value, ref_n)} "
                f"| {median(name, server, 'p99_ms'):.2f} | {errors} | {median(name, server, 'cpu_us'):.1f} "
                f"| {max(r['rss_mib'] for r in results[(name, server)]):.1f} |"
            )

    ran_proxy = [(name, server) for name in proxying for server in servers if ran(name, server)]
    if ran_proxy:
        print("\n## Proxy scenarios: the backend's share (medians)\n")
        print("| scenario | proxy | backend CPU µs/req | proxy + backend CPU µs/req |")
        print("|---|---|---:|---:|")
        for name, server in ran_proxy:
            backend_us = median(name, server, "backend_cpu_us")
            total_us = statistics.median(r["cpu_us"] + r["backend_cpu_us"] for r in results[(name, server)])
            print(f"| {name} | {server} | {backend_us:.1f} | {total_us:.1f} |")

    if not run_many:
        return
    print(f"\n## 1,000 keep-alive connections, 1 KiB file, {SECONDS} s\n")
    print("| server | req/s | errors | p99 ms | peak RSS MiB | peak threads |")
    print("|---|---:|---:|---:|---:|---:|")
    for server in servers:
        r = many[server]
        print(f"| {server} | {r['rps']:,.0f} | {r['errors']} | {r['p99_ms']:.2f} | {r['rss_mib']:.1f} | {r['threads']} |")


if __name__ == "__main__":
    main()
