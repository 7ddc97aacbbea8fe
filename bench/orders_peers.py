#!/usr/bin/env python3
"""POST /api/v1/orders and GET /api/v1/products on Swiftlet beside the database peers
(bench/peers/go-orders, bench/peers/node-pg-orders), on SQLite and PostgreSQL (called by
bench/orders-peers.sh).

For each engine and each stack in turn: a fresh database with Swiftlet's schema
(`swiftlet migrate up`), 20 products of one SKU each (10,000,000 units, so nothing sells
out) and 64 buyers written into it, the server started on it, then wrk at CONNECTIONS
connections, each after a short warm-up: the catalogue page, then orders (a fresh
Idempotency-Key per request, a random SKU, commerce-orders.lua). Per run: req/s, p50/p99, non-2xx, the
server's CPU per request and, on PostgreSQL, the database server's. The peers check the
same HS256 tokens (bench-minted, Swiftlet's claims) and do the same database work
(scripts/peer-equivalence.sh proves it in the test command). Writes a Markdown table to
bench/results/orders-peers-<time>.md and prints it."""
import base64, hashlib, hmac, json, os, re, resource, secrets, shutil, subprocess, sys, tempfile, time, urllib.error, urllib.request
from urllib.parse import urlsplit, urlunsplit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.environ.get("SWIFTLET_BIN", os.path.join(ROOT, ".build-static", "release", "swiftlet"))
PEERS = os.path.join(HERE, "peers", "db-peers.sh")
DURATION = os.environ.get("DURATION", "10s")
WARMUP = os.environ.get("WARMUP", "2s")
CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))
QUIET_WAIT = int(os.environ.get("QUIET_WAIT", "600"))
FOREIGN_MAX = float(os.environ.get("FOREIGN_MAX", "0.25"))
SECRET = secrets.token_hex(24)
TICKS = os.sysconf("SC_CLK_TCK")
NOW_MS = int(time.time() * 1000)


def token(sub):
    encode = lambda data: base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()
    now = int(time.time())
    signing = encode({"alg": "HS256", "kid": "k1", "typ": "JWT"}) + "." + encode(
        {"sub": sub, "sid": f"s_{sub}", "jti": secrets.token_hex(8), "iat": now, "exp": now + 3600,
         "iss": "swiftlet", "aud": "swiftlet-miniprogram"})
    return signing + "." + base64.urlsafe_b64encode(hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def seed(engine):
    boolean = (lambda v: "TRUE" if v else "FALSE") if engine == "postgres" else (lambda v: "1" if v else "0")
    lines = []
    for i in range(64):
        lines.append(f"INSERT INTO users (id, openid, created_at, updated_at) VALUES ('u_bench{i:02d}', 'o_bench{i:02d}', {NOW_MS}, {NOW_MS});")
    for i in range(20):
        lines.append(f"INSERT INTO products (id, title, description, image_url, on_shelf, created_at, updated_at) VALUES "
                     f"('p_bench{i:02d}', 'Bench {i}', 'A product for the benchmark', 'https://img.example.com/{i}.png', {boolean(True)}, {NOW_MS + i}, {NOW_MS + i});")
        lines.append(f"INSERT INTO skus (id, product_id, title, price_fen, stock, position, created_at, updated_at) VALUES "
                     f"('k_bench{i:02d}', 'p_bench{i:02d}', 'Default', {100 + i}, 10000000, 0, {NOW_MS}, {NOW_MS});")
    return "\n".join(lines)


def psql(url, script):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt"], input=script, capture_output=True, text=True, check=True).stdout


class Database:
    def __init__(self, engine, work, name):
        self.engine = engine
        if engine == "sqlite":
            self.location = os.path.join(work, f"{name}.sqlite")
            self.env = {"SWIFTLET_STORAGE_ENGINE": "sqlite", "SWIFTLET_STORAGE_SQLITE_PATH": self.location}
        else:
            parts = urlsplit(os.environ["BENCH_POSTGRES_URL"])
            self.name = "orders_" + name.replace("-", "_")
            self.admin = urlunsplit(parts._replace(path="/postgres"))
            self.location = urlunsplit(parts._replace(path="/" + self.name))
            psql(self.admin, f"DROP DATABASE IF EXISTS {self.name}; CREATE DATABASE {self.name}")
            self.env = {"SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_POSTGRES_URL": self.location}

    def seed(self):
        if self.engine == "sqlite":
            subprocess.run(["sqlite3", self.location], input=seed(self.engine), text=True, check=True)
        else:
            psql(self.location, seed(self.engine))


def swiftlet_env(work, database, extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWIFTLET_")}
    env.update(SWIFTLET_DATA_DIRECTORY=os.path.join(work, "data"), SWIFTLET_AUTH_JWT_SECRET=SECRET,
               SWIFTLET_COMMERCE_DEMO_CATALOGUE="false", SWIFTLET_LOG_ACCESS_LOG="false", SWIFTLET_LOG_LEVEL="warning",
               **database.env, **(extra or {}))
    return env


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(stack, work, database):
    port = free_port()
    log = open(os.path.join(work, f"{stack}-{database.engine}.log"), "w")
    if stack.startswith("swiftlet"):
        extra = {"SWIFTLET_HTTP_PORT": str(port)}
        if stack == "swiftlet-nocache":
            extra["SWIFTLET_CACHE_CATALOGUE_LIFETIME"] = "0"
        process = subprocess.Popen([BINARY, "serve"], env=swiftlet_env(work, database, extra),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    else:
        process = subprocess.Popen([PEERS, "run", stack, database.location, str(port)], env=dict(os.environ, JWT_SECRET=SECRET),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{stack} exited: {open(log.name).read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/products", timeout=2) as response:
                if response.status == 200:
                    return process, port
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    sys.exit(f"{stack} did not start")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / TICKS


def postgres_cpu_seconds():
    """CPU of the throwaway PostgreSQL: its postmaster, the backends alive now, and the
    backends that have exited (the postmaster's children's times)."""
    directory = os.environ.get("BENCH_POSTGRES_DATA")
    postmaster = int(open(os.path.join(directory, "postmaster.pid")).readline())
    fields = open(f"/proc/{postmaster}/stat").read().rsplit(")", 1)[1].split()
    total = sum(int(value) for value in fields[11:15])
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return total / TICKS + cpu_seconds(children)


def wrk(port, duration, script, env, path=""):
    output = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}", "--latency", "-s", script,
                             f"http://127.0.0.1:{port}{path}"], env=dict(os.environ, **env), capture_output=True, text=True).stdout
    pct = dict(re.findall(r"(p\d+)=(\d+)", re.search(r"PCT .*", output).group(0)))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])
    return dict(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
                requests=int(re.search(r"(\d+) requests in", output).group(1)),
                p50=int(pct["p50"]) / 1000, p99=int(pct["p99"]) / 1000, non2xx=non2xx)


def busy_seconds():
    """CPU time the whole machine has spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / TICKS


def wait_until_quiet():
    """Waits (up to QUIET_WAIT s) until other processes keep fewer than FOREIGN_MAX cores busy."""
    deadline = time.time() + QUIET_WAIT
    while True:
        before = busy_seconds()
        time.sleep(2)
        load = (busy_seconds() - before) / 2
        if load < FOREIGN_MAX or time.time() > deadline:
            if load >= FOREIGN_MAX:
                print(f"bench: still {load:.2f} cores busy after {QUIET_WAIT} s; measuring anyway", file=sys.stderr)
            return
        time.sleep(3)


def measure(engine, port, pid, duration, script, env, path=""):
    database = postgres_cpu_seconds if engine == "postgres" else (lambda: 0.0)
    children = lambda: sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    server_before, database_before, wrk_before, busy_before, started = cpu_seconds([pid]), database(), children(), busy_seconds(), time.time()
    result = wrk(port, duration, script, env, path)
    server, db, load = cpu_seconds([pid]) - server_before, database() - database_before, children() - wrk_before
    result["cpu_us"] = server / result["requests"] * 1e6
    result["db_cpu_us"] = db / result["requests"] * 1e6 if engine == "postgres" else None
    result["others"] = max(0.0, busy_seconds() - busy_before - server - db - load) / (time.time() - started)
    return result


def measured(engine, port, pid, script, env, path=""):
    """A warm-up and a run after waiting for a quiet machine; a run during which others kept
    FOREIGN_MAX cores or more busy is repeated once, and the less disturbed one kept."""
    wait_until_quiet()
    wrk(port, WARMUP, script, env, path)
    result = measure(engine, port, pid, DURATION, script, env, path)
    if result["others"] >= FOREIGN_MAX:
        wait_until_quiet()
        again = measure(engine, port, pid, DURATION, script, env, path)
        result = min(result, again, key=lambda r: r["others"])
    return result


def run(engine, stack, work):
    database = Database(engine, work, stack)
    subprocess.run([BINARY, "migrate", "up"], env=swiftlet_env(work, database), check=True, capture_output=True)
    database.seed()
    process, port = start(stack, work, database)
    try:
        # The catalogue first: after the orders run Swiftlet's outbox readers (webhooks,
        # subscribe messages) work through the events just written, which would be billed
        # to the catalogue page.
        products = measured(engine, port, process.pid, os.path.join(HERE, "wrk-report.lua"), {}, "/api/v1/products")
        if stack == "swiftlet-nocache":  # the catalogue without its cache: orders are the same as "swiftlet"
            return dict(engine=engine, stack=stack, orders=None, products=products)
        files = {"SKUS": os.path.join(work, "skus"), "TOKENS": os.path.join(work, "tokens")}
        orders = measured(engine, port, process.pid, os.path.join(HERE, "commerce-orders.lua"), files)
        return dict(engine=engine, stack=stack, orders=orders, products=products)
    finally:
        process.terminate()
        process.wait(timeout=30)


def report(name, lines, work):
    """Writes the table to bench/results/<name>-<time>.md, prints it and removes `work`."""
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    open(os.path.join(HERE, "results", f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.md"), "w").write(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


def main():
    work = tempfile.mkdtemp(prefix="swiftlet-orders-peers-")
    open(os.path.join(work, "skus"), "w").write("".join(f"k_bench{i:02d}\n" for i in range(20)))
    open(os.path.join(work, "tokens"), "w").write("".join(token(f"u_bench{i:02d}") + "\n" for i in range(64)))
    plan = [("sqlite", ["swiftlet", "swiftlet-nocache", "go"])]
    if os.environ.get("BENCH_POSTGRES_URL"):
        plan.append(("postgres", ["swiftlet", "swiftlet-nocache", "go", "node"]))
    results = []
    for engine, stacks in plan:
        for stack in stacks:
            print(f"bench: {engine} {stack}", file=sys.stderr, flush=True)
            results.append(run(engine, stack, work))
    names = {"swiftlet": "Swiftlet", "swiftlet-nocache": "Swiftlet, catalogue cache off", "go": "Go (pgx v4)", "node": "Node (pg)"}
    lines = [f"Orders and catalogue beside the database peers, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: wrk -t2 "
             f"-c{CONNECTIONS}, {DURATION} per run after {WARMUP} of warm-up, one run each, release build "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(os.path.getmtime(BINARY)))}).", "",
             "| engine | stack | orders/s | p50 ms | p99 ms | CPU µs/order (server) | CPU µs/order (PostgreSQL) | non-2xx "
             "| products req/s | p99 ms | CPU µs/req (server) | CPU µs/req (PostgreSQL) | others (cores: orders / products) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cell = lambda value: f"{value:.0f}" if value is not None else "–"
    for r in results:
        o, p = r["orders"], r["products"]
        name = names[r["stack"]] if not (r["stack"] == "go" and r["engine"] == "sqlite") else "Go (go-sqlite3)"
        orders = (f"{o['rps']:.0f} | {o['p50']:.2f} | {o['p99']:.2f} | {o['cpu_us']:.0f} | {cell(o['db_cpu_us'])} | {o['non2xx']}"
                  if o else "– | – | – | – | – | –")
        lines.append(f"| {r['engine']} | {name} | {orders} | {p['rps']:.0f} | {p['p99']:.2f} | {p['cpu_us']:.0f} | {cell(p['db_cpu_us'])} "
                     f"| {o['others'] if o else 0:.2f} / {p['others']:.2f} |")
    lines += ["", "| engine | Swiftlet ÷ | orders/s | orders p99 (lower is better) | products req/s, cache on | products CPU µs/req, cache on "
              "(lower is better) | products req/s, cache off | products CPU µs/req, cache off |",
              "|---|---|---|---|---|---|---|---|"]
    for engine, stacks in plan:
        by = {r["stack"]: r for r in results if r["engine"] == engine}
        s, off = by["swiftlet"], by["swiftlet-nocache"]
        for peer in stacks[2:]:
            q = by[peer]
            lines.append(f"| {engine} | {names[peer] if not (peer == 'go' and engine == 'sqlite') else 'Go (go-sqlite3)'} "
                         f"| {s['orders']['rps'] / q['orders']['rps']:.2f}× | {s['orders']['p99'] / q['orders']['p99']:.2f}× "
                         f"| {s['products']['rps'] / q['products']['rps']:.2f}× | {s['products']['cpu_us'] / q['products']['cpu_us']:.2f}× "
                         f"| {off['products']['rps'] / q['products']['rps']:.2f}× | {off['products']['cpu_us'] / q['products']['cpu_us']:.2f}× |")
    report("orders-peers", lines, work)


if __name__ == "__main__":
    main()
