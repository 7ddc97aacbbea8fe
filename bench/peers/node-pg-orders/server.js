// Node peer for bench/orders-peers.sh and scripts/peer-equivalence.sh: Swiftlet's
// GET /api/v1/products (first catalogue page) and POST /api/v1/orders doing the same
// database work on the same PostgreSQL schema (Swiftlet's migrations), with node-pg
// (Debian package node-pg) and Node's http module, one process.
//
// Environment: PORT (default 8130), DATABASE (postgres:// URL), JWT_SECRET (Swiftlet's
// auth.jwt.secret), JWT_KID (k1), JWT_ISSUER (swiftlet), JWT_AUDIENCE
// (swiftlet-miniprogram), POOL_SIZE (default 10, as Swiftlet's storage.postgres.poolSize).
'use strict';
const http = require('http');
const crypto = require('crypto');
const { Pool, types } = require('pg');

// BIGINT columns (times in ms, positions) as numbers: every value fits in 2^53.
types.setTypeParser(20, (value) => Number(value));

const env = (name, fallback) => process.env[name] || fallback;
const secret = env('JWT_SECRET', '');
if (!process.env.DATABASE || secret.length < 32) {
  console.error('set DATABASE (postgres:// URL) and JWT_SECRET (at least 32 bytes)');
  process.exit(1);
}
const KID = env('JWT_KID', 'k1');
const ISSUER = env('JWT_ISSUER', 'swiftlet');
const AUDIENCE = env('JWT_AUDIENCE', 'swiftlet-miniprogram');
const LEEWAY = 30;
const UNPAID_TIMEOUT_MS = 900 * 1000;
const MAX_QUANTITY = 99;
const MAX_AMOUNT_FEN = 100000000;
const pool = new Pool({ connectionString: process.env.DATABASE, max: Number(env('POOL_SIZE', '10')) });

class ApiError extends Error {
  constructor(status, code, message) {
    super(code);
    this.status = status;
    this.code = code;
    this.publicMessage = message;
  }
}
const invalid = (code, message) => new ApiError(400, code, message);
const conflict = (code, message) => new ApiError(409, code, message);
const unauthenticated = (code, message) => new ApiError(401, code, message);
const TOKEN_MISSING = unauthenticated('auth.token_missing', 'An access token is required (Authorization: Bearer …).');
const TOKEN_INVALID = unauthenticated('auth.token_invalid', 'The access token is malformed or its signature is not valid.');
const TOKEN_EXPIRED = unauthenticated('auth.token_expired', 'The access token has expired; refresh it.');
const TOKEN_NOT_YET_VALID = unauthenticated('auth.token_not_yet_valid', 'The access token is not valid yet.');
const TOKEN_AUDIENCE = unauthenticated('auth.token_audience', 'The access token was issued for another audience.');
const TOKEN_ISSUER = unauthenticated('auth.token_issuer', 'The access token was issued by another issuer.');

// JSON as Swift's JSONEncoder writes Swiftlet's DTOs: nil optionals left out, '/' escaped.
const json = (value) => JSON.stringify(value).replace(/\//g, '\\/');
const rfc3339 = (ms) => new Date(ms).toISOString();

let requestCounter = 0;
function send(response, status, body, headers = {}) {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': `peer-${(++requestCounter).toString(36)}`, ...headers });
  response.end(body);
}
function fail(response, error) {
  if (!(error instanceof ApiError)) {
    console.error(error);
    error = new ApiError(500, 'internal', 'Something went wrong on our side.');
  }
  const id = `peer-${(++requestCounter).toString(36)}`;
  response.writeHead(error.status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': id });
  response.end(json({ error: { code: error.code, message: error.publicMessage, requestId: id } }));
}

// Access tokens: checked as Swiftlet's JWTAccessTokenCodec does (kid + alg, HS256
// signature, iss, aud, exp/iat with leeway), tokens already verified kept (bounded).
const verified = new Map();
function checkTime(claims, now) {
  if (now - claims.exp > LEEWAY) throw TOKEN_EXPIRED;
  if (claims.nbf !== undefined && claims.nbf - now > LEEWAY) throw TOKEN_NOT_YET_VALID;
  if (claims.iat - now > LEEWAY) throw TOKEN_NOT_YET_VALID;
}
function authenticate(header) {
  if (!header || header.length <= 7 || header.slice(0, 6).toLowerCase() !== 'bearer' || header[6] !== ' ') throw TOKEN_MISSING;
  const token = header.slice(7).replace(/^[ \t]+|[ \t]+$/g, '');
  if (!token) throw TOKEN_MISSING;
  const now = Date.now() / 1000;
  const cached = verified.get(token);
  if (cached) {
    checkTime(cached, now);
    return cached.sub;
  }
  const parts = token.split('.');
  if (token.length > 4096 || parts.length !== 3) throw TOKEN_INVALID;
  let header_, claims;
  try {
    header_ = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  } catch {
    throw TOKEN_INVALID;
  }
  if (header_.kid !== KID || header_.alg !== 'HS256') throw TOKEN_INVALID;
  const expected = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const signature = Buffer.from(parts[2], 'base64url');
  if (signature.length !== expected.length || !crypto.timingSafeEqual(signature, expected)) throw TOKEN_INVALID;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  } catch {
    throw TOKEN_INVALID;
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw TOKEN_INVALID;
  checkTime(claims, now);
  if (claims.iss !== ISSUER) throw TOKEN_ISSUER;
  if (!(claims.aud === AUDIENCE || (Array.isArray(claims.aud) && claims.aud.includes(AUDIENCE)))) throw TOKEN_AUDIENCE;
  if (verified.size >= 50000) verified.clear();
  verified.set(token, claims);
  return claims.sub;
}

// Reads on one pooled connection, writes as one transaction (SQLExecutor.read/.transaction).
async function read(body) {
  const client = await pool.connect();
  try {
    return await body(client);
  } finally {
    client.release();
  }
}
async function transaction(body) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
const placeholders = (first, count) => Array.from({ length: count }, (_, i) => `$${first + i}`).join(', ');

// GET /api/v1/products: the first page, on-shelf and not deleted, newest first, 20 a page.
async function products(response) {
  const limit = 20;
  const body = await read(async (db) => {
    const rows = (await db.query(`SELECT id, title, description, image_url, on_shelf, created_at, updated_at FROM products
      WHERE deleted_at IS NULL AND on_shelf = $1 ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`, [true])).rows;
    let nextCursor;
    if (rows.length > limit) {
      rows.length = limit;
      const last = rows[limit - 1];
      nextCursor = Buffer.from(`${last.created_at}:${last.id}`).toString('base64url');
    }
    const skus = new Map(rows.map((row) => [row.id, []]));
    if (rows.length > 0) {
      const ids = rows.map((row) => row.id);
      const result = await db.query(`SELECT id, product_id, title, price_fen, stock FROM skus
        WHERE product_id IN (${placeholders(1, ids.length)}) ORDER BY product_id, position`, ids);
      for (const s of result.rows) skus.get(s.product_id).push({ id: s.id, title: s.title, priceFen: s.price_fen, stock: s.stock });
    }
    const items = rows.map((row) => {
      const list = skus.get(row.id);
      return {
        id: row.id, title: row.title, description: row.description, imageUrl: row.image_url ?? undefined, onShelf: row.on_shelf,
        priceFen: list.length ? Math.min(...list.map((s) => s.priceFen)) : undefined, skus: list,
        createdAt: rfc3339(row.created_at), updatedAt: rfc3339(row.updated_at),
      };
    });
    return json({ items, nextCursor });
  });
  send(response, 200, body);
}

function randomBase32() {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = crypto.randomBytes(16);
  let output = '', buffer = 0, bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      output += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) output += alphabet[(buffer << (5 - bits)) & 31];
  return output;
}
const isIdentifier = (text) => /^[0-9A-Za-z_-]{1,64}$/.test(text);

// CommerceValidation.idempotencyKey and .lines, in Swiftlet's order.
function validate(key, lines) {
  if (!key) throw invalid('order.idempotency_key_required', 'Send an Idempotency-Key header (1–64 visible ASCII characters) so a retried request cannot create a second order.');
  if (Buffer.byteLength(key) > 64 || !/^[\x21-\x7e]+$/.test(key)) throw invalid('order.invalid_idempotency_key', 'The Idempotency-Key must be 1–64 visible ASCII characters.');
  if (lines.length < 1 || lines.length > 50) throw invalid('order.invalid_items', 'An order has 1 to 50 items.');
  const seen = new Set();
  for (const line of lines) {
    if (typeof line.skuId !== 'string' || !isIdentifier(line.skuId)) throw invalid('order.invalid_sku', 'Each item needs a skuId (letters, digits, _ and -).');
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY) throw invalid('order.invalid_quantity', `Each quantity must be 1 to ${MAX_QUANTITY}.`);
    if (seen.has(line.skuId)) throw invalid('order.duplicate_item', `SKU ${line.skuId} appears twice; send one line with the total quantity.`);
    seen.add(line.skuId);
  }
}

function orderJSON(o) {
  return json({
    id: o.id, outTradeNo: o.outTradeNo, status: o.status,
    items: o.items.map((i) => ({ skuId: i.skuId, productId: i.productId, title: i.title, unitPriceFen: i.unitPriceFen, quantity: i.quantity, subtotalFen: i.unitPriceFen * i.quantity })),
    totalFen: o.totalFen, refundedFen: o.refundedFen, expiresAt: rfc3339(o.expiresAt),
    paidAt: o.paidAt == null ? undefined : rfc3339(o.paidAt), cancelledAt: o.cancelledAt == null ? undefined : rfc3339(o.cancelledAt),
    cancelReason: o.cancelReason ?? undefined, shippedAt: o.shippedAt == null ? undefined : rfc3339(o.shippedAt),
    trackingNumber: o.trackingNumber ?? undefined, completedAt: o.completedAt == null ? undefined : rfc3339(o.completedAt),
    createdAt: rfc3339(o.createdAt), updatedAt: rfc3339(o.updatedAt),
  });
}

async function findOrder(db, id) {
  const row = (await db.query(`SELECT id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, paid_at, cancelled_at,
    cancel_reason, shipped_at, tracking_number, completed_at, created_at, updated_at FROM orders WHERE id = $1`, [id])).rows[0];
  if (!row) return null;
  const items = (await db.query(`SELECT order_id, sku_id, product_id, title, unit_price_fen, quantity FROM order_items
    WHERE order_id IN ($1) ORDER BY order_id, line`, [id])).rows;
  return {
    id: row.id, userId: row.user_id, outTradeNo: row.out_trade_no, status: row.status, totalFen: row.total_fen,
    refundedFen: row.refunded_fen, expiresAt: row.expires_at, paidAt: row.paid_at, cancelledAt: row.cancelled_at,
    cancelReason: row.cancel_reason, shippedAt: row.shipped_at, trackingNumber: row.tracking_number,
    completedAt: row.completed_at, createdAt: row.created_at, updatedAt: row.updated_at,
    items: items.map((i) => ({ skuId: i.sku_id, productId: i.product_id, title: i.title, unitPriceFen: i.unit_price_fen, quantity: i.quantity })),
  };
}

async function replay(userId, key, requestHash) {
  return read(async (db) => {
    const existing = (await db.query('SELECT id, request_hash FROM orders WHERE user_id = $1 AND idempotency_key = $2', [userId, key])).rows[0];
    if (!existing) return null;
    if (existing.request_hash !== requestHash) throw conflict('order.idempotency_conflict', 'This Idempotency-Key was already used for a different order.');
    return findOrder(db, existing.id);
  });
}

const outOfStock = (s) => conflict('order.out_of_stock', `Not enough stock for ${s.productTitle} ${s.title}.`);

// One transaction: SKUs read, stock taken in SKU order, order, items, timeout job, outbox event.
function createOnce(userId, key, requestHash, lines, sorted) {
  return transaction(async (db) => {
    const ids = lines.map((l) => l.skuId);
    const rows = (await db.query(`SELECT s.id, s.product_id, s.title, s.price_fen, s.stock, p.title AS product_title,
      p.on_shelf AS on_shelf, p.deleted_at AS deleted_at
      FROM skus s JOIN products p ON p.id = s.product_id WHERE s.id IN (${placeholders(1, ids.length)})`, ids)).rows;
    const snapshots = new Map(rows.map((r) => [r.id, {
      productId: r.product_id, title: r.title, priceFen: r.price_fen, stock: r.stock, productTitle: r.product_title,
      onShelf: r.on_shelf && r.deleted_at === null,
    }]));
    const now = Date.now();
    const order = {
      id: `o_${randomBase32()}`, userId, outTradeNo: `SL${randomBase32().toUpperCase()}`, status: 'pending_payment',
      items: [], totalFen: 0, refundedFen: 0, expiresAt: now + UNPAID_TIMEOUT_MS, createdAt: now, updatedAt: now,
    };
    for (const line of lines) {
      const s = snapshots.get(line.skuId);
      if (!s) throw invalid('order.unknown_sku', `SKU ${line.skuId} does not exist.`);
      if (!s.onShelf) throw conflict('order.off_shelf', `${s.productTitle} is not on sale.`);
      if (s.stock < line.quantity) throw outOfStock(s);
      order.items.push({ skuId: line.skuId, productId: s.productId, title: `${s.productTitle} ${s.title}`, unitPriceFen: s.priceFen, quantity: line.quantity });
      order.totalFen += s.priceFen * line.quantity;
    }
    if (order.totalFen > MAX_AMOUNT_FEN) throw invalid('order.total_too_large', `The order total exceeds ${MAX_AMOUNT_FEN} fen.`);
    // Fixed lock order (by SKU id) so two multi-item orders cannot deadlock.
    for (const line of sorted) {
      const taken = await db.query('UPDATE skus SET stock = stock - $1 WHERE id = $2 AND stock >= $3 RETURNING id', [line.quantity, line.skuId, line.quantity]);
      if (taken.rows.length === 0) throw outOfStock(snapshots.get(line.skuId));
    }
    await db.query(`INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
      idempotency_key, request_hash, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [order.id, userId, order.outTradeNo, order.status, order.totalFen, 0, order.expiresAt, true, key, requestHash, 0, now, now]);
    for (const [index, item] of order.items.entries()) {
      await db.query(`INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
        VALUES ($1, $2, $3, $4, $5, $6, $7)`, [order.id, index, item.skuId, item.productId, item.title, item.unitPriceFen, item.quantity]);
    }
    await db.query(`INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
      VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (kind, job_key) DO NOTHING`,
    [`j_${randomBase32()}`, 'order.payment_timeout', order.id, order.id, order.expiresAt, 0, now, now]);
    const head = (await db.query(`INSERT INTO event_outbox_head (id, last_position) VALUES (1, $1)
      ON CONFLICT (id) DO UPDATE SET last_position = event_outbox_head.last_position + excluded.last_position
      RETURNING last_position`, [1])).rows[0].last_position;
    // OrderDomainEvents' order.created payload, fields in its order.
    const payload = JSON.stringify({
      version: 1, orderId: order.id, outTradeNo: order.outTradeNo, userId, status: order.status, totalFen: order.totalFen,
      refundedFen: 0, createdAt: rfc3339(now), expiresAt: rfc3339(order.expiresAt),
    });
    await db.query(`INSERT INTO event_outbox (position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [head, `evt_${randomBase32()}`, 'order.created', 1, 'order', order.id, payload, now]);
    return order;
  });
}

// POST /api/v1/orders: token, body, validation, then OrderService.create's work: a replay
// check, the transaction, and on failure a second replay check (a concurrent request with
// the same key may have won).
async function orders(request, response, raw) {
  const userId = authenticate(request.headers.authorization);
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    throw invalid('request.malformed_json', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || body.items === undefined) throw invalid('request.missing_field', "Field 'items' is required.");
  const lines = body.items;
  lines.forEach((line, index) => {
    if (line.skuId === undefined) throw invalid('request.missing_field', `Field 'items[${index}].skuId' is required.`);
    if (line.quantity === undefined) throw invalid('request.missing_field', `Field 'items[${index}].quantity' is required.`);
  });
  const key = request.headers['idempotency-key'];
  validate(key, lines);
  const sorted = [...lines].sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0));
  const requestHash = crypto.createHash('sha256').update(sorted.map((l) => `${l.skuId}x${l.quantity}`).join(',')).digest('hex');
  let order = await replay(userId, key, requestHash);
  if (order) return send(response, 200, orderJSON(order), { 'Idempotent-Replayed': 'true' });
  try {
    order = await createOnce(userId, key, requestHash, lines, sorted);
  } catch (error) {
    const won = await replay(userId, key, requestHash);
    if (won) return send(response, 200, orderJSON(won), { 'Idempotent-Replayed': 'true' });
    throw error;
  }
  send(response, 201, orderJSON(order), { Location: `/api/v1/orders/${order.id}` });
}

http.createServer((request, response) => {
  const path = request.url.split('?')[0];
  if (request.method === 'GET' && path === '/api/v1/products') {
    products(response).catch((error) => fail(response, error));
  } else if (request.method === 'POST' && path === '/api/v1/orders') {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => orders(request, response, Buffer.concat(chunks).toString()).catch((error) => fail(response, error)));
  } else {
    response.writeHead(404);
    response.end();
  }
}).listen(Number(env('PORT', '8130')), '127.0.0.1');
