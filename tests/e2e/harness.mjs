// What every file of browser journeys shares: the release binary started on
// port 0, a folder per journey's site, an edit that lands in one step, and
// `journey`, which gives each journey its own page and keeps a screenshot
// and the server's log in tests/e2e/artifacts/ when it fails.
//
// Importing this module registers the hooks that launch Debian's headless
// Chromium (through playwright-core) before a file's journeys and close it
// after them; `node --test` runs each file in a process of its own.

import { test, before, after } from "node:test";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { chromiumOptions } from "./chromium.mjs";
import { startBackend } from "./backend.mjs";

export const repo = path.resolve(import.meta.dirname, "../..");
export const binary = path.join(repo, "target/release/tinyhttpd");
export const artifacts = path.join(import.meta.dirname, "artifacts");

let browser;

before(async () => {
  // Playwright gives every launch a fresh, empty profile directory.
  browser = await chromium.launch(chromiumOptions);
});

after(async () => {
  await browser?.close();
});

/** Starts tinyhttpd on a free port and resolves once it prints its URL. */
export async function startServer(root, args = []) {
  const port = args.includes("--port") ? [] : ["--port", "0"];
  const child = spawn(binary, ["--root", root, ...port, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: "" },
  });
  let log = "";
  child.stderr.on("data", (chunk) => (log += chunk));
  const line = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`tinyhttpd exited with ${code}: ${log}`)));
    setTimeout(() => reject(new Error("no listening line")), 5000);
  });
  const url = line.replace("listening on ", "");
  return {
    url,
    log: () => log,
    stop: () => child.kill(),
    /** Waits until the log contains `text`. */
    async waitForLog(text, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!log.includes(text)) {
        if (Date.now() > deadline) throw new Error(`log never said ${text}:\n${log}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Starts tinyhttpd on a given port, retrying while the old one lets go. */
export async function startServerOnPort(root, port, args) {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await startServer(root, ["--port", port, ...args]);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A fresh folder for a journey's site. */
export function site(name, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tinyhttpd-e2e-${name}-`));
  for (const [file, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), contents);
  }
  return dir;
}

/** Replaces a file in one step, with a modification time it cannot have had. */
export function edit(dir, file, contents) {
  const staged = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tinyhttpd-e2e-staging-")), "file");
  fs.writeFileSync(staged, contents);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(staged, later, later);
  fs.renameSync(staged, path.join(dir, file));
}

/**
 * The response head of the page's live-reload event stream, as the browser
 * got it (call before the navigation). Not the access log: a stream's
 * access line is written when the stream ends.
 */
export function liveReloadStream(page) {
  const head = page.waitForResponse((r) => new URL(r.url()).pathname === "/.tinyhttpd/events", { timeout: 5000 });
  head.catch(() => {}); // Awaited later; a journey that fails first leaves it.
  return head;
}

/**
 * Runs a journey with its own page (in a browser context with
 * `contextOptions`); on failure, keeps a screenshot and the log (the
 * servers', then what its backends saw).
 */
export function journey(name, body, contextOptions = {}) {
  const slug = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  test(name, async () => {
    // This journey's own leftovers from an earlier run: not the whole
    // folder, which holds what the other file's journeys kept a moment ago.
    for (const extension of ["png", "log"]) {
      fs.rmSync(path.join(artifacts, `${slug}.${extension}`), { force: true });
    }
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    const servers = [];
    const serve = async (root, args) => {
      const server = await startServer(root, args);
      servers.push(server);
      return server;
    };
    const backends = [];
    const backend = async (handle, options) => {
      const started = await startBackend(handle, options);
      backends.push(started);
      return started;
    };
    try {
      await body(page, serve, backend);
    } catch (error) {
      fs.mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: path.join(artifacts, `${slug}.png`) }).catch(() => {});
      const logs = [...servers.map((s) => s.log()), ...backends.map((b) => b.log())];
      fs.writeFileSync(path.join(artifacts, `${slug}.log`), logs.join("\n---\n"));
      throw error;
    } finally {
      servers.forEach((s) => s.stop());
      await Promise.all(backends.map((b) => b.close()));
      await context.close();
    }
  });
}
