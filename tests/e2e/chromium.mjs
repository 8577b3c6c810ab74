// How tinyhttpd's browser runs start Debian's Chromium: the journeys here
// and scripts/pageload/pageload.mjs. Headless, without a sandbox (CI runs
// as root), and without the background traffic (updates, sync, QUIC) that
// would add requests or noise to a measurement.
export const chromiumOptions = {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
