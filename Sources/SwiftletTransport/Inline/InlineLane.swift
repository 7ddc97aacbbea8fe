import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import SwiftletCore
import Synchronization
import Tracing

/// The per-request part of the inline lane shared by every connection: which requests it
/// may answer, and the same request id, headers and seam calls the router path makes
/// (`SwiftletResponder` and Hummingbird's date and server headers).
public final class InlineLane: Sendable {
    let routes: InlineRouteTable
    let requestIDs: RequestIDs
    let seam: RequestSeam
    let head: ResponseHeadWriter
    let tracing: RequestTracing
    let logger: Logger
    private let answered = Atomic<Int>(0)

    /// Requests answered inline since start (the rest went to the router).
    public var answeredCount: Int { answered.load(ordering: .relaxed) }

    /// Routes some observer cannot check on the event loop are left out: their requests
    /// all go through the router, so no guard is ever skipped.
    public init(routes: InlineRouteTable, requestIDs: RequestIDs, seam: RequestSeam, serverName: String?,
                date: HTTPDateHeader, tracing: RequestTracing = .off, logger: Logger = Logger(label: "swiftlet.http")) {
        self.tracing = tracing
        self.logger = logger
        self.routes = routes.filter { seam.runsInline(route: $0) }
        self.head = ResponseHeadWriter(serverName: serverName, date: date)
        self.requestIDs = requestIDs
        self.seam = seam
    }

    /// The route templates the lane answers (after leaving out those a guard needs the router for).
    public var templates: [String] { routes.templates }

    /// A request the lane may try, with what it matched. Kept small (the head, the
    /// route and two indices) because it is held across the request's parts.
    struct Candidate {
        let head: HTTPRequestHead
        let route: InlineRouteTable.Route
        let pathEnd: String.Index
        let parameterStart: String.Index?
        let started: NIODeadline
        /// Read in the same pass over the headers that vets the request: the caller's
        /// request id, and whether a trace context came with it.
        let suppliedRequestID: String?
        let carriesTraceparent: Bool

        var path: Substring { head.uri[..<pathEnd] }
        var parameter: Substring? { parameterStart.map { head.uri[$0..<pathEnd] } }
        var query: Substring? { pathEnd == head.uri.endIndex ? nil : head.uri[head.uri.index(after: pathEnd)...] }
    }

    /// Only a kept-alive HTTP/1.1 GET that announces no body, to a known route. Anything
    /// unusual (a body, `Connection: close`, an upgrade, HTTP/1.0, HEAD) goes to the
    /// router, which handles every case.
    func candidate(_ head: HTTPRequestHead, started: NIODeadline) -> Candidate? {
        guard head.method == .GET, head.version == .http1_1, !routes.isEmpty else { return nil }
        var suppliedRequestID: String?
        var carriesTraceparent = false
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 7 where Self.equalsIgnoringCase(name, "upgrade"): return nil
            case 6 where Self.equalsIgnoringCase(name, "expect"): return nil
            case 10 where Self.equalsIgnoringCase(name, "connection"):
                if !Self.equalsIgnoringCase(value, "keep-alive") { return nil }
            case 14 where Self.equalsIgnoringCase(name, "content-length"):
                if value != "0" { return nil }
            case 17 where Self.equalsIgnoringCase(name, "transfer-encoding"): return nil
            // The server's own client-certificate mark: the router strips a forged one
            // before anything reads it; the lane leaves such requests to it.
            case 29 where Self.equalsIgnoringCase(name, "x-swiftlet-client-certificate"): return nil
            case 11 where Self.equalsIgnoringCase(name, "traceparent"): carriesTraceparent = true
            case 12 where suppliedRequestID == nil && Self.equalsIgnoringCase(name, "x-request-id"): suppliedRequestID = value
            default: break
            }
        }
        let uri = head.uri
        let pathEnd = uri.utf8.firstIndex(of: UInt8(ascii: "?")) ?? uri.endIndex
        guard let (route, parameterStart) = routes.match(uri[..<pathEnd]) else { return nil }
        return Candidate(head: head, route: route, pathEnd: pathEnd, parameterStart: parameterStart, started: started,
                         suppliedRequestID: suppliedRequestID, carriesTraceparent: carriesTraceparent)
    }

    /// What the lane answers a request with: the encoded response now, or once work that
    /// waits for I/O is done (`InlineDeferredHandler`), on the connection's event loop.
    enum Answer {
        case now(ByteBuffer)
        case later(EventLoopFuture<ByteBuffer>)
    }

    /// The answer, or nil when the route leaves the request to the router. Inline handlers
    /// are pure reads of memory, so asking the handler first and the seam second is
    /// indistinguishable from the router's order — and it keeps the seam's "exactly once":
    /// a request the handler declines meets the seam on the router. A deferred handler
    /// only decides (without side effects) before the seam; its work starts after it.
    func respond(
        _ candidate: borrowing Candidate, client: SocketAddress?, eventLoop: any EventLoop, allocator: ByteBufferAllocator
    ) -> Answer? {
        let headers = RequestHeaders.http1(candidate.head.headers)
        let request = InlineRequest(path: candidate.path, parameter: candidate.parameter, query: candidate.query, headers: headers)
        if let answer = candidate.route.handler(request) {
            let exchange = begin(candidate, headers: headers, client: client)
            return .now(finish(exchange, exchange.passage.refusal.map { .failure($0) } ?? .success(answer), allocator: allocator))
        }
        guard let work = candidate.route.deferred?(request) else { return nil }
        let exchange = begin(candidate, headers: headers, client: client)
        if let refusal = exchange.passage.refusal {
            return .now(finish(exchange, .failure(refusal), allocator: allocator))
        }
        // Under the request's span, so the work's own spans (a database read) are its children.
        let answer = exchange.span.map { span in ServiceContext.withValue(span.context) { work(eventLoop) } } ?? work(eventLoop)
        return .later(answer.hop(to: eventLoop)
            .map { [self] in finish(exchange, .success($0), allocator: allocator) }
            .recover { [self] in finish(exchange, .failure($0), allocator: allocator) })
    }

    /// A request the lane took, between the seam's begin and end.
    private struct Exchange: Sendable {
        let start: RequestStart
        let span: (any Span)?
        let passage: RequestSeam.Passage
    }

    private func begin(_ candidate: borrowing Candidate, headers: RequestHeaders, client: SocketAddress?) -> Exchange {
        answered.add(1, ordering: .relaxed)
        let requestID = requestIDs.resolve(supplied: candidate.suppliedRequestID)
        let start = RequestStart(
            method: .get, route: candidate.route.template, path: String(candidate.path), client: client,
            requestID: requestID, headers: headers, started: candidate.started)
        let span = tracing.enabled
            ? tracing.start(start, headers: candidate.head.headers, carriesTraceparent: candidate.carriesTraceparent) : nil
        return Exchange(start: start, span: span, passage: seam.begin(start))
    }

    /// Written as HTTP/1.1 bytes here, in one buffer, instead of as parts for the encoder:
    /// the header set is small and fixed, and the values are ours (content types from
    /// code, request ids checked by `RequestIDs.isAcceptable`). Errors (a guard's refusal,
    /// a failed deferred answer) are answered through the one error mapping.
    private func finish(_ exchange: Exchange, _ result: Result<InlineResponse, any Error>, allocator: ByteBufferAllocator) -> ByteBuffer {
        let requestID = exchange.start.requestID
        var buffer: ByteBuffer
        let status: HTTPResponse.Status
        let bodyByteCount: Int
        switch result {
        case .failure(let error):
            let rendered = ErrorResponse.classify(error)
            if rendered.isUnexpected {
                logger.error("unhandled error", metadata: [
                    "requestId": .string(requestID), "method": "GET", "path": .string(exchange.start.path),
                    "error": .string(ErrorLog.describe(error)),
                ])
            }
            let encoded = ErrorResponse.encode(rendered, requestID: requestID)
            status = encoded.status
            bodyByteCount = encoded.body.utf8.count
            buffer = allocator.buffer(capacity: 256 + bodyByteCount)
            head.write(status: status, contentType: nil, bodyByteCount: bodyByteCount, extra: encoded.headers,
                      requestID: requestID, to: &buffer)
            buffer.writeString(encoded.body)
        case .success(let answer):
            status = answer.status
            bodyByteCount = answer.bodyByteCount
            buffer = allocator.buffer(capacity: 192 + bodyByteCount)
            head.write(status: status, contentType: answer.contentType, bodyByteCount: bodyByteCount, extra: [:],
                      requestID: requestID, to: &buffer)
            switch answer.body {
            case .text(let text): buffer.writeString(text)
            case .bytes(var bytes): buffer.writeBuffer(&bytes)
            }
        }
        let outcome = RequestOutcome(
            status: status, bodyBytes: bodyByteCount,
            durationNanoseconds: (NIODeadline.now() - exchange.start.started).nanoseconds, traced: exchange.span != nil)
        if let span = exchange.span {
            tracing.finish(span, status: status)
            ServiceContext.withValue(span.context) { seam.end(exchange.start, exchange.passage, outcome) }
            span.end()
        } else {
            seam.end(exchange.start, exchange.passage, outcome)
        }
        return buffer
    }

    static func equalsIgnoringCase(_ text: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard text.utf8.count == expected.count else { return false }
        return zip(text.utf8, expected).allSatisfy { $0 | 0x20 == $1 || $0 == $1 }
    }
}
