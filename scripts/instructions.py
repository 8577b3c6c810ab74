#!/usr/bin/env python3
"""Instructions per scenario, counted by callgrind: a measure of the
server's own work that, unlike requests per second, comes out the same on
every run whatever else the machine is doing. Use it to compare two builds.

    apt-get install valgrind
    scripts/instructions.py OLD_BINARY NEW_BINARY ...

For each binary and each scenario it starts the server under
`valgrind --tool=callgrind` on 127.0.0.1, runs one client over loopback
(1 KiB keep-alive, 100 KiB keep-alive, a 200-entry listing, a new connection
per 1 KiB request), stops the server and prints the total instructions.
Under valgrind `openat2` is not available, so files are opened the slow way;
that is the same for every binary compared.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile

# Fixtures dated an hour back, as the wrk benchmark's are (this script's
# folder is on sys.path).
from bench import backdate

SCENARIOS = [
    ("1 KiB keep-alive", "/1k.bin", 4000, True),
    ("100 KiB keep-alive", "/100k.bin", 1000, True),
    ("200-entry listing", "/list/", 1000, True),
    ("1 KiB, new connection each", "/1k.bin", 1000, False),
]


def make_site(root):
    with open(os.path.join(root, "1k.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    with open(os.path.join(root, "100k.bin"), "wb") as f:
        f.write(bytes(range(256)) * 400)
    os.mkdir(os.path.join(root, "list"))
    for i in range(200):
        open(os.path.join(root, "list", f"f{i}.txt"), "w").close()


def read_response(conn, buf):
    while b"\r\n\r\n" not in buf:
        buf += conn.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    while len(rest) < length:
        rest += conn.recv(65536)
    return rest[length:]


def drive(port, path, count, keep_alive):
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    if keep_alive:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            buf = b""
            for _ in range(count):
                conn.sendall(request)
                buf = read_response(conn, buf)
        return
    closing = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(closing)
            while conn.recv(65536):
                pass


def count(binary, site, work, path, requests, keep_alive):
    out = os.path.join(work, "callgrind.out")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         binary, "--root", site, "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = server.stdout.readline()
    port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
    drive(port, path, requests, keep_alive)
    server.terminate()
    server.wait()
    with open(out) as f:
        total = re.search(r"^summary: (\d+)", f.read(), re.M).group(1)
    os.remove(out)
    return int(total)


def main():
    binaries = sys.argv[1:] or ["target/release/tinyhttpd"]
    with tempfile.TemporaryDirectory() as work:
        site = os.path.join(work, "site")
        os.mkdir(site)
        make_site(site)
        backdate(site)
        print("| scenario | requests | " + " | ".join(binaries) + " |")
        print("|---|---:|" + "---:|" * len(binaries))
        for name, path, requests, keep_alive in SCENARIOS:
            totals = [count(b, site, work, path, requests, keep_alive) for b in binaries]
            cells = [f"{t / 1e6:,.2f} M" for t in totals]
            print(f"| {name} | {requests:,} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
