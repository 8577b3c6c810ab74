// Browser journeys for a site as a host serves it: under a base path
// (`--base /REPO/`, a GitHub Pages project site) and with the host's rules
// files, `_redirects` and `_headers`. The harness is ./harness.mjs.
//
// Run from the repository root after `cargo build --release`:
//   (cd tests/e2e && npm ci && npm test)

import assert from "node:assert/strict";
import { edit, journey, liveReloadStream, site } from "./harness.mjs";

/**
 * The output of `vite build --base /REPO/` (Vite 5.4) for an app whose
 * entry imports a shared chunk, imports a lazy chunk that has a stylesheet
 * of its own, and whose stylesheet has an image too large to inline, with
 * a file from public/. The names, tags and references are as that build
 * writes them; the code is Vite's, unminified and shortened.
 */
const vite = {
  entry: "assets/index-C4pT_x9Q.js",
  shared: "assets/shared-Bq7-k2Lm.js",
  lazy: "assets/lazy-DkR8w_3n.js",
  css: "assets/index-BYx0-qaE.css",
  lazyCss: "assets/lazy-CnT5v_8d.css",
  logo: "assets/logo-B5GEoBGS.svg",
  favicon: "favicon.svg",
};

function viteBuild() {
  return {
    "index.html": `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <link rel="icon" type="image/svg+xml" href="/REPO/${vite.favicon}" />
    <title>Vite app under /REPO/</title>
    <script type="module" crossorigin src="/REPO/${vite.entry}"></script>
    <link rel="modulepreload" crossorigin href="/REPO/${vite.shared}">
    <link rel="stylesheet" crossorigin href="/REPO/${vite.css}">
  </head>
  <body>
    <h1 id="title">not rendered</h1>
    <p id="lazy">waiting</p>
    <div id="logo"></div>
    <img id="public" src="/REPO/${vite.favicon}" alt="">
  </body>
</html>
`,
    // Dependencies of a dynamic import are listed relative to the outDir
    // and made absolute with the base; the chunks import each other
    // relatively.
    [vite.entry]: `const __vite__mapDeps=(i,m=__vite__mapDeps,d=(m.f||(m.f=["${vite.lazy}","${vite.shared}","${vite.lazyCss}"])))=>i.map(i=>d[i]);
import{g as greet}from"./${vite.shared.slice("assets/".length)}";
const assetsURL = function(dep) { return "/REPO/" + dep };
const preload = function(load, deps) {
  const links = deps.map((dep) => {
    dep = assetsURL(dep);
    const isCss = dep.endsWith(".css");
    if (document.querySelector(\`link[href="\${dep}"]\${isCss ? '[rel="stylesheet"]' : ""}\`)) return;
    const link = document.createElement("link");
    link.rel = isCss ? "stylesheet" : "modulepreload";
    if (!isCss) link.as = "script";
    link.crossOrigin = "";
    link.href = dep;
    document.head.appendChild(link);
    if (isCss) return new Promise((resolve, reject) => {
      link.addEventListener("load", resolve);
      link.addEventListener("error", () => reject(new Error(\`Unable to preload CSS for \${dep}\`)));
    });
  });
  return Promise.all(links).then(load);
};
document.getElementById("title").textContent = greet("vite");
preload(() => import("./${vite.lazy.slice("assets/".length)}"), __vite__mapDeps([0,1,2]))
  .then((m) => { document.getElementById("lazy").textContent = m.lazy(); },
        (e) => { document.getElementById("lazy").textContent = "failed: " + e.message; });
`,
    [vite.shared]: 'function r(e){return"hello "+e}export{r as g};\n',
    [vite.lazy]: `import{g as e}from"./${vite.shared.slice("assets/".length)}";function t(){return"lazy chunk: "+e("chunk")}export{t as lazy};\n`,
    [vite.css]: `h1{color:#0c2238}#logo{width:64px;height:64px;background-image:url(/REPO/${vite.logo})}\n`,
    [vite.lazyCss]: "#lazy{color:#c80a0a}\n",
    [vite.logo]: '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><rect width="64" height="64" fill="#646cff"/></svg>\n',
    [vite.favicon]: '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><circle cx="8" cy="8" r="8" fill="green"/></svg>\n',
  };
}

/** A path's answers as the page got them, "STATUS /path?query". */
function answers(page) {
  const seen = [];
  page.on("response", (r) => {
    const url = new URL(r.url());
    seen.push(`${r.status()} ${url.pathname}${url.search}`);
  });
  return seen;
}

/** What the page's own `fetch(path)` got: its status and body. */
function fetchFromPage(page, path) {
  return page.evaluate(async (path) => {
    const response = await fetch(path);
    return { status: response.status, body: await response.text() };
  }, path);
}

journey("a Vite build with base '/REPO/', served with --base /REPO/: everything loads from under the base", async (page, serve) => {
  const dir = site("vite-base", viteBuild());
  const server = await serve(dir, ["--base", "/REPO/"]);
  const seen = answers(page);
  // The image, wherever the stylesheet sends for it.
  const logo = page.waitForResponse((r) => r.url().endsWith(`/${vite.logo}`), { timeout: 5000 });
  logo.catch(() => {});

  // The address a developer opens, as printed: the root, sent on to the base.
  const response = await page.goto(server.url);
  assert.equal(page.url(), `${server.url}REPO/`);
  assert.equal(response.status(), 200);
  const hop = await response.request().redirectedFrom()?.response();
  assert.equal(hop?.status(), 302);
  assert.equal(hop.headers().location, "/REPO/");
  await server.waitForLog('"GET /" 302');

  // The entry module ran, with its static import of the shared chunk.
  assert.equal(await page.textContent("#title"), "hello vite");
  // The dynamic import, through the preload helper's absolute URLs and
  // then a relative import().
  await page.waitForFunction(() => document.getElementById("lazy").textContent !== "waiting", null, { timeout: 5000 });
  assert.equal(await page.textContent("#lazy"), "lazy chunk: hello chunk");
  // Both stylesheets applied.
  assert.equal(await page.$eval("h1", (h) => getComputedStyle(h).color), "rgb(12, 34, 56)");
  assert.equal(await page.$eval("#lazy", (p) => getComputedStyle(p).color), "rgb(200, 10, 10)");
  // The image from the stylesheet's url(), fetched and an SVG.
  const image = await logo;
  assert.equal(`${image.status()} ${new URL(image.url()).pathname}`, `200 /REPO/${vite.logo}`);
  assert.equal(image.headers()["content-type"], "image/svg+xml");
  const background = await page.$eval("#logo", (d) => getComputedStyle(d).backgroundImage);
  assert.equal(background, `url("${server.url}REPO/${vite.logo}")`);
  assert.equal(await page.evaluate(async (src) => {
    const img = new Image();
    img.src = src;
    await img.decode();
    return img.naturalWidth;
  }, `/REPO/${vite.logo}`), 64);
  // public/'s file, at the base as the built page names it.
  assert.ok(await page.$eval("#public", (img) => img.complete && img.naturalWidth === 16));

  // Every file was answered once at least with a 200, and nothing failed.
  for (const file of Object.keys(vite).map((k) => `/REPO/${vite[k]}`)) {
    assert.ok(seen.includes(`200 ${file}`), `no 200 for ${file}: ${seen.join(", ")}`);
  }
  assert.deepEqual(seen.filter((s) => Number(s.slice(0, 3)) >= 400), [], seen.join(", "));

  // A file asked for without the base, as a build without `base` would:
  // a 404 that names the base and the path meant.
  const outside = await fetchFromPage(page, `/${vite.entry}`);
  assert.equal(outside.status, 404);
  assert.match(outside.body, /This site is served under \/REPO\/, and this path is outside it/);
  assert.ok(outside.body.includes(`<a href="/REPO/${vite.entry}">/REPO/${vite.entry}</a>`), outside.body);
  await server.waitForLog(`"GET /${vite.entry}" 404 (outside the base /REPO/)`);
  // The root, when it is not a navigation, is no redirect either.
  const root = await fetchFromPage(page, "/");
  assert.equal(root.status, 404);
  assert.match(root.body, /served under \/REPO\//);
  // The base without its slash is the base.
  await page.goto(`${server.url}REPO`);
  assert.equal(page.url(), `${server.url}REPO/`);
  assert.equal(await page.textContent("#title"), "hello vite");
  await server.waitForLog('"GET /REPO" 301');
});

journey("_redirects and _headers under --base /REPO/: a moved page, an app's deep link, immutable assets, no framing", async (page, serve) => {
  const dir = site("rules-base", {
    "index.html": '<!DOCTYPE html><html><head><title>App</title><script type="module" crossorigin src="/REPO/assets/app-Ck2_x8Pq.js"></script><link rel="stylesheet" crossorigin href="/REPO/assets/app-DdE4-v9Z.css"></head><body><h1 id="route">not rendered</h1></body></html>',
    "assets/app-Ck2_x8Pq.js": 'document.getElementById("route").textContent = "route " + location.pathname.slice("/REPO".length);\n',
    "assets/app-DdE4-v9Z.css": "h1 { color: rgb(0, 90, 180); }\n",
    "new-page.html": '<!DOCTYPE html><title>New page</title><h1 id="t">The new page</h1>',
    // A real file under the app's routes: it answers, the rule does not.
    "app/help.html": '<!DOCTYPE html><title>Help</title><h1 id="t">Help, from its own file</h1>',
    "frame.html": '<!DOCTYPE html><title>Framing</title><iframe src="/REPO/new-page.html"></iframe>',
    "_redirects": [
      "# Moved pages, and the app's routes: every path with the base.",
      "/REPO/old-page   /REPO/new-page.html   301",
      "/REPO/app/*      /REPO/index.html      200",
      "",
    ].join("\n"),
    "_headers": [
      "# Built assets have hashed names: a year, never revalidated.",
      "/REPO/assets/*",
      "  Cache-Control: public, max-age=31536000, immutable",
      "",
      "/REPO/*",
      "  X-Frame-Options: DENY",
      "",
    ].join("\n"),
  });
  const server = await serve(dir, ["--base", "/REPO/"]);
  await server.waitForLog("rules: 2 redirects, 2 header blocks");
  assert.ok(!server.log().includes("skipped"), server.log());

  // A bookmark to the old page: a 301 to the new one, the query carried.
  const moved = await page.goto(`${server.url}REPO/old-page?from=bookmark`);
  assert.equal(page.url(), `${server.url}REPO/new-page.html?from=bookmark`);
  assert.equal(moved.status(), 200);
  assert.equal(await page.textContent("#t"), "The new page");
  const redirect = await moved.request().redirectedFrom()?.response();
  assert.equal(redirect?.status(), 301);
  assert.deepEqual(await redirect.headerValues("location"), ["/REPO/new-page.html?from=bookmark"]);
  // The rule's own answer: not kept by the browser, and framed by no one.
  assert.deepEqual(await redirect.headerValues("cache-control"), ["no-cache"]);
  assert.deepEqual(await redirect.headerValues("x-frame-options"), ["DENY"]);
  assert.deepEqual(await moved.headerValues("x-frame-options"), ["DENY"]);
  await server.waitForLog('"GET /REPO/old-page?from=bookmark" 301');

  // A deep link into the app: the index, at the address asked for, with
  // its assets under the base and their headers from _headers.
  const assetAnswers = ["app-Ck2_x8Pq.js", "app-DdE4-v9Z.css"].map((name) => {
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === `/REPO/assets/${name}`, { timeout: 5000 });
    answer.catch(() => {});
    return answer;
  });
  const deep = await page.goto(`${server.url}REPO/app/settings`);
  assert.equal(deep.status(), 200);
  assert.equal(page.url(), `${server.url}REPO/app/settings`);
  assert.equal(await page.textContent("#route"), "route /app/settings");
  assert.equal(await page.$eval("h1", (h) => getComputedStyle(h).color), "rgb(0, 90, 180)");
  // The page keeps the server's Cache-Control; both blocks' fields are on
  // each asset, the immutable one in place of the server's.
  assert.deepEqual(await deep.headerValues("cache-control"), ["no-cache"]);
  assert.deepEqual(await deep.headerValues("x-frame-options"), ["DENY"]);
  for (const asset of await Promise.all(assetAnswers)) {
    assert.equal(asset.status(), 200, asset.url());
    assert.deepEqual(await asset.headerValues("cache-control"), ["public, max-age=31536000, immutable"], asset.url());
    assert.deepEqual(await asset.headerValues("x-frame-options"), ["DENY"], asset.url());
  }
  await server.waitForLog('"GET /REPO/app/settings" 200');

  // A file under the app's routes answers for itself (here as a clean URL).
  await page.goto(`${server.url}REPO/app/help`);
  assert.equal(await page.textContent("#t"), "Help, from its own file");
  assert.equal(page.url(), `${server.url}REPO/app/help`);

  // The rules files themselves are never served.
  for (const file of ["_redirects", "_headers"]) {
    assert.equal((await fetchFromPage(page, `/REPO/${file}`)).status, 404, file);
  }

  // The browser honours X-Frame-Options: the framed page is refused.
  const refused = page.waitForEvent("requestfailed", {
    predicate: (r) => new URL(r.url()).pathname === "/REPO/new-page.html",
    timeout: 5000,
  });
  refused.catch(() => {});
  await page.goto(`${server.url}REPO/frame.html`);
  assert.equal((await refused).failure()?.errorText, "net::ERR_BLOCKED_BY_RESPONSE");
  assert.equal(await page.$eval("iframe", (f) => f.contentDocument), null);
});

/** A page that counts its loads in sessionStorage, for the reload journey. */
const countedPage = (name) => `<!DOCTYPE html><html><head><title>${name}</title></head><body>
<h1 id="t">${name}</h1><p id="loads"></p>
<script>
  sessionStorage.loads = Number(sessionStorage.loads || 0) + 1;
  document.getElementById("loads").textContent = sessionStorage.loads;
</script></body></html>`;

journey("live reload under --base: an edit of _redirects shows the new rewrite, an edit of _headers reloads the page", async (page, serve) => {
  const dir = site("rules-live", {
    "a.html": countedPage("page A"),
    "b.html": countedPage("page B"),
    "_redirects": "/REPO/x /REPO/a.html 200\n",
    "_headers": "/REPO/*\n  X-Build: 1\n",
  });
  const server = await serve(dir, ["--live-reload", "--base", "/REPO/"]);
  await server.waitForLog("rules: 1 redirects, 1 header blocks");
  const loads = () => page.textContent("#loads");

  // The rewrite: page A at /REPO/x, listening for changes.
  let stream = liveReloadStream(page);
  const first = await page.goto(`${server.url}REPO/x`);
  assert.equal(first.status(), 200);
  assert.deepEqual(await first.headerValues("x-build"), ["1"]);
  assert.equal(await page.textContent("#t"), "page A");
  assert.equal(await loads(), "1");
  assert.equal((await stream).status(), 200);
  await page.evaluate(() => (window.stillHere = true));

  // The rule now points at page B: the open page reloads by itself, at the
  // same address. (A request that reads the rules after the edit and before
  // the watcher looks must not hide the edit from the page:
  // tests/rules.rs checks that one.)
  stream = liveReloadStream(page);
  edit(dir, "_redirects", "/REPO/x /REPO/b.html 200\n");
  await page.waitForFunction(() => document.getElementById("t")?.textContent === "page B", null, { timeout: 5000 });
  assert.equal(await page.evaluate(() => window.stillHere), undefined);
  assert.equal(page.url(), `${server.url}REPO/x`);
  assert.equal(await loads(), "2");
  await server.waitForLog("rules: read again: 1 redirects, 1 header blocks");
  // The reloaded page listens again before the next edit.
  assert.equal((await stream).status(), 200);

  // An edit of _headers reloads the page too, which gets the new field.
  const reloaded = page.waitForResponse(
    (r) => r.request().isNavigationRequest() && new URL(r.url()).pathname === "/REPO/x", { timeout: 5000 });
  reloaded.catch(() => {});
  const loaded = page.waitForEvent("load", { timeout: 5000 });
  loaded.catch(() => {});
  edit(dir, "_headers", "/REPO/*\n  X-Build: 2\n");
  await loaded;
  await page.waitForFunction(() => document.getElementById("loads")?.textContent === "3", null, { timeout: 5000 });
  assert.equal(await page.textContent("#t"), "page B");
  assert.deepEqual(await (await reloaded).headerValues("x-build"), ["2"]);
});
