#!/usr/bin/env python3
"""Load shedding under overload (called by bench/shedding.sh).

On SQLite, with shedding off and then on, a fresh release-build server: 20 products and 64
sandbox buyers; the node's capacity for POST /api/v1/orders measured closed-loop (64
connections, 5 s); then three times that offered open-loop for DURATION seconds (requests
sent on schedule whatever the answers take, as overload arrives), the same rate for both
runs: three times the capacity measured without shedding. Prints goodput (orders created
per second, counted until the last answer), p50/p99 of the created ones, how many were refused with 503 and how
many failed otherwise (timeouts at 10 s)."""
import json, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from commerce import call, serve  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "guards", "guardbench")
DURATION = os.environ.get("DURATION", "10s")


def run(shedding, offered=None):
    work = tempfile.mkdtemp(prefix="swiftlet-shedding-")
    process, port, admin = serve("sqlite", work, {"SWIFTLET_SHEDDING_ENABLED": "true" if shedding else "false"})
    try:
        auth = {"Authorization": f"Bearer {admin}"}
        skus = [call(port, "POST", "/admin/v1/products", {"title": f"Bench {i}", "skus": [
            {"title": "Default", "priceFen": 100 + i, "stock": 10_000_000}]}, auth)["skus"][0]["id"] for i in range(20)]
        tokens = [call(port, "POST", "/api/v1/auth/wechat/login", {"code": f"buyer{i}:{time.time_ns()}"})["accessToken"]
                  for i in range(64)]
        with open(os.path.join(work, "tokens"), "w") as f:
            f.write("\n".join(tokens))
        with open(os.path.join(work, "skus"), "w") as f:
            f.write("\n".join(skus))
        files = f"{work}/tokens,{work}/skus"
        base = f"http://127.0.0.1:{port}"

        def load(*args):
            out = subprocess.run([GENERATOR, "-url", base, "-orders", files, *args], capture_output=True, text=True, check=True)
            return json.loads(out.stdout)

        load("-conns", "64", "-duration", "2s")
        closed = load("-conns", "64", "-duration", "5s")
        capacity = closed["ok"] / closed["seconds"]
        offered = offered or int(capacity * 3)
        result = load("-rate", str(offered), "-duration", DURATION)
        return dict(shedding=shedding, capacity=capacity, offered=offered, goodput=result["ok"] / result["seconds"],
                    p50=result["p50_ms"], p99=result["p99_ms"], shed=result["shed"], failed=result["failed"],
                    requests=result["requests"])
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


# The same offered load for both: three times the capacity measured without shedding.
first = run(False)
rows = [first, run(True, offered=first["offered"])]
print("| shedding | capacity (orders/s, closed loop, 64 connections) | offered (orders/s) | goodput (orders/s, until the last answer) | p50 ms | p99 ms | 503 overloaded | other failures |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {'on' if r['shedding'] else 'off'} | {r['capacity']:,.0f} | {r['offered']:,} | {r['goodput']:,.0f} | "
          f"{r['p50']:.0f} | {r['p99']:.0f} | {r['shed']:,} | {r['failed']:,} |")
