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
//! Each entry keeps a clone of its socket, so the accepting thread can shut
//! down a connection owned by another thread: that thread's blocked read then
//! returns, and it cleans up after itself.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What a connection is doing, as far as shedding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a request, or for the rest of one: may be shed.
    Waiting,
    /// Handling a request or sending its answer: never shed.
    Busy,
}

struct Entry {
    socket: TcpStream,
    state: State,
    /// When the connection entered its current state.
    since: Instant,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    entries: HashMap<u64, Entry>,
}

pub struct Registry {
    cap: usize,
    inner: Mutex<Inner>,
}

/// The answer to a new connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Registered under this id.
    Admitted(u64),
    /// At the cap with nothing to shed.
    Full,
}

impl Registry {
    pub fn new(cap: usize) -> Registry {
        Registry {
            cap,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Registers `socket` (by a clone of it), shedding the oldest waiting
    /// connection if the registry is full.
    pub fn admit(&self, socket: &TcpStream) -> io::Result<Admission> {
        let clone = socket.try_clone()?;
        let mut inner = self.lock();
        if inner.entries.len() >= self.cap {
            let oldest = inner
                .entries
                .iter()
                .filter(|(_, e)| e.state == State::Waiting)
                .min_by_key(|(_, e)| e.since)
                .map(|(&id, _)| id);
            let Some(oldest) = oldest else {
                return Ok(Admission::Full);
            };
            if let Some(shed) = inner.entries.remove(&oldest) {
                log::debug!("at the connection cap: closing a waiting connection to make room");
                let _ = shed.socket.shutdown(Shutdown::Both);
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.entries.insert(
            id,
            Entry {
                socket: clone,
                state: State::Waiting,
                since: Instant::now(),
            },
        );
        Ok(Admission::Admitted(id))
    }

    /// Records that connection `id` changed state.
    pub fn set(&self, id: u64, state: State) {
        if let Some(entry) = self.lock().entries.get_mut(&id) {
            entry.state = state;
            entry.since = Instant::now();
        }
    }

    /// Forgets connection `id`, handing back its socket clone if it was
    /// still registered.
    pub fn remove(&self, id: u64) -> Option<TcpStream> {
        self.lock().entries.remove(&id).map(|e| e.socket)
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The lock, even if a thread panicked while holding it: nothing here
    /// can be left half-updated by a panic, so the data is still good.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection's registration, removed when the connection's thread ends,
/// however it ends.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Registration {
    pub fn new(registry: Arc<Registry>, id: u64) -> Registration {
        Registration { registry, id }
    }

    pub fn set(&self, state: State) {
        self.registry.set(self.id, state);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// A connected pair: (our side as the server holds it, the client).
    fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    #[test]
    fn sheds_the_oldest_waiting_connection_and_never_a_busy_one() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Registry::new(3);
        let (busy, _c0) = pair(&listener);
        let (old, mut old_client) = pair(&listener);
        let (young, _c2) = pair(&listener);
        let Admission::Admitted(busy_id) = registry.admit(&busy).unwrap() else {
            panic!()
        };
        registry.set(busy_id, State::Busy);
        let Admission::Admitted(old_id) = registry.admit(&old).unwrap() else {
            panic!()
        };
        let Admission::Admitted(young_id) = registry.admit(&young).unwrap() else {
            panic!()
        };
        // The busy one entered its state first, but it is not sheddable.
        registry.set(young_id, State::Waiting);

        let (newcomer, _c3) = pair(&listener);
        assert!(matches!(
            registry.admit(&newcomer).unwrap(),
            Admission::Admitted(_)
        ));
        assert_eq!(registry.len(), 3);
        assert!(
            registry.remove(old_id).is_none(),
            "the oldest waiting one was shed"
        );
        // Its client sees the connection end.
        let mut buf = [0; 1];
        assert_eq!(old_client.read(&mut buf).unwrap(), 0);
        assert!(registry.remove(busy_id).is_some());
    }

    #[test]
    fn full_when_everything_is_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Registry::new(1);
        let (a, _ca) = pair(&listener);
        let Admission::Admitted(id) = registry.admit(&a).unwrap() else {
            panic!()
        };
        registry.set(id, State::Busy);
        let (b, _cb) = pair(&listener);
        assert_eq!(registry.admit(&b).unwrap(), Admission::Full);
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn registrations_remove_themselves() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let registry = Arc::new(Registry::new(4));
        let (a, _ca) = pair(&listener);
        let Admission::Admitted(id) = registry.admit(&a).unwrap() else {
            panic!()
        };
        let registration = Registration::new(Arc::clone(&registry), id);
        registration.set(State::Busy);
        assert_eq!(registry.len(), 1);
        drop(registration);
        assert_eq!(registry.len(), 0);
    }
}
