//! The threads that accept and serve connections.
//!
//! The design is one thread per connection, and it stays that: a thread owns
//! one connection from its first byte to its close. Rather than one thread
//! accepting and handing each connection to another (a wake-up and a switch
//! between threads for every connection), every thread without a connection
//! waits in `accept` on the shared listener itself and serves what it
//! accepts; the kernel wakes one waiter per connection. A thread that finishes
//! a connection goes straight back to `accept`, and when connections are
//! queued it takes the next one without sleeping at all.
//!
//! The pool keeps one thread waiting whenever it can: the thread that takes
//! the last waiter's place starts another before it serves. A waiting thread
//! that has had nothing for `idle_lifetime` exits, as long as another is still
//! waiting; the thread that called `run` never exits. A panic while serving
//! a connection is logged by the panic hook and ends that connection only.
//!
//! An `accept` that finds no descriptor free fails at once, and fails again
//! at once for as long as none is (Linux takes the descriptor before it
//! waits for a connection, and leaves a waiting connection queued): the pool
//! first asks for descriptors back (`relieve`, which closes the files the
//! cache keeps open), then waits before trying again, longer each time, so
//! a limit that stays full never keeps a thread spinning.
#![forbid(unsafe_code)]

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::sys;

/// How long a thread waits in `accept` for a connection before it exits
/// (if another is waiting).
pub const IDLE_LIFETIME: Duration = Duration::from_secs(2);
/// The most threads kept waiting for connections; past this, a thread whose
/// connection ends exits instead of waiting.
const MAX_WAITING: usize = 256;
/// How long to wait after a failed `accept` (out of descriptors, say), at
/// first; each failure in a row doubles it, up to `MAX_ACCEPT_BACKOFF`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

pub struct Pool<F, R> {
    listener: TcpListener,
    name: &'static str,
    stack_size: usize,
    /// Threads in `accept`, or on their way there.
    waiting: AtomicUsize,
    /// Threads started over the pool's life, for tests.
    started: AtomicUsize,
    serve: F,
    /// Gives descriptors back when `accept` finds none, saying how many.
    relieve: R,
}

impl<F, R> Pool<F, R>
where
    F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    R: Fn() -> usize + Send + Sync + 'static,
{
    /// Accepts connections on `listener` forever, calling `serve` for each on
    /// the thread that accepted it, and `relieve` when out of descriptors.
    /// The calling thread is the first of the pool and never leaves it: this
    /// does not return.
    pub fn run(
        listener: TcpListener,
        name: &'static str,
        stack_size: usize,
        idle_lifetime: Duration,
        serve: F,
        relieve: R,
    ) {
        Pool::new(listener, name, stack_size, idle_lifetime, serve, relieve).work(true);
    }

    fn new(
        listener: TcpListener,
        name: &'static str,
        stack_size: usize,
        idle_lifetime: Duration,
        serve: F,
        relieve: R,
    ) -> Arc<Self> {
        if let Err(e) = sys::set_accept_timeout(&listener, idle_lifetime) {
            log::debug!("idle threads will not exit: cannot time out accept: {e}");
        }
        Arc::new(Pool {
            listener,
            name,
            stack_size,
            waiting: AtomicUsize::new(1),
            started: AtomicUsize::new(0),
            serve,
            relieve,
        })
    }

    /// Accepts and serves until this thread is not needed. The caller has
    /// counted this thread as waiting.
    fn work(self: &Arc<Self>, permanent: bool) {
        // Failed accepts in a row, for the wait before the next.
        let mut failures = 0;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    failures = 0;
                    if self.waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
                        self.start_thread();
                    }
                    // The panic hook has logged it; dropping the stream
                    // while unwinding closed the connection.
                    let _ = panic::catch_unwind(AssertUnwindSafe(|| (self.serve)(stream, peer)));
                    if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING && !permanent {
                        self.waiting.fetch_sub(1, Ordering::AcqRel);
                        return;
                    }
                }
                Err(e) => {
                    if self.accept_failed(e, permanent, &mut failures) {
                        return;
                    }
                }
            }
        }
    }

    /// After `accept` failed: whether this thread leaves the pool.
    // Out of line (see `listener::STACK_SIZE`): every connection's thread
    // carries `work`'s frame.
    #[inline(never)]
    fn accept_failed(&self, e: io::Error, permanent: bool, failures: &mut u32) -> bool {
        if !permanent && self.retire() {
            return true;
        }
        // No connection within the idle lifetime: wait again.
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            return false;
        }
        // Out of descriptors (EMFILE) or memory, or a connection reset
        // before we took it. Out of descriptors, every waiting thread fails
        // at once, over and over: all but one leave. That one asks for
        // descriptors back and tries again at once if it got some; if not,
        // it waits, twice as long after each failure in a row.
        if sys::is_out_of_descriptors(&e) {
            let freed = (self.relieve)();
            if freed > 0 {
                log::warn!("accept failed: {e}; {freed} descriptors given back, trying again");
                return false;
            }
        }
        let wait = ACCEPT_BACKOFF
            .saturating_mul(1 << (*failures).min(16))
            .min(MAX_ACCEPT_BACKOFF);
        if *failures == 0 {
            log::warn!("accept failed: {e}; trying again in {wait:?}, then less often");
        } else {
            log::debug!("accept failed again: {e}; trying again in {wait:?}");
        }
        *failures += 1;
        thread::sleep(wait);
        false
    }

    /// Leaves the waiting threads unless this one is the last.
    fn retire(&self) -> bool {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w > 1).then(|| w - 1)
            })
            .is_ok()
    }

    /// Starts a thread to wait in `accept`. If none can start, connections
    /// queue in the listener's backlog until a thread finishes its own.
    // Out of line (see `listener::STACK_SIZE`).
    #[inline(never)]
    fn start_thread(self: &Arc<Self>) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let pool = Arc::clone(self);
        let started = thread::Builder::new()
            .name(self.name.into())
            .stack_size(self.stack_size)
            .spawn(move || pool.work(false));
        match started {
            Ok(_) => {
                self.started.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                log::warn!(
                    "cannot start a thread for connections ({e}): new connections wait \
                     until a thread is free"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::{Condvar, Mutex};
    use std::time::Instant;

    fn wait_for(mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "condition never held");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Starts a pool on a thread of its own; returns it and its address.
    type Relieve = fn() -> usize;

    fn start<F>(idle_lifetime: Duration, serve: F) -> (Arc<Pool<F, Relieve>>, SocketAddr)
    where
        F: Fn(TcpStream, SocketAddr) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let relieve: Relieve = || 0;
        let pool = Pool::new(listener, "test", 64 * 1024, idle_lifetime, serve, relieve);
        let first = Arc::clone(&pool);
        thread::spawn(move || first.work(true));
        (pool, addr)
    }

    /// Connects, sends `request`, and reads until the server closes.
    fn reply_to(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    fn reply(addr: SocketAddr) -> String {
        reply_to(addr, b"")
    }

    #[test]
    fn threads_are_reused() {
        // A lifetime far longer than the test: no thread retires in it.
        let (pool, addr) = start(Duration::from_secs(600), |mut stream, _| {
            let _ = stream.write_all(b"hello");
        });
        for _ in 0..50 {
            assert_eq!(reply(addr), "hello");
            // A client can see its reply end before the thread that sent
            // it is back in `accept`; waiting for that state keeps the
            // count below the pool's doing, not the scheduler's.
            wait_for(|| pool.waiting.load(Ordering::Acquire) == 2);
        }
        // The first connection needed a spare waiting behind it; after that
        // the two threads took turns.
        assert_eq!(pool.started.load(Ordering::Relaxed), 1);
    }

    /// Needs a timeout on `accept`, which only Linux has.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_spare_retires_after_its_lifetime() {
        let lifetime = Duration::from_millis(300);
        let (pool, addr) = start(lifetime, |mut stream, _| {
            let _ = stream.write_all(b"hello");
        });
        let started = Instant::now();
        assert_eq!(reply(addr), "hello");
        assert_eq!(pool.started.load(Ordering::Relaxed), 1);
        // Both back in `accept`; then the spare, started for that
        // connection, leaves once it has waited a lifetime with nothing to
        // do, and the first thread stays.
        wait_for(|| pool.waiting.load(Ordering::Acquire) == 2);
        wait_for(|| pool.waiting.load(Ordering::Acquire) == 1);
        assert!(started.elapsed() >= lifetime, "{:?}", started.elapsed());
        assert_eq!(reply(addr), "hello");
    }

    #[test]
    fn every_connection_is_served_even_when_all_threads_are_busy() {
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let open = Arc::clone(&gate);
        let (pool, addr) = start(Duration::from_secs(2), move |mut stream, _| {
            let (lock, cv) = &*open;
            let mut opened = lock.lock().unwrap();
            while !*opened {
                opened = cv.wait(opened).unwrap();
            }
            drop(opened);
            let _ = stream.write_all(b"served");
        });
        let clients: Vec<_> = (0..20)
            .map(|_| thread::spawn(move || reply(addr)))
            .collect();
        // Twenty busy threads, and one more waiting for the next connection.
        wait_for(|| pool.started.load(Ordering::Relaxed) == 20);
        wait_for(|| pool.waiting.load(Ordering::Acquire) == 1);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        for client in clients {
            assert_eq!(client.join().unwrap(), "served");
        }
    }

    #[test]
    fn a_panic_ends_one_connection_not_the_thread() {
        let (pool, addr) = start(Duration::from_secs(60), |mut stream, _| {
            let mut first = [0];
            if stream.read_exact(&mut first).is_ok() && first[0] == b'!' {
                panic!("test panic while serving");
            }
            let _ = stream.write_all(b"fine");
        });
        assert_eq!(reply_to(addr, b"!"), "", "closed, nothing sent");
        assert_eq!(reply_to(addr, b"?"), "fine");
        // No thread was lost: the first one and every one started are back
        // in `accept` (none retires within the test's lifetime).
        wait_for(|| {
            pool.waiting.load(Ordering::Acquire) == pool.started.load(Ordering::Relaxed) + 1
        });
    }
}
