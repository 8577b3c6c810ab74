//! Shared helpers for the integration tests: a temporary folder, the real
//! binary started on port 0, and a raw-socket client that reads responses
//! byte by byte so tests can check exact framing.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single read or wait in a test may take before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub const BIN: &str = env!("CARGO_BIN_EXE_tinyhttpd");

/// Makes a symbolic link at `link` to `target` on Unix. Elsewhere nothing
/// is made (Windows needs a privilege to make one, and wine 8 only pretends
/// to): the tests that need a link to exist are Unix-only, and the others
/// hold either way.
pub fn symlink_on_unix(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link).unwrap();
    #[cfg(not(unix))]
    let _ = (target, link);
}

/// A folder under the system temp dir, removed when dropped.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("tinyhttpd-test-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    /// Writes `contents` to `relative`, creating folders as needed.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn mkdir(&self, relative: &str) -> PathBuf {
        let path = self.path.join(relative);
        std::fs::create_dir_all(&path).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// How long a file must be left alone before the server's file cache takes
/// it: `version::SETTLE` in the server.
pub const SETTLE: Duration = Duration::from_secs(3);

/// Waits until every file under `dir` has settled (see `SETTLE`): its
/// modification and change times are further back than that, so the
/// server caches it when it is served. The change time cannot be set back,
/// so a test that wants a file cached waits for it; it is the file
/// system's own clock that is waited for, with a deadline.
pub fn wait_until_settled(dir: &Path) {
    let margin = Duration::from_millis(100);
    let deadline = Instant::now() + SETTLE + TIMEOUT;
    loop {
        let newest = newest_change(dir);
        let age = std::time::SystemTime::now()
            .duration_since(newest)
            .unwrap_or_default();
        if age > SETTLE + margin {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "files under {dir:?} never settled"
        );
        thread::sleep((SETTLE + margin - age).min(Duration::from_millis(200)));
    }
}

/// The latest modification or change time of any file under `dir`.
fn newest_change(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let metadata = std::fs::symlink_metadata(entry.path()).unwrap();
        if metadata.is_dir() {
            newest = newest.max(newest_change(&entry.path()));
            continue;
        }
        newest = newest.max(metadata.modified().unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let changed = std::time::UNIX_EPOCH
                + Duration::new(metadata.ctime() as u64, metadata.ctime_nsec() as u32);
            newest = newest.max(changed);
        }
    }
    newest
}

/// The files a process holds open, as /proc names them (`PATH (deleted)`
/// for one that was deleted).
#[cfg(target_os = "linux")]
pub fn open_files(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .collect()
}

/// Waits until `condition` holds, for at most `limit`; `what` says what
/// was waited for.
pub fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The real binary, listening on a port it picked; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `tinyhttpd --root ROOT --port 0 ARGS...` and waits for its
    /// `listening on` line.
    pub fn start(root: &Path, args: &[&str]) -> Server {
        let mut command = Command::new(BIN);
        command
            .arg("--root")
            .arg(root)
            .args(["--port", "0"])
            .args(args)
            .env_remove("RUST_LOG");
        Server::spawn(command)
    }

    /// Starts a command that runs tinyhttpd with `--port 0`.
    pub fn spawn(mut command: Command) -> Server {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Wine 8 now and then fails to create a process while others start
        // (ERROR_INTERNAL_ERROR); a second try is not what any test is about.
        let mut child = command
            .spawn()
            .or_else(|_| command.spawn())
            .expect("start tinyhttpd");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();

        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("no listening line; log: {}", log.lock().unwrap());
            }
        };
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {line:?}; log: {}",
                    log.lock().unwrap()
                )
            })
            .to_string();
        let authority = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap();
        let addr = authority.parse().unwrap();
        Server {
            child,
            addr,
            url,
            log,
        }
    }

    /// The server's process id, for reading /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Sends `raw` on a fresh connection, closes our sending side, and returns
    /// every byte the server sent until it closed.
    pub fn raw(&self, raw: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(raw).unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        out
    }

    /// One GET on its own connection.
    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[])
    }

    /// One request with extra header lines, on its own connection
    /// (`Connection: close`), and its response.
    pub fn request(&self, method: &str, target: &str, fields: &[(&str, &str)]) -> Response {
        let mut head =
            format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        for (name, value) in fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut client = self.connect();
        client.send(head.as_bytes());
        if method == "HEAD" {
            client.head_response()
        } else {
            client.response()
        }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle`, and returns the log.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never said {needle:?}:\n{log}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The status line without its CRLF.
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the only field named `name`; panics if there are several.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "several {name} fields in {self:?}");
        first
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Field names in the order sent, lower-cased.
    pub fn header_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }
}

/// A raw connection that reads one response at a time.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one response, with a body framed by Content-Length.
    pub fn response(&mut self) -> Response {
        self.read_response(false)
    }

    /// Reads one response to a HEAD request: no body whatever the fields say.
    pub fn head_response(&mut self) -> Response {
        self.read_response(true)
    }

    fn read_response(&mut self, head_only: bool) -> Response {
        let status_line = self.line();
        assert!(
            status_line.starts_with("HTTP/1.1 "),
            "status line {status_line:?}"
        );
        let status = status_line[9..12].parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad field line {line:?}"));
            assert!(!name.contains(' '), "space in field name {line:?}");
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            status_line,
            headers,
            body: Vec::new(),
        };
        let no_body = head_only || status < 200 || status == 204 || status == 304;
        if !no_body {
            let len: usize = response
                .header("content-length")
                .unwrap_or_else(|| panic!("no Content-Length in {response:?}"))
                .parse()
                .unwrap();
            let mut body = vec![0; len];
            self.reader.read_exact(&mut body).unwrap();
            response.body = body;
        }
        response
    }

    fn line(&mut self) -> String {
        read_line(&mut self.reader)
    }

    /// True when the server has closed the connection and sent nothing more.
    pub fn is_closed(&mut self) -> bool {
        has_closed(&mut self.reader)
    }
}

/// One CRLF-terminated line from `reader`, without the CRLF.
pub fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).unwrap();
    assert!(
        line.ends_with(b"\r\n"),
        "line not ended by CRLF: {:?}",
        String::from_utf8_lossy(&line)
    );
    line.truncate(line.len() - 2);
    String::from_utf8(line).unwrap()
}

/// True when the server has closed the connection and sent nothing more.
pub fn has_closed(reader: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    match reader.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// One IPv4 TCP socket of this machine, as /proc/net/tcp lists it.
#[derive(Debug, Clone, Copy)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    /// The kernel's state number: 1 ESTABLISHED, 3 SYN_RECV, ...
    pub state: u8,
    /// Bytes received and not yet read by the owner.
    pub unread: u32,
}

/// The IPv4 TCP sockets on 127.0.0.1 whose local port is `port`: the
/// server's side of each connection to a server listening there.
pub fn server_sockets(port: u16) -> Vec<TcpSocket> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let hex_port = |field: &str| u16::from_str_radix(field.rsplit(':').next()?, 16).ok();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote) = (fields.get(1)?, fields.get(2)?);
            let queues = fields.get(4)?;
            let socket = TcpSocket {
                local_port: hex_port(local)?,
                remote_port: hex_port(remote)?,
                state: u8::from_str_radix(fields.get(3)?, 16).ok()?,
                unread: u32::from_str_radix(queues.rsplit(':').next()?, 16).ok()?,
            };
            (local.starts_with("0100007F:") && socket.local_port == port).then_some(socket)
        })
        .collect()
}

/// Waits until the server has read every byte `client` sent it (its side of
/// the connection has nothing unread), so what the client sends next
/// arrives in a read of its own.
pub fn wait_until_read(server: &Server, client: &TcpStream) {
    let client_port = client.local_addr().unwrap().port();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let sockets = server_sockets(server.addr.port());
        let ours = sockets
            .iter()
            .find(|s| s.remote_port == client_port && s.state == 1);
        if ours.is_some_and(|s| s.unread == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server never read what was sent: {ours:?}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Opens the live-reload event stream, checks its head, and reads through
/// the `retry:` line and the empty line after it.
pub fn subscribe(server: &Server) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET /.tinyhttpd/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        reader.read_line(&mut head).unwrap();
    }
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nContent-Type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
    assert!(!head.contains("Content-Length"), "{head}");
    let mut retry = String::new();
    reader.read_line(&mut retry).unwrap();
    assert_eq!(retry, "retry: 500\n");
    reader.read_line(&mut retry).unwrap();
    assert_eq!(retry, "retry: 500\n\n");
    reader
}

/// The next event's name, and how long it took to come. The wait is the
/// suite's generous `TIMEOUT`, so a test's own bound on how soon the event
/// came is what decides.
pub fn next_event(reader: &mut BufReader<TcpStream>) -> (String, Duration) {
    let started = Instant::now();
    reader.get_ref().set_read_timeout(Some(TIMEOUT)).unwrap();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("an event");
        if let Some(name) = line.strip_prefix("event: ") {
            let elapsed = started.elapsed();
            let name = name.trim_end().to_string();
            // The rest of the event, through its empty line.
            while line != "\n" {
                line.clear();
                reader.read_line(&mut line).unwrap();
            }
            return (name, elapsed);
        }
    }
}

/// Runs curl, a client we did not write, on `url` with `args`; returns the
/// status code it saw and the body.
pub fn curl(url: &str, args: &[&str]) -> (String, Vec<u8>) {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "5"])
        .args(["--write-out", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut body = out.stdout;
    let split = body.iter().rposition(|&b| b == b'\n').unwrap();
    let code = String::from_utf8(body[split + 1..].to_vec()).unwrap();
    body.truncate(split);
    (code, body)
}
