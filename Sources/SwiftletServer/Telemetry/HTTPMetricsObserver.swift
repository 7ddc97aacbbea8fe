import HTTPTypes
import Prometheus
import Synchronization
import SwiftletCore
import SwiftletTransport

/// Counts every request on the seam, inline lane and router alike, as the OpenTelemetry
/// HTTP conventions name it: `http_server_request_duration_seconds` by method, route
/// template, status and error type, and `http_server_active_requests`.
///
/// Labels come from bounded sets only — the route template (unmatched paths are one
/// label), a known method or `_OTHER`, the status code — so a client inventing paths or
/// methods cannot grow the series. Series handles are cached: a request costs a
/// dictionary lookup under a lock and two atomic updates, not a registry lookup.
final class HTTPMetricsObserver: RequestObserver {
    private struct SeriesKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    private let metrics: SwiftletMetrics
    private let scheme: String
    private let durations = Mutex<[SeriesKey: DurationHistogram]>([:])
    private let active: [String: Prometheus.Gauge]
    private let otherActive: Prometheus.Gauge

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    init(metrics: SwiftletMetrics, scheme: String) {
        self.metrics = metrics
        self.scheme = scheme
        var active: [String: Prometheus.Gauge] = [:]
        for method in Self.knownMethods {
            active[method] = metrics.gauge("http_server_active_requests", [("http_request_method", method), ("url_scheme", scheme)])
        }
        self.active = active
        self.otherActive = metrics.gauge("http_server_active_requests", [("http_request_method", "_OTHER"), ("url_scheme", scheme)])
    }

    /// The method as a label: one of the standard methods, or `_OTHER`.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        knownMethods.contains(method.rawValue) ? method.rawValue : "_OTHER"
    }

    func begin(_ request: RequestStart) -> SwiftletError? {
        (active[request.method.rawValue] ?? otherActive).increment()
        return nil
    }

    func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        (active[request.method.rawValue] ?? otherActive).decrement()
        let key = SeriesKey(method: Self.methodLabel(request.method), route: request.route, status: outcome.status.code)
        let histogram = durations.withLock { cached in
            if let histogram = cached[key] { return histogram }
            let status = outcome.status.code
            let histogram = metrics.secondsHistogram("http_server_request_duration_seconds", [
                ("http_request_method", key.method), ("http_route", key.route),
                ("http_response_status_code", String(status)), ("error_type", status >= 500 ? String(status) : ""),
                ("url_scheme", scheme),
            ])
            cached[key] = histogram
            return histogram
        }
        histogram.recordNanoseconds(outcome.durationNanoseconds)
    }
}
