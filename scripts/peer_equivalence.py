#!/usr/bin/env python3
"""Checks that the database peers in bench/peers (go-orders on SQLite and PostgreSQL,
node-pg-orders on PostgreSQL) do the work Swiftlet does for GET /api/v1/products and
POST /api/v1/orders, so bench/orders-peers.sh compares equal work. Called by
scripts/peer-equivalence.sh.

For each engine and each server (Swiftlet first, then every peer): a fresh database with
Swiftlet's schema (`swiftlet migrate up`), the same catalogue and buyer written into it,
the server started on it, the same requests sent, then the answers and the rows left
behind (orders, order items, SKU stock, payment-timeout jobs, outbox events) normalised
(generated ids numbered by first appearance, times made relative to the order's creation)
and compared with Swiftlet's. Exit status 1 on any difference."""
import base64, calendar, hashlib, hmac, json, os, re, secrets, sqlite3, subprocess, sys, tempfile, time, urllib.error, urllib.request
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SWIFTLET_BIN", os.path.join(ROOT, ".build", "debug", "swiftlet"))
PEERS = os.path.join(ROOT, "bench", "peers", "db-peers.sh")
SECRET = secrets.token_hex(24)
UNPAID_MS = 900_000
BASE_MS = 1_700_000_000_000


def log(message):
    print(f"==> peer-equivalence: {message}", file=sys.stderr, flush=True)


def token(sub, secret=SECRET):
    """An access token as Swiftlet signs them (HS256, kid k1, its issuer and audience)."""
    encode = lambda data: base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    now = int(time.time())
    signing = encode({"alg": "HS256", "kid": "k1", "typ": "JWT"}) + "." + encode(
        {"sub": sub, "sid": "s_peer", "jti": secrets.token_hex(8), "iat": now, "exp": now + 3600,
         "iss": "swiftlet", "aud": "swiftlet-miniprogram"})
    signature = base64.urlsafe_b64encode(hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()).rstrip(b"=")
    return signing + "." + signature.decode()


# MARK: The catalogue every database starts with

def seed_rows():
    """23 products (one off the shelf, two created in the same millisecond so ids break the
    tie), 1–3 SKUs each, image URLs and text that exercise JSON escaping, one buyer."""
    products, skus = [], []
    for i in range(23):
        pid = f"p_peer{i:02d}"
        created = BASE_MS + i * 1000 - (i % 3) if i != 11 else BASE_MS + 10 * 1000 - 1
        products.append(dict(id=pid, title=f"Tea {i} 茶 \"quoted\"", description="Line\nbreak & <tag> / slash é\t",
                             image_url="https://img.example.com/a/b.png" if i % 2 == 0 else None, on_shelf=i != 5,
                             created_at=created, updated_at=BASE_MS + 100_000 + i))
        for j in range(1 + i % 3):
            skus.append(dict(id=f"k_peer{i:02d}{j}", product_id=pid, title=f"Size {j}", price_fen=100 + i * 10 + j,
                             stock=5 if j == 0 else 1000, position=j, created_at=BASE_MS, updated_at=BASE_MS))
    users = [dict(id="u_peer1", openid="o_peer1", created_at=BASE_MS, updated_at=BASE_MS)]
    return [("users", users), ("products", products), ("skus", skus)]


def literal(value, engine):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if engine == "postgres" else ("1" if value else "0")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def seed_sql(engine):
    statements = []
    for table, rows in seed_rows():
        for row in rows:
            statements.append(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(literal(v, engine) for v in row.values())});")
    return "\n".join(statements)


# MARK: Databases

class SQLiteDatabase:
    engine = "sqlite"

    def __init__(self, work, name):
        self.path = os.path.join(work, f"{name}.sqlite")
        self.swiftlet_env = {"SWIFTLET_STORAGE_ENGINE": "sqlite", "SWIFTLET_STORAGE_SQLITE_PATH": self.path}
        self.peer_database = self.path

    def execute(self, script):
        with sqlite3.connect(self.path) as db:
            db.executescript(script)

    def rows(self, query):
        with sqlite3.connect(self.path) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query)]

    def drop(self):
        pass


class PostgresDatabase:
    engine = "postgres"

    def __init__(self, base_url, name):
        parts = urlsplit(base_url)
        self.name = f"peers_{name}_{secrets.token_hex(4)}"
        self.admin = urlunsplit(parts._replace(path="/postgres"))
        self.url = urlunsplit(parts._replace(path="/" + self.name))
        psql(self.admin, f"CREATE DATABASE {self.name}")
        self.swiftlet_env = {"SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_POSTGRES_URL": self.url}
        self.peer_database = self.url

    def execute(self, script):
        psql(self.url, script)

    def rows(self, query):
        return json.loads(psql(self.url, f"SELECT coalesce(json_agg(t), '[]') FROM ({query}) t"))

    def drop(self):
        psql(self.admin, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def psql(url, script):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt"], input=script, capture_output=True, text=True,
                          check=True).stdout


# MARK: Servers

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def swiftlet_env(work, database, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWIFTLET_")}
    # The peers read the catalogue from the database on every request; so does Swiftlet
    # here (its per-node cache off), so the stock each shows after the orders compares.
    env.update(SWIFTLET_DATA_DIRECTORY=os.path.join(work, "data"), SWIFTLET_AUTH_JWT_SECRET=SECRET,
               SWIFTLET_COMMERCE_DEMO_CATALOGUE="false", SWIFTLET_LOG_LEVEL="warning", SWIFTLET_CACHE_CATALOGUE_LIFETIME="0",
               **database.swiftlet_env, **(extra or {}))
    return env


def start(kind, work, database, log_path):
    port = free_port()
    if kind == "swiftlet":
        command = [BIN, "serve"]
        env = swiftlet_env(work, database, {"SWIFTLET_HTTP_PORT": str(port)})
    else:
        command = [PEERS, "run", kind, database.peer_database, str(port)]
        env = dict(os.environ, JWT_SECRET=SECRET)
    process = subprocess.Popen(command, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited: {open(log_path).read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/products", timeout=2) as response:
                if response.status == 200:
                    return process, port
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{kind} did not answer within 60 s")


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# MARK: The requests

BUYER = "u_peer1"


def scenario():
    """(name, method, path, headers, body). Bodies are bytes or JSON-encodable."""
    good = token(BUYER)
    auth = {"Authorization": f"Bearer {good}"}
    steps = [("catalogue page", "GET", "/api/v1/products", {}, None)]
    def post(name, key, items, headers=None):
        h = dict(auth, **({"Idempotency-Key": key} if key else {}), **(headers or {}))
        steps.append((name, "POST", "/api/v1/orders", h, {"items": items}))
    post("several SKUs", "key-1", [{"skuId": "k_peer221", "quantity": 2}, {"skuId": "k_peer220", "quantity": 1}])
    post("replay, same key and body", "key-1", [{"skuId": "k_peer221", "quantity": 2}, {"skuId": "k_peer220", "quantity": 1}])
    post("replay, same lines in another order", "key-1", [{"skuId": "k_peer220", "quantity": 1}, {"skuId": "k_peer221", "quantity": 2}])
    post("same key, different body", "key-1", [{"skuId": "k_peer221", "quantity": 3}])
    post("one SKU", "key-2", [{"skuId": "k_peer191", "quantity": 3}])
    post("not enough stock", "key-3", [{"skuId": "k_peer220", "quantity": 5}])
    post("last units", "key-4", [{"skuId": "k_peer200", "quantity": 5}])
    post("sold out", "key-5", [{"skuId": "k_peer200", "quantity": 1}])
    post("sold out beside an available SKU", "key-6", [{"skuId": "k_peer201", "quantity": 1}, {"skuId": "k_peer200", "quantity": 1}])
    post("unknown SKU", "key-7", [{"skuId": "k_nope", "quantity": 1}])
    post("unknown SKU beside a known one", "key-8", [{"skuId": "k_peer180", "quantity": 1}, {"skuId": "k_nope", "quantity": 1}])
    post("off the shelf", "key-9", [{"skuId": "k_peer050", "quantity": 1}])
    post("quantity over the limit", "key-10", [{"skuId": "k_peer221", "quantity": 100}])
    post("quantity zero", "key-11", [{"skuId": "k_peer221", "quantity": 0}])
    post("no items", "key-12", [])
    post("the same SKU twice", "key-13", [{"skuId": "k_peer221", "quantity": 1}, {"skuId": "k_peer221", "quantity": 1}])
    post("SKU id with odd bytes", "key-14", [{"skuId": "k peer", "quantity": 1}])
    post("no Idempotency-Key", None, [{"skuId": "k_peer221", "quantity": 1}])
    post("Idempotency-Key too long", "k" * 65, [{"skuId": "k_peer221", "quantity": 1}])
    steps.append(("malformed JSON", "POST", "/api/v1/orders", dict(auth, **{"Idempotency-Key": "key-15"}), b"{nonsense"))
    steps.append(("items missing", "POST", "/api/v1/orders", dict(auth, **{"Idempotency-Key": "key-16"}), {"lines": []}))
    steps.append(("no token", "POST", "/api/v1/orders", {"Idempotency-Key": "key-17"}, {"items": []}))
    steps.append(("token signed with another secret", "POST", "/api/v1/orders",
                  {"Authorization": f"Bearer {token(BUYER, secret='x' * 40)}", "Idempotency-Key": "key-18"},
                  {"items": [{"skuId": "k_peer221", "quantity": 1}]}))
    post("several SKUs across products", "key-19", [{"skuId": "k_peer202", "quantity": 2}, {"skuId": "k_peer170", "quantity": 1},
                                                      {"skuId": "k_peer101", "quantity": 4}])
    steps.append(("catalogue page after the orders", "GET", "/api/v1/products", {}, None))
    return steps


def send(port, method, path, headers, body):
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"} if data else {}, **headers))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def run(kind, work, database, steps):
    database.execute(seed_sql(database.engine))
    process, port = start(kind, work, database, os.path.join(work, f"{kind}-{database.engine}.log"))
    try:
        answers = []
        for name, method, path, headers, body in steps:
            status, response_headers, raw = send(port, method, path, headers, body)
            answers.append(dict(step=name, status=status, body=json.loads(raw) if raw else None,
                                replayed=response_headers.get("Idempotent-Replayed"),
                                location=response_headers.get("Location"),
                                contentType=response_headers.get("Content-Type")))
    finally:
        stop(process)
    state = dict(
        orders=database.rows("SELECT id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held, "
                             "idempotency_key, request_hash, version, created_at, updated_at, paid_at, cancelled_at, "
                             "prepay_id, transaction_id FROM orders ORDER BY idempotency_key"),
        order_items=database.rows("SELECT i.order_id, i.line, i.sku_id, i.product_id, i.title, i.unit_price_fen, i.quantity "
                                  "FROM order_items i JOIN orders o ON o.id = i.order_id ORDER BY o.idempotency_key, i.line"),
        skus=database.rows("SELECT id, stock, updated_at FROM skus ORDER BY id"),
        jobs=database.rows("SELECT j.id, j.kind, j.job_key, j.payload, j.status, j.run_at, j.attempts, j.created_at, j.updated_at "
                           "FROM jobs j JOIN orders o ON o.id = j.job_key WHERE j.kind LIKE 'order.%' ORDER BY o.idempotency_key"),
        events=database.rows("SELECT position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at "
                             "FROM event_outbox ORDER BY position"),
        outbox_head=database.rows("SELECT id, last_position FROM event_outbox_head"),
    )
    return normalise(dict(answers=answers, state=state))


# MARK: Normalising what must differ

GENERATED = re.compile(r"\b(o_|j_|evt_)[0-9a-z]{26}\b|\bSL[0-9A-Z]{26}\b")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CLOCK_MS = BASE_MS + 10_000_000  # later than every seeded time: read from a clock
TIME_COLUMNS = {"expires_at", "created_at", "updated_at", "run_at", "occurred_at", "createdAt", "updatedAt", "expiresAt"}


def normalise(result):
    """Generated ids become ORDER-1, OTN-1, JOB-1, EVT-1 by first appearance; times taken
    from the clock become offsets from their order's creation (so expiry at +900000 ms, the
    job's run time and the event's time are still checked); the seeded catalogue's times
    stay as they are."""
    names = {}
    anchors = {row["id"]: row["created_at"] for row in result["state"]["orders"]}
    def rename(match):
        text = match.group(0)
        if text not in names:
            prefix = {"o_": "ORDER", "j_": "JOB", "evt_": "EVT"}.get(match.group(1) or "", "OTN")
            names[text] = f"{prefix}-{sum(1 for v in names.values() if v.startswith(prefix + '-')) + 1}"
        return names[text]
    def millis(value):
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and TIME.match(value):
            return calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(value[20:23])
        return None
    def walk(value, anchor=None):
        if isinstance(value, dict):
            for key in ("id", "order_id", "job_key", "aggregate_id", "orderId"):
                if value.get(key) in anchors:
                    anchor = anchors[value[key]]
                    break
            out = {}
            for key, item in value.items():
                if key == "requestId":
                    continue
                if key == "payload" and isinstance(item, str) and item.startswith("{"):
                    item = json.loads(item)
                ms = millis(item) if key in TIME_COLUMNS else None
                if ms is not None and ms >= CLOCK_MS:
                    out[key] = f"created{ms - anchor:+d}ms" if anchor is not None else "clock"
                else:
                    out[key] = walk(item, anchor)
            return out
        if isinstance(value, list):
            return [walk(item, anchor) for item in value]
        if isinstance(value, str):
            return GENERATED.sub(rename, value)
        return value
    for answer in result["answers"]:
        location = answer.pop("location")
        if location is not None:
            answer["locationNamesTheOrder"] = location == f"/api/v1/orders/{(answer['body'] or {}).get('id')}"
    state = walk(result["state"])
    return dict(answers=walk(result["answers"]), state=state)


def differences(expected, actual, path=""):
    if type(expected) is not type(actual):
        return [f"{path}: {json.dumps(expected, ensure_ascii=False)} ≠ {json.dumps(actual, ensure_ascii=False)}"]
    if isinstance(expected, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                found.append(f"{path}.{key}: missing (Swiftlet: {json.dumps(expected[key], ensure_ascii=False)[:200]})")
            elif key not in expected:
                found.append(f"{path}.{key}: extra ({json.dumps(actual[key], ensure_ascii=False)[:200]})")
            else:
                found += differences(expected[key], actual[key], f"{path}.{key}")
        return found
    if isinstance(expected, list):
        found = [f"{path}: {len(expected)} entries ≠ {len(actual)}"] if len(expected) != len(actual) else []
        for index, (e, a) in enumerate(zip(expected, actual)):
            found += differences(e, a, f"{path}[{index}]")
        return found
    return [] if expected == actual else [f"{path}: {json.dumps(expected, ensure_ascii=False)[:300]} ≠ {json.dumps(actual, ensure_ascii=False)[:300]}"]


def self_check(reference):
    """The comparison must notice a peer that does less: no timeout job, no outbox event,
    no idempotency check (a second order for a replayed key), stock not taken."""
    import copy
    tampered = []
    for name, change in [
        ("no timeout job", lambda r: r["state"]["jobs"].pop()),
        ("no outbox event", lambda r: r["state"]["events"].pop()),
        ("no idempotency check", lambda r: r["state"]["orders"].append(dict(r["state"]["orders"][0], id="ORDER-99"))),
        ("replay answered as a new order", lambda r: r["answers"][2].update(status=201, replayed=None)),
        ("stock not taken", lambda r: r["state"]["skus"][0].update(stock=r["state"]["skus"][0]["stock"] + 1)),
    ]:
        copy_ = copy.deepcopy(reference)
        change(copy_)
        if not differences(reference, copy_):
            tampered.append(name)
    return tampered


def main():
    postgres_url = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
    engines = [("sqlite", ["swiftlet", "go"])]
    if postgres_url:
        engines.append(("postgres", ["swiftlet", "go", "node"]))
    steps = scenario()
    failed = False
    with tempfile.TemporaryDirectory(prefix="swiftlet-peers-") as work:
        # One migrated template per engine would share state; each server gets its own database.
        for engine, kinds in engines:
            results = {}
            for kind in kinds:
                database = SQLiteDatabase(work, f"{kind}") if engine == "sqlite" else PostgresDatabase(postgres_url, kind)
                try:
                    subprocess.run([BIN, "migrate", "up"], env=swiftlet_env(work, database), check=True, capture_output=True, text=True)
                    results[kind] = run(kind, work, database, steps)
                finally:
                    database.drop()
            reference = results["swiftlet"]
            missed = self_check(reference)
            if missed:
                log(f"{engine}: the comparison would not notice: {', '.join(missed)}")
                failed = True
            if not reference["state"]["jobs"] or not reference["state"]["events"] or len(reference["state"]["orders"]) != 4:
                log(f"{engine}: Swiftlet's run left unexpected rows: {json.dumps(reference['state'], ensure_ascii=False)[:1000]}")
                failed = True
            for kind in kinds[1:]:
                found = differences(reference, results[kind])
                if found:
                    failed = True
                    log(f"{engine}: {kind} differs from Swiftlet in {len(found)} place(s):")
                    for line in found[:40]:
                        print(f"    {line}", file=sys.stderr)
                else:
                    log(f"{engine}: {kind} matches Swiftlet ({len(steps)} requests, "
                        f"{len(reference['state']['orders'])} orders, stock, jobs and outbox rows)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
