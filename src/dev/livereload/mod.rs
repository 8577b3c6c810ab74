//! Live reload: pages reload themselves when a file they use changes.
//!
//! Three pieces. The watcher remembers every path the server has answered
//! for (files, the folders of listings, paths that were a 404), with a stamp
//! of what was on disk when it answered; while at least one page listens, a
//! thread looks at just those paths four times a second, and when one no
//! longer matches what was served, it waits for the files to settle and tells
//! the pages once. So the cost follows what pages load, not the size of the
//! tree: a project with 200,000 files in `node_modules` costs what its page's
//! few dozen files cost, and nothing at all while no page listens. No
//! file-notification crate is needed (std has none). Each open page holds a
//! server-sent-events stream at `EVENTS_PATH`, served by its connection's own
//! thread, which waits for the watcher and writes `reload` or `css` events,
//! with heartbeat comments in between. And `inject` puts the small script
//! that listens to that stream into HTML pages sent for a top-level
//! navigation.
//!
//! The files, each importing only those listed before it:
//! - `stamp`: what is on disk at a path, as one comparable number.
//! - `watcher`: the watched set, the polling thread, the wait for changes
//!   to settle, and the count of listening pages.
//! - `events`: the stream a page holds open, and its timings.
//! - `inject`: the script, and where it goes in a page.
//!
//! This file owns nothing but that map and the paths the rest of the server
//! uses, re-exported. All of `dev/` may import `fs`, `http` and `sys`,
//! never `serve` or `net`.
#![forbid(unsafe_code)]

mod events;
mod inject;
mod stamp;
mod watcher;

pub use events::{EVENTS_PATH, Events, OWN_PATHS};
pub use inject::{SCRIPT, inject};
pub use watcher::Watcher;
