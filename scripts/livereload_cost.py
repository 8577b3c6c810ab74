#!/usr/bin/env python3
"""What live reload costs in a large project: the server's CPU time over a
period with one page open, and over the same period with none.

    cargo build --release
    scripts/livereload_cost.py [--binary target/release/tinyhttpd] [--files 200000] [--seconds 30]

Makes a project in a temporary folder: index.html loading src/app.js and
src/style.css, beside a node_modules/ of --files files (packages of 100; hard
links to one file, so it is made in seconds). Starts the server with
--live-reload on 127.0.0.1, loads the page's files as a browser would, then
holds its event stream open for --seconds and reads the server's CPU time
(user + system, /proc/PID/stat) before and after; then closes the stream,
waits two seconds for the server to notice, and measures --seconds again
with no page. Also checks that an edit to src/app.js still reaches the
page. Stops the server and removes the folder at the end.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15; after the ")" they are 12 and 13.
    return (int(fields[11]) + int(fields[12])) / HZ


def make_project(root, files):
    os.makedirs(os.path.join(root, "src"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write(
            '<!DOCTYPE html><html><head><link rel="stylesheet" href="src/style.css"></head>'
            '<body><script type="module" src="src/app.js"></script></body></html>'
        )
    with open(os.path.join(root, "src/app.js"), "w") as f:
        f.write("console.log('v1');\n")
    with open(os.path.join(root, "src/style.css"), "w") as f:
        f.write("body { color: black; }\n")
    for n in range(files):
        if n % 50_000 == 0:
            # ext4 allows 65,000 links to one file.
            blob = os.path.join(root, f"blob-{n}.js")
            with open(blob, "w") as f:
                f.write("x")
        folder = os.path.join(root, "node_modules", f"pkg-{n // 100:05}")
        if n % 100 == 0:
            os.makedirs(folder)
        os.link(blob, os.path.join(folder, f"f{n % 100:02}.js"))


def get(addr, target, *fields):
    head = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    head += "".join(f"{field}\r\n" for field in fields) + "\r\n"
    with socket.create_connection(addr, timeout=5) as conn:
        conn.sendall(head.encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/tinyhttpd")
    parser.add_argument("--files", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="tinyhttpd-live-cost-")
    server = None
    try:
        started = time.monotonic()
        make_project(work, args.files)
        print(f"project with {args.files} files in node_modules/ made in {time.monotonic() - started:.1f} s")
        server = subprocess.Popen(
            [args.binary, "--root", work, "--port", "0", "--live-reload", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = server.stdout.readline().strip()
        host, port = line.removeprefix("listening on http://").rstrip("/").rsplit(":", 1)
        addr = (host, int(port))
        for target, fields in [
            ("/", ["Sec-Fetch-Dest: document", "Accept: text/html"]),
            ("/src/app.js", []),
            ("/src/style.css", []),
        ]:
            status = get(addr, target, *fields)
            assert status.startswith("HTTP/1.1 200"), (target, status)

        events = socket.create_connection(addr, timeout=5)
        events.sendall(b"GET /.tinyhttpd/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.5)
        before = cpu_seconds(server.pid)
        time.sleep(args.seconds)
        listening = cpu_seconds(server.pid) - before

        # The page still gets its events.
        events.settimeout(0.5)
        edited = time.monotonic()
        with open(os.path.join(work, "src/app.js"), "w") as f:
            f.write("console.log('v2');\n")
        seen = b""
        while b"event: reload" not in seen and time.monotonic() < edited + 5:
            try:
                seen += events.recv(65536)
            except TimeoutError:
                pass
        if b"event: reload" in seen:
            print(f"an edit to src/app.js reached the page in {time.monotonic() - edited:.2f} s")
        else:
            print("an edit to src/app.js never reached the page (waited 5 s)")
        events.close()
        time.sleep(2)

        before = cpu_seconds(server.pid)
        time.sleep(args.seconds)
        idle = cpu_seconds(server.pid) - before

        for name, spent in [("one page open", listening), ("no page open", idle)]:
            share = 100 * spent / args.seconds
            print(f"{name}: {spent:.2f} s of CPU in {args.seconds:.0f} s = {share:.2f}% of a core")
    finally:
        if server:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
