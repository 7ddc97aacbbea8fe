import HTTPTypes
import NIOCore
import NIOHTTP1
import SwiftletCore

/// What every observer and guard learns when a request starts, whichever path answers it.
public struct RequestStart: Sendable {
    public let method: HTTPRequest.Method
    /// The route template that matched (`/api/v1/orders/{id}`), or `RequestStart.unmatchedRoute`.
    /// Metrics and limits key on this, never on the raw path, so their size stays bounded.
    public let route: String
    /// The raw path without the query, for the access log.
    public let path: String
    /// The peer of the connection (the load balancer's address behind a proxy).
    public let client: SocketAddress?
    public let requestID: String
    public let headers: RequestHeaders
    /// The raw query (still percent-encoded) on the router path, where guards that sign or
    /// key on it run; nil on the lanes, whose observers have no use for it.
    public let query: String?
    /// When the request was taken up: on the lane when its head was parsed, on the router
    /// when the responder received it (after any wait in the connection's queue), so the
    /// two paths' durations measure the server's own work alike.
    public let started: NIODeadline

    /// The route label of requests no route matched.
    public static let unmatchedRoute = "(unmatched)"

    public init(method: HTTPRequest.Method, route: String, path: String, client: SocketAddress?, requestID: String,
                headers: RequestHeaders, started: NIODeadline, query: String? = nil) {
        self.method = method
        self.route = route
        self.path = path
        self.client = client
        self.requestID = requestID
        self.headers = headers
        self.started = started
        self.query = query
    }
}

/// The request's headers in whichever form the path that answers it holds them: the lane
/// reads HTTP/1 headers, the router HTTP types. Converting either would cost every request.
public enum RequestHeaders: Sendable {
    case http1(HTTPHeaders)
    case fields(HTTPFields)

    /// The first value of a header (name case-insensitive).
    public func first(_ name: String) -> String? {
        switch self {
        case .http1(let headers): headers.first(name: name)
        case .fields(let fields): HTTPField.Name(name).flatMap { fields[$0] }
        }
    }
}

/// How a request ended.
public struct RequestOutcome: Sendable {
    public let status: HTTPResponse.Status
    /// Bytes of the response body (nil when streamed with unknown length).
    public let bodyBytes: Int?
    /// From `RequestStart.started` to the response being ready.
    public let durationNanoseconds: Int64
    /// Whether the request ran in a sampled span: only then has it a trace id worth reading
    /// (most requests are not sampled, and looking costs a task-local read each).
    public let traced: Bool

    public init(status: HTTPResponse.Status, bodyBytes: Int?, durationNanoseconds: Int64, traced: Bool = false) {
        self.status = status
        self.bodyBytes = bodyBytes
        self.durationNanoseconds = durationNanoseconds
        self.traced = traced
    }
}

/// Something that watches or guards every request: the access log, metrics, tracing,
/// request signing, rate limits.
///
/// Both paths that answer requests — the router and the inline lane — call `begin` and
/// `end` exactly once per request through `RequestSeam`, so nothing added here can be
/// bypassed by a fast path.
public protocol RequestObserver: Sendable {
    /// Called before the handler runs. Returning an error refuses the request: it is
    /// answered with that error (through the one error mapping) and the handler never runs.
    /// On the inline lane this runs on the event loop: it must not block.
    func begin(_ request: RequestStart) -> SwiftletError?

    /// Called once the response is ready, for every request whose `begin` was called.
    func end(_ request: RequestStart, _ outcome: RequestOutcome)

    /// Whether this observer can run on the inline lane for `route`. An observer that
    /// needs to suspend (a remote counter, the body) answers false, and the lane is turned
    /// off for that route: its requests all go through the router.
    func runsInline(route: String) -> Bool
}

extension RequestObserver {
    public func begin(_ request: RequestStart) -> SwiftletError? { nil }
    public func runsInline(route: String) -> Bool { true }
}
