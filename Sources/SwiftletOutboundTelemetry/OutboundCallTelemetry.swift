import CoreMetrics
import Instrumentation
import Synchronization
import Tracing

/// Measures calls to a dependency outside this machine (WeChat, WeChat Pay): duration
/// and errors by API as metrics, a CLIENT span per call when tracing is on, and the W3C
/// `traceparent` (and `tracestate`) the request should carry so the caller's trace
/// continues on the other side.
///
/// One type for every client so their metrics and spans look alike:
/// `swiftlet_<service>_call_duration_seconds{api}` (failures included),
/// `swiftlet_<service>_call_errors_total{api,<errorLabel>}`, span `<service> <api>`.
public struct OutboundCallTelemetry: Sendable {
    public let service: String
    let errorLabel: String
    let factory: (any MetricsFactory)?
    let traces: Bool

    /// - Parameters:
    ///   - service: `wechat`, `wechatpay`: the metric prefix and the span name's first word.
    ///   - errorLabel: the label naming the error (`errcode`, `code`).
    ///   - factory: where metrics go; nil records none.
    ///   - traces: whether to make spans with the process's tracer.
    public init(service: String, errorLabel: String, factory: (any MetricsFactory)?, traces: Bool) {
        self.service = service
        self.errorLabel = errorLabel
        self.factory = factory
        self.traces = traces
    }

    /// Records nothing.
    public static func off(_ service: String) -> OutboundCallTelemetry {
        OutboundCallTelemetry(service: service, errorLabel: "code", factory: nil, traces: false)
    }

    /// Runs `call` as one call to `api`. `call` gets the headers to add to its request;
    /// `classify` names a failure for the errors counter (a small fixed set: an error code
    /// the dependency documents, `transport`, `timeout`, `other`).
    public func measure<T: Sendable>(
        api: String, method: String, host: String, classify: (any Error) -> String,
        _ call: @Sendable (OutboundCall) async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        do {
            let value = try await traced(api: api, method: method, host: host, call)
            record(api: api, since: started, error: nil)
            return value
        } catch {
            record(api: api, since: started, error: classify(error))
            throw error
        }
    }

    private func traced<T: Sendable>(
        api: String, method: String, host: String, _ call: @Sendable (OutboundCall) async throws -> T
    ) async throws -> T {
        guard traces else { return try await call(OutboundCall(headers: [])) }
        return try await withSpan("\(service) \(api)", ofKind: .client) { span in
            span.attributes["http.request.method"] = method
            span.attributes["server.address"] = host
            var carrier: [(String, String)] = []
            InstrumentationSystem.instrument.inject(span.context, into: &carrier, using: PairsInjector())
            let outbound = OutboundCall(headers: carrier)
            defer { if let status = outbound.status { span.attributes["http.response.status_code"] = status } }
            return try await call(outbound)
        }
    }

    private func record(api: String, since started: ContinuousClock.Instant, error: String?) {
        guard let factory else { return }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        Timer(label: "swiftlet_\(service)_call_duration_seconds", dimensions: [("api", api)], factory: factory)
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if let error {
            Counter(label: "swiftlet_\(service)_call_errors_total", dimensions: [("api", api), (errorLabel, error)], factory: factory)
                .increment()
        }
    }
}

/// One call as its client sends it: the headers to add (`traceparent`, `tracestate`),
/// and where the client reports the HTTP status it got, for the span.
public final class OutboundCall: Sendable {
    public let headers: [(String, String)]
    private let answered = Mutex<Int?>(nil)

    init(headers: [(String, String)]) {
        self.headers = headers
    }

    /// Called by the client with the status of the answer.
    public func answered(status: Int) {
        answered.withLock { $0 = status }
    }

    var status: Int? { answered.withLock { $0 } }
}

/// Writes propagation headers as name/value pairs.
public struct PairsInjector: Injector {
    public init() {}
    public func inject(_ value: String, forKey key: String, into carrier: inout [(String, String)]) {
        carrier.append((key, value))
    }
}
