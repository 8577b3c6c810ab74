#!/usr/bin/env python3
"""Soak test of tinyhttpd: long mixed load, watching memory and descriptors; not part of `cargo test`.

Starts the server on 127.0.0.1 over a folder of generated files and keeps
CONNECTIONS keep-alive connections busy for MINUTES with a mix of requests,
driven by wrk (one thread, scripts/soak.lua):

- small files (under 16 KiB), which the server keeps in memory;
- larger files (64 KiB to 1 MiB), which it keeps open;
- files a background thread here rewrites every second, half saved anew
  and renamed over, half overwritten in place at the same size: the server
  caches only files that have not changed for a few seconds, so these are
  served uncached;
- listings of folders of 300 entries (HTML, sorted, JSON);
- ranges: one range, several (multipart), a suffix, and one past the end
  (416);
- conditional requests: If-None-Match with the ETag the server sent, and
  If-Modified-Since with its Last-Modified, both 304;
- paths that do not exist (404), each asked for once: a counter is part of
  the path.

The load starts only once every file but the rewritten ones last changed
at least 4 seconds before, so the server caches them from the start.

Every SAMPLE_SECONDS it prints the server's resident memory (VmRSS), open
descriptors, threads, the requests per second and unexpected answers in
that interval, and the CPU and memory taken by the server and by wrk (so a
load generator that cannot keep up, or grows, shows). At the end it
compares memory and descriptors at the end of the warm-up (the first 2
minutes or 10% of the run, whichever is shorter) with the maximum and
final values after it, fits the slope of memory over the second half of
the run, and prints the request totals. A last sample is taken after the
load has stopped and the server has been idle for 5 seconds.

Exit status 1 when descriptors after the warm-up ever exceed the warm-up's
count by more than MARGIN_FDS, when any answer was unexpected (an error
status other than the 404s and 416s asked for), when wrk saw socket
errors, or when the server logged anything (with --quiet it logs only
warnings and errors) or died. Memory is reported, not judged: where a
healthy server's heap settles depends on glibc's malloc (its arenas and
per-thread caches), the number of cores and the mix.

Run it through scripts/soak.sh, which installs wrk when it is missing.
Settings, in the environment: MINUTES (default 30), CONNECTIONS (64),
SAMPLE_SECONDS (10), WRK_THREADS (1), MARGIN_FDS (16), and MIX, weights
of the kinds of requests that replace the default ones,
"small=40,large=5,churn=5,listing=5,range=10,conditional=20,missing=15,
alias=0": MIX=missing=0 leaves out the 404s, MIX=alias=20 adds the one
kind not in the default mix, the small files asked for by ever new
spellings of their paths (`/alias-0-7/../small/f0001.txt`). A cache keyed
by the path as sent, as the server's was before it normalized paths, keeps
each spelling as an entry of its own until its bounds are reached. The rest of the environment reaches the server:
`MALLOC_ARENA_MAX=2 scripts/soak.sh` runs it with two malloc arenas,
`GLIBC_TUNABLES=glibc.malloc.tcache_count=0 scripts/soak.sh` without
glibc's per-thread caches of freed memory.
"""

import ctypes
import http.client
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

MINUTES = float(os.environ.get("MINUTES", "30"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
SAMPLE_SECONDS = float(os.environ.get("SAMPLE_SECONDS", "10"))
WRK_THREADS = int(os.environ.get("WRK_THREADS", "1"))
# Descriptors may wander above the warm-up's count by this much: a thread
# serving a file or a listing that is not cached holds it open for the
# length of one request.
MARGIN_FDS = int(os.environ.get("MARGIN_FDS", "16"))
KINDS = ("small", "large", "churn", "listing", "range", "conditional", "missing", "alias")
DEFAULT_MIX = "small=40,large=5,churn=5,listing=5,range=10,conditional=20,missing=15,alias=0"
# The plan wrk cycles through has this many entries, shuffled; missing
# paths and aliases are made afresh by soak.lua each time round.
PLAN_LENGTH = 20000
# A file changed more recently than this is not cached by the server (it
# asks for about 3 s); the load starts only once every fixture is older.
SETTLED_AGE = 4.0
LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "soak.lua")
HZ = os.sysconf("SC_CLK_TCK")

SMALL_FILES = 1000
LARGE_FILES = 40
LIST_FOLDERS = 4
LIST_ENTRIES = 300
CHURN_FILES = 8
EXTENSIONS = [".txt", ".css", ".js", ".html", ".json", ".svg"]


def parse_mix(text):
    """The default weights, with those named in `text` replaced."""
    mix = {}
    for text_part in (DEFAULT_MIX, text):
        for part in filter(None, (p.strip() for p in text_part.split(","))):
            name, _, weight = part.partition("=")
            if name not in KINDS:
                raise SystemExit(f"soak: unknown kind in MIX: {name!r} (kinds: {', '.join(KINDS)})")
            mix[name] = float(weight)
    if not sum(mix.values()):
        raise SystemExit("soak: MIX leaves nothing to ask for")
    return mix


# Fixtures


def log_uniform(rng, low, high):
    """Sizes spread evenly on a log scale: many small, a few near `high`."""
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def make_fixtures(root, rng):
    """Writes the files; returns {kind: [(url path, size), ...]}."""
    made = {"small": [], "large": [], "listing": [], "churn": []}

    def write(path, size):
        with open(os.path.join(root, path.lstrip("/")), "wb") as f:
            f.write(os.urandom(size))

    os.mkdir(os.path.join(root, "small"))
    for i in range(SMALL_FILES):
        path, size = f"/small/f{i:04}{EXTENSIONS[i % len(EXTENSIONS)]}", log_uniform(rng, 256, 16 * 1024)
        write(path, size)
        made["small"].append((path, size))
    os.mkdir(os.path.join(root, "large"))
    for i in range(LARGE_FILES):
        path, size = f"/large/big{i:02}.bin", log_uniform(rng, 64 * 1024, 1024 * 1024)
        write(path, size)
        made["large"].append((path, size))
    os.mkdir(os.path.join(root, "lists"))
    for d in range(LIST_FOLDERS):
        folder = f"/lists/d{d}/"
        os.mkdir(os.path.join(root, folder.strip("/")))
        for i in range(LIST_ENTRIES):
            if i % 30 == 0:
                os.mkdir(os.path.join(root, folder.strip("/"), f"sub {i:03}"))
            else:
                write(f"{folder}entry-{i:03} {'é' if i % 7 == 0 else ''}.txt", i * 13 % 5000)
        made["listing"].append((folder, 0))
    os.mkdir(os.path.join(root, "churn"))
    for i in range(CHURN_FILES):
        path, size = f"/churn/c{i}{EXTENSIONS[i % len(EXTENSIONS)]}", 2048 * (1 + i * 4)
        write(path, size)
        made["churn"].append((path, size))
    return made


def backdate(root, skip):
    """Dates every file an hour back, as in a checkout (see bench.py), except
    under `skip`; that sets their change time to now."""
    then = time.time() - 3600
    for folder, _dirs, files in os.walk(root):
        if folder.startswith(skip):
            continue
        for name in files:
            os.utime(os.path.join(folder, name), (then, then))


def wait_until_settled(root, skip):
    """Waits until every file but those under `skip` last changed at least
    SETTLED_AGE seconds ago. A change time cannot be set, only waited out."""
    while True:
        newest = 0.0
        for folder, dirs, files in os.walk(root):
            if folder.startswith(skip):
                continue
            for name in dirs + files:
                newest = max(newest, os.lstat(os.path.join(folder, name)).st_ctime)
        wait = newest + SETTLED_AGE - time.time()
        if wait <= 0:
            return
        time.sleep(wait + 0.05)


class Churn(threading.Thread):
    """Rewrites the churn files about once a second: the even ones saved anew
    and renamed over (as most editors save), the odd ones overwritten in
    place at the same size (so a response never finds its file shorter
    than it started)."""

    def __init__(self, root, files):
        super().__init__(daemon=True)
        self.root, self.files = root, files
        self.stop = threading.Event()
        self.rounds = 0

    def run(self):
        while not self.stop.wait(1.0):
            for i, (path, size) in enumerate(self.files):
                full = os.path.join(self.root, path.lstrip("/"))
                if i % 2 == 0:
                    # A dotfile, so neither listed nor served meanwhile.
                    tmp = os.path.join(os.path.dirname(full), f".saving-{i}")
                    with open(tmp, "wb") as f:
                        f.write(os.urandom(size))
                    os.replace(tmp, full)
                else:
                    with open(full, "r+b") as f:
                        f.write(os.urandom(size))
            self.rounds += 1


# Requests


class Planned:
    """One request of the plan, and the statuses it may get."""

    def __init__(self, kind, path, headers=(), expect=(200,), marked=False):
        self.kind, self.path, self.headers = kind, path, list(headers)
        self.expect, self.marked = expect, marked

    def raw(self, host):
        if self.marked:
            # See soak.lua: an expected error is asked for so that its
            # answer says "Connection: keep-alive".
            head = f"GET {self.path} HTTP/1.0\r\nHost: {host}\r\nConnection: keep-alive\r\n"
        else:
            head = f"GET {self.path} HTTP/1.1\r\nHost: {host}\r\n"
        return head + "".join(f"{name}: {value}\r\n" for name, value in self.headers) + "\r\n"


class Fresh:
    """A path made new for every request by soak.lua: prefix, the wrk
    thread's id, "-", a counter, suffix. Missing paths are marked (see
    Planned.raw); aliases are not."""

    def __init__(self, kind, prefix, suffix, expect, marked):
        self.kind, self.prefix, self.suffix = kind, prefix, suffix
        self.expect, self.marked = expect, marked


def fetch_validators(port, paths, headers=()):
    """The ETag and Last-Modified the server sends for each path."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    validators = {}
    for path in paths:
        conn.request("GET", path, headers=dict(headers))
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}, expected 200")
        validators[path] = (response.getheader("ETag"), response.getheader("Last-Modified"))
    conn.close()
    return validators


def candidates(made, port):
    """Every request the plan may hold, by kind."""
    small, large = made["small"], made["large"]
    listings = [path for path, _ in made["listing"]]
    files = small + large
    tags = fetch_validators(port, [path for path, _ in files])
    listing_tags = fetch_validators(port, listings)
    kinds = {}
    kinds["small"] = [Planned("small", path) for path, _ in small]
    kinds["large"] = [Planned("large", path) for path, _ in large]
    kinds["churn"] = []
    for path, size in made["churn"]:
        kinds["churn"] += [
            Planned("churn", path),
            Planned("churn", path, [("Range", "bytes=100-199")], expect=(206,)),
            # A tag from a version long gone: the whole file.
            Planned("churn", path, [("If-None-Match", '"0-0-0-0.0"')]),
        ]
    kinds["listing"] = []
    for folder in listings:
        kinds["listing"] += [
            Planned("listing", folder),
            Planned("listing", folder + "?sort=size&order=desc"),
            Planned("listing", folder, [("Accept", "application/json")]),
        ]
    kinds["range"] = []
    for i, (path, size) in enumerate(files):
        kinds["range"] += [
            Planned("range", path, [("Range", "bytes=100-199")], expect=(206,)),
            Planned("range", path, [("Range", "bytes=0-9,100-199,-50")], expect=(206,)),
            Planned("range", path, [("Range", "bytes=-500")], expect=(206,)),
        ]
        if i % 4 == 0:
            past_end = Planned("range", path, [("Range", f"bytes={size + 1000}-")], expect=(416,), marked=True)
            kinds["range"].append(past_end)
    kinds["conditional"] = []
    for path, _ in files:
        etag, modified = tags[path]
        kinds["conditional"] += [
            Planned("conditional", path, [("If-None-Match", etag)], expect=(304,)),
            Planned("conditional", path, [("If-Modified-Since", modified)], expect=(304,)),
        ]
    for folder in listings:
        etag, _ = listing_tags[folder]
        kinds["conditional"].append(Planned("conditional", folder, [("If-None-Match", etag)], expect=(304,)))
    # Half in a large folder that exists (where the server looks for a name
    # that differs only in letter case), half in one that does not.
    kinds["missing"] = [
        Fresh("missing", "/small/nope-", ".txt", expect=(404,), marked=True),
        Fresh("missing", "/nope/", "", expect=(404,), marked=True),
    ]
    # `/alias-0-1/../small/f0000.txt` is `/small/f0000.txt` once its dot
    # segments are removed, but the cache keys entries by the path as sent.
    kinds["alias"] = [Fresh("alias", "/alias-", f"/..{path}", expect=(200,), marked=False) for path, _ in small]
    return kinds


def check(port, kinds, mix):
    """Sends each distinct request of the kinds in the mix once and checks
    its status, so that a mistake in the plan shows before the load, not as
    errors during it. (Kinds left out are not asked for at all: every alias
    would stay in the server's cache.)"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for kind, entries in kinds.items():
        if not mix[kind]:
            continue
        for entry in entries:
            if isinstance(entry, Fresh):
                path, headers = f"{entry.prefix}check{entry.suffix}", {}
            else:
                path, headers = entry.path, dict(entry.headers)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status not in entry.expect:
                raise RuntimeError(f"{kind}: GET {path}: {response.status}, expected {entry.expect}")
    conn.close()


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n") + '"'


def write_plan(path, kinds, mix, host, rng):
    """The Lua file soak.lua loads: PLAN_LENGTH requests, each kind as often
    as its weight says, in a shuffled order."""
    total = sum(mix.values())
    plan = []
    for kind, weight in mix.items():
        pool = kinds[kind][:]
        rng.shuffle(pool)
        plan += [pool[i % len(pool)] for i in range(round(PLAN_LENGTH * weight / total))]
    rng.shuffle(plan)
    with open(path, "w") as f:
        f.write(f"return {{ host = {lua_string(host)}, requests = {{\n")
        for entry in plan:
            if isinstance(entry, Fresh):
                marked = "true" if entry.marked else "false"
                f.write(f"{{ {lua_string(entry.prefix)}, {lua_string(entry.suffix)}, {marked} }},\n")
            else:
                f.write(lua_string(entry.raw(host)) + ",\n")
        f.write("} }\n")


# Processes


def die_with_parent():
    """Run in each child before exec: the kernel kills it if this script
    dies, however it dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_server(binary, root, log):
    proc = subprocess.Popen(
        [binary, "--root", root, "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        preexec_fn=die_with_parent,
    )
    line = proc.stdout.readline()
    match = re.match(r"listening on http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"unexpected first line from the server: {line!r}")
    return proc, int(match.group(1))


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f if ":" in line)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def read_counts(folder):
    """Sums the counts soak.lua's threads last wrote."""
    total = {"responses": 0, "expected": 0, "unexpected": 0}
    for name in os.listdir(folder):
        if not name.startswith("thread-") or name.endswith(".tmp"):
            continue
        try:
            with open(os.path.join(folder, name)) as f:
                for line in f:
                    key, value = line.split()
                    if key.isdigit():
                        total["responses"] += int(value)
                    else:
                        total[key] += int(value)
        except (OSError, ValueError):
            pass
    return total


class Sample:
    """The server's (and wrk's) state at `t` seconds into the load."""

    def __init__(self, t, server, wrk_pid, counts, previous):
        fields = status_fields(server)
        self.t = t
        self.rss = int(fields["VmRSS"].split()[0]) / 1024
        self.threads = int(fields["Threads"])
        self.fds = len(os.listdir(f"/proc/{server}/fd"))
        self.server_cpu = cpu_ticks(server)
        try:
            self.wrk_cpu = cpu_ticks(wrk_pid)
            self.wrk_rss = int(status_fields(wrk_pid)["VmRSS"].split()[0]) / 1024
        except (OSError, KeyError):
            self.wrk_cpu, self.wrk_rss = previous.wrk_cpu if previous else 0, 0.0
        self.counts = counts
        self.previous = previous

    def row(self):
        """This sample's line of the table; rates are since the one before."""
        p = self.previous
        span = self.t - p.t
        responses = self.counts["responses"] - p.counts["responses"]
        unexpected = self.counts["unexpected"] - p.counts["unexpected"]
        server_cpu = (self.server_cpu - p.server_cpu) / HZ / span * 100
        wrk_cpu = (self.wrk_cpu - p.wrk_cpu) / HZ / span * 100
        return (
            f"{self.t:7.0f} {self.rss:8.1f} {self.fds:5} {self.threads:7} "
            f"{responses / span:9,.0f} {unexpected:10} "
            f"{server_cpu:9.0f}% {wrk_cpu:6.0f}% {self.wrk_rss:8.1f}"
        )


HEADER = f"{'time s':>7} {'rss MiB':>8} {'fds':>5} {'threads':>7} {'req/s':>9} {'unexpected':>10} {'server cpu':>10} {'wrk cpu':>7} {'wrk MiB':>8}"


def slope_per_10_minutes(samples):
    """Least-squares slope of RSS against time, in MiB per 10 minutes."""
    if len(samples) < 2:
        return float("nan")
    n = len(samples)
    mean_t = sum(s.t for s in samples) / n
    mean_r = sum(s.rss for s in samples) / n
    var = sum((s.t - mean_t) ** 2 for s in samples)
    if var == 0:
        return float("nan")
    cov = sum((s.t - mean_t) * (s.rss - mean_r) for s in samples)
    return cov / var * 600


def parse_wrk(out):
    result = {"requests": 0, "seconds": 0.0, "socket_errors": {}, "non_2xx_3xx": 0, "statuses": {}}
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+)", out):
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}.get(m.group(3), 1.0)
        result["requests"], result["seconds"] = int(m.group(1)), float(m.group(2)) * scale
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        result["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        result["non_2xx_3xx"] = int(m.group(1))
    if m := re.search(r"^soak-counts (.*)$", out, re.M):
        for pair in m.group(1).split():
            key, value = pair.split("=")
            result["statuses"][key] = int(value)
    return result


def run(binary):
    mix = parse_mix(os.environ.get("MIX", ""))
    seconds = int(MINUTES * 60)
    warmup = min(120.0, seconds * 0.1)
    rng = random.Random(1)
    tmp = tempfile.mkdtemp(prefix="tinyhttpd-soak-")
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "www")
    counts_dir = os.path.join(tmp, "counts")
    os.mkdir(root)
    os.mkdir(counts_dir)
    server = wrk = churn = None
    server_log = open(os.path.join(tmp, "server.log"), "w+")
    failures = []
    try:
        shown = ", ".join(f"{k}={v:g}" for k, v in mix.items())
        print(f"soak: {binary}, {MINUTES:g} min, {CONNECTIONS} connections, mix {shown}", flush=True)
        made = make_fixtures(root, rng)
        churn_dir = os.path.join(root, "churn")
        backdate(root, skip=churn_dir)
        wait_until_settled(root, skip=churn_dir)

        server, port = start_server(binary, root, server_log)
        host = f"127.0.0.1:{port}"
        kinds = candidates(made, port)
        check(port, kinds, mix)
        plan_path = os.path.join(tmp, "plan.lua")
        write_plan(plan_path, kinds, mix, host, rng)

        # Both children are started before this script starts a thread
        # (die_with_parent runs between fork and exec).
        wrk = subprocess.Popen(
            ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
             "-s", LUA, f"http://{host}/", "--", plan_path, counts_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent,
        )
        start = time.monotonic()
        churn = Churn(root, made["churn"])
        churn.start()
        # wrk prints only at its end; a thread gathers that so the pipe
        # never fills.
        wrk_out = []
        reader = threading.Thread(target=lambda: wrk_out.append(wrk.stdout.read()), daemon=True)
        reader.start()

        print(HEADER, flush=True)
        previous = Sample(0.0, server.pid, wrk.pid, read_counts(counts_dir), None)
        samples = []
        while True:
            next_at = previous.t + SAMPLE_SECONDS
            # Wake every half second to notice wrk's end promptly.
            while time.monotonic() - start < next_at and wrk.poll() is None:
                time.sleep(min(0.5, max(0.0, next_at - (time.monotonic() - start))))
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with status {server.returncode} during the load")
            if wrk.poll() is not None:
                break
            previous = Sample(time.monotonic() - start, server.pid, wrk.pid, read_counts(counts_dir), previous)
            samples.append(previous)
            print(previous.row(), flush=True)
        reader.join(10)
        out = wrk_out[0] if wrk_out else ""
        if wrk.returncode != 0 or not samples:
            raise RuntimeError(f"wrk exited with status {wrk.returncode}:\n{out}")
        churn.stop.set()
        idle_wait = 5.0
        time.sleep(idle_wait)
        idle = Sample(time.monotonic() - start, server.pid, wrk.pid, read_counts(counts_dir), None)

        report(samples, idle, idle_wait, warmup, seconds, parse_wrk(out), churn.rounds, failures)
        server_log.seek(0)
        warnings = [line.rstrip() for line in server_log if line.strip()]
        print(f"server log lines (warnings and errors): {len(warnings)}")
        for line in warnings[:10]:
            print(f"  {line}")
        if warnings:
            failures.append(f"the server logged {len(warnings)} lines")
    finally:
        if churn:
            churn.stop.set()
        for proc in (wrk, server):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
        server_log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS")
    return 0


def report(samples, idle, idle_wait, warmup, seconds, wrk, churn_rounds, failures):
    after = [s for s in samples if s.t >= warmup]
    if not after:
        failures.append("no samples after the warm-up")
        return
    w, last = after[0], after[-1]
    second_half = [s for s in samples if s.t >= seconds / 2]
    print(f"\n## Summary\n")
    print(f"| | rss MiB | fds | threads |")
    print(f"|---|---:|---:|---:|")
    print(f"| first sample ({samples[0].t:.0f} s) | {samples[0].rss:.1f} | {samples[0].fds} | {samples[0].threads} |")
    print(f"| end of warm-up ({w.t:.0f} s) | {w.rss:.1f} | {w.fds} | {w.threads} |")
    print(f"| max after warm-up | {max(s.rss for s in after):.1f} | {max(s.fds for s in after)} | {max(s.threads for s in after)} |")
    print(f"| final ({last.t:.0f} s) | {last.rss:.1f} | {last.fds} | {last.threads} |")
    print(f"| idle {idle_wait:.0f} s after the load | {idle.rss:.1f} | {idle.fds} | {idle.threads} |")
    print()
    print(f"RSS slope over the second half ({len(second_half)} samples): "
          f"{slope_per_10_minutes(second_half):+.2f} MiB per 10 minutes")
    print(f"RSS after warm-up: {last.rss - w.rss:+.1f} MiB from end of warm-up to final")
    statuses = wrk["statuses"]
    by_status = ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items()) if k.isdigit())
    rate = wrk["requests"] / wrk["seconds"] if wrk["seconds"] else 0
    print(f"requests: {wrk['requests']:,} in {wrk['seconds']:.0f} s ({rate:,.0f}/s); by status: {by_status}")
    print(f"expected 404/416: {statuses.get('expected', 0):,}; unexpected answers: {statuses.get('unexpected', 0):,}"
          f" (wrk's own count of non-2xx/3xx, expected ones included: {wrk['non_2xx_3xx']:,})")
    errors = wrk["socket_errors"]
    print(f"socket errors: {errors or 'none'}")
    print(f"churn files rewritten {churn_rounds} times each; wrk peak RSS during the run "
          f"{max(s.wrk_rss for s in samples):.1f} MiB")
    worst = max(s.fds for s in after)
    if worst > w.fds + MARGIN_FDS:
        failures.append(f"descriptors reached {worst}, more than {MARGIN_FDS} above the warm-up's {w.fds}")
    if "unexpected" not in statuses:
        failures.append("wrk printed no counts")
    elif statuses["unexpected"]:
        failures.append(f"{statuses['unexpected']} unexpected answers")
    if sum(errors.values()):
        failures.append(f"socket errors {errors}")


def interrupted(_signal, _frame):
    raise KeyboardInterrupt


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/tinyhttpd"
    # A kill from outside ends the run as Ctrl-C does: children stopped,
    # files removed.
    signal.signal(signal.SIGTERM, interrupted)
    try:
        sys.exit(run(os.path.abspath(binary)))
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as e:
        print(f"soak: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
