#!/usr/bin/env python3
"""Renders bench/realtime.sh's raw results (one JSON per stack and mode, from loadgen) as
Markdown on stdout: a table per mode, then Swiftlet's ratios to each peer.

    python3 bench/realtime/report.py bench/results/realtime-<time>/
"""
import json, os, platform, sys, time

RAW = sys.argv[1]
STACKS = os.environ.get("STACKS", "go-ws node-ws swiftlet").split()
MODES = os.environ.get("MODES", "idle delivery resume").split()
PEERS = [s for s in STACKS if s != "swiftlet"]
SUBJECT = "swiftlet"


def load(stack, mode):
    path = os.path.join(RAW, f"{stack}-{mode}.json")
    if os.path.exists(path):
        return json.load(open(path))
    return None


def failure(stack, mode):
    """The load generator's last words when a run produced no result."""
    path = os.path.join(RAW, f"{stack}-{mode}.err")
    if not os.path.exists(path):
        return "not run"
    lines = [line.strip() for line in open(path) if line.strip() and not line.startswith("  loadgen:")]
    return (lines[-1] if lines else "failed").replace("|", "/")


def num(value, digits=1):
    return f"{value:,.{digits}f}"


def ratio(subject, peer, lower_is_better, fmt):
    """`0.85× (4.2 / 4.9 KB)`: Swiftlet's number over the peer's, both shown."""
    if subject is None or peer is None or (not subject and not peer):
        return None
    if not peer or not subject:  # a rate held by one side only
        return f"{fmt(subject) if subject else 'none'} vs {fmt(peer) if peer else 'none'}" + (" (better)" if subject else "")
    r = subject / peer
    better = (r < 1) if lower_is_better else (r > 1)
    return f"{r:.2f}× ({fmt(subject)} / {fmt(peer)})" + (" (better)" if better and abs(r - 1) >= 0.05 else "")


results = {(s, m): load(s, m) for s in STACKS for m in MODES}
out = []
say = out.append

say(f"# Realtime benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
say("")
say(f"Command: `{os.environ.get('COMMAND', 'bench/realtime.sh')}`  ")
say(f"Settings: `{os.environ.get('SETTINGS', '')}`  ")
if SUBJECT in STACKS:
    say(f"Swiftlet: `{os.environ.get('SWIFTLET_SETTINGS', '')}`  ")
say(f"Machine: {os.cpu_count()} cores, Linux {platform.release()}; the load generator (Go, gorilla/websocket) runs "
    "on the same cores as the server, one server at a time, each started fresh for each mode.")
say("")
say("Swiftlet writes every message to its database (SQLite here) before delivering it and resumes from "
    "the database; the peers (`go-ws`: Go + gorilla/websocket, `node-ws`: Node + ws) keep the last 1,000 "
    "messages per user in memory and deliver to each recipient connection without a sender echo. "
    "All three verify an HS256 JWT on every upgrade and POST.")
if os.environ.get("SWIFTLET_REALTIME") == "0":
    say("")
    say("**Swiftlet not measured** (`SWIFTLET_REALTIME=0`): peers only.")
notes = os.path.join(RAW, "notes.txt")
for line in (open(notes).read().splitlines() if os.path.exists(notes) else []):
    if line.strip():
        say("")
        say(f"Note: {line}")
say("")
say("`others` is the CPU (in cores) that processes other than the server and the load generator kept busy "
    "meanwhile: this machine is shared, and a run beside a busy neighbour says less.")

if "idle" in MODES:
    say("")
    say("## Idle connections")
    say("")
    say("N authenticated connections (one user each) open and caught up, then left alone; the server pings "
        "every 25 s. Memory is the server's RSS growth per connection after the idle window; CPU is the "
        "server's user + system time over the window per connection and second.")
    say("")
    say("| stack | connections | opened in s | per s | RSS before MB | RSS after MB | KB per connection | CPU µs per connection·s | dropped | others |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    for s in STACKS:
        r = results[(s, "idle")]
        if not r:
            say(f"| {s} | failed: {failure(s, 'idle')} | | | | | | | | |")
            continue
        say(f"| {s} | {r['connected']:,}" + (f" ({r['failed']} failed)" if r["failed"] else "") +
            f" | {num(r['connectSeconds'])} | {num(r['connectsPerSecond'], 0)} | {num(r['rssBeforeBytes'] / 1e6)} "
            f"| {num(r['rssAfterBytes'] / 1e6)} | {num(r['bytesPerConnection'] / 1024, 2)} "
            f"| {num(r['cpuMicrosPerConnectionSecond'], 3)} | {r['droppedWhileIdle']} | {num(r['foreignCores'], 2)} |")

if "delivery" in MODES:
    say("")
    say("## Delivery")
    say("")
    say("U users connected (one connection each); DMs POSTed at a fixed rate between random users; latency "
        "from the start of the POST to the frame on the recipient's socket. A rate is held when p99 stays "
        "below the bound, every POST got 201, every message arrived at its recipient, and the load generator "
        "kept its schedule (send lag p99, from when a POST was due to when it started, below the same bound). "
        "The load generator shares the 2 cores: at the top rates it and the server need both, and a step lost "
        "to send lag says the machine, not the server, ran out.")
    say("")
    say("| stack | users | highest rate held | copies to senders' sockets |")
    say("|---|---|---|---|")
    for s in STACKS:
        r = results[(s, "delivery")]
        if not r:
            say(f"| {s} | failed: {failure(s, 'delivery')} | | |")
            continue
        bound = r["p99MaxMs"]
        say(f"| {s} | {r['users']:,} | " + (f"**{r['maxHeldRate']:,} msg/s** (p99 < {bound:g} ms, no loss)"
                                            if r["maxHeldRate"] else f"none (p99 < {bound:g} ms, no loss)") +
            f" | {r.get('senderCopies', 0):,} |")
    if any((results[(s, "delivery")] or {}).get("steps") for s in STACKS):
        say("")
        say("| stack | msg/s | sent/s | send lag p99 ms | p50 ms | p99 ms | p99.9 ms | max ms | posted | lost | errors | server CPU µs/msg | others | held |")
        say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s in STACKS:
        r = results[(s, "delivery")]
        for step in (r or {}).get("steps", []):
            held = "yes" if step["held"] else "no"
            if step.get("disturbed"):
                held += " (disturbed)"
            say(f"| {s} | {step['rate']:,} | {num(step['achievedRate'], 0)} | {step['sendLagP99Ms']:.1f} "
                f"| {step['p50Ms']:.2f} | {step['p99Ms']:.2f} "
                f"| {step['p999Ms']:.2f} | {step['maxMs']:.1f} | {step['posted']:,} | {step['lost']} | {step['postErrors']} "
                f"| {num(step['cpuMicrosPerMessage'])} | {num(step['foreignCores'], 2)} | {held} |")

if "resume" in MODES:
    say("")
    say("## Resume")
    say("")
    say("A fresh user receives the messages while offline, then connects with `since=0`: time from dialing "
        "to `caught_up`, every message checked present and in seq order.")
    say("")
    say("| stack | messages | catch-up median ms | best ms | messages/s | complete, in order |")
    say("|---|---|---|---|---|---|")
    for s in STACKS:
        r = results[(s, "resume")]
        if not r:
            say(f"| {s} | failed: {failure(s, 'resume')} | | | | |")
            continue
        say(f"| {s} | {r['messages']:,} × {len(r['rounds'])} | {num(r['medianCatchUpMs'])} | {num(r['bestCatchUpMs'])} "
            f"| {num(r['messagesPerSecond'], 0)} | {'yes' if r['allCompleteInOrder'] else '**no**'} |")


def last_clean_step(stack, rate):
    """The final (retried) step of a rate, if it ran."""
    r = results.get((stack, "delivery"))
    steps = [st for st in (r or {}).get("steps", []) if st["rate"] == rate]
    return steps[-1] if steps else None


if SUBJECT in STACKS and PEERS:
    say("")
    say("## Swiftlet / peer")
    say("")
    say("Swiftlet's number divided by the peer's (both in brackets); `(better)` marks where Swiftlet does better "
        "by 5 % or more. A measure is left out where either side has no number (a rate not held, a failed run).")
    say("")
    say("| measure | " + " | ".join(f"vs {p}" for p in PEERS) + " |")
    say("|---|" + "---|" * len(PEERS))

    def row(label, pick, lower_is_better, fmt):
        subject = pick(SUBJECT)
        cells = [ratio(subject, pick(p), lower_is_better, fmt) for p in PEERS]
        if any(cells):
            say(f"| {label} | " + " | ".join(c or "—" for c in cells) + " |")

    def field(mode, key):
        return lambda s: (results.get((s, mode)) or {}).get(key)

    if "idle" in MODES:
        row("memory per idle connection", field("idle", "bytesPerConnection"), True, lambda v: f"{v / 1024:.1f} KB")
        row("CPU per idle connection·s", field("idle", "cpuMicrosPerConnectionSecond"), True, lambda v: f"{v:.2f} µs")
    if "delivery" in MODES:
        row("highest rate held", field("delivery", "maxHeldRate"), False, lambda v: f"{v:,}/s")
        rates = sorted({st["rate"] for s in STACKS for st in (results.get((s, "delivery")) or {}).get("steps", [])})
        for rate in rates:
            def p99(s, rate=rate):
                st = last_clean_step(s, rate)
                return st["p99Ms"] if st and st["held"] else None

            def cpu(s, rate=rate):
                st = last_clean_step(s, rate)
                return st["cpuMicrosPerMessage"] if st and st["held"] else None
            row(f"p99 at {rate:,} msg/s (held by both)", p99, True, lambda v: f"{v:.2f} ms")
            row(f"server CPU per message at {rate:,} msg/s", cpu, True, lambda v: f"{v:.0f} µs")
    if "resume" in MODES:
        row("resume catch-up (median)", field("resume", "medianCatchUpMs"), True, lambda v: f"{v:.1f} ms")

print("\n".join(out))
