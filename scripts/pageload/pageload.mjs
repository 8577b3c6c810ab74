// Page-load benchmark: an unbundled ES-module app, as a developer's
// unbundled dev build looks, loaded in headless Chromium from tinyhttpd and
// from the servers a developer would otherwise reach for. Not part of
// `cargo test`; run it through scripts/pageload.sh.
//
// The app: an entry module importing ENTRY_IMPORTS modules, each importing
// a few others, four levels deep (MODULES in all, 1 to 10 KiB each), plus a
// stylesheet and an image. Every file is dated a week back, as in a
// checkout. Each module exports a number; the entry adds them up, shows the
// total and records when it ran.
//
// For each server, in interleaved rounds, with a fresh Chromium profile and
// a fresh server process each time:
//   cold    navigation start until the app ran, on an empty cache;
//   reload  the same after page.reload(), everything in the cache;
//   edit    a deep module is changed (a developer's save), the page
//           reloaded: does the new total show, or the old code?
// Prints a markdown table of medians.
//
// Settings (environment): ROUNDS (default 5), MODULES (default 1200),
// PAGELOAD_ONLY=tinyhttpd,nginx (a comma-separated subset), CHROMIUM
// (default /usr/bin/chromium), TINYHTTPD (default target/release/tinyhttpd).

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { chromium } from "playwright-core";
// The same Chromium flags as the browser journeys.
import { chromiumOptions } from "../../tests/e2e/chromium.mjs";

const here = import.meta.dirname;
const repo = path.resolve(here, "../..");
const ROUNDS = Number(process.env.ROUNDS || 5);
const MODULES = Number(process.env.MODULES || 1200);
const ENTRY_IMPORTS = 300;
const tinyhttpd = process.env.TINYHTTPD || path.join(repo, "target/release/tinyhttpd");
const bin = (name) => path.join(here, "node_modules/.bin", name);
const WEEK = 7 * 24 * 3600;

// ---------------------------------------------------------------- the app

/** A small deterministic generator, so every run builds the same app. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A PNG of `size` x `size` pixels, a colour gradient (RGB, no filter). */
function png(size) {
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      row[1 + x * 3] = (x * 255) / size;
      row[2 + x * 3] = (y * 255) / size;
      row[3 + x * 3] = ((x ^ y) * 255) / size;
    }
    rows.push(row);
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", zlib.deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * Writes the app under `root` and returns the path of the deep module the
 * edit changes, with its text before and after.
 */
function buildApp(root) {
  const next = random(2026);
  // Levels below the entry: ENTRY_IMPORTS modules, then 60% and 40% of the
  // rest; each level needs modules for the one above to import.
  const rest = MODULES - 1;
  if (rest - ENTRY_IMPORTS < 10) {
    throw new Error(`MODULES must be at least ${ENTRY_IMPORTS + 11}`);
  }
  const counts = [ENTRY_IMPORTS, 0, 0];
  counts[1] = Math.round((rest - ENTRY_IMPORTS) * 0.6);
  counts[2] = rest - ENTRY_IMPORTS - counts[1];
  const names = counts.map((count, level) =>
    Array.from({ length: count }, (_, i) => `src/l${level + 1}/m${String(i).padStart(4, "0")}.js`),
  );
  const texts = new Map();
  const moduleText = (name, imports, own) => {
    const lines = imports.map((dep, i) => {
      const relative = path.posix.relative(path.posix.dirname(name), dep);
      return `import { value as v${i} } from "./${relative}";`;
    });
    const sum = imports.map((_, i) => `v${i}`).concat(String(own)).join(" + ");
    lines.push(`export const value = ${sum};`);
    // Padding to 1-10 KiB, as real modules weigh: a table of strings.
    const target = 1024 + Math.floor(next() * 9 * 1024);
    const words = [];
    let size = lines.join("\n").length;
    while (size < target) {
      const word = `"${Math.floor(next() * 1e9).toString(36)}-${name.length}"`;
      words.push(word);
      size += word.length + 2;
    }
    lines.push(`export const table = [${words.join(", ")}];`);
    return lines.join("\n") + "\n";
  };
  const pick = (pool, n) => Array.from({ length: n }, () => pool[Math.floor(next() * pool.length)]);
  // Level 3 modules import nothing; every level-2 module imports 2 of them,
  // every level-1 module 3 of level 2 (so most are shared, as in a library).
  for (const name of names[2]) texts.set(name, moduleText(name, [], 1));
  for (const name of names[1]) texts.set(name, moduleText(name, [...new Set(pick(names[2], 2))], 1));
  for (const name of names[0]) texts.set(name, moduleText(name, [...new Set(pick(names[1], 3))], 1));
  const entry = names[0].map((dep, i) => `import { value as v${i} } from "./${dep.slice(4)}";`);
  entry.push(
    `const total = ${names[0].map((_, i) => `v${i}`).join(" + ")};`,
    `document.querySelector("#total").textContent = total;`,
    `window.__appValue = total;`,
    `window.__appDone = performance.now();`,
  );
  texts.set("src/main.js", entry.join("\n") + "\n");
  texts.set(
    "index.html",
    `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>page-load benchmark</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/style.css">
<script type="module" src="/src/main.js"></script>
</head>
<body>
<img src="/logo.png" width="256" height="256" alt="">
<p>Total: <span id="total">…</span></p>
</body>
</html>
`,
  );
  const css = [];
  for (let i = 0; i < 400; i++) css.push(`.c${i} { margin: ${i % 17}px; color: #${(i * 4099).toString(16).padStart(6, "0").slice(0, 6)}; }`);
  texts.set("style.css", `body { font-family: sans-serif; }\n${css.join("\n")}\n`);

  for (const [name, text] of texts) {
    fs.mkdirSync(path.join(root, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  fs.writeFileSync(path.join(root, "logo.png"), png(256));
  backdate(root);

  const edited = path.join(root, names[2][Math.floor(names[2].length / 2)]);
  const before = fs.readFileSync(edited, "utf8");
  const after = before.replace(/ 1;\n/, " 1000000;\n");
  if (after === before) throw new Error("the edit changed nothing");
  return { edited, before, after };
}

// Dates every file a week back, as in a checkout, then waits until each has
// settled: tinyhttpd caches a file only once its modification and change
// times are more than 3 s old (src/fs/version.rs), and the change time cannot
// be set back.
function backdate(root) {
  const then = Date.now() / 1000 - WEEK;
  let newest = 0;
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    fs.utimesSync(file, then, then);
    newest = Math.max(newest, fs.statSync(file).ctimeMs);
  }
  const wait = newest + 3200 - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
}

// ---------------------------------------------------------------- servers

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child, log) {
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited: ${log()}`);
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server never listened: ${log()}`);
}

/** Starts `command` and waits until it listens on `port`. */
async function launch(command, args, port) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  await waitForPort(port, child, () => log);
  return { child, port };
}

const SERVERS = {
  tinyhttpd: async (root) => {
    const port = await freePort();
    return launch(tinyhttpd, ["--root", root, "--port", String(port), "--quiet"], port);
  },
  nginx: async (root, work) => {
    const port = await freePort();
    const conf = path.join(work, "nginx.conf");
    fs.writeFileSync(
      conf,
      `worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/nginx-error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    client_body_temp_path ${work}/nginx-body;
    proxy_temp_path ${work}/nginx-proxy;
    fastcgi_temp_path ${work}/nginx-fastcgi;
    uwsgi_temp_path ${work}/nginx-uwsgi;
    scgi_temp_path ${work}/nginx-scgi;
    server {
        listen 127.0.0.1:${port};
        root ${root};
    }
}
`,
    );
    return launch("nginx", ["-c", conf, "-p", work], port);
  },
  lighttpd: async (root, work) => {
    const port = await freePort();
    const conf = path.join(work, "lighttpd.conf");
    fs.writeFileSync(
      conf,
      `server.document-root = "${root}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${work}/lighttpd-error.log"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".js" => "text/javascript", ".css" => "text/css", ".png" => "image/png")
`,
    );
    return launch("lighttpd", ["-D", "-f", conf], port);
  },
  python: async (root) => {
    const port = await freePort();
    return launch("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root], port);
  },
  "http-server": async (root) => {
    const port = await freePort();
    return launch(bin("http-server"), [root, "-p", String(port), "-a", "127.0.0.1", "-s"], port);
  },
  serve: async (root) => {
    const port = await freePort();
    return launch(bin("serve"), ["-l", `tcp://127.0.0.1:${port}`, "-n", "-L", root], port);
  },
};

/**
 * Stops a server with SIGTERM (nginx's master then stops its worker, which
 * SIGKILL would orphan, still listening), SIGKILL if it lingers.
 */
async function stop({ child }) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
  child.stdout.destroy();
  child.stderr.destroy();
}

// ---------------------------------------------------------------- browser

/** Navigation start to the moment the app ran, in ms, and its total. */
async function ran(page) {
  await page.waitForFunction(() => window.__appDone !== undefined, null, { timeout: 120000 });
  return page.evaluate(() => [window.__appDone, window.__appValue]);
}

async function measure(name, app, work) {
  const root = path.join(work, "app");
  const server = await SERVERS[name](root, work);
  const profile = fs.mkdtempSync(path.join(work, "profile-"));
  const context = await chromium.launchPersistentContext(profile, chromiumOptions);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const url = `http://127.0.0.1:${server.port}/`;
    await page.goto(url);
    const [cold, total] = await ran(page);
    await page.reload();
    const [reload, again] = await ran(page);
    if (again !== total) throw new Error(`${name}: the reload ran another total`);
    fs.writeFileSync(app.edited, app.after);
    await page.reload();
    const [, edited] = await ran(page);
    return { cold, reload, shows: edited !== total };
  } finally {
    await context.close();
    await stop(server);
    fs.writeFileSync(app.edited, app.before);
    const then = Date.now() / 1000 - WEEK;
    fs.utimesSync(app.edited, then, then);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const only = process.env.PAGELOAD_ONLY?.split(",");
  const names = Object.keys(SERVERS).filter((n) => !only || only.includes(n));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "tinyhttpd-pageload-"));
  fs.chmodSync(work, 0o755);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  try {
    const app = buildApp(path.join(work, "app"));
    for (let round = 1; round <= ROUNDS; round++) {
      console.error(`round ${round}/${ROUNDS}`);
      const order = round % 2 ? names : [...names].reverse();
      for (const name of order) results[name].push(await measure(name, app, work));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const files = MODULES + 3;
  console.log(`\n## Page load in headless Chromium: ${MODULES} ES modules, a stylesheet and an image (${files} files), median of ${ROUNDS} rounds\n`);
  console.log("| server | cold load ms | reload ms | edit shown after reload |");
  console.log("|---|---:|---:|---:|");
  for (const name of names) {
    const runs = results[name];
    const shown = runs.filter((r) => r.shows).length;
    console.log(
      `| ${name} | ${median(runs.map((r) => r.cold)).toFixed(0)} | ${median(runs.map((r) => r.reload)).toFixed(0)} | ${shown} of ${runs.length} |`,
    );
  }
}

await main();
