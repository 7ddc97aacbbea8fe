#!/usr/bin/env python3
"""Webhook delivery on SQLite and PostgreSQL (called by bench/webhooks.sh).

For each engine, the release binary on a fresh database with 20 SKUs and 64 sandbox
buyers, and hookbench's receiver (Go, 204 at once) as the endpoint:

1. Outbox overhead: POST /api/v1/orders with wrk, without a webhook endpoint, then with
   one receiving every event type (the node delivering them meanwhile): orders/s both ways.
2. Latency: orders paced at RATE/s (open loop) for DURATION; the receiver records, per
   event, arrival time minus the event's occurredAt (event written → first attempt).
3. Throughput: a backlog of orders written while no node delivers
   (webhooks.deliver=false), then a node that delivers: deliveries/s until the receiver has
   them all, and the node's CPU time per delivery (utime+stime from /proc).

Appends a Markdown table to bench/results/webhooks-<time>.md and prints it."""
import json, os, subprocess, sys, tempfile, time, shutil, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import commerce  # noqa: E402  (serve, call, wrk)

HERE = commerce.HERE
HOOKBENCH = os.path.join(HERE, "webhooks", "hookbench")
RATE = int(os.environ.get("RATE", "1000"))
PACE_SECONDS = int(os.environ.get("PACE_SECONDS", "10"))
BACKLOG_SECONDS = os.environ.get("BACKLOG", "10s")
TICKS = os.sysconf("SC_CLK_TCK")


def stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
        return json.loads(response.read())


def reset(port):
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/reset", method="POST"), timeout=5).read()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def wait_for(port, count, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        current = stats(port)
        if current["unique"] >= count:
            return current
        time.sleep(0.05)
    return stats(port)


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def run(engine, env_extra, receiver_port):
    work = tempfile.mkdtemp(prefix=f"swiftlet-webhooks-{engine}-")
    env_fast = dict(env_extra, SWIFTLET_WEBHOOKS_POLL_INTERVAL="0.02")
    process, port, admin = commerce.serve(engine, work, env_fast)
    result = {"engine": engine}
    try:
        auth = {"Authorization": f"Bearer {admin}"}
        skus = [commerce.call(port, "POST", "/admin/v1/products", {"title": f"Bench {i}", "skus": [
            {"title": "Default", "priceFen": 100 + i, "stock": 10_000_000}]}, auth)["skus"][0]["id"] for i in range(20)]
        tokens = [commerce.call(port, "POST", "/api/v1/auth/wechat/login", {"code": f"buyer{i}:{time.time_ns()}"})["accessToken"]
                  for i in range(64)]
        files = {"SKUS": os.path.join(work, "skus"), "TOKENS": os.path.join(work, "tokens")}
        open(files["SKUS"], "w").write("\n".join(skus) + "\n")
        open(files["TOKENS"], "w").write("\n".join(tokens) + "\n")
        orders_script = os.path.join(HERE, "commerce-orders.lua")

        # 1. Orders/s without, then with, a webhook endpoint.
        result["without"] = commerce.wrk(port, orders_script, commerce.CONNECTIONS, files)
        commerce.call(port, "POST", "/admin/v1/webhooks", {"url": f"http://127.0.0.1:{receiver_port}/hook"}, auth)
        time.sleep(2)  # the user.created backlog of the logins goes first
        reset(receiver_port)
        result["with"] = commerce.wrk(port, orders_script, commerce.CONNECTIONS, files)
        result["with_delivered"] = wait_for(receiver_port, result["with"]["requests"] - result["with"]["non2xx"], 120)

        # 2. Latency at RATE events/s.
        time.sleep(1)
        reset(receiver_port)
        paced = subprocess.run([HOOKBENCH, "pace", "-url", f"http://127.0.0.1:{port}", "-rate", str(RATE),
                                "-duration", f"{PACE_SECONDS}s", "-tokens", files["TOKENS"], "-skus", files["SKUS"]],
                               capture_output=True, text=True, check=True)
        result["paced"] = json.loads(paced.stdout)
        result["latency"] = wait_for(receiver_port, result["paced"]["created"], 60)
        stop(process)

        # 3. A backlog written while nobody delivers, then one node delivering it.
        process, port, _ = commerce.serve(engine, work, dict(env_fast, SWIFTLET_WEBHOOKS_DELIVER="false"), key_name="bench-backlog")
        backlog = commerce.wrk(port, orders_script, commerce.CONNECTIONS, files)
        stop(process)
        reset(receiver_port)
        process, port, _ = commerce.serve(engine, work, env_fast, key_name="bench-drain")
        cpu_before, started = cpu_seconds(process.pid), time.time()
        events = backlog["requests"] - backlog["non2xx"]
        drained = wait_for(receiver_port, events, 300)
        elapsed, cpu = time.time() - started, cpu_seconds(process.pid) - cpu_before
        result["backlog"] = dict(events=events, delivered=drained["unique"], seconds=elapsed,
                                 rate=drained["unique"] / elapsed if elapsed else 0,
                                 cpu_us=cpu * 1e6 / max(1, drained["unique"]), duplicates=drained["duplicates"])
        return result
    finally:
        if process.poll() is None:
            stop(process)
        shutil.rmtree(work, ignore_errors=True)


def main():
    receiver_port = int(os.environ.get("RECEIVER_PORT", "9900"))
    receiver = subprocess.Popen([HOOKBENCH, "receive", "-port", str(receiver_port)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        results = [run("sqlite", {}, receiver_port)]
        if os.environ.get("BENCH_POSTGRES_URL"):
            results.append(run("postgres", {"SWIFTLET_STORAGE_ENGINE": "postgres", "SWIFTLET_STORAGE_AUTO_MIGRATE": "true",
                                            "SWIFTLET_STORAGE_POSTGRES_URL": os.environ["BENCH_POSTGRES_URL"]}, receiver_port))
    finally:
        receiver.terminate()
    lines = [f"Webhook benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, release build, "
             f"wrk -t2 -c{commerce.CONNECTIONS} {commerce.DURATION} per run, receiver: hookbench (Go net/http, 204).", "",
             "| engine | orders/s without webhooks | orders/s with an endpoint (all events) | ratio | delivered during the run |",
             "|---|---|---|---|---|"]
    for r in results:
        ratio = r["with"]["rps"] / r["without"]["rps"]
        lines.append(f"| {r['engine']} | {r['without']['rps']:.0f} | {r['with']['rps']:.0f} | {ratio:.2f} | "
                     f"{r['with_delivered']['unique']} of {r['with']['requests']} (dup {r['with_delivered']['duplicates']}) |")
    lines += ["", f"| engine | paced orders/s (achieved) | order answer p50 / p99 ms | events delivered | placed → first attempt p50 ms | p99 ms | p99.9 ms | max ms |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        p, l = r["paced"], r["latency"]
        lines.append(f"| {r['engine']} | {RATE} ({p['rate']:.0f}, {p['failed']} failed) | {p['p50']:.1f} / {p['p99']:.1f} | {l['unique']} of {p['created']} | "
                     f"{l['p50']:.1f} | {l['p99']:.1f} | {l['p999']:.1f} | {l.get('max', 0):.1f} |")
    lines += ["", "| engine | backlog events | deliveries/s (one node) | CPU µs per delivery (server) | duplicates |", "|---|---|---|---|---|"]
    for r in results:
        b = r["backlog"]
        lines.append(f"| {r['engine']} | {b['events']} | {b['rate']:.0f} | {b['cpu_us']:.0f} | {b['duplicates']} |")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    open(os.path.join(HERE, "results", f"webhooks-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
