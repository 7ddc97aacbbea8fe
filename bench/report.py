#!/usr/bin/env python3
"""Turns a bench.py results folder into docs/benchmarks.md, docs/benchmarks.csv and
docs/benchmarks.png: medians over rounds, ratios to Gin and to the nginx ceiling."""
import csv, glob, os, platform, statistics, subprocess, sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DOCS = os.path.join(ROOT, "docs")
ORDER = ["nginx", "go-gin", "go-nethttp", "node-http", "node-express", "fastapi-2w", "hummingbird", "vapor", "swiftlet", "swiftlet-postgres"]


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except Exception:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stderr.strip().splitlines()[0]
        except Exception:
            return "unknown"


def median(values):
    return statistics.median(values) if values else float("nan")


def sections(markdown):
    """(title, text) of each `## ` section of `markdown`, in order."""
    found, title, current = [], None, []
    for line in markdown.split("\n"):
        if line.startswith("## "):
            if title is not None:
                found.append((title, "\n".join(current).rstrip() + "\n"))
            title, current = line[3:].strip(), [line]
        elif title is not None:
            current.append(line)
    if title is not None:
        found.append((title, "\n".join(current).rstrip() + "\n"))
    return found


def section_titles(markdown):
    return [title for title, _ in sections(markdown)]


def telemetry_section(medians, telemetry, conns):
    """CPU µs per request of the same node with metrics off, on (the default), and traced at
    1 % and 100 %, beside Gin's /json: what observability costs, in the run's own rounds."""
    labels = {"swiftlet-metrics-off": "Swiftlet, metrics off", "swiftlet": "Swiftlet, metrics on (default)",
              "swiftlet-tracing-1": "metrics + tracing, 1 % sampled", "swiftlet-tracing-100": "metrics + tracing, 100 % sampled"}
    columns = [(e, c) for e in ["/json", "/api/v1/me"] for c in conns if any((s, e, c) in medians for s in telemetry)]
    lines = ["## Telemetry cost per request (`BENCH_TELEMETRY=1`)", "",
             "CPU µs per request, medians of this run's rounds; in brackets the change against metrics off.",
             "The traced nodes export to an nginx that accepts OTLP and discards it. How to read it, and a",
             "profile: [Telemetry cost](#telemetry-cost-metrics-tracing).", "",
             "| stack | " + " | ".join(f"`{e}` c={c}" for e, c in columns) + " |", "|---|" + "---:|" * len(columns)]
    gin = [medians.get(("go-gin", e, c)) for e, c in columns]
    if any(gin):
        lines.append("| Gin | " + " | ".join(f"{m['cpu_us_per_request']:.1f}" if m else "" for m in gin) + " |")
    for s in telemetry:
        cells = []
        for e, c in columns:
            m, off = medians.get((s, e, c)), medians.get(("swiftlet-metrics-off", e, c))
            if not m:
                cells.append("")
            elif s == "swiftlet-metrics-off" or not off:
                cells.append(f"{m['cpu_us_per_request']:.1f}")
            else:
                change = (m["cpu_us_per_request"] / off["cpu_us_per_request"] - 1) * 100
                cells.append(f"{m['cpu_us_per_request']:.1f} ({change:+.0f} %)")
        if any(cells):
            lines.append(f"| {labels[s]} | " + " | ".join(cells) + " |")
    return lines + [""]


def main(results):
    runs = list(csv.DictReader(open(os.path.join(results, "runs.csv"))))
    servers = list(csv.DictReader(open(os.path.join(results, "servers.csv"))))
    rounds = len({r["round"] for r in runs})
    groups = defaultdict(list)
    for r in runs:
        groups[(r["stack"], r["endpoint"], int(r["conns"]))].append(r)
    medians = {}
    for key, rows in groups.items():
        medians[key] = {f: median([float(r[f]) for r in rows]) for f in
                        ["rps", "p50_ms", "p99_ms", "p999_ms", "cpu_us_per_request", "foreign_cores"]}
        medians[key]["errors"] = sum(int(r["socket_errors"]) + int(r["non2xx"]) for r in rows)
    stacks = [s for s in ORDER if any(k[0] == s for k in medians)]
    known = ["/plaintext", "/json", "/user/42", "/api/v1/me", "/api/v1/products"]
    endpoints = sorted({k[1] for k in medians}, key=lambda e: known.index(e) if e in known else 9)
    conns = sorted({k[2] for k in medians})

    with open(os.path.join(DOCS, "benchmarks.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["stack", "endpoint", "conns", "rps_median", "p50_ms", "p99_ms", "p999_ms", "cpu_us_per_request", "errors", "rounds"])
        for s in stacks:
            for e in endpoints:
                for c in conns:
                    m = medians.get((s, e, c))
                    if m:
                        w.writerow([s, e, c, round(m["rps"]), m["p50_ms"], m["p99_ms"], m["p999_ms"], m["cpu_us_per_request"], m["errors"], rounds])

    def ratio(s, e, c, ref):
        a, b = medians.get((s, e, c)), medians.get((ref, e, c))
        return f"{a['rps'] / b['rps']:.2f}×" if a and b and b["rps"] else "—"

    lines = ["# Benchmarks", "",
             "Generated by `bench/run.sh` (see `bench/README.md`). Every stack serves the same endpoints on",
             "127.0.0.1 and is loaded alone with `wrk -t1`, in interleaved rounds (A B C … A B C …) so machine",
             "drift hits all stacks alike. Server and wrk share the machine's 2 cores, so **absolute numbers mean",
             "little: compare ratios** (to Gin, and to nginx as the ceiling of this machine) and CPU µs per request,",
             "which is steadier than requests/s on a shared machine.", "",
             f"- Rounds: {rounds}; medians shown. Raw wrk output: `bench/results/<stamp>/` (not committed).",
             f"- Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Linux {platform.release()}.",
             f"- Versions: {version(['swift', '--version'])}; {version(['go', 'version'])}; node {version(['node', '--version'])};",
             f"  {version(['python3', '--version'])}; {version(['nginx', '-v'])}; {version(['wrk', '--version'])}.",
             "- Swiftlet runs its full production stack: request ids, JSON access log to a file, error mapping,",
             "  connection deadlines. I/O-free GETs (the three peer endpoints, a cached `/api/v1/me`) are answered",
             "  on the inline lane (docs/architecture.md). `/api/v1/me` checks the bearer token (signature verified",
             "  once, then expiry and revocation on every request) and reads the user through the per-node 2 s cache;",
             "  `/api/v1/products` is the first catalogue page, served from the per-node catalogue cache (1 s of stock",
             "  age; one query per second refills it; bench/orders-peers.sh measures it with the cache off too).", ""]
    for e in endpoints:
        lines += [f"## `{e}`", "", "| stack | " + " | ".join(f"c={c} req/s" for c in conns) + " | " +
                  " | ".join(f"c={c} p99 ms" for c in conns) + " | c=256 p99.9 ms | CPU µs/req (c=256) | ×Gin (c=256) | ×nginx (c=256) | errors |",
                  "|---|" + "---:|" * (2 * len(conns) + 5)]
        for s in stacks:
            row = [medians.get((s, e, c)) for c in conns]
            if not any(row):
                continue
            m256 = medians.get((s, e, 256)) or {}
            lines.append(f"| {s} | " + " | ".join(f"{m['rps']:,.0f}" if m else "—" for m in row) + " | " +
                         " | ".join(f"{m['p99_ms']:.2f}" if m else "—" for m in row) + " | " +
                         (f"{m256['p999_ms']:.2f}" if m256 else "—") + " | " +
                         (f"{m256['cpu_us_per_request']:.1f}" if m256 else "—") + " | " +
                         ratio(s, e, 256, "go-gin") + " | " + ratio(s, e, 256, "nginx") + " | " +
                         str(sum((m or {}).get("errors", 0) for m in row)) + " |")
        lines.append("")

    by_stack = defaultdict(list)
    for r in servers:
        by_stack[r["stack"]].append(r)
    lines += ["## Start-up and memory", "",
              "| stack | start to first 200 (ms) | idle RSS (MB) | RSS under c=1000 (MB) | peak RSS (MB) |", "|---|---:|---:|---:|---:|"]
    for s in stacks:
        rows = by_stack.get(s, [])
        if rows:
            lines.append(f"| {s} | {median([float(r['startup_ms']) for r in rows]):.0f} | "
                         f"{median([int(r['idle_rss_kb']) for r in rows]) / 1024:.1f} | "
                         f"{median([int(r['rss_under_load_kb']) for r in rows]) / 1024:.1f} | "
                         f"{median([int(r['peak_rss_kb']) for r in rows]) / 1024:.1f} |")
    lines += ["", "Swiftlet's start-up is measured to a ready `/health/ready` (database answering), the others' to",
              "their first `/plaintext`.", "", "![requests/s at c=256](benchmarks.png)", ""]
    telemetry = ["swiftlet-metrics-off", "swiftlet", "swiftlet-tracing-1", "swiftlet-tracing-100"]
    if any(k[0] == "swiftlet-tracing-1" for k in medians):
        lines += telemetry_section(medians, telemetry, conns)
    cluster = sorted(glob.glob(os.path.join(HERE, "results", "cluster-*.md")))
    if cluster:
        lines += ["## Several nodes", "", open(cluster[-1]).read(),
                  "How the nodes share state, and what happens when Redis is down: "
                  "[operations.md, Running several nodes](operations.md#running-several-nodes).", ""]
    commerce = sorted(glob.glob(os.path.join(HERE, "results", "commerce-*.md")))
    if commerce:
        lines += ["## Orders and payment notifications (`bench/commerce.sh`)", "", open(commerce[-1]).read(),
                  "What limits order creation, and what comes next: [commerce.md, Performance](commerce.md#performance).", ""]
    notes = os.path.join(HERE, "NOTES.md")
    notes_text = open(notes).read() if os.path.exists(notes) else ""
    # Sections written by hand (each from its own script's run: realtime, webhooks, guards,
    # telemetry, …) stay where they are; only the sections made here are replaced.
    target = os.path.join(DOCS, "benchmarks.md")
    previous = open(target).read() if os.path.exists(target) else ""
    made = set(section_titles("\n".join(lines) + "\n" + notes_text))
    lines += [text for title, text in sections(previous) if title not in made]
    if notes_text:
        lines += [notes_text]
    open(target, "w").write("\n".join(lines))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        shown = [e for e in endpoints]
        fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4.5), squeeze=False)
        for ax, e in zip(axes[0], shown):
            names = [s for s in stacks if (s, e, 256) in medians]
            values = [medians[(s, e, 256)]["rps"] for s in names]
            colors = ["#d9534f" if s.startswith("swiftlet") else "#888888" for s in names]
            ax.barh(names, values, color=colors)
            ax.set_title(f"{e}  (c=256)")
            ax.set_xlabel("requests/s (median)")
            ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(os.path.join(DOCS, "benchmarks.png"), dpi=110)
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
