//! Threads for connections, reused.
//!
//! The design is one thread per connection, and it stays that: a thread owns
//! one connection from its first byte to its close. What the pool saves is the
//! cost of creating that thread (about 25 µs here, more than serving a small
//! request): a thread whose connection has ended parks for a while, and the
//! next connection goes to a parked thread if there is one. Threads parked
//! longer than `IDLE_LIFETIME`, or beyond `MAX_PARKED`, exit.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// How long a thread waits for another connection before it exits.
pub const IDLE_LIFETIME: Duration = Duration::from_secs(2);
/// The most threads kept waiting for connections.
const MAX_PARKED: usize = 256;

struct State<J> {
    /// Jobs handed over, each with a parked thread sure to take it.
    queue: VecDeque<J>,
    /// Threads waiting for a job.
    parked: usize,
}

struct Shared<J> {
    state: Mutex<State<J>>,
    wake: Condvar,
    work: Box<dyn Fn(J) + Send + Sync>,
}

pub struct Pool<J> {
    shared: Arc<Shared<J>>,
    stack_size: usize,
    name: &'static str,
}

impl<J: Send + 'static> Pool<J> {
    /// A pool whose threads run `work` on each job they are given.
    pub fn new(
        name: &'static str,
        stack_size: usize,
        work: impl Fn(J) + Send + Sync + 'static,
    ) -> Self {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    parked: 0,
                }),
                wake: Condvar::new(),
                work: Box::new(work),
            }),
            stack_size,
            name,
        }
    }

    /// Runs `job` on a parked thread, or on a new one. If no thread can be
    /// started the job comes back with the error, for the caller to refuse.
    pub fn execute(&self, job: J) -> Result<(), (J, io::Error)> {
        {
            let mut state = self.shared.lock();
            state.queue.push_back(job);
            if state.parked >= state.queue.len() {
                self.shared.wake.notify_one();
                return Ok(());
            }
        }
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name(self.name.into())
            .stack_size(self.stack_size)
            .spawn(move || shared.worker());
        match spawned {
            Ok(_) => Ok(()),
            // Only this thread adds jobs, so the newest one is ours, unless a
            // thread that parked meanwhile took it, which is as good.
            Err(e) => match self.shared.lock().queue.pop_back() {
                Some(job) => Err((job, e)),
                None => Ok(()),
            },
        }
    }

    /// Threads parked right now.
    #[cfg(test)]
    fn parked(&self) -> usize {
        self.shared.lock().parked
    }
}

impl<J> Shared<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        // A panic in `work` happens outside the lock, so the state is never
        // left half-updated; a poisoned lock still holds good data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes jobs until none comes within `IDLE_LIFETIME`.
    fn worker(&self) {
        while let Some(job) = self.next_job() {
            (self.work)(job);
        }
    }

    fn next_job(&self) -> Option<J> {
        let mut state = self.lock();
        if state.parked >= MAX_PARKED && state.queue.is_empty() {
            return None;
        }
        state.parked += 1;
        loop {
            if let Some(job) = state.queue.pop_front() {
                state.parked -= 1;
                return Some(job);
            }
            let (guard, waited) = self
                .wake
                .wait_timeout(state, IDLE_LIFETIME)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state = guard;
            if waited.timed_out() && state.queue.is_empty() {
                state.parked -= 1;
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    fn wait_for(mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(Instant::now() < deadline, "condition never held");
            thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn threads_are_reused() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let pool = Pool::new("test", 64 * 1024, move |n: u32| {
            let _ = tx.lock().unwrap().send((n, thread::current().id()));
        });
        pool.execute(1).unwrap();
        let (_, first) = rx.recv().unwrap();
        wait_for(|| pool.parked() == 1);
        pool.execute(2).unwrap();
        let (n, second) = rx.recv().unwrap();
        assert_eq!(n, 2);
        assert_eq!(first, second, "the parked thread took the second job");
    }

    #[test]
    fn every_job_runs_even_when_all_threads_are_busy() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let open = Arc::clone(&gate);
        let pool = Pool::new("test", 64 * 1024, move |n: u32| {
            let (lock, cv) = &*open;
            let mut opened = lock.lock().unwrap();
            while !*opened {
                opened = cv.wait(opened).unwrap();
            }
            drop(opened);
            let _ = tx.lock().unwrap().send(n);
        });
        for n in 0..20 {
            pool.execute(n).unwrap();
        }
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        let mut got: Vec<u32> = (0..20).map(|_| rx.recv().unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..20).collect::<Vec<_>>());
    }
}
