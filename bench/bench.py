#!/usr/bin/env python3
"""Swiftlet side by side with peer stacks: one server at a time, interleaved rounds.

For every round and every stack in turn (A B C … A B C …): start the server, time the first
successful answer of its readiness URL, read idle RSS, warm up, run wrk on each endpoint at
each concurrency (recording requests/s, p50/p99/p99.9, errors, the server's CPU seconds and
the machine's other load), sample RSS during the highest-concurrency run, read peak RSS,
stop the server. Results go to a CSV per run; report.py turns them into docs/benchmarks.md.

Run through bench/run.sh, which installs and builds everything first.
"""
import csv, json, os, re, signal, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.path.join(HERE, "peers")
HZ = os.sysconf("SC_CLK_TCK")

ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = os.environ.get("DURATION", "5s")
WARMUP = os.environ.get("WARMUP", "2s")
CONNS = [int(c) for c in os.environ.get("CONNS", "64 256 1000").split()]
FOREIGN_MAX = float(os.environ.get("FOREIGN_MAX", "0.25"))
BASIC = ["/plaintext", "/json", "/user/42"]


def stacks(work):
    """Every stack: how to start it, where it listens, what to measure."""
    swiftlet = os.path.join(ROOT, ".build-static", "release", "swiftlet")
    base_env = {"SWIFTLET_BENCH_ENDPOINTS": "true", "SWIFTLET_LOG_LEVEL": "info",
                "SWIFTLET_DATA_DIRECTORY": os.path.join(work, "swiftlet-data")}
    defs = [
        dict(name="go-nethttp", port=8101, cmd=[os.path.join(PEERS, "go-nethttp/server")]),
        dict(name="go-gin", port=8102, cmd=[os.path.join(PEERS, "go-gin/server")], env={"GIN_MODE": "release"}),
        dict(name="node-http", port=8103, cmd=["node", os.path.join(PEERS, "node-http/server.js")]),
        dict(name="node-express", port=8104, cmd=["node", os.path.join(PEERS, "node-express/server.js")],
             env={"NODE_PATH": "/usr/share/nodejs", "NODE_ENV": "production"}),
        dict(name="fastapi-2w", port=8106,
             cmd=[os.path.join(PEERS, "python-fastapi/.venv/bin/uvicorn"), "--app-dir", os.path.join(PEERS, "python-fastapi"),
                  "app:app", "--host", "127.0.0.1", "--port", "8106", "--workers", "2", "--loop", "uvloop",
                  "--http", "httptools", "--no-access-log"]),
        dict(name="hummingbird", port=8107, cmd=[os.path.join(PEERS, "swift-hummingbird/.build/release/HBServer")]),
        dict(name="vapor", port=8108, cmd=[os.path.join(PEERS, "swift-vapor/.build/release/VaporServer"), "serve",
                                           "--env", "production", "--hostname", "127.0.0.1", "--port", "8108"]),
        dict(name="nginx", port=8109, cmd=["nginx", "-c", os.path.join(work, "nginx/nginx.conf"), "-g", "daemon off;"]),
        dict(name="swiftlet", port=8110, cmd=[swiftlet, "serve", "--port", "8110"], ready="/health/ready",
             env=dict(base_env, SWIFTLET_STORAGE_SQLITE_PATH=os.path.join(work, "swiftlet-data/swiftlet.sqlite")),
             extra=["/api/v1/me", "/api/v1/products"]),
    ]
    if os.environ.get("BASELINE_BIN"):
        # Another build of Swiftlet (bench/compare-builds.sh), measured in the same interleaved
        # rounds so that a change's cost per request is read against the same machine state.
        defs.append(dict(name="swiftlet-baseline", port=8112, cmd=[os.environ["BASELINE_BIN"], "serve", "--port", "8112"],
                         ready="/health/ready",
                         env=dict(base_env, SWIFTLET_DATA_DIRECTORY=os.path.join(work, "baseline-data"),
                                  SWIFTLET_STORAGE_SQLITE_PATH=os.path.join(work, "baseline-data/swiftlet.sqlite")),
                         extra=["/api/v1/me", "/api/v1/products"]))
    if os.environ.get("BENCH_REDIS_URL"):
        # The same node with its cluster state on Redis (bench/cluster.sh): the hot path
        # still reads local state; Redis only carries changes.
        defs.append(dict(name="swiftlet-redis", port=8113, cmd=[swiftlet, "serve", "--port", "8113"], ready="/health/ready",
                         env=dict(base_env, SWIFTLET_DATA_DIRECTORY=os.path.join(work, "redis-data"),
                                  SWIFTLET_STORAGE_SQLITE_PATH=os.path.join(work, "redis-data/swiftlet.sqlite"),
                                  SWIFTLET_REDIS_URL=os.environ["BENCH_REDIS_URL"]),
                         endpoints=["/api/v1/me"]))
    if os.environ.get("BENCH_POSTGRES_URL"):
        defs.append(dict(name="swiftlet-postgres", port=8111, cmd=[swiftlet, "serve", "--port", "8111"], ready="/health/ready",
                         env=dict(base_env, SWIFTLET_STORAGE_ENGINE="postgres", SWIFTLET_STORAGE_AUTO_MIGRATE="true",
                                  SWIFTLET_STORAGE_POSTGRES_URL=os.environ["BENCH_POSTGRES_URL"]),
                         endpoints=["/api/v1/me", "/api/v1/products"]))
    if os.environ.get("BENCH_TELEMETRY"):
        # What metrics and tracing cost per request (issue: telemetry): the same node with
        # metrics off, and with tracing on at 100 % and 1 % sampling, exporting to a sink
        # that accepts and discards OTLP (an nginx started by main()). `swiftlet` itself
        # runs with the defaults: metrics on, tracing off.
        variants = [("swiftlet-metrics-off", 8114, {"SWIFTLET_METRICS_ENABLED": "false"}),
                    ("swiftlet-tracing-100", 8115, {"SWIFTLET_TRACING_ENABLED": "true", "SWIFTLET_TRACING_SAMPLE_RATIO": "1"}),
                    ("swiftlet-tracing-1", 8116, {"SWIFTLET_TRACING_ENABLED": "true", "SWIFTLET_TRACING_SAMPLE_RATIO": "0.01"})]
        for name, port, extra in variants:
            defs.append(dict(name=name, port=port, cmd=[swiftlet, "serve", "--port", str(port)], ready="/health/ready",
                             env=dict(base_env, SWIFTLET_DATA_DIRECTORY=os.path.join(work, name),
                                      SWIFTLET_STORAGE_SQLITE_PATH=os.path.join(work, name, "swiftlet.sqlite"),
                                      SWIFTLET_METRICS_LISTEN="off",
                                      SWIFTLET_TRACING_ENDPOINT="http://127.0.0.1:%d/v1/traces" % OTLP_SINK_PORT, **extra),
                             endpoints=["/json", "/api/v1/me"]))
    wanted = os.environ.get("STACKS", "").split()
    for d in defs:
        d.setdefault("env", {})
        d.setdefault("ready", "/plaintext")
        d.setdefault("endpoints", BASIC + d.get("extra", []))
    only = os.environ.get("ENDPOINTS", "").split()  # e.g. ENDPOINTS="/json /api/v1/me"
    for d in defs:
        if only:
            d["endpoints"] = [e for e in d["endpoints"] if e in only]
    return [d for d in defs if not wanted or d["name"] in wanted]


def tree(pid):
    """pid and its descendants."""
    pids, frontier = [pid], [pid]
    while frontier:
        p = frontier.pop()
        try:
            children = open(f"/proc/{p}/task/{p}/children").read().split()
        except OSError:
            children = []
        for c in children:
            pids.append(int(c)); frontier.append(int(c))
    return pids


def cpu_ticks(pid):
    total = 0
    for p in tree(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total


def status_kb(pid, field):
    total = 0
    for p in tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def machine_busy_ticks():
    fields = open("/proc/stat").readline().split()[1:]
    return sum(int(f) for f in fields[:3]) + sum(int(f) for f in fields[5:8])  # user nice system irq softirq steal


def get(url, headers=None, data=None, timeout=2):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


def start(stack, work):
    env = dict(os.environ, PORT=str(stack["port"]), **stack["env"])
    log = open(os.path.join(work, f"server-{stack['name']}.log"), "ab")
    started = time.monotonic()
    process = subprocess.Popen(stack["cmd"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{stack['port']}{stack['ready']}"
    while time.monotonic() - started < 60:
        if process.poll() is not None:
            raise RuntimeError(f"{stack['name']} exited with {process.returncode}; see {log.name}")
        try:
            if get(url, timeout=0.5)[0] == 200:
                return process, (time.monotonic() - started) * 1000
        except Exception:
            time.sleep(0.005)
    raise RuntimeError(f"{stack['name']} not ready in 60 s")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except Exception:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def bearer_token(port):
    """Logs a sandbox user in and returns its access token (for /api/v1/me)."""
    body = json.dumps({"code": f"bench:{time.time_ns()}"}).encode()
    status, data = get(f"http://127.0.0.1:{port}/api/v1/auth/wechat/login", {"Content-Type": "application/json"}, body)
    return json.loads(data)["accessToken"]


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, conns, headers, pid, sample_rss=False):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{DURATION}", "--latency", "-s", os.path.join(HERE, "wrk-report.lua")]
    for h in headers:
        cmd += ["-H", h]
    before_server, before_busy = cpu_ticks(pid), machine_busy_ticks()
    wrk_process = subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rss_under_load = 0
    if sample_rss:
        seconds = float(DURATION.rstrip("s"))
        time.sleep(seconds * 0.6)
        rss_under_load = status_kb(pid, "VmRSS")
    output = wrk_process.stdout.read()
    _, _, usage = os.wait4(wrk_process.pid, 0)
    wrk_process.returncode = 0
    wrk_cpu = usage.ru_utime + usage.ru_stime
    after_server, after_busy = cpu_ticks(pid), machine_busy_ticks()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    pct = dict(re.findall(r"(p\d+)=(\d+)", re.search(r"PCT .*", output).group(0)))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1])
    errors = sum(int(v) for v in re.findall(r"=(\d+)", re.search(r"ERR .*", output).group(0)))
    seconds = float(DURATION.rstrip("s"))
    server_cpu = (after_server - before_server) / HZ
    busy = (after_busy - before_busy) / HZ
    return dict(rps=rps, requests=requests, p50_ms=int(pct["p50"]) / 1000, p99_ms=int(pct["p99"]) / 1000,
                p999_ms=int(pct["p999"]) / 1000, non2xx=non2xx, socket_errors=errors, server_cpu_s=round(server_cpu, 3),
                cpu_us_per_request=round(server_cpu * 1e6 / max(requests, 1), 2),
                wrk_cpu_s=round(wrk_cpu, 3), foreign_cores=round(max(0.0, busy - server_cpu - wrk_cpu) / seconds, 3),
                rss_under_load_kb=rss_under_load, raw=output)


OTLP_SINK_PORT = 4318


def start_otlp_sink(work):
    """An nginx on 127.0.0.1:4318 that reads OTLP/HTTP exports and answers 200 with an
    empty body (an empty ExportTraceServiceResponse): the cheapest collector there is, so
    the traced stacks pay for their spans, not for a collector on the same two cores."""
    directory = os.path.join(work, "otlp-sink")
    os.makedirs(directory, exist_ok=True)
    conf = os.path.join(directory, "nginx.conf")
    open(conf, "w").write(f"""worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy; fastcgi_temp_path {directory}/fastcgi; uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
  client_max_body_size 0;
  server {{ listen 127.0.0.1:{OTLP_SINK_PORT}; location / {{ default_type application/x-protobuf; return 200 ""; }} }}
}}
""")
    return subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    work = tempfile.mkdtemp(prefix="swiftlet-bench-")
    sink = start_otlp_sink(work) if os.environ.get("BENCH_TELEMETRY") else None
    os.makedirs(os.path.join(work, "nginx"), exist_ok=True)
    template = open(os.path.join(PEERS, "nginx/nginx.conf.template")).read()
    open(os.path.join(work, "nginx/nginx.conf"), "w").write(template.replace("{{PORT}}", "8109").replace("{{DIR}}", os.path.join(work, "nginx")))
    out = os.environ.get("OUT", os.path.join(HERE, "results", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())))
    os.makedirs(os.path.join(out, "wrk"), exist_ok=True)
    runs = csv.writer(open(os.path.join(out, "runs.csv"), "w", newline=""))
    runs.writerow(["round", "stack", "endpoint", "conns", "rps", "p50_ms", "p99_ms", "p999_ms", "requests", "non2xx",
                   "socket_errors", "server_cpu_s", "cpu_us_per_request", "wrk_cpu_s", "foreign_cores", "attempts"])
    servers = csv.writer(open(os.path.join(out, "servers.csv"), "w", newline=""))
    servers.writerow(["round", "stack", "startup_ms", "idle_rss_kb", "rss_under_load_kb", "peak_rss_kb"])
    selected = stacks(work)
    print(f"bench: {len(selected)} stacks, {ROUNDS} rounds, wrk -t1 -c{CONNS} -d{DURATION}; raw output in {out}", flush=True)
    for round_number in range(1, ROUNDS + 1):
        for stack in selected:
            if not os.path.exists(stack["cmd"][0]) and "/" in stack["cmd"][0]:
                print(f"  skip {stack['name']}: {stack['cmd'][0]} not built", flush=True)
                continue
            process, startup_ms = start(stack, work)
            time.sleep(0.3)
            idle_rss = status_kb(process.pid, "VmRSS")
            headers = {}
            if any(e.startswith("/api/") for e in stack["endpoints"]):
                headers["/api/v1/me"] = [f"Authorization: Bearer {bearer_token(stack['port'])}"]
            for endpoint in stack["endpoints"]:
                subprocess.run(["wrk", "-t1", "-c64", f"-d{WARMUP}", f"http://127.0.0.1:{stack['port']}{endpoint}"]
                               + sum((["-H", h] for h in headers.get(endpoint, [])), []), capture_output=True)
            rss_under_load = 0
            for endpoint in stack["endpoints"]:
                for conns in CONNS:
                    url = f"http://127.0.0.1:{stack['port']}{endpoint}"
                    for attempt in range(1, 3):
                        result = wrk(url, conns, headers.get(endpoint, []), process.pid, sample_rss=conns == max(CONNS))
                        if result["foreign_cores"] < FOREIGN_MAX or attempt == 2:
                            break
                        print(f"  others used {result['foreign_cores']} cores during the run; repeating it", flush=True)
                        time.sleep(5)
                    rss_under_load = max(rss_under_load, result["rss_under_load_kb"])
                    tag = f"r{round_number}_{stack['name']}_{endpoint.strip('/').replace('/', '_')}_c{conns}"
                    open(os.path.join(out, "wrk", tag + ".txt"), "w").write(result.pop("raw"))
                    runs.writerow([round_number, stack["name"], endpoint, conns, result["rps"], result["p50_ms"], result["p99_ms"],
                                   result["p999_ms"], result["requests"], result["non2xx"], result["socket_errors"],
                                   result["server_cpu_s"], result["cpu_us_per_request"], result["wrk_cpu_s"],
                                   result["foreign_cores"], attempt])
                    print(f"  r{round_number} {stack['name']:18} {endpoint:12} c={conns:<5} {result['rps']:>10.0f} req/s "
                          f"p99={result['p99_ms']:.2f}ms cpu/req={result['cpu_us_per_request']}us errors={result['socket_errors']} "
                          f"non2xx={result['non2xx']}", flush=True)
            peak = status_kb(process.pid, "VmHWM")
            stop(process)
            servers.writerow([round_number, stack["name"], round(startup_ms, 1), idle_rss, rss_under_load, peak])
            print(f"  r{round_number} {stack['name']}: start {startup_ms:.0f} ms, idle RSS {idle_rss} kB, "
                  f"under load {rss_under_load} kB, peak {peak} kB", flush=True)
    if sink:
        sink.terminate()
    print(out)


if __name__ == "__main__":
    main()
