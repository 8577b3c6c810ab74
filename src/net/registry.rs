//! The live connections, and who gets let in when there are too many.
//!
//! One thread per connection means a connection flood is a thread flood, and
//! a slowloris client holds a thread for as long as it can. The registry
//! bounds the number of connections, and at the cap it makes room for a
//! newcomer by closing the connections that cost the most and are owed the
//! least: those waiting for a request to start or to finish arriving, oldest
//! first. A connection in the middle of an answer is never shed. Only when
//! every connection is busy is the newcomer turned away (with a 503).
//!
//! Each entry shares its connection's socket, so the thread admitting a
//! newcomer can shut down a connection owned by another thread: that thread's
//! blocked read then returns, and it cleans up after itself.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// What a connection is doing, as far as shedding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a request, or for the rest of one: may be shed.
    Waiting,
    /// Handling a request or sending its answer: never shed.
    Busy,
}

/// What a connection's own thread updates as it goes, without taking the
/// registry's lock: whether it is busy, and since when it has been waiting
/// (microseconds from the registry's creation). Shedding reads it under the
/// lock; a reading a moment stale only changes which waiting connection is
/// picked.
struct Activity {
    busy: AtomicBool,
    since_us: AtomicU64,
}

struct Slot {
    socket: Arc<TcpStream>,
    activity: Arc<Activity>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Slot>,
}

pub struct Registry {
    cap: usize,
    epoch: Instant,
    inner: Mutex<Inner>,
}

/// The answer to a new connection.
pub enum Admission {
    /// Registered; the registration goes with the connection.
    Admitted(Registration),
    /// At the cap with nothing to shed.
    Full,
}

impl Registry {
    pub fn new(cap: usize) -> Registry {
        Registry {
            cap,
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Registers `socket`, shedding the oldest waiting connection if the
    /// registry is full.
    pub fn admit(self: &Arc<Self>, socket: &Arc<TcpStream>) -> Admission {
        let activity = Arc::new(Activity {
            busy: AtomicBool::new(false),
            since_us: AtomicU64::new(self.now_us()),
        });
        let mut inner = self.lock();
        let mut shed = None;
        if inner.entries.len() >= self.cap {
            let oldest = inner
                .entries
                .iter()
                .filter(|(_, e)| !e.activity.busy.load(Ordering::Relaxed))
                // Ties (connections that arrived together) go by arrival order.
                .min_by_key(|(id, e)| (e.activity.since_us.load(Ordering::Relaxed), **id))
                .map(|(&id, _)| id);
            let Some(oldest) = oldest else {
                return Admission::Full;
            };
            shed = inner.entries.remove(&oldest);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.insert(
            id,
            Slot {
                socket: Arc::clone(socket),
                activity: Arc::clone(&activity),
            },
        );
        drop(inner);
        // Outside the lock, like everything that may close a socket.
        if let Some(shed) = shed {
            log::debug!("at the connection cap: closing a waiting connection to make room");
            let _ = shed.socket.shutdown(Shutdown::Both);
        }
        Admission::Admitted(Registration {
            registry: Arc::clone(self),
            id,
            activity,
        })
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The lock, even if a thread panicked while holding it: nothing here
    /// can be left half-updated by a panic, so the data is still good.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection's registration, removed when the connection's thread ends,
/// however it ends.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
    activity: Arc<Activity>,
}

impl Registration {
    /// Records what the connection is doing now; no lock is taken.
    pub fn set(&self, state: Phase) {
        // Only a waiting connection's age matters (busy ones are never
        // shed), so only waiting costs a clock reading.
        if state == Phase::Waiting {
            self.activity
                .since_us
                .store(self.registry.now_us(), Ordering::Relaxed);
        }
        self.activity
            .busy
            .store(state == Phase::Busy, Ordering::Relaxed);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let entry = self.registry.lock().entries.remove(&self.id);
        // Outside the lock: if this was the socket's last owner, dropping it
        // closes the connection, which is too slow to do while holding it.
        drop(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A connected pair: (our side as the server holds it, the client).
    fn pair(listener: &TcpListener) -> (Arc<TcpStream>, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Arc::new(server), client)
    }

    fn admit(registry: &Arc<Registry>, socket: &Arc<TcpStream>) -> Registration {
        match registry.admit(socket) {
            Admission::Admitted(registration) => registration,
            Admission::Full => panic!("full"),
        }
    }

    #[test]
    fn sheds_the_oldest_waiting_connection_and_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Arc::new(Registry::new(3));
        let (busy, _c0) = pair(&listener);
        let (old, mut old_client) = pair(&listener);
        let (young, _c2) = pair(&listener);
        let busy = admit(&registry, &busy);
        busy.set(Phase::Busy);
        let old = admit(&registry, &old);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let young = admit(&registry, &young);
        young.set(Phase::Waiting);

        let (newcomer, _c3) = pair(&listener);
        let _newcomer = admit(&registry, &newcomer);
        assert_eq!(registry.len(), 3);
        // The oldest waiting one was shed: its client sees the end.
        let mut buf = [0; 1];
        assert_eq!(old_client.read(&mut buf).unwrap(), 0);
        drop(old);
        assert_eq!(registry.len(), 3, "the shed one was already gone");
        drop(busy);
        assert_eq!(registry.len(), 2);
    }

    #[test]
    fn full_when_everything_is_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Arc::new(Registry::new(1));
        let (a, _ca) = pair(&listener);
        let a = admit(&registry, &a);
        a.set(Phase::Busy);
        let (b, _cb) = pair(&listener);
        assert!(matches!(registry.admit(&b), Admission::Full));
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn registrations_remove_themselves() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Arc::new(Registry::new(4));
        let (a, _ca) = pair(&listener);
        let registration = admit(&registry, &a);
        registration.set(Phase::Busy);
        assert_eq!(registry.len(), 1);
        drop(registration);
        assert_eq!(registry.len(), 0);
    }
}
