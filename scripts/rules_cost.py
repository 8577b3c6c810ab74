#!/usr/bin/env python3
"""What the host's rules cost a request for a file that exists: the same
site served with a `_redirects` file of 1,000 rules (and a `_headers` file
of 10 blocks), and with neither, by the same binary in the same run.

    apt-get install wrk valgrind
    cargo build --release
    scripts/rules_cost.py [--binary target/release/tinyhttpd] [--rounds 5] [--seconds 5]

Two measures:
- instructions, counted by callgrind over 4,000 keep-alive requests for a
  1 KiB file (the same on every run whatever else the machine does);
- requests per second with wrk (1 thread, 32 connections, keep-alive), the
  two sites interleaved in each round; the median of the rounds, and the
  ratio of the medians.

The rules are what a migrated site carries: 700 old paths each sent to a
new one, 200 with placeholders, 99 with a splat, and a single-page app's
catch-all `/* /index.html 200` last, which matches the file asked for. A
rule without `!` does not apply where a file answers (Netlify's
shadowing), so the pipeline serves the file first and looks at the rules
only where nothing answers: for an existing file, none of the 1,000 is
compared. What a request pays for is the rest: bringing the rules up to
date, the forced rules (none here), and the `_headers` blocks, each of
which is compared, in the third site.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import backdate, launch, free_port, CLIENT_CPU  # noqa: E402
from instructions import count  # noqa: E402


def redirects():
    lines = ["# a migrated site's rules"]
    for i in range(700):
        lines.append(f"/old/section-{i}/page /new/section-{i}/page 301")
    for i in range(200):
        lines.append(f"/blog-{i}/:year/:month/:slug /posts/{i}/:year/:slug 301")
    for i in range(99):
        lines.append(f"/docs-v{i}/* /docs/:splat 302")
    lines.append("/* /index.html 200")
    return "\n".join(lines) + "\n"


def headers():
    blocks = []
    for i in range(9):
        blocks.append(f"/section-{i}/*\n  X-Section: {i}")
    blocks.append("/*\n  X-Frame-Options: DENY\n  X-Content-Type-Options: nosniff")
    return "\n".join(blocks) + "\n"


def make_site(root, rules):
    """A site with `rules`: none, "redirects" (the 1,000 rules) or "both"
    (and the `_headers` file)."""
    os.makedirs(os.path.join(root, "assets"))
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<!doctype html><p>app</p>\n")
    with open(os.path.join(root, "1k.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4)
    if rules in ("redirects", "both"):
        with open(os.path.join(root, "_redirects"), "w") as f:
            f.write(redirects())
    if rules == "both":
        with open(os.path.join(root, "_headers"), "w") as f:
            f.write(headers())
    backdate(root)


def wrk_rps(binary, root, seconds):
    port = free_port()
    server = launch([binary, "--root", root, "--port", str(port), "--quiet"], port)
    try:
        url = f"http://127.0.0.1:{port}/1k.bin"
        warm = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c32", "-d1s", url]
        subprocess.run(warm, capture_output=True)
        cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c32", f"-d{seconds}s", url]
        out = subprocess.run(cmd, capture_output=True, text=True).stdout
        if "Non-2xx" in out or "Socket errors" in out:
            raise RuntimeError(f"errors under load:\n{out}")
        return float(out.split("Requests/sec:")[1].split()[0])
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/tinyhttpd")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    sites = [("no rules files", None), ("_redirects, 1,000 rules", "redirects"),
             ("and _headers, 10 blocks", "both")]
    with tempfile.TemporaryDirectory() as work:
        roots = []
        for i, (_, rules) in enumerate(sites):
            roots.append(os.path.join(work, f"site{i}"))
            make_site(roots[-1], rules)
        # Start-up (reading and parsing the rules, which ends after the
        # listening line) is counted apart: a run with a single request.
        start = [count(args.binary, root, work, "/1k.bin", 1, True) for root in roots]
        total = [count(args.binary, root, work, "/1k.bin", 4001, True) for root in roots]
        each = [(t - s) / 4000 for t, s in zip(total, start)]
        print("| instructions (callgrind) | start-up, one request, stop | each of 4,000 more requests for /1k.bin | ratio |")
        print("|---|---:|---:|---:|")
        for (name, _), s, e in zip(sites, start, each):
            print(f"| {name} | {s:,} | {e:,.0f} | {e / each[0]:.3f}x |")
        if args.rounds == 0:
            return
        rps = [[] for _ in sites]
        for _ in range(args.rounds):
            for i, root in enumerate(roots):
                rps[i].append(wrk_rps(args.binary, root, args.seconds))
        medians = [statistics.median(r) for r in rps]
        print()
        print(f"| wrk -t1 -c32, /1k.bin, median of {args.rounds} rounds | requests/s | ratio |")
        print("|---|---:|---:|")
        for (name, _), m in zip(sites, medians):
            print(f"| {name} | {m:,.0f} | {m / medians[0]:.3f}x |")


if __name__ == "__main__":
    main()
