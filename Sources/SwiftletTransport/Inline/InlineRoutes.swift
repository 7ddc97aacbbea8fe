import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// What an inline handler sees of a request: a bodiless GET. The router's copy of a
/// route builds the same view from its `Request`, so one handler serves both paths.
public struct InlineRequest {
    public let path: Substring
    /// The value of the route's trailing `{parameter}` segment, for routes that have one.
    public let parameter: Substring?
    /// What follows the `?`, exactly as sent (not decoded); nil without one.
    public let query: Substring?
    let headers: RequestHeaders

    public init(path: Substring, parameter: Substring?, query: Substring? = nil, headers: RequestHeaders) {
        self.path = path
        self.parameter = parameter
        self.query = query
        self.headers = headers
    }

    /// The first value of a header (name case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first(name)
    }
}

/// A complete response an inline handler computed without waiting for anything.
public struct InlineResponse: Sendable {
    /// Text bodies stay strings until they are copied into the response buffer, which
    /// saves a buffer per request for the common JSON case.
    public enum Body: Sendable {
        case text(String)
        case bytes(ByteBuffer)
    }

    public var status: HTTPResponse.Status
    public var contentType: String
    public var body: Body

    public init(status: HTTPResponse.Status = .ok, contentType: String, body: Body) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ text: String) -> InlineResponse {
        InlineResponse(contentType: "application/json; charset=utf-8", body: .text(text))
    }

    public static func plainText(_ text: String) -> InlineResponse {
        InlineResponse(contentType: "text/plain; charset=utf-8", body: .text(text))
    }

    var bodyByteCount: Int {
        switch body {
        case .text(let text): text.utf8.count
        case .bytes(let bytes): bytes.readableBytes
        }
    }

    /// The same response as a Hummingbird `Response`, for the router's copy of the route.
    public var response: Response {
        let bytes: ByteBuffer = switch body {
        case .text(let text): ByteBuffer(string: text)
        case .bytes(let bytes): bytes
        }
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: bytes))
    }
}

/// Answers a request on the connection's event loop, or returns nil to leave it to the
/// router. It must never block, and must answer exactly what the router's copy of the
/// route would (the router serves the same path whenever the inline lane does not).
public typealias InlineHandler = @Sendable (InlineRequest) -> InlineResponse?

/// Work whose answer waits for I/O that completes on an event loop (a read on a
/// PostgreSQL connection of the same loop): started on the connection's event loop, and
/// answered by a future, which may complete on any loop. It fails with the same errors
/// the router's copy of the route throws; they are answered through the same mapping.
public typealias InlineWork = @Sendable (any EventLoop) -> EventLoopFuture<InlineResponse>

/// Decides, from the request alone and without side effects, whether the lane answers it
/// with work that waits for I/O (`InlineWork`), or leaves it to the router (nil). The
/// decision comes first so that the seam (guards, observers) runs before any work starts,
/// exactly once, as on the router.
public typealias InlineDeferredHandler = @Sendable (InlineRequest) -> InlineWork?

/// The routes the inline lane may answer: exact paths, and paths ending in one
/// `{parameter}` segment.
///
/// Why it exists: a request handed to the router crosses from the event loop into Swift
/// concurrency and back (an async stream, a task switch, an outbound writer). For reads
/// that need no I/O — the health probe, a cached `/me` — that crossing is most of the
/// cost, so the lane answers them where they were parsed. Everything else, and any
/// request a handler declines, goes to the router unchanged.
public struct InlineRouteTable: Sendable {
    struct Route: Sendable {
        /// The route as registered ("/user/{id}"): the template the seam reports.
        let template: String
        let handler: InlineHandler
        /// Asked when `handler` declines.
        let deferred: InlineDeferredHandler?
    }

    private var exact: [Substring: Route] = [:]
    private var parameterised: [(prefix: String, route: Route)] = []

    public init() {}

    /// Adds a GET route. `path` is exact ("/health/live") or ends in one parameter
    /// segment ("/user/{id}"). A request `handler` declines goes to `deferred` when there
    /// is one, then to the router.
    public mutating func get(_ path: String, _ handler: @escaping InlineHandler, deferred: InlineDeferredHandler? = nil) {
        let route = Route(template: path, handler: handler, deferred: deferred)
        if path.hasSuffix("}"), let open = path.lastIndex(of: "{") {
            let prefix = String(path[..<open])
            precondition(prefix.hasSuffix("/"), "an inline parameter must be a whole trailing segment: \(path)")
            parameterised.append((prefix, route))
        } else {
            exact[Substring(path)] = route
        }
    }

    public var isEmpty: Bool { exact.isEmpty && parameterised.isEmpty }

    /// Every registered route template, for checks that walk them all.
    public var templates: [String] {
        exact.values.map(\.template).sorted() + parameterised.map(\.route.template)
    }

    /// The same table without the routes `keep` refuses: how routes some guard cannot
    /// check inline are turned over to the router whole.
    public func filter(_ keep: (String) -> Bool) -> InlineRouteTable {
        var kept = InlineRouteTable()
        kept.exact = exact.filter { keep($0.value.template) }
        kept.parameterised = parameterised.filter { keep($0.route.template) }
        return kept
    }

    /// The route for `path` (no query), and where the parameter segment starts if the
    /// route has one.
    /// Paths with percent-escapes are left to the router, which decodes them.
    func match(_ path: Substring) -> (route: Route, parameterStart: String.Index?)? {
        if let route = exact[path] { return (route, nil) }
        for entry in parameterised where path.utf8.starts(with: entry.prefix.utf8) {
            let parameter = path.utf8.dropFirst(entry.prefix.utf8.count)
            guard !parameter.isEmpty,
                  !parameter.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "%") })
            else { return nil }
            return (entry.route, parameter.startIndex)
        }
        return nil
    }
}
