import HTTPTypes
import Hummingbird
import Instrumentation
import NIOCore
import NIOHTTP1
import Synchronization
import SwiftletCore
import Tracing

/// A SERVER span per request, on both paths, with the caller's W3C `traceparent` as its
/// parent: named `METHOD /route/template` (never the raw path), with the OpenTelemetry
/// HTTP attributes. Spans go to the process's tracer (`InstrumentationSystem`), which
/// `swiftlet serve` bootstraps when tracing is on.
///
/// The seam's `end` runs inside the span, so the access log and every log line of the
/// request can carry its trace id. Off, it costs one branch: no span is made at all.
public struct RequestTracing: Sendable {
    public let enabled: Bool
    let scheme: String
    let sampler: HeadSampler
    /// The context every unsampled router request runs under (see `unsampledTraceID`).
    let unsampledParent: ServiceContext

    /// - Parameter sampleRatio: the share of requests without a caller's `traceparent`
    ///   that get a span. The decision is taken here, before any span exists: a request
    ///   left out costs a counter increment, not an unrecorded span.
    ///
    /// Build it after the process has installed its tracer (`swiftlet serve` does): the
    /// unsampled parent is read through that tracer's propagator, once.
    public init(enabled: Bool, scheme: String = "http", sampleRatio: Double = 1) {
        self.enabled = enabled
        self.scheme = scheme
        self.sampler = HeadSampler(ratio: sampleRatio)
        var context = ServiceContext.topLevel
        if enabled {
            InstrumentationSystem.instrument.extract(
                ["traceparent": Self.unsampledTraceparent], into: &context, using: DictionaryExtractor())
            UnsampledTrace.mark(&context)
        }
        self.unsampledParent = context
    }

    public static let off = RequestTracing(enabled: false)

    /// The trace id of the parent every unsampled request runs under. Never exported: its
    /// flags say "not sampled", so spans started beneath it (database, WeChat) are dropped
    /// by the tracer's parent-based sampler instead of starting traces of their own.
    public static let unsampledTraceID = "0af7651916cd43dd8448eb211c80319c"
    static let unsampledTraceparent = "00-\(unsampledTraceID)-b7ad6b7169203331-00"

    static func name(_ start: RequestStart) -> String {
        start.method.rawValue + " " + start.route
    }

    /// Runs the router's answer inside the request's span; `answer` is told whether there
    /// is one (false: the request was left out by head sampling).
    func traced(
        _ start: RequestStart, fields: HTTPFields, _ answer: @Sendable (_ sampled: Bool) async throws -> Response
    ) async throws -> Response {
        if fields[Self.traceparentField] == nil, !sampler.take() {
            return try await ServiceContext.withValue(unsampledParent) { try await answer(false) }
        }
        var parent = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(fields, into: &parent, using: HTTPFieldsExtractor())
        return try await withSpan(Self.name(start), context: parent, ofKind: .server) { span in
            describe(span, start)
            let response = try await answer(true)
            finish(span, status: response.status)
            return response
        }
    }

    static let traceparentField = HTTPField.Name("traceparent")!

    /// Starts the span of a request the inline lane answers (on the event loop), or nil
    /// when it is not sampled (inline handlers start no spans of their own).
    func start(_ start: RequestStart, headers: HTTPHeaders, carriesTraceparent: Bool) -> (any Span)? {
        guard carriesTraceparent || sampler.take() else { return nil }
        var parent = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(headers, into: &parent, using: HTTPHeadersExtractor())
        let span = InstrumentationSystem.tracer.startAnySpan(Self.name(start), context: parent, ofKind: .server)
        describe(span, start)
        return span
    }

    private func describe(_ span: any Span, _ start: RequestStart) {
        span.attributes["http.request.method"] = start.method.rawValue
        span.attributes["http.route"] = start.route
        span.attributes["url.path"] = start.path
        span.attributes["url.scheme"] = scheme
    }

    func finish(_ span: any Span, status: HTTPResponse.Status) {
        span.attributes["http.response.status_code"] = status.code
        if status.code >= 500 {
            span.attributes["error.type"] = String(status.code)
            span.setStatus(SpanStatus(code: .error))
        }
    }
}

/// One request in `1/ratio` is sampled, by counting: cheaper than a random draw per
/// request, and as even. Each thread counts on its own (see `ThreadShard`), so the cores
/// serving requests do not pass one counter's cache line back and forth.
final class HeadSampler: Sendable {
    private static let counterCount = 16
    private let every: UInt64
    private let counters: [PaddedShard<Atomic<UInt64>>]

    init(ratio: Double) {
        every = ratio <= 0 ? 0 : UInt64(max(1, (1 / min(1, ratio)).rounded()))
        counters = (0..<Self.counterCount).map { _ in PaddedShard(Atomic<UInt64>(0)) }
    }

    func take() -> Bool {
        guard every > 0 else { return false }
        if every == 1 { return true }
        let counter = counters[ThreadShard.index(modulo: Self.counterCount)]
        return counter.value.add(1, ordering: .relaxed).newValue % every == 0
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}

struct HTTPFieldsExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}

struct HTTPHeadersExtractor: Extractor {
    func extract(key: String, from carrier: HTTPHeaders) -> String? {
        carrier.first(name: key)
    }
}
