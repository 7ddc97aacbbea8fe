import SwiftletCore
import SwiftletTransport

/// Counts every request on the seam, inline lane and router alike, as the OpenTelemetry
/// HTTP conventions name it: `http_server_request_duration_seconds` by method, route
/// template, status and error type, and `http_server_active_requests`.
///
/// Labels come from bounded sets only — the route template (unmatched paths are one
/// label), a known method or `_OTHER`, the status code — so a client inventing paths or
/// methods cannot grow the series. The counts live in `HTTPRequestTable`, sharded by
/// thread: a request costs two uncontended locks, not a registry lookup or a cache line
/// shared by every core.
final class HTTPMetricsObserver: RequestObserver {
    private let table: HTTPRequestTable

    init(metrics: SwiftletMetrics, scheme: String) {
        let table = HTTPRequestTable(bucketSeconds: MetricCatalogue.requestBuckets, scheme: scheme)
        self.table = table
        let durationHelp = metrics.help("http_server_request_duration_seconds")
        let activeHelp = metrics.help("http_server_active_requests")
        metrics.emitting(["http_server_request_duration_seconds", "http_server_active_requests"]) { buffer in
            table.emit(into: &buffer, durationHelp: durationHelp, activeHelp: activeHelp)
        }
    }

    func begin(_ request: RequestStart) -> SwiftletError? {
        table.begin(method: HTTPRequestTable.methodIndex(request.method.rawValue))
        return nil
    }

    func end(_ request: RequestStart, _ outcome: RequestOutcome) {
        table.end(method: HTTPRequestTable.methodIndex(request.method.rawValue), route: request.route,
                  status: outcome.status.code, nanoseconds: outcome.durationNanoseconds)
    }
}
