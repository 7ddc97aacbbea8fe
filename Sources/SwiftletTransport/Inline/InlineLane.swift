import HTTPTypes
import NIOCore
import NIOHTTP1
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
    private let answered = Atomic<Int>(0)

    /// Requests answered inline since start (the rest went to the router).
    public var answeredCount: Int { answered.load(ordering: .relaxed) }

    /// Routes some observer cannot check on the event loop are left out: their requests
    /// all go through the router, so no guard is ever skipped.
    public init(routes: InlineRouteTable, requestIDs: RequestIDs, seam: RequestSeam, serverName: String?,
                date: HTTPDateHeader, tracing: RequestTracing = .off) {
        self.tracing = tracing
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

    /// The complete encoded response, or nil when the handler leaves the request to the
    /// router. Inline handlers are pure reads of memory, so asking the handler first and
    /// the seam second is indistinguishable from the router's order — and it keeps the
    /// seam's "exactly once": a request the handler declines meets the seam on the router.
    /// Written as HTTP/1.1 bytes here, in one buffer, instead of as parts for the encoder:
    /// the header set is small and fixed, and the values are ours (content types from
    /// code, request ids checked by `RequestIDs.isAcceptable`).
    func respond(_ candidate: borrowing Candidate, client: SocketAddress?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let headers = RequestHeaders.http1(candidate.head.headers)
        let request = InlineRequest(path: candidate.path, parameter: candidate.parameter, query: candidate.query, headers: headers)
        guard let answer = candidate.route.handler(request) else { return nil }
        answered.add(1, ordering: .relaxed)

        let requestID = requestIDs.resolve(supplied: candidate.suppliedRequestID)
        let start = RequestStart(
            method: .get, route: candidate.route.template, path: String(candidate.path), client: client,
            requestID: requestID, headers: headers, started: candidate.started)
        let span = tracing.enabled
            ? tracing.start(start, headers: candidate.head.headers, carriesTraceparent: candidate.carriesTraceparent) : nil
        let passage = seam.begin(start)

        var buffer: ByteBuffer
        let status: HTTPResponse.Status
        let bodyByteCount: Int
        if let refusal = passage.refusal {
            let encoded = ErrorResponse.encode(ErrorResponse.classify(refusal), requestID: requestID)
            status = encoded.status
            bodyByteCount = encoded.body.utf8.count
            buffer = allocator.buffer(capacity: 256 + bodyByteCount)
            head.write(status: status, contentType: nil, bodyByteCount: bodyByteCount, extra: encoded.headers,
                      requestID: requestID, to: &buffer)
            buffer.writeString(encoded.body)
        } else {
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
            status: status, bodyBytes: bodyByteCount, durationNanoseconds: (NIODeadline.now() - candidate.started).nanoseconds,
            traced: span != nil)
        if let span {
            tracing.finish(span, status: status)
            ServiceContext.withValue(span.context) { seam.end(start, passage, outcome) }
            span.end()
        } else {
            seam.end(start, passage, outcome)
        }
        return buffer
    }

    static func equalsIgnoringCase(_ text: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard text.utf8.count == expected.count else { return false }
        return zip(text.utf8, expected).allSatisfy { $0 | 0x20 == $1 || $0 == $1 }
    }
}
