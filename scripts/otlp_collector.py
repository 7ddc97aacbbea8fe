"""A test OTLP/HTTP trace collector: what Swiftlet's exporter talks to in
scripts/telemetry-check.sh.

It accepts `POST /v1/traces` with `Content-Type: application/x-protobuf` (gzip or not),
decodes the body as OpenTelemetry's own `ExportTraceServiceRequest` (PyPI
opentelemetry-proto), keeps every span (ids in hex, name, kind, attributes, the resource's
service.name) and answers 200 with an empty `ExportTraceServiceResponse`, as a collector
does. A body that does not decode is answered 400 and recorded as an error, so a check
can fail on it rather than miss it. Any other path answers 404 and is recorded too.

Webhook receivers can share the listener: `POST /hooks` answers 204 and keeps the
request's headers, so a check can see the `traceparent` a delivery carried.

    python otlp_collector.py [PORT]      # serve and print each span as a JSON line
"""

import gzip
import http.server
import json
import sys
import threading
import time

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

KINDS = {value: name[len("SPAN_KIND_"):] for name, value in trace_pb2.Span.SpanKind.items()}


def any_value(value):
    """An OTLP AnyValue as the Python value it holds."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    return getattr(value, which)


def attributes(pairs):
    return {pair.key: any_value(pair.value) for pair in pairs}


def decode(body):
    """Every span of one ExportTraceServiceRequest body, as dictionaries."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "traceId": span.trace_id.hex(),
                    "spanId": span.span_id.hex(),
                    "parentSpanId": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": KINDS.get(span.kind, str(span.kind)),
                    "attributes": attributes(span.attributes),
                    "status": span.status.code,
                    "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano,
                    "service": resource.get("service.name"),
                    "scope": scope_spans.scope.name,
                })
    return spans


class Collector:
    """A collector on a loopback port (a free one by default), serving from a thread until `stop()`."""

    def __init__(self, port=0, on_span=None):
        self.lock = threading.Lock()
        self.spans = []
        self.exports = 0
        self.errors = []
        self.hooks = []
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/hooks":
                    with collector.lock:
                        collector.hooks.append({k.lower(): v for k, v in self.headers.items()})
                    return self.answer(204, b"", None)
                if self.path != "/v1/traces":
                    collector.error("POST %s: not the traces path" % self.path)
                    return self.answer(404, b"", None)
                content_type = self.headers.get("Content-Type", "")
                if content_type.split(";")[0].strip() != "application/x-protobuf":
                    collector.error("POST /v1/traces with Content-Type %r" % content_type)
                    return self.answer(415, b"", None)
                try:
                    if self.headers.get("Content-Encoding", "").lower() == "gzip":
                        body = gzip.decompress(body)
                    spans = decode(body)
                except Exception as error:  # noqa: BLE001 - any undecodable export is the exporter's fault
                    collector.error("an export that does not decode: %r" % error)
                    return self.answer(400, b"", None)
                with collector.lock:
                    collector.exports += 1
                    collector.spans.extend(spans)
                for span in spans:
                    if on_span:
                        on_span(span)
                response = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.answer(200, response, "application/x-protobuf")

            def do_GET(self):
                collector.error("GET %s" % self.path)
                self.answer(404, b"", None)

            def answer(self, status, body, content_type):
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d/v1/traces" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def error(self, message):
        with self.lock:
            self.errors.append(message)

    def snapshot(self):
        with self.lock:
            return list(self.spans)

    def wait_for(self, predicate, timeout):
        """The first non-empty result of `predicate(spans)` within `timeout` seconds, else the last one."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.snapshot())
            if result or time.monotonic() >= deadline:
                return result
            time.sleep(0.1)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    collector = Collector(int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                          on_span=lambda span: print(json.dumps(span), flush=True))
    print("collecting at %s" % collector.endpoint, file=sys.stderr, flush=True)
    try:
        collector.thread.join()
    except KeyboardInterrupt:
        collector.stop()


if __name__ == "__main__":
    main()
