// End-to-end journeys: the release binary, started on port 0, driven by
// Debian's headless Chromium through playwright-core. Each journey is what a
// developer does in a browser; each failure leaves a screenshot and the
// server's log in tests/e2e/artifacts/. The harness is ./harness.mjs; the
// journeys of a host's rules and --base are in ./rules.test.mjs.
//
// Run from the repository root after `cargo build --release`:
//   (cd tests/e2e && npm ci && npm test)

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { websocketAccept } from "./backend.mjs";
import {
  artifacts, edit, journey, liveReloadStream, repo, site, startServerOnPort,
} from "./harness.mjs";

journey("the demo site renders, and its listing links open awkward names", async (page, serve) => {
  const server = await serve(path.join(repo, "www"));
  await page.goto(server.url);
  await page.screenshot({ path: path.join(os.tmpdir(), "tinyhttpd-e2e-home.png") });
  assert.equal(await page.textContent("h1"), "It works");
  // The ES module ran (served as JavaScript) and the image loaded.
  assert.equal(await page.textContent("#status"), "The JavaScript module ran.");
  assert.ok(await page.$eval("header img", (img) => img.complete && img.naturalWidth > 0));
  // The stylesheet applied.
  assert.equal(await page.$eval("h1", (h) => getComputedStyle(h).color), "rgb(47, 125, 91)");

  await page.click("text=A folder without an index file");
  assert.equal(await page.title(), "Index of /files/");
  await page.click("text=notes #1 100% café.txt");
  assert.match(await page.textContent("body"), /Plain text with a name full of characters/);
  assert.ok(decodeURIComponent(page.url()).endsWith("/files/notes #1 100% café.txt"));
});

journey("a video loads its metadata and seeks with range requests", async (page, serve) => {
  const dir = site("video", {
    "index.html": '<!DOCTYPE html><video id="v" src="clip.webm" preload="metadata" muted></video>',
  });
  execFileSync("ffmpeg", [
    "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=6:size=320x240:rate=15",
    "-c:v", "libvpx", "-b:v", "400k", "-y", path.join(dir, "clip.webm"),
  ]);
  const server = await serve(dir);
  await page.goto(server.url);
  const duration = await page.$eval("#v", (v) =>
    v.readyState >= 1 ? v.duration : new Promise((r) => v.addEventListener("loadedmetadata", () => r(v.duration))));
  assert.ok(duration > 5 && duration < 7, `duration ${duration}`);
  const position = await page.$eval("#v", (v) => new Promise((resolve) => {
    v.addEventListener("seeked", () => resolve(v.currentTime), { once: true });
    v.currentTime = v.duration / 2;
  }));
  assert.ok(Math.abs(position - duration / 2) < 0.5, `seeked to ${position}`);
  await server.waitForLog('"GET /clip.webm" 206');
});

journey("a reload revalidates with 304s, and an edit shows", async (page, serve) => {
  const dir = site("reload", {
    "index.html": '<!DOCTYPE html><link rel="stylesheet" href="style.css"><h1 id="t">version one</h1>',
    "style.css": "h1 { color: rgb(0, 0, 255); }",
  });
  const server = await serve(dir);
  await page.goto(server.url);
  await page.reload();
  await server.waitForLog('"GET /style.css" 304 (etag)');
  await server.waitForLog('"GET /" 304 (etag)');
  edit(dir, "index.html", '<!DOCTYPE html><link rel="stylesheet" href="style.css"><h1 id="t">version two</h1>');
  await page.reload();
  assert.equal(await page.textContent("#t"), "version two");
});

journey("live reload: an HTML edit reloads the page, a CSS edit restyles it in place", async (page, serve) => {
  const dir = site("live", {
    "index.html": '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head><body><h1 id="t">before</h1></body></html>',
    "style.css": "h1 { color: rgb(255, 0, 0); }",
  });
  const server = await serve(dir, ["--live-reload"]);
  await page.goto(server.url);
  await server.waitForLog('"GET /.tinyhttpd/events" 200');
  // A mark that only survives if the page is not reloaded.
  await page.evaluate(() => (window.stillHere = true));
  edit(dir, "style.css", "h1 { color: rgb(0, 128, 0); }");
  await page.waitForFunction(() => getComputedStyle(document.getElementById("t")).color === "rgb(0, 128, 0)", null, { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.stillHere), true, "the CSS change reloaded the page");

  edit(dir, "index.html", '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head><body><h1 id="t">after</h1></body></html>');
  await page.waitForFunction(() => document.getElementById("t")?.textContent === "after", null, { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.stillHere), undefined);
});

journey("live reload: editing a module in src/ reloads the page, with 30,000 files in node_modules/ beside it", async (page, serve) => {
  const dir = site("live-project", {
    "index.html": '<!DOCTYPE html><html><body><h1 id="t">loading</h1><script type="module" src="src/app.js"></script></body></html>',
    "src/app.js": 'import { label } from "./label.js";\ndocument.getElementById("t").textContent = label;\n',
    "src/label.js": 'export const label = "first";\n',
    "node_modules/pkg-000/f00.js": "x",
  });
  // 300 packages of 100 files, hard links to one file: as many names as a
  // real node_modules/, made quickly.
  const first = path.join(dir, "node_modules/pkg-000/f00.js");
  for (let p = 0; p < 300; p++) {
    const folder = path.join(dir, "node_modules", `pkg-${String(p).padStart(3, "0")}`);
    fs.mkdirSync(folder, { recursive: true });
    for (let f = 0; f < 100; f++) {
      const name = path.join(folder, `f${String(f).padStart(2, "0")}.js`);
      if (name !== first) fs.linkSync(first, name);
    }
  }
  const server = await serve(dir, ["--live-reload"]);
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById("t")?.textContent === "first", null, { timeout: 2000 });
  await server.waitForLog('"GET /.tinyhttpd/events" 200');
  await page.evaluate(() => (window.stillHere = true));
  // The module the page imported through another one, saved in place.
  fs.writeFileSync(path.join(dir, "src/label.js"), 'export const label = "second";\n');
  await page.waitForFunction(() => document.getElementById("t")?.textContent === "second", null, { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.stillHere), undefined, "the page was not reloaded");
  fs.rmSync(dir, { recursive: true, force: true });
});

journey("live reload: a page reloads itself when the server comes back", async (page, serve) => {
  const dir = site("restart", {
    "index.html": '<!DOCTYPE html><html><body><h1 id="t">first run</h1></body></html>',
  });
  const first = await serve(dir, ["--live-reload"]);
  await page.goto(first.url);
  await first.waitForLog('"GET /.tinyhttpd/events" 200');
  await page.evaluate(() => (window.stillHere = true));
  first.stop();
  // The same port again, as after a developer restarts the server.
  const port = new URL(first.url).port;
  fs.writeFileSync(path.join(dir, "index.html"), '<!DOCTYPE html><html><body><h1 id="t">second run</h1></body></html>');
  const second = await startServerOnPort(dir, port, ["--live-reload"]);
  try {
    await page.waitForFunction(() => document.getElementById("t")?.textContent === "second run", null, { timeout: 5000 });
    assert.equal(await page.evaluate(() => window.stillHere), undefined);
  } finally {
    second.stop();
  }
});

journey("single-page app: a deep link renders the app, a missing script is a 404", async (page, serve) => {
  const dir = site("spa", {
    "index.html": '<!DOCTYPE html><h1 id="app">app shell</h1><script src="/assets/missing.js"></script>',
  });
  const server = await serve(dir, ["--spa"]);
  const errors = [];
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  const response = await page.goto(`${server.url}app/settings`);
  assert.equal(response.status(), 200);
  assert.equal(await page.textContent("#app"), "app shell");
  await server.waitForLog('"GET /assets/missing.js" 404');
  assert.ok(errors.some((e) => e.includes("404")), `console errors: ${errors}`);
});

journey("a precompressed asset is decoded and used", async (page, serve) => {
  const script = 'document.getElementById("from").textContent = "gzip";';
  const dir = site("precompressed", {
    "index.html": '<!DOCTYPE html><p id="from">nothing ran</p><script src="app.js"></script>',
    "app.js": 'document.getElementById("from").textContent = "plain";',
    "app.js.gz": zlib.gzipSync(script),
  });
  const server = await serve(dir);
  await page.goto(server.url);
  assert.equal(await page.textContent("#from"), "gzip");
});

journey("a static export: links without .html open their pages, as on the host", async (page, serve) => {
  const dir = site("export", {
    "index.html": '<!DOCTYPE html><title>Home</title><a href="/about">About</a> <a href="/blog/first-post">Post</a>',
    "about.html": '<!DOCTYPE html><title>About</title><h1 id="t">About us</h1><a href="/">Home</a>',
    "blog/first-post.html": '<!DOCTYPE html><title>Post</title><h1 id="t">First post</h1>',
    "blog/index.html": '<!DOCTYPE html><title>Blog</title><h1 id="t">All posts</h1>',
  });
  const server = await serve(dir);
  await page.goto(server.url);
  await page.click("text=About");
  assert.equal(await page.textContent("#t"), "About us");
  assert.equal(new URL(page.url()).pathname, "/about");
  await page.click("text=Home");
  await page.click("text=Post");
  assert.equal(await page.textContent("#t"), "First post");
  // The folder blog/ beside no blog.html: its index, after the slash.
  await page.goto(`${server.url}blog`);
  assert.equal(await page.textContent("#t"), "All posts");
  assert.equal(new URL(page.url()).pathname, "/blog/");
  await server.waitForLog('"GET /about" 200 (from /about.html)');
});

const aliceCredentials = { username: "alice", password: "wonder land" };

journey("--auth: no credentials, no page", async (page, serve) => {
  const dir = site("auth-refused", { "index.html": '<!DOCTYPE html><h1 id="t">private</h1>' });
  const server = await serve(dir, ["--auth", "alice:wonder land"]);
  // With no credentials to give, automated Chromium dismisses its prompt
  // and the navigation fails; the response it got is what counts.
  const [response] = await Promise.all([
    page.waitForResponse(server.url),
    page.goto(server.url).catch(() => {}),
  ]);
  assert.equal(response.status(), 401);
  assert.equal(response.headers()["www-authenticate"], 'Basic realm="tinyhttpd", charset="UTF-8"');
  assert.ok(!(await response.text()).includes("private"));
  await server.waitForLog('"GET /" 401 (no credentials)');
});

journey("--auth: wrong credentials are refused and logged without the password", async (page, serve) => {
  const dir = site("auth-wrong", { "index.html": '<!DOCTYPE html><h1 id="t">private</h1>' });
  const server = await serve(dir, ["--auth", "alice:wonder land"]);
  const response = await page.goto(server.url);
  assert.equal(response.status(), 401);
  await server.waitForLog("401 (wrong credentials for user 'alice')");
  assert.ok(!server.log().includes("not it"), server.log());
}, { httpCredentials: { username: "alice", password: "not it" } });

journey("--auth: with credentials the site, its assets and live reload work", async (page, serve) => {
  const dir = site("auth", {
    "index.html": '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head><body><h1 id="t">private</h1></body></html>',
    "style.css": "h1 { color: rgb(0, 0, 255); }",
  });
  const server = await serve(dir, ["--auth", "alice:wonder land", "--live-reload"]);
  const response = await page.goto(server.url);
  assert.equal(response.status(), 200);
  assert.equal(await page.textContent("#t"), "private");
  assert.equal(await page.$eval("#t", (h) => getComputedStyle(h).color), "rgb(0, 0, 255)");
  await server.waitForLog('"GET /.tinyhttpd/events" 200');
  edit(dir, "index.html", '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head><body><h1 id="t">edited</h1></body></html>');
  await page.waitForFunction(() => document.getElementById("t")?.textContent === "edited", null, { timeout: 2000 });
}, { httpCredentials: aliceCredentials });

journey("a listing reads well in light and dark mode, links its parents, and asks for no icon", async (page, serve) => {
  const dir = site("listing-look", {
    "docs/guides/setup.md": "# Setup",
    "docs/guides/deploy.md": "# Deploy",
    "docs/guides/images/diagram.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "docs/guides/a long file name that has to wrap somewhere on a phone.txt": "x",
  });
  const server = await serve(dir);
  await page.setViewportSize({ width: 390, height: 700 });
  const shots = {};
  for (const colorScheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme });
    await page.goto(`${server.url}docs/guides/`);
    assert.equal(await page.title(), "Index of /docs/guides/");
    shots[colorScheme] = await page.$eval("body", (b) => getComputedStyle(b).color);
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, `listing-${colorScheme}.png`), fullPage: true });
  }
  // Text follows the scheme, and links take the demo site's green, lighter
  // in the dark.
  assert.equal(shots.light, "rgb(0, 0, 0)");
  assert.equal(shots.dark, "rgb(255, 255, 255)");
  assert.equal(await page.$eval("tbody a", (a) => getComputedStyle(a).color), "rgb(127, 212, 168)");
  // On a phone the time column gives way; the names stay.
  assert.equal(await page.$eval("tbody tr td:nth-child(3)", (td) => getComputedStyle(td).display), "none");
  // The breadcrumb back to docs/.
  await page.click("h1 >> text=docs");
  assert.equal(await page.title(), "Index of /docs/");
  await page.goto(`${server.url}missing`);
  assert.equal(await page.title(), "404 Not Found");
  await server.waitForLog('"GET /missing" 404');
  assert.ok(!server.log().includes("favicon"), server.log());
});

journey("--proxy: the page's fetch and WebSocket reach a backend on localhost through tinyhttpd", async (page, serve, backend) => {
  // RFC 6455's own example (section 1.3), so a wrong GUID fails here and
  // not as a mysterious refused WebSocket.
  assert.equal(websocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const api = await backend((req, res) => {
    if (req.method === "GET" && req.url === "/api/hello") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ message: "hello from the backend" }));
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not here\n");
    }
  });
  const dir = site("proxy-api", {
    "index.html": `<!DOCTYPE html><p id="hello">waiting</p><p id="ws">waiting</p><script>
      const show = (id, text) => (document.getElementById(id).textContent = text);
      fetch("/api/hello")
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status))))
        .then((body) => show("hello", body.message), (e) => show("hello", "fetch failed: " + e.message));
      const ws = new WebSocket("ws://" + location.host + "/api/ws");
      ws.onopen = () => ws.send("ping through tinyhttpd");
      ws.onmessage = (e) => { show("ws", "echo: " + e.data); ws.close(); };
      ws.onclose = (e) => document.getElementById("ws").textContent === "waiting" && show("ws", "closed: " + e.code);
    </script>`,
  });
  // localhost, as a developer would write it, for a backend on ::1 only
  // (where IPv6 is there) as Node's servers often are.
  const server = await serve(dir, ["--proxy", `/api=http://localhost:${api.port}`]);
  await page.goto(server.url);
  await page.waitForFunction(
    () => ["hello", "ws"].every((id) => document.getElementById(id).textContent !== "waiting"), null, { timeout: 2000 });
  assert.equal(await page.textContent("#hello"), "hello from the backend");
  assert.equal(await page.textContent("#ws"), "echo: ping through tinyhttpd", `backend on ${api.authority}`);

  // The backend got the page's own requests, with its own Host.
  const hello = api.requests.find((r) => r.url === "/api/hello");
  assert.equal(hello.headers.host, `localhost:${api.port}`);
  assert.equal(hello.headers.via, "1.1 tinyhttpd");
  assert.equal(hello.headers["x-forwarded-host"], new URL(server.url).host);
  const upgrade = api.requests.find((r) => r.url === "/api/ws");
  assert.equal(upgrade.headers.upgrade, "websocket");
  // The browser's frame arrived as the browser sent it: masked.
  assert.deepEqual(api.frames[0], { url: "/api/ws", opcode: 1, masked: true, text: "ping through tinyhttpd" });
  await server.waitForLog('"GET /api/hello" 200 (backend ');
});

/** A backend-rendered page that takes its stylesheet from tinyhttpd's folder. */
const backendPage = '<!DOCTYPE html><html><head><link rel="stylesheet" href="/style.css"></head><body><h1 id="t">rendered by the backend</h1></body></html>';

journey("live reload on a proxied page: the backend's HTML gets the script, a CSS edit restyles it in place", async (page, serve, backend) => {
  const app = await backend((req, res) => {
    if (req.url === "/app") {
      res.writeHead(200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": Buffer.byteLength(backendPage),
        ETag: '"backend-page-1"',
      });
      res.end(backendPage);
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not here\n");
    }
  });
  const dir = site("proxy-live", { "style.css": "h1 { color: rgb(255, 0, 0); }" });
  const server = await serve(dir, ["--live-reload", "--proxy", `/app=http://localhost:${app.port}`]);
  const eventStream = liveReloadStream(page);
  const response = await page.goto(`${server.url}app`);
  assert.equal(response.status(), 200);
  assert.equal(await page.textContent("#t"), "rendered by the backend");
  assert.ok(
    await page.$$eval("script", (scripts) => scripts.some((s) => s.textContent.includes("tinyhttpd live reload"))),
    "the backend's page has no live-reload script");
  // The length follows the injection; the backend's ETag no longer names
  // what is sent.
  const headers = response.headers();
  assert.equal(Number(headers["content-length"]), (await response.body()).length);
  assert.equal(headers.etag, undefined);
  // The navigation reached the backend without Accept-Encoding: plain HTML
  // to inject into.
  const navigation = app.requests.find((r) => r.url === "/app");
  assert.equal(navigation.headers["accept-encoding"], undefined);
  // The stylesheet came from tinyhttpd's folder.
  assert.equal(await page.$eval("#t", (h) => getComputedStyle(h).color), "rgb(255, 0, 0)");
  await server.waitForLog('"GET /style.css" 200');
  assert.equal((await eventStream).status(), 200);

  // A mark that only survives if the page is not reloaded.
  await page.evaluate(() => (window.stillHere = true));
  edit(dir, "style.css", "h1 { color: rgb(0, 128, 0); }");
  await page.waitForFunction(() => getComputedStyle(document.getElementById("t")).color === "rgb(0, 128, 0)", null, { timeout: 2000 });
  assert.equal(await page.evaluate(() => window.stillHere), true, "the CSS change reloaded the page");
  assert.equal(app.requests.filter((r) => r.url === "/app").length, 1, "the backend's page was asked for again");
});

journey("live reload with everything proxied: a streamed page gets the script, the event stream stays local", async (page, serve, backend) => {
  // http://[::1]:PORT where IPv6 is there, else http://127.0.0.1:PORT.
  const app = await backend((req, res) => {
    // No Content-Length: Node sends it chunked, the head and the rest apart.
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.write('<!DOCTYPE html><html><head><title>streamed</title></head>');
    setTimeout(() => res.end('<body><h1 id="t">streamed by the backend</h1></body></html>'), 50);
  });
  const dir = site("proxy-stream", { "index.html": "<!DOCTYPE html><h1 id=\"t\">the local file</h1>" });
  const server = await serve(dir, ["--live-reload", "--proxy", `/=http://${app.authority}`]);
  const eventStream = liveReloadStream(page);
  const response = await page.goto(`${server.url}dashboard`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()["transfer-encoding"], "chunked");
  assert.equal(await page.textContent("#t"), "streamed by the backend");
  assert.ok(
    await page.$$eval("script", (scripts) => scripts.some((s) => s.textContent.includes("tinyhttpd live reload"))),
    "the streamed page has no live-reload script");
  // tinyhttpd's own stream answered: no Via, as a relayed answer has.
  const stream = await eventStream;
  assert.equal(stream.status(), 200);
  assert.equal(stream.headers()["content-type"], "text/event-stream");
  assert.equal(stream.headers().via, undefined);
  assert.deepEqual(app.requests.map((r) => r.url).filter((u) => u.startsWith("/.tinyhttpd")), []);
  assert.equal(app.requests.find((r) => r.url === "/dashboard").headers.host, app.authority);
});
