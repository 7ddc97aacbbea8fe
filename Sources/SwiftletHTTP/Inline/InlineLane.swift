import HTTPTypes
import NIOCore
import NIOHTTP1
import Synchronization

/// The per-request part of the inline lane shared by every connection: which requests it
/// may answer, and the same request id, headers and access-log line the router path gives
/// (`SwiftletResponder` and Hummingbird's date and server headers).
public final class InlineLane: Sendable {
    let routes: InlineRouteTable
    let requestIDs: RequestIDs
    let accessLog: (any AccessLog)?
    let serverName: String?
    let date: HTTPDateHeader
    private let answered = Atomic<Int>(0)

    /// Requests answered inline since start (the rest went to the router).
    public var answeredCount: Int { answered.load(ordering: .relaxed) }

    public init(routes: InlineRouteTable, requestIDs: RequestIDs, accessLog: (any AccessLog)?, serverName: String?,
                date: HTTPDateHeader) {
        self.routes = routes
        self.date = date
        self.requestIDs = requestIDs
        self.accessLog = accessLog
        self.serverName = serverName
    }

    /// A request the lane may try, with what it matched. Kept small (the head, the
    /// handler and two indices) because it is held across the request's parts.
    struct Candidate {
        let head: HTTPRequestHead
        let handler: InlineHandler
        let pathEnd: String.Index
        let parameterStart: String.Index?
        let started: NIODeadline

        var path: Substring { head.uri[..<pathEnd] }
        var parameter: Substring? { parameterStart.map { head.uri[$0..<pathEnd] } }
    }

    /// Only a kept-alive HTTP/1.1 GET that announces no body, to a known route. Anything
    /// unusual (a body, `Connection: close`, an upgrade, HTTP/1.0, HEAD) goes to the
    /// router, which handles every case.
    func candidate(_ head: HTTPRequestHead, started: NIODeadline) -> Candidate? {
        guard head.method == .GET, head.version == .http1_1, !routes.isEmpty else { return nil }
        for (name, value) in head.headers {
            switch name.utf8.count {
            case 7 where Self.equalsIgnoringCase(name, "upgrade"): return nil
            case 6 where Self.equalsIgnoringCase(name, "expect"): return nil
            case 10 where Self.equalsIgnoringCase(name, "connection"):
                if !Self.equalsIgnoringCase(value, "keep-alive") { return nil }
            case 14 where Self.equalsIgnoringCase(name, "content-length"):
                if value != "0" { return nil }
            case 17 where Self.equalsIgnoringCase(name, "transfer-encoding"): return nil
            default: break
            }
        }
        let uri = head.uri
        let pathEnd = uri.utf8.firstIndex(of: UInt8(ascii: "?")) ?? uri.endIndex
        guard let (handler, parameterStart) = routes.match(uri[..<pathEnd]) else { return nil }
        return Candidate(head: head, handler: handler, pathEnd: pathEnd, parameterStart: parameterStart, started: started)
    }

    /// The complete encoded response, or nil when the handler leaves the request to the
    /// router. Written as HTTP/1.1 bytes here, in one buffer, instead of as parts for the
    /// encoder: the header set is small and fixed, and the values are ours (content types
    /// from code, request ids checked by `RequestIDs.isAcceptable`).
    func respond(_ candidate: borrowing Candidate, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let request = InlineRequest(path: candidate.path, parameter: candidate.parameter, headers: candidate.head.headers)
        guard let response = candidate.handler(request) else { return nil }
        answered.add(1, ordering: .relaxed)

        let requestID = requestIDs.resolve(supplied: candidate.head.headers.first(name: "x-request-id"))
        let bodyByteCount = response.bodyByteCount
        var buffer = allocator.buffer(capacity: 192 + bodyByteCount)
        if response.status == .ok {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/1.1 \(response.status.code) \(response.status.reasonPhrase)\r\n")
        }
        buffer.writeStaticString("Content-Type: ")
        buffer.writeString(response.contentType)
        buffer.writeStaticString("\r\nContent-Length: ")
        buffer.writeString(String(bodyByteCount))
        buffer.writeStaticString("\r\nX-Request-Id: ")
        buffer.writeString(requestID)
        buffer.writeStaticString("\r\nDate: ")
        buffer.writeString(date.current)
        if let serverName {
            buffer.writeStaticString("\r\nServer: ")
            buffer.writeString(serverName)
        }
        buffer.writeStaticString("\r\n\r\n")
        switch response.body {
        case .text(let text): buffer.writeString(text)
        case .bytes(var bytes): buffer.writeBuffer(&bytes)
        }

        if let accessLog {
            accessLog.record(
                method: .get, path: String(candidate.path), status: response.status,
                durationMicroseconds: (NIODeadline.now() - candidate.started).nanoseconds / 1000, requestID: requestID)
        }
        return buffer
    }

    static func equalsIgnoringCase(_ text: String, _ lowercase: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        guard text.utf8.count == expected.count else { return false }
        return zip(text.utf8, expected).allSatisfy { $0 | 0x20 == $1 || $0 == $1 }
    }
}
