"""Swiftlet's telemetry checked with the real tools. Called by scripts/telemetry-check.sh.

1. A server (`swiftlet serve`, development profile, the embedded default: SQLite and the
   sandboxes, in an empty directory) with its metrics listener on a free port and tracing
   to a test OTLP collector (otlp_collector.py) at sample ratio 1, scraped every second by
   Prometheus (PROMETHEUS, with deploy/prometheus/slo-targets.yml and alerts.yml loaded).
2. Request counts: known numbers of requests to an inline-lane route and to a router
   route must be counted exactly in Prometheus, and the target must be up.
3. Traces: a mini-program's login → order (with a W3C traceparent) → pay → notify flow over
   real HTTP must arrive at the collector as the spans the contract names, linked as it says.
4. Dashboards and alerts: every metric name in deploy/grafana/swiftlet.json and in the
   loaded rule files must be a family the server exposes.
5. A collector that hangs or is not there: ~300 requests per server answer 200 with a p99
   close to a server without tracing, and each server stops within seconds on SIGTERM.

    python telemetry_check.py        # PROMETHEUS, SWIFTLET_BIN in the environment

Prints one line per check (PASS or FAIL with the reason) and ends with "N passed, M failed";
exits 1 when anything failed.
"""

import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from otlp_collector import Collector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(os.environ.get("SWIFTLET_BIN", os.path.join(ROOT, ".build", "debug", "swiftlet")))
PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
RULE_FILES = [os.path.join(ROOT, "deploy", "prometheus", name) for name in ("slo-targets.yml", "alerts.yml")]
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "swiftlet.json")

INLINE_ROUTE, INLINE_REQUESTS = "/health/live", 37
ROUTER_ROUTE, ROUTER_REQUESTS = "/admin/v1/products", 23
TRACE_ID, PARENT_SPAN_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
LOAD_REQUESTS, LOAD_WARMUP = 300, 20
LOAD_ROUTE = "/api/v1/products?limit=5"
P99_CEILING, P99_FACTOR = 0.050, 5
SHUTDOWN_LIMIT = 5.0


def log(message):
    print("==> telemetry-check: %s" % message, file=sys.stderr, flush=True)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, check):
        """Runs `check`; an AssertionError's or a network error's message, or any other exception's
        traceback, is the reason it failed."""
        try:
            detail = check()
        except (AssertionError, OSError) as error:
            self.failed += 1
            print("FAIL %s: %s" % (name, error), flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            print("PASS %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)


# MARK: Processes

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, headers=None, timeout=5):
    """(status, body bytes) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until(what, probe, timeout, process=None, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s exited with %s:\n%s" % (what, process.returncode, tail(log_path)))
        try:
            if probe():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("%s not ready within %d s:\n%s" % (what, timeout, tail(log_path)))


def tail(path, size=3000):
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()[-size:]


class Server:
    """`swiftlet serve` in its own empty directory (SQLite and the sandboxes, development profile)."""

    def __init__(self, work, name, env):
        self.name = name
        self.directory = os.path.join(work, name)
        os.makedirs(self.directory)
        self.port = free_port()
        self.metrics_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(work, name + ".log")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SWIFTLET_")}
        self.env.update(SWIFTLET_PROFILE="development", SWIFTLET_METRICS_LISTEN="127.0.0.1:%d" % self.metrics_port, **env)
        self.process = subprocess.Popen([BIN, "serve", "--port", str(self.port)], cwd=self.directory, env=self.env,
                                        stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self):
        wait_until("server %s" % self.name, lambda: http_get(self.base + "/health/ready", timeout=2)[0] == 200, 60,
                   self.process, self.log_path)

    def admin_key(self):
        """A new admin key, made with the CLI on the server's database as an operator would."""
        result = subprocess.run([BIN, "admin", "create-key", "--name", "telemetry-" + secrets.token_hex(3)],
                                cwd=self.directory, env=self.env, capture_output=True, text=True, check=True)
        keys = [line for line in result.stdout.splitlines() if line.startswith("swk_")]
        assert keys, "no key printed: %s" % result.stdout
        return keys[-1]

    def stop(self):
        """SIGTERM; the seconds until the process was gone (it is killed after 20 s)."""
        if self.process.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started

    def log_lines(self):
        lines = []
        for line in tail(self.log_path, size=1 << 30).splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines


class Prometheus:
    """Debian's Prometheus scraping one target every second, with the project's rule files loaded."""

    def __init__(self, work, target):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
            handle.write("rule_files:\n" + "".join("  - %s\n" % json.dumps(path) for path in RULE_FILES))
            handle.write("scrape_configs:\n  - job_name: swiftlet\n    static_configs:\n"
                         "      - targets: [\"%s\"]\n" % target)
        self.log_path = os.path.join(work, "prometheus.log")
        self.process = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(work, "tsdb"),
             "--web.listen-address=127.0.0.1:%d" % self.port],
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_until("prometheus", lambda: http_get(self.base + "/-/ready", timeout=2)[0] == 200, 30,
                   self.process, self.log_path)

    def api(self, path, **query):
        status, body = http_get(self.base + path + ("?" + urllib.parse.urlencode(query) if query else ""))
        answer = json.loads(body)
        assert status == 200 and answer.get("status") == "success", "%s: %s %s" % (path, status, body[:300])
        return answer["data"]

    def query(self, expression):
        """The instant vector of `expression` now: [(labels, float value)]."""
        data = self.api("/api/v1/query", query=expression)
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SilentCollector:
    """A loopback port that accepts connections and reads what is sent, but never answers."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(128)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.held = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)
            threading.Thread(target=self.drain, args=(connection,), daemon=True).start()

    @staticmethod
    def drain(connection):
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass

    def stop(self):
        self.socket.close()
        for connection in self.held:
            connection.close()


# MARK: HTTP as a mini-program sends it

def call(base, method, path, body=None, headers=None):
    """(status, parsed JSON or None, headers) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"} if data else {}, **(headers or {})))
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            raw, status, response_headers = response.read(), response.status, response.headers
    except urllib.error.HTTPError as error:
        raw, status, response_headers = error.read(), error.code, error.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return status, parsed, response_headers


def expect(status, expected, what, body):
    assert status == expected, "%s answered %s, expected %s: %s" % (what, status, expected, str(body)[:300])


# MARK: The checks

def main():
    for name in (BIN,):
        if not os.access(name, os.X_OK):
            log("%s not found; run swift build first" % name)
            return 1
    work = tempfile.mkdtemp(prefix="swiftlet-telemetry.")
    started = time.monotonic()
    checks = Checks()
    stoppables = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        collector = Collector()
        stoppables.append(collector)
        server = Server(work, "traced", {
            "SWIFTLET_TRACING_ENABLED": "true", "SWIFTLET_TRACING_ENDPOINT": collector.endpoint,
            "SWIFTLET_TRACING_SAMPLE_RATIO": "1", "SWIFTLET_WECHATPAY_SANDBOX_RETRY_SCHEDULE": "1,2,5"})
        stoppables.append(server)
        server.wait_ready()
        prometheus = Prometheus(work, "127.0.0.1:%d" % server.metrics_port)
        stoppables.append(prometheus)
        log("server on %s (metrics :%d), collector :%d, Prometheus %s"
            % (server.base, server.metrics_port, collector.port, prometheus.base))
        admin = server.admin_key()

        checks.run("metrics: GET /metrics on the main listener needs an admin key",
                   lambda: main_listener_metrics(server, admin))
        checks.run("prometheus: the target is up", lambda: target_up(prometheus))
        checks.run("prometheus: both rule files loaded, every rule healthy", lambda: rules_loaded(prometheus))
        counted_after = send_counted_requests(server, admin)
        checks.run("prometheus: %d inline-lane GET %s counted exactly" % (INLINE_REQUESTS, INLINE_ROUTE),
                   lambda: counted(prometheus, counted_after, INLINE_ROUTE, INLINE_REQUESTS))
        checks.run("prometheus: %d router GET %s counted exactly" % (ROUTER_REQUESTS, ROUTER_ROUTE),
                   lambda: counted(prometheus, counted_after, ROUTER_ROUTE, ROUTER_REQUESTS))

        flow = {}
        checks.run("flow: login, order with traceparent, pay, notify over real HTTP",
                   lambda: purchase(server, admin, collector, flow))
        if flow.get("order"):
            trace_checks(checks, server, collector, flow)
        checks.run("dashboards and alerts: every metric they name is exposed",
                   lambda: names_exposed(server, prometheus))
        checks.run("collector: every export decoded", lambda: collector_clean(collector))
        checks.run("server: no error in its log", lambda: log_clean(server))
        prometheus.stop()
        server.stop()

        load_checks(checks, work)
    except Exception:  # noqa: BLE001 - a set-up failure is one more failed check
        checks.failed += 1
        print("FAIL setting up", flush=True)
        traceback.print_exc(file=sys.stdout)
    finally:
        for item in reversed(stoppables):
            try:
                item.stop()
            except Exception:  # noqa: BLE001 - clean up everything else regardless
                pass
        if checks.failed:
            log("logs kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    log("done in %.0f s" % (time.monotonic() - started))
    print("%d passed, %d failed" % (checks.passed, checks.failed), flush=True)
    return 0 if checks.failed == 0 else 1


def main_listener_metrics(server, admin):
    status, _ = http_get(server.base + "/metrics")
    assert status == 401, "without a key: %s, expected 401" % status
    status, body = http_get(server.base + "/metrics", {"Authorization": "Bearer " + admin})
    assert status == 200, "with an admin key: %s" % status
    assert b"# TYPE http_server_request_duration_seconds histogram" in body, "no request histogram"


def target_up(prometheus):
    result = wait_for_value(lambda: prometheus.query('up{job="swiftlet"}'), 10)
    assert result and result[0][1] == 1, "up = %s" % result


def wait_for_value(probe, timeout):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def rules_loaded(prometheus):
    missing = [path for path in RULE_FILES if not os.path.exists(path)]
    assert not missing, "missing rule files: %s" % ", ".join(os.path.relpath(p, ROOT) for p in missing)

    def evaluated():
        groups = prometheus.api("/api/v1/rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return groups if rules and all(rule.get("health") != "unknown" for rule in rules) else None

    groups = wait_for_value(evaluated, 10) or prometheus.api("/api/v1/rules")["groups"]
    files = {os.path.realpath(group["file"]) for group in groups}
    for path in RULE_FILES:
        assert os.path.realpath(path) in files, "%s: no group loaded" % os.path.relpath(path, ROOT)
    unhealthy = ["%s: %s %s" % (rule["name"], rule.get("health"), rule.get("lastError", ""))
                 for group in groups for rule in group["rules"] if rule.get("health") != "ok"]
    assert not unhealthy, "; ".join(unhealthy)
    rules = [rule for group in groups for rule in group["rules"]]
    firing = sorted({rule["name"] for rule in rules if rule.get("state") == "firing"})
    return "%d groups, %d recording and %d alerting rules%s" % (
        len(groups), sum(r["type"] == "recording" for r in rules), sum(r["type"] == "alerting" for r in rules),
        "; firing now: " + ", ".join(firing) if firing else "")


def send_counted_requests(server, admin):
    """Sends the counted requests on one keep-alive connection; the time after the last answer."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    statuses = []
    for path, count, headers in ((INLINE_ROUTE, INLINE_REQUESTS, {}),
                                 (ROUTER_ROUTE, ROUTER_REQUESTS, {"Authorization": "Bearer " + admin})):
        for _ in range(count):
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            statuses.append((path, response.status))
    connection.close()
    bad = [item for item in statuses if item[1] != 200]
    assert not bad, "answers other than 200: %s" % bad[:5]
    return time.time()


def counted(prometheus, after, route, expected):
    # A scrape that started after the last answer has every one of them.
    scraped = wait_for_value(
        lambda: [v for _, v in prometheus.query('timestamp(up{job="swiftlet"})') if v > after + 0.05], 10)
    assert scraped, "no scrape after the requests within 10 s"
    result = prometheus.query('sum(http_server_request_duration_seconds_count{http_route="%s"})' % route)
    count = result[0][1] if result else None
    assert count == expected, "counted %s, sent %d" % (count, expected)
    series = prometheus.query('http_server_request_duration_seconds_count{http_route="%s"}' % route)
    labels = [{k: v for k, v in metric.items() if k not in ("__name__", "instance", "job")} for metric, _ in series]
    for label_set in labels:
        assert label_set.get("http_request_method") == "GET" and label_set.get("http_response_status_code") == "200" \
            and label_set.get("url_scheme") == "http", "labels %s" % label_set
    return "labels %s" % labels


# MARK: The purchase and its spans

def purchase(server, admin, collector, flow):
    base = server.base
    hook = "http://127.0.0.1:%d/hooks" % collector.port
    status, body, _ = call(base, "POST", "/admin/v1/webhooks", {"url": hook, "description": "telemetry check"},
                           {"Authorization": "Bearer " + admin})
    expect(status, 201, "POST /admin/v1/webhooks", body)

    status, body, _ = call(base, "POST", "/api/v1/auth/wechat/login", {"code": "telemetry:%s" % secrets.token_hex(4)})
    expect(status, 200, "login", body)
    auth = {"Authorization": "Bearer " + body["accessToken"]}

    status, body, _ = call(base, "GET", "/api/v1/products?limit=10")
    expect(status, 200, "GET /api/v1/products", body)
    sku = next(sku for product in body["items"] for sku in product["skus"] if sku["stock"] > 0)

    traceparent = "00-%s-%s-01" % (TRACE_ID, PARENT_SPAN_ID)
    status, order, _ = call(base, "POST", "/api/v1/orders", {"items": [{"skuId": sku["id"], "quantity": 1}]},
                            dict(auth, **{"Idempotency-Key": "telemetry-" + secrets.token_hex(4), "traceparent": traceparent}))
    expect(status, 201, "POST /api/v1/orders", order)
    flow["order"] = order

    status, body, _ = call(base, "POST", "/api/v1/orders/%s/pay" % order["id"], headers=auth)
    expect(status, 200, "POST /api/v1/orders/{id}/pay", body)
    status, paid, _ = call(base, "POST", "/sandbox/wechatpay/pay", body["payment"])
    expect(status, 200, "POST /sandbox/wechatpay/pay", paid)

    deadline = time.monotonic() + 10
    while True:
        status, current, _ = call(base, "GET", "/api/v1/orders/%s" % order["id"], headers=auth)
        if current.get("status") == "paid":
            break
        assert time.monotonic() < deadline, "the order is %s 10 s after paying" % current.get("status")
        time.sleep(0.2)
    return "order %s paid" % order["id"]


def children(spans, parent, **where):
    return [span for span in spans if span["parentSpanId"] == parent["spanId"] and span["traceId"] == parent["traceId"]
            and all(span.get(key) == value for key, value in where.items())]


def named(spans, pattern, kind=None):
    return [span for span in spans if re.fullmatch(pattern, span["name"]) and (kind is None or span["kind"] == kind)]


def describe(span):
    return "%s [%s] %s" % (span["name"], span["kind"], json.dumps(span["attributes"], sort_keys=True))


def trace_checks(checks, server, collector, flow):
    order_id = flow["order"]["id"]

    def complete(spans):
        wanted = [named(spans, r"POST /api/v1/orders", "SERVER"),
                  named(spans, r"wechat jscode2session", "CLIENT"),
                  named(spans, r"wechatpay .*", "CLIENT"),
                  named(spans, r"POST /api/v1/pay/wechat/notify", "SERVER")]
        return spans if all(wanted) else None

    spans = collector.wait_for(complete, 10) or collector.snapshot()
    flow["spans"] = spans

    def order_span():
        found = [span for span in named(spans, r"POST /api/v1/orders", "SERVER") if span["traceId"] == TRACE_ID]
        assert found, "no server span POST /api/v1/orders in trace %s; server spans: %s" % (
            TRACE_ID, sorted({s["name"] for s in spans if s["kind"] == "SERVER"}))
        span = found[0]
        assert span["parentSpanId"] == PARENT_SPAN_ID, "parent %r, sent %s" % (span["parentSpanId"], PARENT_SPAN_ID)
        attributes = span["attributes"]
        assert attributes.get("http.route") == "/api/v1/orders", describe(span)
        assert attributes.get("http.response.status_code") == 201, describe(span)
        assert attributes.get("http.request.method") == "POST", describe(span)
        assert span["service"] == "swiftlet", "service.name %r" % span["service"]
        flow["order_span"] = span
        return describe(span)

    def order_database():
        span = flow["order_span"]
        database = [child for child in children(spans, span) if "db.system.name" in child["attributes"]]
        assert database, "no child with db.system.name; children: %s" % [describe(c) for c in children(spans, span)]
        for child in database:
            assert child["kind"] == "CLIENT" and child["name"].startswith("db ") \
                and child["attributes"]["db.system.name"] == "sqlite" \
                and child["attributes"].get("db.operation.name"), describe(child)
        return "; ".join(describe(child) for child in database)

    def login():
        logins = named(spans, r"POST /api/v1/auth/wechat/login", "SERVER")
        assert logins, "no login server span"
        wechat = children(spans, logins[0], name="wechat jscode2session")
        assert wechat, "no child 'wechat jscode2session'; children: %s" % [describe(c) for c in children(spans, logins[0])]
        client = wechat[0]
        assert client["kind"] == "CLIENT", describe(client)
        for key in ("http.request.method", "server.address", "http.response.status_code"):
            assert key in client["attributes"], "%s lacks %s" % (describe(client), key)
        flow["wechat_span"] = client
        return describe(client)

    def wechat_propagated():
        client = flow["wechat_span"]
        # Directly, or through the HTTP client's own span (AsyncHTTPClient adds one when a
        # tracer is installed).
        received = children(spans, client, kind="SERVER") + [
            server for http in children(spans, client, kind="CLIENT") for server in children(spans, http, kind="SERVER")]
        sandbox = named(spans, r"GET /sandbox/wechat/.+", "SERVER")
        assert received, "the sandbox's server span for the call is not a child of %s (%s; sandbox spans' parents: %s)" % (
            client["name"], [describe(c) for c in children(spans, client)],
            [(span["traceId"], span["parentSpanId"], client["traceId"], client["spanId"]) for span in sandbox])
        return "sandbox span %s" % received[0]["name"]

    def pay():
        pays = [span for span in named(spans, r"POST /api/v1/orders/.+/pay", "SERVER")]
        assert pays, "no pay server span"
        span = pays[0]
        assert order_id not in span["name"], "the span is named after the path, not the route: %s" % span["name"]
        calls = [child for child in children(spans, span) if child["name"].startswith("wechatpay ")]
        assert calls, "no 'wechatpay …' child; children: %s" % [describe(c) for c in children(spans, span)]
        assert any(child["name"] == "wechatpay jsapi_prepay" and child["kind"] == "CLIENT" for child in calls), \
            [describe(c) for c in calls]
        prepay = next(child for child in calls if child["name"] == "wechatpay jsapi_prepay")
        for key in ("http.request.method", "server.address", "http.response.status_code"):
            assert key in prepay["attributes"], "%s lacks %s" % (describe(prepay), key)
        received = children(spans, prepay, kind="SERVER")
        return "%s → %s%s" % (span["name"], "; ".join(c["name"] for c in calls),
                              " → sandbox span %s" % received[0]["name"] if received else
                              " (the sandbox's span is not its child)")

    def notify():
        notifies = named(spans, r"POST /api/v1/pay/wechat/notify", "SERVER")
        assert notifies, "no notify server span"
        span = notifies[0]
        assert span["attributes"].get("http.response.status_code") in (200, 204), describe(span)
        return describe(span)

    def access_log():
        lines = [line for line in server.log_lines() if line.get("msg") == "request" and line.get("traceId") == TRACE_ID]
        assert lines, "no access log line with traceId %s" % TRACE_ID
        return "%d line(s)" % len(lines)

    checks.run("trace: the order's server span continues the incoming traceparent", order_span)
    if "order_span" in flow:
        checks.run("trace: the order's server span has a database child", order_database)
    checks.run("trace: the login's span has a 'wechat jscode2session' child", login)
    if "wechat_span" in flow:
        checks.run("trace: the WeChat call carried traceparent", wechat_propagated)
    checks.run("trace: the pay request has a 'wechatpay …' client span", pay)
    checks.run("trace: the notify request has a server span", notify)
    checks.run("logs: the order's access log line carries its traceId", access_log)
    checks.run("trace: webhook deliveries have 'webhook deliver' spans and carry their traceparent",
               lambda: webhooks(collector, spans))
    checks.run("trace: job spans, and every span the flow produced", lambda: background(collector.snapshot()))


def webhooks(collector, spans):
    """The purchase's events went to the registered receiver (the collector's /hooks): each
    attempt is a 'webhook deliver' client span, and each delivery carries its traceparent."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not collector.hooks or len(named(spans, "webhook deliver")) < len(collector.hooks)):
        time.sleep(0.2)
        spans = collector.snapshot()
    assert collector.hooks, "no webhook delivery arrived"
    hooks = named(spans, "webhook deliver")
    assert hooks, "%d deliveries, no 'webhook deliver' span" % len(collector.hooks)
    servers = {span["spanId"] for span in spans if span["kind"] == "SERVER"}
    for span in hooks:
        assert span["kind"] == "CLIENT", describe(span)
        assert span["parentSpanId"] not in servers, "a delivery under a request span: %s" % describe(span)
    # The traceparent names the delivery's span, or the HTTP client's own span under it
    # (AsyncHTTPClient adds one when a tracer is installed).
    identities = {(span["traceId"], span["spanId"]) for span in hooks}
    identities |= {(span["traceId"], span["spanId"]) for span in spans
                   if (span["traceId"], span["parentSpanId"]) in identities and span["kind"] == "CLIENT"}
    carried = [headers.get("traceparent") for headers in collector.hooks]
    unmatched = [value for value in carried if not value or tuple(value.split("-")[1:3]) not in identities]
    assert not unmatched, "deliveries whose traceparent names no 'webhook deliver' span: %s" % unmatched
    return "%d deliveries, %d spans: %s" % (len(carried), len(hooks), describe(hooks[0]))


def background(spans):
    """What else the flow produced: job spans are checked as far as they appear, and listed."""
    jobs = named(spans, r"job .+")
    servers = {span["spanId"] for span in spans if span["kind"] == "SERVER"}
    for span in jobs:
        assert span["kind"] == "INTERNAL", describe(span)
        assert span["parentSpanId"] not in servers, "a job span under a request span: %s" % describe(span)
    counts = {}
    for span in spans:
        counts[span["name"]] = counts.get(span["name"], 0) + 1
    return "job spans: %s; all spans: %s" % (sorted({s["name"] for s in jobs}) or "none",
                                             ", ".join("%s ×%d" % item for item in sorted(counts.items())))


# MARK: Metric names in the dashboard and the rules

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
                "offset", "inf", "nan", "atan2"}
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
                     "scrape_series_added", "ALERTS", "ALERTS_FOR_STATE"}


def metric_names(expression):
    """The metric names a PromQL expression selects (Grafana's $variables allowed)."""
    text = re.sub(r"\$\{[^}]*\}|\$\w+", " ", expression)
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()", text):
        if match.group(1) not in PROMQL_WORDS and not re.fullmatch(r"\d.*", match.group(1)):
            names.add(match.group(1))
    return names


def dashboard_expressions(node):
    """The PromQL of a Grafana dashboard: every panel target's `expr`, and the selectors of
    its template variables' `label_values(…)` and `query_result(…)` queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str):
                variable = re.fullmatch(r"\s*(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)\s*", value, re.S)
                if variable:
                    yield variable.group(1)
            else:
                yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_expressions(value)


def names_exposed(server, prometheus):
    status, body = http_get("http://127.0.0.1:%d/metrics" % server.metrics_port)
    assert status == 200, "GET /metrics on the metrics listener: %s" % status
    families = dict(re.findall(r"^# TYPE (\S+) (\S+)$", body.decode(), re.M))
    helped = set(re.findall(r"^# HELP (\S+) ", body.decode(), re.M))

    assert os.path.exists(DASHBOARD), "%s is missing" % os.path.relpath(DASHBOARD, ROOT)
    with open(DASHBOARD, encoding="utf-8") as handle:
        dashboard = list(dashboard_expressions(json.load(handle)))
    assert dashboard, "no expr in the dashboard"
    groups = prometheus.api("/api/v1/rules")["groups"]
    rules = [(os.path.basename(group["file"]), rule) for group in groups for rule in group["rules"]]
    recorded = {rule["name"] for _, rule in rules if rule["type"] == "recording"}
    used = {}
    for expression in dashboard:
        for name in metric_names(expression):
            used.setdefault(name, set()).add("swiftlet.json")
    for file, rule in rules:
        for name in metric_names(rule["query"]):
            used.setdefault(name, set()).add(file)

    def exposed(name):
        if name in families or name in recorded or name in PROMETHEUS_SERIES:
            return True
        base, _, suffix = name.rpartition("_")
        return suffix in ("bucket", "sum", "count") and families.get(base) in ("histogram", "summary") \
            or suffix in ("sum", "count") and families.get(base) == "summary"

    missing = sorted("%s (in %s)" % (name, ", ".join(sorted(files))) for name, files in used.items() if not exposed(name))
    assert not missing, "not exposed: %s" % "; ".join(missing)
    no_help = sorted(set(families) - helped)
    assert not no_help, "families without # HELP: %s" % ", ".join(no_help)
    return "%d names from %d dashboard and %d rule expressions" % (len(used), len(dashboard), len(rules))


def collector_clean(collector):
    assert not collector.errors, "; ".join(collector.errors[:5])
    return "%d exports, %d spans" % (collector.exports, len(collector.snapshot()))


def log_clean(server):
    errors = [line for line in server.log_lines() if line.get("level") in ("error", "critical")]
    assert not errors, json.dumps(errors[:3])


# MARK: A collector that hangs or is not there

def load_checks(checks, work):
    silent = SilentCollector()
    closed_port = free_port()
    servers = {}
    try:
        servers["no tracing"] = Server(work, "baseline", {"SWIFTLET_TRACING_ENABLED": "false"})
        servers["hanging collector"] = Server(work, "hanging", {
            "SWIFTLET_TRACING_ENABLED": "true", "SWIFTLET_TRACING_SAMPLE_RATIO": "1",
            "SWIFTLET_TRACING_ENDPOINT": "http://127.0.0.1:%d/v1/traces" % silent.port})
        servers["closed port"] = Server(work, "closed", {
            "SWIFTLET_TRACING_ENABLED": "true", "SWIFTLET_TRACING_SAMPLE_RATIO": "1",
            "SWIFTLET_TRACING_ENDPOINT": "http://127.0.0.1:%d/v1/traces" % closed_port})
        for server in servers.values():
            server.wait_ready()
        latencies = interleaved_load(servers)
        baseline = percentile(latencies["no tracing"][1], 0.99)
        for name in ("hanging collector", "closed port"):
            statuses, times = latencies[name]

            def bounded(statuses=statuses, times=times):
                bad = [status for status in statuses if status != 200]
                assert not bad, "%d of %d answers were not 200: %s" % (len(bad), len(statuses), sorted(set(bad)))
                p99 = percentile(times, 0.99)
                summary = "p50 %.1f ms, p99 %.1f ms; without tracing p50 %.1f ms, p99 %.1f ms" % (
                    percentile(times, 0.5) * 1000, p99 * 1000,
                    percentile(latencies["no tracing"][1], 0.5) * 1000, baseline * 1000)
                assert p99 < P99_CEILING and p99 < P99_FACTOR * baseline, summary
                return summary

            checks.run("%s: %d requests all 200, p99 < %d ms and < %d× no tracing's"
                       % (name, LOAD_REQUESTS, P99_CEILING * 1000, P99_FACTOR), bounded)
        during_load = silent.accepted
        for name, server in servers.items():
            def stops(server=server):
                seconds = server.stop()
                assert seconds < SHUTDOWN_LIMIT, "stopped after %.1f s" % seconds
                assert server.process.returncode == 0, "exit status %s:\n%s" % (server.process.returncode,
                                                                                tail(server.log_path, 1500))
                warnings = [line.get("msg") for line in server.log_lines() if line.get("level") in ("warning", "error")]
                return "%.2f s; logged %s" % (seconds, "; ".join("%s ×%d" % (m, warnings.count(m)) for m in sorted(set(warnings)))
                                              if warnings else "no warning")

            checks.run("%s: stops within %d s of SIGTERM" % (name, SHUTDOWN_LIMIT), stops)

        def reached():
            assert silent.accepted > 0, "the exporter never connected to the hanging collector: was tracing on?"
            return "%d connection(s) during the load, %d in all" % (during_load, silent.accepted)

        checks.run("hanging collector: the exporter did try to reach it", reached)
    finally:
        for server in servers.values():
            server.stop()
        silent.stop()


def interleaved_load(servers):
    """{name: (statuses, seconds)}: one request to each server in turn, so that whatever else
    the machine is doing weighs on them alike; each on its own keep-alive connection."""
    connections = {name: http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                   for name, server in servers.items()}
    results = {name: ([], []) for name in servers}

    def one(name):
        connection = connections[name]
        started = time.perf_counter()
        connection.request("GET", LOAD_ROUTE)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started

    for _ in range(LOAD_WARMUP):
        for name in servers:
            one(name)
    for _ in range(LOAD_REQUESTS):
        for name in servers:
            status, seconds = one(name)
            results[name][0].append(status)
            results[name][1].append(seconds)
    for connection in connections.values():
        connection.close()
    return results


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


if __name__ == "__main__":
    sys.exit(main())
