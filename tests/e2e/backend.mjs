// A backend for the --proxy journeys, written with node:http and node:crypto
// only: it answers HTTP requests with a handler the journey gives, and
// WebSocket upgrades by echoing each text frame back. It keeps what it saw
// (request lines, fields, frames) for the journey to check and for the
// artifacts when a journey fails.

import http from "node:http";
import crypto from "node:crypto";

/** RFC 6455, section 1.3: the GUID appended to Sec-WebSocket-Key. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** The Sec-WebSocket-Accept value that answers a Sec-WebSocket-Key. */
export function websocketAccept(key) {
  return crypto.createHash("sha1").update(key + WEBSOCKET_GUID).digest("base64");
}

/** Whether a server can listen on `address` here (::1 needs IPv6). */
async function canListen(address) {
  const probe = http.createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(0, address, () => probe.close(() => resolve(true)));
  });
}

/**
 * Where a backend listens by default: ::1 where IPv6 is there, as Node 17+
 * servers told to listen on localhost often are; else 127.0.0.1. A backend
 * on ::1 only must still be found at `http://localhost:PORT`, whatever the
 * hosts file says localhost is.
 */
export async function loopbackAddress() {
  return (await canListen("::1")) ? "::1" : "127.0.0.1";
}

/** One frame at the start of `buffer`, or null until all of it has arrived. */
function parseFrame(buffer) {
  if (buffer.length < 2) return null;
  const opcode = buffer[0] & 0x0f;
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLength = masked ? 4 : 0;
  const end = offset + maskLength + length;
  if (buffer.length < end) return null;
  const mask = buffer.subarray(offset, offset + maskLength);
  const payload = Buffer.from(buffer.subarray(offset + maskLength, end));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return { fin: (buffer[0] & 0x80) !== 0, opcode, masked, payload, size: end };
}

/** A server's frame: final, unmasked. */
function frame(opcode, payload) {
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, payload.length])
      : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([head, payload]);
}

/**
 * Starts a backend on a free port of `address` (by default ::1, else
 * 127.0.0.1: see `loopbackAddress`). `handle(req,
 * res)` answers HTTP requests; an upgrade to websocket on any path is
 * accepted and echoes each text frame.
 */
export async function startBackend(handle, { address } = {}) {
  const host = address ?? (await loopbackAddress());
  const requests = [];
  const frames = [];
  const sockets = new Set();
  const seen = (req) => requests.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });

  const server = http.createServer((req, res) => {
    seen(req);
    handle(req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req, socket, head) => {
    seen(req);
    socket.on("error", () => {});
    const key = req.headers["sec-websocket-key"];
    if (req.headers.upgrade?.toLowerCase() !== "websocket" || !key) {
      socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\n\r\n`,
    );
    let buffered = Buffer.alloc(0);
    const receive = (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let f; (f = parseFrame(buffered)); ) {
        buffered = buffered.subarray(f.size);
        frames.push({ url: req.url, opcode: f.opcode, masked: f.masked, text: f.payload.toString() });
        if (f.opcode === 0x1) socket.write(frame(0x1, f.payload));
        else if (f.opcode === 0x9) socket.write(frame(0xa, f.payload));
        else if (f.opcode === 0x8) socket.end(frame(0x8, f.payload.subarray(0, 2)));
      }
    };
    socket.on("data", receive);
    receive(head);
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address();
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    host,
    port,
    /** host:port as in a URL: [::1]:PORT or 127.0.0.1:PORT. */
    authority,
    requests,
    frames,
    log() {
      const lines = requests.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.rawHeaders)}`);
      const echoed = frames.map((f) => `frame opcode ${f.opcode} masked ${f.masked} on ${f.url}: ${JSON.stringify(f.text)}`);
      return [`backend on ${authority}`, ...lines, ...echoed].join("\n");
    },
    /** Closes the listener and every connection, upgraded ones included. */
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
