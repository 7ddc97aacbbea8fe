#!/usr/bin/env python3
"""What a Prometheus scrape of a busy node costs: /metrics time and size once requests
have touched every route with many methods and outcomes (at least 50 route templates and
10,000 series), read from a live release build over its keyless metrics listener.

    bench/metrics-scrape.sh            # builds the release binary first
    SWIFTLET_BIN=… python3 bench/metrics-scrape.py

Prints one JSON object: routes, series, bytes, scrape wall time (median, p99) and the
server's CPU time per scrape.
"""
import http.client, json, os, re, signal, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("SWIFTLET_BIN", os.path.join(ROOT, ".build-static", "release", "swiftlet"))
SCRAPES = int(os.environ.get("SCRAPES", "200"))
TARGET_SERIES = int(os.environ.get("TARGET_SERIES", "10000"))
HZ = os.sysconf("SC_CLK_TCK")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def request(conn, method, path, headers=None, body=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def series_lines(text):
    return [line for line in text.split("\n") if line and not line.startswith("#")]


def main():
    work = tempfile.mkdtemp(prefix="swiftlet-scrape-")
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, SWIFTLET_DATA_DIRECTORY=work, SWIFTLET_LOG_LEVEL="warning", SWIFTLET_LOG_ACCESS_LOG="false",
               SWIFTLET_METRICS_LISTEN=f"127.0.0.1:{metrics_port}")
    server = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                api = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if request(api, "GET", "/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                sys.exit("the server did not become ready")
            time.sleep(0.1)
        scraper = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=10)

        document = json.loads(request(api, "GET", "/openapi.json")[1])
        paths = [re.sub(r"\{[^}]+\}", "x1", path) for path in document["paths"]]
        status, data = request(api, "POST", "/api/v1/auth/wechat/login", {"Content-Type": "application/json"},
                               json.dumps({"code": f"scrape:{time.time_ns()}"}).encode())
        user = {"Authorization": "Bearer " + json.loads(data)["accessToken"]}
        variants = [({}, None), ({"Authorization": "Bearer not-a-token"}, None),
                    ({"Content-Type": "application/json"}, b"{}"), ({"Content-Type": "application/json"}, b"{"),
                    ({"Content-Type": "text/plain"}, b"x"), (user, None),
                    (dict(user, **{"Content-Type": "application/json"}), b"{}"),
                    (dict(user, **{"Content-Type": "application/json"}), b"[1]"),
                    (dict(user, **{"Content-Type": "application/json"}), b"{" * 2_000_000)]
        def series_now():
            return len(series_lines(request(scraper, "GET", "/metrics")[1].decode()))

        done = False
        for headers, body in variants:
            for path in paths:
                for method in METHODS:
                    try:
                        request(api, method, path, headers, body)
                    except (http.client.HTTPException, OSError):
                        api = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if series_now() >= TARGET_SERIES:
                    done = True
                    break
            if done:
                break
        for index in range(200):  # paths no route matches: one label, however many
            request(api, "GET", f"/nowhere/{index}")

        text = request(scraper, "GET", "/metrics")[1].decode()
        routes = set(re.findall(r'http_route="([^"]*)"', text))
        timings = []
        cpu_before = cpu_seconds(server.pid)
        for _ in range(SCRAPES):
            started = time.perf_counter()
            status, body = request(scraper, "GET", "/metrics")
            timings.append(time.perf_counter() - started)
            assert status == 200
        cpu_after = cpu_seconds(server.pid)
        timings.sort()
        print(json.dumps({
            "routes": len(routes), "series": len(series_lines(text)), "bytes": len(body), "scrapes": SCRAPES,
            "median_ms": round(statistics.median(timings) * 1000, 2),
            "p99_ms": round(timings[int(len(timings) * 0.99) - 1] * 1000, 2),
            "server_cpu_ms_per_scrape": round((cpu_after - cpu_before) * 1000 / SCRAPES, 2),
        }))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
