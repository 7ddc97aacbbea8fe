#!/usr/bin/env python3
"""The flash sale at full size (called by bench/flash-sale.sh): BUYERS buyers (10,000), each
a signed-in user on a connection of its own, all asking at once for one unit of a
flash-sale SKU with UNITS units (100), on SQLite, PostgreSQL, and PostgreSQL + Redis.

Per setup: how long until every buyer had an answer, the answer-time percentiles, the
answers by status and code, the orders written and the units oversold (must be 0), the
CPU the server (and PostgreSQL) spent, and the accounting after the unpaid timeout (no
buyer pays here, so every unit must come back: paid + released = UNITS). Writes a Markdown
table to bench/results/flash-sale-<time>.md and prints it."""
import json, os, subprocess, sys, tempfile, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from orders_peers import BINARY, NOW_MS, Database, cpu_seconds, free_port, postgres_cpu_seconds, psql, report, swiftlet_env, token

BUYERS = int(os.environ.get("BUYERS", "10000"))
UNITS = int(os.environ.get("UNITS", "100"))
UNPAID = int(os.environ.get("UNPAID_TIMEOUT", "15"))
BUYERS_BIN = os.environ.get("BUYERS_BIN", "/tmp/swiftlet-flash-buyers")
SKU = "k_flash"


def seed(engine):
    true = "TRUE" if engine == "postgres" else "1"
    lines = ["BEGIN;"]
    lines += [f"INSERT INTO users (id, openid, created_at, updated_at) VALUES ('u_flash{i:05d}', 'o_flash{i:05d}', {NOW_MS}, {NOW_MS});"
              for i in range(BUYERS)]
    lines.append(f"INSERT INTO products (id, title, description, image_url, on_shelf, created_at, updated_at) VALUES "
                 f"('p_flash', 'Flash sale', 'One unit per buyer', NULL, {true}, {NOW_MS}, {NOW_MS});")
    lines.append(f"INSERT INTO skus (id, product_id, title, price_fen, stock, flash_sale, position, created_at, updated_at) VALUES "
                 f"('{SKU}', 'p_flash', 'One', 990, {UNITS}, {true}, 0, {NOW_MS}, {NOW_MS});")
    lines.append("COMMIT;")
    return "\n".join(lines)


def query(database, sql):
    if database.engine == "sqlite":
        return subprocess.run(["sqlite3", database.location, sql], capture_output=True, text=True, check=True).stdout.strip()
    return psql(database.location, sql).strip()


def counts(database):
    row = query(database, f"""SELECT (SELECT COUNT(*) FROM order_items WHERE sku_id = '{SKU}'),
        (SELECT stock FROM skus WHERE id = '{SKU}'),
        (SELECT COUNT(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.sku_id = '{SKU}' AND o.status = 'cancelled'),
        (SELECT COUNT(DISTINCT user_id) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.sku_id = '{SKU}')""")
    ordered, stock, cancelled, users = (int(v) for v in row.replace("|", " ").split())
    return dict(ordered=ordered, stock=stock, cancelled=cancelled, users=users)


def redis_cli(port, *words):
    return subprocess.run(["redis-cli", "-p", str(port), *words], capture_output=True, text=True).stdout.strip()


def run(engine, with_redis, work):
    name = f"flash-{engine}{'-redis' if with_redis else ''}"
    database = Database(engine, work, name.replace("-", "_"))
    subprocess.run([BINARY, "migrate", "up"], env=swiftlet_env(work, database), check=True, capture_output=True)
    if engine == "sqlite":
        subprocess.run(["sqlite3", database.location], input=seed(engine), text=True, check=True)
    else:
        psql(database.location, seed(engine))
    redis = None
    extra = {"SWIFTLET_HTTP_BACKLOG": "16384", "SWIFTLET_COMMERCE_UNPAID_TIMEOUT": str(UNPAID),
             "SWIFTLET_JOBS_POLL_INTERVAL": "0.5", "SWIFTLET_COMMERCE_FLASH_SALE_RECONCILE": "1"}
    if with_redis:
        redis_port = free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        extra["SWIFTLET_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}"
    port = free_port()
    extra["SWIFTLET_HTTP_PORT"] = str(port)
    log = open(os.path.join(work, f"{name}.log"), "w")
    server = subprocess.Popen([BINARY, "serve"], env=swiftlet_env(work, database, extra), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/products", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() > deadline or server.poll() is not None:
                sys.exit(f"{name} did not start: {open(log.name).read()[-2000:]}")
            time.sleep(0.1)
        if with_redis:
            # The node's reconciler loads the SKU into Redis (and learns it is a flash sale).
            while redis_cli(redis_port, "HGET", f"swiftlet:flash:{{{SKU}}}", "stock") != str(UNITS):
                if time.time() > deadline:
                    sys.exit(f"{name}: the flash-sale SKU never reached Redis")
                time.sleep(0.2)
        database_cpu = postgres_cpu_seconds if engine == "postgres" else (lambda: 0.0)
        server_before, database_before = cpu_seconds([server.pid]), database_cpu()
        profile = None
        if os.environ.get("PROFILE_DIR"):  # perf record of the server during the sale, for perf report
            profile = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(server.pid), "-o",
                                        os.path.join(os.environ["PROFILE_DIR"], f"{name}.perf.data")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        result = subprocess.run([BUYERS_BIN, "-url", f"http://127.0.0.1:{port}", "-sku", SKU, "-tokens", os.path.join(work, "tokens")],
                                capture_output=True, text=True, check=True)
        if profile:
            profile.send_signal(2)
            profile.wait(timeout=30)
        sale = json.loads(result.stdout)
        sale["server_cpu_s"] = cpu_seconds([server.pid]) - server_before
        sale["database_cpu_s"] = database_cpu() - database_before if engine == "postgres" else None
        sale.update(counts(database))
        sale["redis_units_after_sale"] = redis_cli(redis_port, "HGET", f"swiftlet:flash:{{{SKU}}}", "stock") if with_redis else None
        # Nobody pays: after the unpaid timeout every unit must be back.
        deadline = time.time() + UNPAID + 60
        while time.time() < deadline:
            after = counts(database)
            if after["cancelled"] == sale["ordered"] and after["stock"] == UNITS:
                break
            time.sleep(0.5)
        sale["after_timeout"] = after
        sale["redis_units_after_timeout"] = (redis_cli(redis_port, "HGET", f"swiftlet:flash:{{{SKU}}}", "stock")
                                             if with_redis else None)
        sale["setup"] = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[engine] + (" + Redis" if with_redis else "")
        return sale
    finally:
        server.terminate()
        server.wait(timeout=30)
        if redis:
            redis.terminate()
            redis.wait(timeout=10)


def main():
    work = tempfile.mkdtemp(prefix="swiftlet-flash-sale-")
    open(os.path.join(work, "tokens"), "w").write("".join(token(f"u_flash{i:05d}") + "\n" for i in range(BUYERS)))
    plan = [("sqlite", False)]
    if os.environ.get("BENCH_POSTGRES_URL"):
        plan += [("postgres", False), ("postgres", True)]
    results = []
    for engine, with_redis in plan:
        print(f"bench: flash sale on {engine}{' + redis' if with_redis else ''}", file=sys.stderr, flush=True)
        results.append(run(engine, with_redis, work))
    lines = [f"Flash sale, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {BUYERS:,} buyers at once (a connection each), "
             f"{UNITS} units, one run each, release build; unpaid timeout {UNPAID} s, nobody pays.", "",
             "| setup | orders (201) | sold out (409) | other answers | all answered, s | p50 ms | p99 ms | max ms "
             "| oversold | units back after the timeout | CPU s (server) | CPU s (PostgreSQL) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        outcomes = dict(r["outcomes"])
        created = outcomes.pop("201", 0)
        sold_out = outcomes.pop("409 order.sold_out", 0)
        other = ", ".join(f"{k}: {v}" for k, v in outcomes.items()) or "0"
        oversold = max(0, r["ordered"] - UNITS) + (1 if r["stock"] < 0 else 0)
        back = r["after_timeout"]["stock"]
        back_text = f"{back} of {UNITS} ({r['after_timeout']['cancelled']} cancelled)"
        if r["redis_units_after_timeout"] is not None:
            back_text += f"; Redis {r['redis_units_after_sale']} → {r['redis_units_after_timeout']}"
        db_cpu = f"{r['database_cpu_s']:.2f}" if r["database_cpu_s"] is not None else "–"
        lines.append(f"| {r['setup']} | {created} | {sold_out} | {other} | {r['all_answered_ms'] / 1000:.2f} | {r['p50_ms']:.0f} "
                     f"| {r['p99_ms']:.0f} | {r['max_ms']:.0f} | {oversold} | {back_text} | {r['server_cpu_s']:.2f} | {db_cpu} |")
        if r["errors"]:
            lines.append(f"|  | errors: {r['errors']} |")
    report("flash-sale", lines, work)


if __name__ == "__main__":
    main()
