#!/usr/bin/env python3
"""A second opinion on our HTTP: drives one exchange of each kind the server
answers (files, HEAD, conditionals, ranges, listings, redirects, errors,
precompressed variants, OPTIONS, pipelining, HTTP/1.0), saves each
connection's request and response bytes, and runs HTTPolice over them.

    python3 -m venv /tmp/hp && /tmp/hp/bin/pip install httpolice 'bitstring<4'
    cargo build --release
    scripts/httpolice.py [--httpolice /tmp/hp/bin/httpolice] [--binary target/release/tinyhttpd]

Prints HTTPolice's text report and exits with its status. The requests are
ours and deliberately odd in places (a malformed one, an unknown method), so
notices about requests are expected; the ones that matter are about
responses. The server listens on 127.0.0.1 only and is stopped at the end.
"""

import argparse
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import time

HOST = "Host: localhost\r\n"
AGENT = "User-Agent: tinyhttpd-httpolice/1\r\n"


def make_site(root):
    def write(relative, data):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    write("index.html", "<!DOCTYPE html><title>home</title><p>hello</p>\n")
    write("a.txt", "plain text\n")
    write("data.json", '{"answer": 42}\n')
    write("clip.mp4", bytes(range(256)) * 64)
    script = "console.log('hello');\n" * 50
    write("app.js", script)
    write("app.js.gz", gzip.compress(script.encode()))
    write("files/one.txt", "1\n")
    write("files/two.txt", "22\n")
    write(".env", "SECRET=1\n")


def start(binary, root, *args):
    server = subprocess.Popen(
        [binary, "--root", root, "--port", "0", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = server.stdout.readline().strip()
    if not line.startswith("listening on http://"):
        server.kill()
        sys.exit(f"unexpected first line: {line!r}")
    host, port = line.removeprefix("listening on http://").rstrip("/").rsplit(":", 1)
    return server, (host, int(port))


def exchange(addr, raw, close_after=True):
    """Sends `raw` on a new connection and returns every byte until the
    server closes (or stays quiet for a second)."""
    with socket.create_connection(addr, timeout=5) as conn:
        conn.sendall(raw)
        if close_after:
            conn.shutdown(socket.SHUT_WR)
        conn.settimeout(1 if not close_after else 5)
        out = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out


def header(response, name):
    for line in response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None


def get(path, *fields, method="GET", version="1.1", close=True):
    lines = [f"{method} {path} HTTP/{version}\r\n", HOST, AGENT]
    lines += [f"{field}\r\n" for field in fields]
    if close:
        lines.append("Connection: close\r\n")
    return ("".join(lines) + "\r\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--httpolice", default="httpolice")
    parser.add_argument("--binary", default="target/release/tinyhttpd")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, "site")
        make_site(root)
        server, addr = start(args.binary, root)
        cors, cors_addr = start(args.binary, root, "--cors", "--header", "X-Frame-Options: DENY")
        try:
            first = exchange(addr, get("/a.txt"))
            etag, modified = header(first, "ETag"), header(first, "Last-Modified")
            clip = exchange(addr, get("/clip.mp4"))
            clip_tag = header(clip, "ETag")
            listing = exchange(addr, get("/files/"))
            listing_tag = header(listing, "ETag")
            plan = [
                (addr, get("/")),
                (addr, get("/a.txt", method="HEAD")),
                (addr, get("/a.txt", f"If-None-Match: {etag}")),
                (addr, get("/a.txt", f"If-Modified-Since: {modified}")),
                (addr, get("/a.txt", 'If-Match: "other"')),
                (addr, get("/data.json")),
                (addr, get("/clip.mp4", "Range: bytes=0-99")),
                (addr, get("/clip.mp4", "Range: bytes=100-", f"If-Range: {clip_tag}")),
                (addr, get("/clip.mp4", "Range: bytes=0-9,20-29")),
                (addr, get("/clip.mp4", "Range: bytes=0-9,20-29", f"If-Range: {clip_tag}")),
                (addr, get("/clip.mp4", 'Range: bytes=0-9', 'If-Range: "stale"')),
                (addr, get("/clip.mp4", "Range: bytes=999999-")),
                (addr, get("/app.js", "Accept-Encoding: gzip")),
                (addr, get("/app.js", "Accept-Encoding: gzip", "Range: bytes=0-9")),
                (addr, get("/files/", "Accept: text/html")),
                (addr, get("/files/", "Accept: application/json")),
                (addr, get("/files/", f"If-None-Match: {listing_tag}")),
                (addr, get("/files/", method="HEAD")),
                (addr, get("/files")),
                (addr, get("/nope.html")),
                (addr, get("/.env")),
                (addr, get("/a%zz")),
                (addr, get("/../a.txt")),
                (addr, get("/sub/../a.txt")),
                (addr, get("*", method="OPTIONS")),
                (addr, get("/a.txt", method="OPTIONS")),
                (addr, get("/a.txt", "Content-Length: 0", method="POST")),
                (addr, get("/a.txt", method="BREW")),
                (addr, get("/a.txt", version="1.0", close=False)),
                (addr, get("/a.txt", "Connection: keep-alive", version="1.0", close=False)),
                (addr, get("/a.txt", close=False) + get("/data.json")),
                (addr, b"GET /a.txt HTTP/1.1\r\nHost: evil.example\r\n" + AGENT.encode() + b"Connection: close\r\n\r\n"),
                (cors_addr, get("/a.txt", "Origin: http://localhost:5173")),
                (
                    cors_addr,
                    get(
                        "/a.txt",
                        "Origin: http://localhost:5173",
                        "Access-Control-Request-Method: GET",
                        method="OPTIONS",
                    ),
                ),
            ]
            paths = []
            for i, (target, raw) in enumerate(plan):
                response = exchange(target, raw)
                for kind, data in (("req", raw), ("resp", response)):
                    path = os.path.join(work, f"{i:02}-{kind}")
                    with open(path, "wb") as f:
                        f.write(data)
                    paths.append(path)
        finally:
            server.kill()
            cors.kill()
        report = subprocess.run([args.httpolice, "-i", "streams", *paths])
        return report.returncode


if __name__ == "__main__":
    sys.exit(main())
