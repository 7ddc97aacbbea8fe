import HTTPTypes
import Hummingbird
import Instrumentation
import NIOCore
import NIOHTTP1
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

    public init(enabled: Bool, scheme: String = "http") {
        self.enabled = enabled
        self.scheme = scheme
    }

    public static let off = RequestTracing(enabled: false)

    static func name(_ start: RequestStart) -> String {
        start.method.rawValue + " " + start.route
    }

    /// Runs the router's answer inside the request's span.
    func traced(
        _ start: RequestStart, fields: HTTPFields, _ answer: @Sendable () async throws -> Response
    ) async throws -> Response {
        var parent = ServiceContext.topLevel
        InstrumentationSystem.instrument.extract(fields, into: &parent, using: HTTPFieldsExtractor())
        return try await withSpan(Self.name(start), context: parent, ofKind: .server) { span in
            describe(span, start)
            let response = try await answer()
            finish(span, status: response.status)
            return response
        }
    }

    /// Starts the span of a request the inline lane answers (on the event loop).
    func start(_ start: RequestStart, headers: HTTPHeaders) -> any Span {
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
