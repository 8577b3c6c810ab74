#!/usr/bin/env python3
"""Stress tinyhttpd with slow and idle connections; not part of `cargo test`.

Starts the release binary on 127.0.0.1 with its default limits, then:

1. slowloris: N connections that each send a partial request head and then
   one more header byte per second, reconnecting whenever the server cuts
   them off;
2. idle keep-alive: M connections that each make one request and then sit
   idle.

During each phase a fresh client asks for a page twice a second. The script
prints, per phase, how many fresh requests succeeded, their latencies, what
happened to the attacking connections, and the server's peak thread count and
resident memory (from /proc). Everything runs on loopback and stops by itself.

Usage: scripts/stress.py [--binary PATH] [--slowloris N] [--idle M] [--seconds S]
"""

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default="target/release/tinyhttpd")
    p.add_argument("--slowloris", type=int, default=1000)
    p.add_argument("--idle", type=int, default=2000)
    p.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    return p.parse_args()


class Monitor(threading.Thread):
    """Samples the server's thread count and RSS from /proc."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_threads = 0
        self.peak_rss_kib = 0
        self.running = True

    def sample(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            return None
        threads = int(fields["Threads"])
        rss = int(fields["VmRSS"].split()[0])
        self.peak_threads = max(self.peak_threads, threads)
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        return threads, rss

    def reset(self):
        self.peak_threads = 0
        self.peak_rss_kib = 0

    def run(self):
        while self.running:
            self.sample()
            time.sleep(0.05)


def fresh_request(addr, timeout=2.0):
    """One GET on a new connection: (ok, seconds)."""
    start = time.monotonic()
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        ok = data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"stress page\n")
    except OSError:
        ok = False
    return ok, time.monotonic() - start


class Prober(threading.Thread):
    """A fresh client, twice a second, for as long as it runs."""

    def __init__(self, addr):
        super().__init__(daemon=True)
        self.addr = addr
        self.results = []
        self.running = True

    def run(self):
        while self.running:
            self.results.append(fresh_request(self.addr))
            time.sleep(0.5)

    def report(self):
        ok = [t for good, t in self.results if good]
        failed = len(self.results) - len(ok)
        if ok:
            latency = f"median {statistics.median(ok) * 1000:.1f} ms, max {max(ok) * 1000:.1f} ms"
        else:
            latency = "no successful request"
        return f"fresh clients: {len(ok)}/{len(self.results)} served ({failed} failed), {latency}"


def slowloris(addr, count, seconds):
    """Keeps `count` trickling connections open; returns statistics."""
    head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
    socks = []
    opened = cut = 0

    def connect():
        nonlocal opened
        s = socket.create_connection(addr, timeout=2)
        s.setblocking(False)
        s.sendall(head)
        opened += 1
        return s

    for _ in range(count):
        socks.append(connect())
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i, s in enumerate(socks):
            try:
                s.send(b"x")
                # Anything the server sent (a 408) means it cut us off.
                try:
                    if s.recv(4096) is not None:
                        raise ConnectionError
                except BlockingIOError:
                    continue
            except OSError:
                cut += 1
                s.close()
                socks[i] = connect()
        time.sleep(1.0)
    for s in socks:
        s.close()
    return f"slowloris: {count} held open, {opened} opened in all, {cut} cut off by the server (head deadline or shedding)"


def idle(addr, count, seconds):
    """Opens `count` keep-alive connections, one request each, then waits."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(addr, timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = b""
        while not data.endswith(b"stress page\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        socks.append(s)
    established = len(socks)
    time.sleep(seconds)
    closed = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return f"idle keep-alive: {established} established, {closed} closed by the server after {seconds:.0f} s"


def main():
    args = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    root = tempfile.mkdtemp(prefix="tinyhttpd-stress-")
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("stress page\n")
    server = subprocess.Popen(
        [args.binary, "--root", root, "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        hostport = line.removeprefix("listening on http://").rstrip("/")
        host, port = hostport.rsplit(":", 1)
        addr = (host, int(port))
        monitor = Monitor(server.pid)
        baseline = monitor.sample()
        monitor.start()
        print(f"server {args.binary} on {hostport}, at rest: {baseline[0]} threads, {baseline[1]} KiB RSS")
        for name, attack, n in [("slowloris", slowloris, args.slowloris), ("idle", idle, args.idle)]:
            monitor.reset()
            prober = Prober(addr)
            prober.start()
            outcome = attack(addr, n, args.seconds)
            prober.running = False
            prober.join()
            print(f"\n== {name}: {n} connections for {args.seconds:.0f} s")
            print(outcome)
            print(prober.report())
            print(f"server peak: {monitor.peak_threads} threads, {monitor.peak_rss_kib / 1024:.1f} MiB RSS")
        time.sleep(1)
        after = monitor.sample()
        print(f"\nafter both phases: {after[0]} threads, {after[1] / 1024:.1f} MiB RSS")
        monitor.running = False
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
