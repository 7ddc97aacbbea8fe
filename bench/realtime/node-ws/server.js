// Realtime peer in Node 20 for bench/realtime.sh: Debian's `ws` package (apt install node-ws,
// found via NODE_PATH=/usr/share/nodejs), the `http` module, one process. Speaks the
// benchmark's tiny protocol (bench/README.md):
//
//   GET  /api/v1/realtime?since=S&device=D   WebSocket; welcome, stored messages after S, caught_up, live
//   POST /api/v1/messages {to,text,clientMsgId}   201 {id,seq,createdAt}
//
// Users are HS256 JWTs signed with BENCH_JWT_SECRET (sub = user id), verified with
// crypto.createHmac. Messages are kept in memory, the last 1,000 per user. PORT (default
// 8202), binds 127.0.0.1.
'use strict';
const http = require('http');
const crypto = require('crypto');
const { WebSocketServer } = require('ws');

const KEPT_PER_USER = 1000;
const PING_EVERY_MS = 25000;
const port = parseInt(process.env.PORT || '8202', 10);
const secret = Buffer.from(process.env.BENCH_JWT_SECRET || '');
if (secret.length < 32) throw new Error('BENCH_JWT_SECRET must be at least 32 bytes');

/** Checks an HS256 JWT's signature and expiry; returns its subject or null. */
function verifyToken(token) {
  const first = token.indexOf('.');
  const last = token.lastIndexOf('.');
  if (first <= 0 || last <= first) return null;
  const expected = crypto.createHmac('sha256', secret).update(token.slice(0, last)).digest();
  const signature = Buffer.from(token.slice(last + 1), 'base64url');
  if (signature.length !== expected.length || !crypto.timingSafeEqual(signature, expected)) return null;
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, first), 'base64url'));
    const claims = JSON.parse(Buffer.from(token.slice(first + 1, last), 'base64url'));
    if (header.alg !== 'HS256' || typeof claims.sub !== 'string' || !claims.sub) return null;
    if (!(claims.exp > Date.now() / 1000)) return null;
    return claims.sub;
  } catch {
    return null;
  }
}

function authenticate(req) {
  const header = req.headers.authorization || '';
  return header.slice(0, 7).toLowerCase() === 'bearer ' ? verifyToken(header.slice(7)) : null;
}

/** Per user: seq counter, the last KEPT_PER_USER frames (ring), live sockets. */
const users = new Map();
function userState(id) {
  let u = users.get(id);
  if (!u) {
    u = { seq: 0, kept: [], head: 0, sockets: new Set() };
    users.set(id, u);
  }
  return u;
}

const wss = new WebSocketServer({ noServer: true, maxPayload: 4096, clientTracking: false });
let nextID = 0;

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v1/messages') {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
    return;
  }
  const from = authenticate(req);
  if (!from) {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"unauthorized"}');
    req.resume();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= 16384) chunks.push(chunk);
  });
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks));
    } catch {
      body = null;
    }
    if (size > 16384 || !body || typeof body.to !== 'string' || !body.to || typeof body.text !== 'string' ||
        !body.text || body.text.length > 4000 || (body.clientMsgId !== undefined && String(body.clientMsgId).length > 128)) {
      res.writeHead(400, { 'Content-Type': 'application/json' }).end('{"error":"invalid"}');
      return;
    }
    const id = 'm' + (++nextID).toString(36);
    const createdAt = new Date().toISOString();
    const u = userState(body.to);
    const seq = ++u.seq;
    const frame = JSON.stringify({ type: 'message', seq, kind: 'dm',
      payload: { id, from, to: body.to, text: body.text, clientMsgId: body.clientMsgId || '' }, createdAt });
    if (u.kept.length < KEPT_PER_USER) u.kept.push({ seq, frame });
    else {
      u.kept[u.head] = { seq, frame };
      u.head = (u.head + 1) % KEPT_PER_USER;
    }
    for (const socket of u.sockets) socket.send(frame);
    res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id, seq, createdAt }));
  });
});
server.keepAliveTimeout = 65000;

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  const sub = url.pathname === '/api/v1/realtime' ? authenticate(req) : null;
  if (!sub) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  const since = parseInt(url.searchParams.get('since') || '0', 10) || 0;
  wss.handleUpgrade(req, socket, head, (ws) => {
    // One thread: welcome, stored messages and caught_up go out before any live frame.
    const u = userState(sub);
    ws.isAlive = true;
    ws.on('pong', () => { ws.isAlive = true; });
    ws.on('error', () => {});
    ws.on('close', () => u.sockets.delete(ws));
    watch(ws);
    ws.send(`{"type":"welcome","seq":${u.seq}}`);
    for (let i = 0; i < u.kept.length; i++) {
      const m = u.kept[(u.head + i) % u.kept.length];
      if (m.seq > since) ws.send(m.frame);
    }
    ws.send(`{"type":"caught_up","seq":${u.seq}}`);
    u.sockets.add(ws);
  });
});

// The ws heartbeat (a socket that did not answer the previous ping is closed), spread over
// the interval: sockets are pinged a 25th at a time each second, so 10,000 sockets do not
// all take their ping in one blocking sweep (that stalled delivery ~300 ms every 25 s here).
const PING_SLICES = 25;
const slices = Array.from({ length: PING_SLICES }, () => new Set());
let nextSlice = 0;
let tick = 0;
function watch(ws) {
  const slice = slices[nextSlice++ % PING_SLICES];
  slice.add(ws);
  ws.on('close', () => slice.delete(ws));
}
setInterval(() => {
  for (const ws of slices[tick++ % PING_SLICES]) {
    if (!ws.isAlive) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, PING_EVERY_MS / PING_SLICES);

server.listen(port, '127.0.0.1');
