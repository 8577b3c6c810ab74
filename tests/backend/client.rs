//! The client side of the `--proxy` tests: a connection that reads
//! responses in any framing (Content-Length, chunked, close-delimited,
//! 1xx, HEAD), and the site and server they run against.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::chunk_size;
use crate::common::{Server, TIMEOUT, TempDir, has_closed, read_line};

/// A response as the client read it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status_line: String,
    pub status: u16,
    /// The field lines as sent, without CRLF.
    pub lines: Vec<String>,
    pub body: Vec<u8>,
}

impl Reply {
    /// (lower-cased name, trimmed value) pairs in order.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a field line");
                (name.to_ascii_lowercase(), value.trim().to_string())
            })
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.fields().into_iter().map(|(n, _)| n).collect()
    }

    /// The value of the only field named `name`; panics if there are several.
    pub fn field(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .fields()
            .into_iter()
            .filter(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v)
            .collect();
        assert!(values.len() < 2, "several {name} fields in {self:?}");
        values.into_iter().next()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client connection that reads responses in any framing.
pub struct Conn {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Conn { stream, reader }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends `GET TARGET` with `Host: localhost` and `fields`.
    pub fn get(&mut self, target: &str, fields: &[(&str, &str)]) -> Reply {
        self.send(&request("GET", target, fields));
        self.response()
    }

    /// A status line and fields, no body.
    pub fn head(&mut self) -> Reply {
        let status_line = self.line();
        assert!(
            status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 "),
            "status line {status_line:?}"
        );
        let status = status_line[9..12].parse().unwrap();
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        Reply {
            status_line,
            status,
            lines,
            body: Vec::new(),
        }
    }

    /// One response with its body in whatever framing it came.
    pub fn response(&mut self) -> Reply {
        let mut reply = self.head();
        let status = reply.status;
        if status < 200 || status == 204 || status == 304 {
            return reply;
        }
        if reply
            .field("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            while let Some(chunk) = self.chunk() {
                reply.body.extend_from_slice(&chunk);
            }
        } else if let Some(length) = reply.field("content-length") {
            let mut body = vec![0; length.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            reply.body = body;
        } else {
            self.reader.read_to_end(&mut reply.body).unwrap();
        }
        reply
    }

    /// One response to HEAD: no body whatever the fields say.
    pub fn head_response(&mut self) -> Reply {
        self.head()
    }

    /// The next chunk's data, or None after the last chunk and trailers.
    pub fn chunk(&mut self) -> Option<Vec<u8>> {
        let size = chunk_size(&format!("{}\r\n", self.line()));
        if size == 0 {
            while !self.line().is_empty() {}
            return None;
        }
        let mut data = vec![0; size as usize];
        self.reader.read_exact(&mut data).unwrap();
        assert_eq!(self.line(), "", "chunk data not followed by CRLF");
        Some(data)
    }

    /// One CRLF-terminated line, without the CRLF.
    pub fn line(&mut self) -> String {
        read_line(&mut self.reader)
    }

    /// True when the server has closed the connection and sent nothing more.
    pub fn is_closed(&mut self) -> bool {
        has_closed(&mut self.reader)
    }
}

/// A request head with `Host: localhost` and `fields`.
pub fn request(method: &str, target: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n");
    for (name, value) in fields {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A folder with files whose names start like the proxied prefixes.
pub fn site() -> TempDir {
    let dir = TempDir::new("proxy");
    dir.write("apiary", "local apiary\n");
    dir.write("secret", "local secret\n");
    dir.write("hello.txt", "hello\n");
    dir
}

/// Starts tinyhttpd on `dir` with `--proxy` for each (prefix, url) and
/// `extra` arguments.
pub fn proxy(dir: &TempDir, routes: &[(&str, String)], extra: &[&str]) -> Server {
    let mut args: Vec<String> = Vec::new();
    for (prefix, url) in routes {
        args.push("--proxy".into());
        args.push(format!("{prefix}={url}"));
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&dir.path, &args)
}
