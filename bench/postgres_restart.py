#!/usr/bin/env python3
"""PostgreSQL killed and restarted under load: Swiftlet answers 503 meanwhile, serves again
without a restart of its own, and still shuts down on SIGTERM (called by
bench/postgres-restart.sh, which provides a throwaway PostgreSQL).

The production binary serves the uncached catalogue page (every request reads the
database) to wrk at CONNECTIONS connections for DURATION; RESTART_AFTER seconds in,
PostgreSQL is stopped with `pg_ctl -m immediate` (its backends die, every pooled
connection closes under whatever it was doing) and started again. Checked:
- no request waits past wrk's timeout (8 s): none is left hanging on a dead connection;
- a request after the run answers 200;
- SIGTERM ends the server within SHUTDOWN_LIMIT seconds (a request stuck on a dead
  connection would hold its graceful shutdown forever).
Prints the figures and exits non-zero if a check fails."""
import os, re, subprocess, sys, tempfile, shutil, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orders_peers as bench  # noqa: E402  (the same database, seed and server start as the peers benchmark)

DURATION = os.environ.get("DURATION", "20s")
RESTART_AFTER = float(os.environ.get("RESTART_AFTER", "5"))
SHUTDOWN_LIMIT = float(os.environ.get("SHUTDOWN_LIMIT", "30"))


def restart_postgres(data_directory, report):
    time.sleep(RESTART_AFTER)
    started = time.time()
    pg_ctl = os.path.join(sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1], "bin", "pg_ctl")
    # The restarted server writes to a log file of its own: left on pg_ctl's output, it would
    # hold that pipe open and this call would never return.
    log = os.path.join(os.path.dirname(data_directory), "pg-restart.log")
    command = [os.path.join("/usr/lib/postgresql", pg_ctl), "-D", data_directory, "-l", log, "-m", "immediate", "-w", "restart"]
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    report["restart"] = (result.returncode, time.time() - started, result.stderr.strip())


def main():
    data_directory = os.environ["BENCH_POSTGRES_DATA"]
    work = tempfile.mkdtemp(prefix="swiftlet-postgres-restart.")
    failures = []
    try:
        database = bench.Database("postgres", work, "restart")
        subprocess.run([bench.BINARY, "migrate", "up"], env=bench.swiftlet_env(work, database), check=True, capture_output=True)
        database.seed()
        process, port = bench.start("swiftlet-nocache", work, database)
        report = {}
        restarter = threading.Thread(target=restart_postgres, args=(data_directory, report))
        restarter.start()
        output = subprocess.run(["wrk", "-t2", f"-c{bench.CONNECTIONS}", f"-d{DURATION}", "--timeout", "8s",
                                 f"http://127.0.0.1:{port}/api/v1/products"], capture_output=True, text=True).stdout
        restarter.join()
        code, took, errors = report["restart"]
        if code != 0:
            failures.append(f"pg_ctl restart failed: {errors}")
        requests = int(re.search(r"(\d+) requests in", output).group(1))
        non_2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])
        timeouts = int((re.search(r"timeout (\d+)", output) or [0, 0])[1])
        socket_errors = (re.search(r"Socket errors: (.*)", output) or [None, "none"])[1]
        slowest = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", output).group(1)
        print(f"PostgreSQL restarted {RESTART_AFTER:g} s into {DURATION} (took {took:.1f} s): {requests} requests, "
              f"{non_2xx} answered non-2xx (503 while it was away), {timeouts} timed out, slowest {slowest}; "
              f"socket errors: {socket_errors}")
        if timeouts:
            failures.append(f"{timeouts} requests were left waiting past 8 s")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/products", timeout=10) as response:
                print(f"a request after the run: {response.status}")
                if response.status != 200:
                    failures.append(f"after the run the page answered {response.status}")
        except Exception as error:  # noqa: BLE001 (any failure to be served again is the finding)
            failures.append(f"after the run the page failed: {error}")
            exited = process.poll()
            if exited is not None:
                log = open(os.path.join(work, "swiftlet-nocache-postgres.log"), errors="replace").read()
                failures.append(f"the server had exited ({exited}); the end of its log:\n{log[-4000:]}")
        stopping = time.time()
        process.terminate()
        try:
            process.wait(timeout=SHUTDOWN_LIMIT)
            print(f"SIGTERM: exited in {time.time() - stopping:.1f} s")
        except subprocess.TimeoutExpired:
            process.kill()
            failures.append(f"SIGTERM: still running after {SHUTDOWN_LIMIT:g} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"FAILED: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
