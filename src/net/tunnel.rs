//! A connection that switched protocols (a WebSocket, through the proxy):
//! bytes copied both ways between the client and the backend until either
//! side closes. The connection's own thread copies what the client sends;
//! one more thread, the only one a connection ever adds, copies what the
//! backend sends.
//!
//! No HTTP timeout applies any more: a WebSocket may be quiet for hours.
//! TCP keepalive notices a peer that vanished (on Linux).
//! A side that closes has its end passed on (`shutdown` of writing), so the
//! other side can finish, within the send timeout; a side that fails, or
//! stops taking bytes for the send timeout (`Sender`), ends both.
//!
//! Imports `http`'s `Sender`, and its siblings.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use crate::http::sender::Sender;
use crate::net::inbox::Inbox;
use crate::sys;

/// How long a tunnel may be quiet before the kernel asks whether its peers
/// are still there (`sys::keep_alive`): a peer that vanished is noticed
/// some 90 seconds later.
const KEEPALIVE_IDLE: u32 = 60;
/// How much one read moves.
const PIECE: usize = 16 * 1024;
/// The stack of the thread that copies what the backend sends: it holds
/// little (its buffer is on the heap), less than a connection's needs.
const STACK_SIZE: usize = 64 * 1024;

/// Copies both ways until both sides have closed, or one has failed.
/// `client_early` and `backend_early` are what each side sent after the
/// heads, already read. Once one side has closed, the other has `linger`
/// (the send timeout) to close too, and is then cut off: a side that
/// neither closes nor fails must not hold the thread for ever.
pub fn run(
    inbox: &Inbox,
    client_early: &[u8],
    backend: TcpStream,
    backend_early: &[u8],
    linger: Duration,
) {
    let client = Arc::clone(&inbox.stream);
    let backend = Arc::new(backend);
    for socket in [&*client, &*backend] {
        let _ = socket.set_read_timeout(None);
        if let Err(e) = sys::keep_alive(socket, KEEPALIVE_IDLE) {
            log::debug!("{}: no keepalive for a tunnel: {e}", inbox.peer);
        }
    }
    let (up_done, up_ended) = mpsc::channel::<()>();
    let (down_done, down_ended) = mpsc::channel::<()>();
    let down = {
        let (client, backend) = (Arc::clone(&client), Arc::clone(&backend));
        let early = backend_early.to_vec();
        thread::Builder::new()
            .name("tinyhttpd-tunnel".into())
            .stack_size(STACK_SIZE)
            .spawn(move || {
                let result = Sender::new(Arc::clone(&client), linger).and_then(|mut out| {
                    out.write_all(&early, false)?;
                    copy(&backend, |piece| out.write_all(piece, false))
                });
                finish(result, &backend, &client);
                let _ = down_done.send(());
                wait_for_the_other(&up_ended, linger, &client, &backend);
            })
    };
    let down = match down {
        Ok(handle) => handle,
        Err(e) => {
            log::warn!("{}: no thread for a WebSocket: {e}", inbox.peer);
            return finish(Err(e), &client, &backend);
        }
    };
    let result = (&*backend)
        .write_all(client_early)
        .and_then(|()| copy(&client, |piece| (&*backend).write_all(piece)));
    finish(result, &client, &backend);
    let _ = up_done.send(());
    wait_for_the_other(&down_ended, linger, &client, &backend);
    let _ = down.join();
    log::debug!("{}: the tunnel closed", inbox.peer);
}

/// One direction has ended: waits up to `linger` for the other to end
/// too, then ends it by shutting both sockets (which wakes its read).
fn wait_for_the_other(ended: &Receiver<()>, linger: Duration, a: &TcpStream, b: &TcpStream) {
    if let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(linger) {
        let _ = a.shutdown(Shutdown::Both);
        let _ = b.shutdown(Shutdown::Both);
    }
}

/// Reads `from` until it ends, handing each piece to `write`.
fn copy(from: &TcpStream, mut write: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut buffer = vec![0; PIECE];
    loop {
        match (&*from).read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => write(&buffer[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// After copying from `from` to `to`: an end is passed on, a failure ends
/// both sides (which also wakes the other direction's read).
fn finish(result: io::Result<()>, from: &TcpStream, to: &TcpStream) {
    match result {
        Ok(()) => {
            let _ = to.shutdown(Shutdown::Write);
        }
        Err(_) => {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    }
}
