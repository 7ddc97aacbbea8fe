#!/usr/bin/env python3
"""GET /api/v1/products without Swiftlet's catalogue cache beside the Go peer
(bench/peers/go-orders) doing the same reads, in alternating rounds (called by
bench/catalogue-rounds.sh). With WHAT=orders, POST /api/v1/orders instead (Swiftlet as
deployed, the same orders as bench/orders-peers.sh).

bench/orders-peers.sh measures each stack once; on a shared two-core machine one run moves
by 10-25 % with what else the host runs, enough to flip a ratio near 1. Here both servers
run side by side on their own fresh databases (orders_peers.py's schema and seed) and are
measured in turn, ROUNDS times, the order swapped every round so that a drift in the
machine's speed weighs on both alike. Each round's ratio and the median of the rounds are
reported. Writes bench/results/catalogue-rounds-<time>.md and prints it."""
import os, statistics, sys, time

import orders_peers as op

ROUNDS = int(os.environ.get("ROUNDS", "5"))
ENGINES = os.environ.get("ENGINES", "postgres sqlite").split()
WHAT = os.environ.get("WHAT", "catalogue")
if WHAT not in ("catalogue", "orders"):
    sys.exit(f"WHAT must be catalogue or orders, not {WHAT}")
# The catalogue is measured with Swiftlet's cache off; orders with Swiftlet as deployed.
SWIFTLET = "swiftlet-nocache" if WHAT == "catalogue" else "swiftlet"


def workload(work):
    """The wrk script, its environment and the path measured."""
    if WHAT == "catalogue":
        return os.path.join(op.HERE, "wrk-report.lua"), {}, "/api/v1/products"
    files = {"SKUS": os.path.join(work, "skus"), "TOKENS": os.path.join(work, "tokens")}
    return os.path.join(op.HERE, "commerce-orders.lua"), files, ""


def rounds(engine, work):
    servers = {}
    try:
        for stack in (SWIFTLET, "go"):
            database = op.Database(engine, work, f"rounds-{stack}")
            op.subprocess.run([op.BINARY, "migrate", "up"], env=op.swiftlet_env(work, database), check=True, capture_output=True)
            database.seed()
            servers[stack] = op.start(stack, work, database)
        results = []
        for index in range(ROUNDS):
            order = (SWIFTLET, "go") if index % 2 == 0 else ("go", SWIFTLET)
            measured = {}
            for stack in order:
                process, port = servers[stack]
                print(f"bench: {engine} round {index + 1} {stack}", file=sys.stderr, flush=True)
                measured[stack] = op.measured(engine, port, process.pid, *workload(work))
            results.append(measured)
        return results
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)


def main():
    work = op.tempfile.mkdtemp(prefix=f"swiftlet-{WHAT}-rounds-")
    open(os.path.join(work, "skus"), "w").write("".join(f"k_bench{i:02d}\n" for i in range(20)))
    open(os.path.join(work, "tokens"), "w").write("".join(op.token(f"u_bench{i:02d}") + "\n" for i in range(64)))
    title = "Catalogue page without the cache" if WHAT == "catalogue" else "Orders"
    unit = "req/s" if WHAT == "catalogue" else "orders/s"
    engines = [e for e in ENGINES if e == "sqlite" or os.environ.get("BENCH_POSTGRES_URL")]
    lines = [f"{title}, Swiftlet beside Go, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"wrk -t2 -c{op.CONNECTIONS}, {op.DURATION} per run after {op.WARMUP} of warm-up, {ROUNDS} alternating rounds, "
             f"release build ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(os.path.getmtime(op.BINARY)))}).", "",
             f"| engine | round | Swiftlet {unit} | Swiftlet CPU µs/req | Go {unit} | Go CPU µs/req | {unit} ÷ Go | CPU ÷ Go (lower is better) "
             "| p99 ms (Swiftlet / Go) | database CPU µs/req (Swiftlet / Go) | others (cores) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    summary = []
    for engine in engines:
        results = rounds(engine, work)
        speed, cpu = [], []
        for index, r in enumerate(results):
            s, g = r[SWIFTLET], r["go"]
            speed.append(s["rps"] / g["rps"])
            cpu.append(s["cpu_us"] / g["cpu_us"])
            database = (f"{s['db_cpu_us']:.0f} / {g['db_cpu_us']:.0f}" if s["db_cpu_us"] is not None else "–")
            lines.append(f"| {engine} | {index + 1} | {s['rps']:.0f} | {s['cpu_us']:.0f} | {g['rps']:.0f} | {g['cpu_us']:.0f} "
                         f"| {speed[-1]:.2f}× | {cpu[-1]:.2f}× | {s['p99']:.1f} / {g['p99']:.1f} | {database} "
                         f"| {s['others']:.2f} / {g['others']:.2f} |")
        summary.append(f"- {engine}: median {unit} ÷ Go {statistics.median(speed):.2f}× (rounds {min(speed):.2f}–{max(speed):.2f}×), "
                       f"median CPU ÷ Go {statistics.median(cpu):.2f}× ({min(cpu):.2f}–{max(cpu):.2f}×)")
    op.report(f"{WHAT}-rounds", lines + [""] + summary, work)


if __name__ == "__main__":
    main()
