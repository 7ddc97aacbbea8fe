import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Declares each route once, for both paths that may answer it: the router (always) and
/// the inline lane (for GETs that can sometimes be answered from memory).
///
/// A route with an inline form is one `answer` closure used by both paths: the lane calls
/// it on the event loop, and the router's copy calls the very same closure first, falling
/// back to its `otherwise` handler only when the answer needs I/O. So the two paths cannot
/// drift apart, and authenticated routes check tokens through the same
/// `BearerAuthentication` on both.
public struct SwiftletRoutes {
    public let router: Router<SwiftletRequestContext>
    let group: RouterGroup<SwiftletRequestContext>
    let prefix: String
    let inline: InlineRouteCollector
    let authentication: BearerAuthentication?

    public init(router: Router<SwiftletRequestContext>) {
        self.router = router
        self.group = router.group()
        self.prefix = ""
        self.inline = InlineRouteCollector()
        self.authentication = nil
    }

    private init(_ parent: SwiftletRoutes, group: RouterGroup<SwiftletRequestContext>, prefix: String,
                 authentication: BearerAuthentication?) {
        self.router = parent.router
        self.group = group
        self.prefix = prefix
        self.inline = parent.inline
        self.authentication = authentication
    }

    /// Every inline form declared so far (plus any added with `addInline`).
    public var inlineRoutes: InlineRouteTable { inline.table }

    /// Routes under a path prefix.
    public func group(_ path: String) -> SwiftletRoutes {
        SwiftletRoutes(self, group: group.group(RouterPath(path)), prefix: prefix + path, authentication: authentication)
    }

    /// Routes that require a bearer token: the middleware on the router, the same check
    /// from memory on the lane.
    public func requiringBearer(_ authentication: BearerAuthentication) -> SwiftletRoutes {
        SwiftletRoutes(self, group: group.group().add(middleware: BearerAuthMiddleware(authentication)), prefix: prefix,
                       authentication: authentication)
    }

    /// The router group, for routes that have no inline form.
    public var routes: RouterGroup<SwiftletRequestContext> { group }

    /// A GET whose answer never needs I/O: the same closure on both paths. It may return
    /// nil when the answer needs I/O (or is an error), and the router then answers with `otherwise`.
    /// With `onLoop`, the lane may answer such a request itself with work that waits for
    /// I/O on the event loop (`InlineDeferredHandler`); it must answer what `otherwise` does.
    public func get(
        _ path: String, answer: @escaping @Sendable (InlineRequest) -> InlineResponse?,
        onLoop: InlineDeferredHandler? = nil,
        otherwise: @escaping @Sendable (Request, SwiftletRequestContext) async throws -> Response
    ) {
        precondition(authentication == nil, "use get(_:authenticated:otherwise:) on routes that require a token")
        let parameterName = Self.trailingParameter(path)
        group.get(RouterPath(path)) { request, context in
            if let response = answer(Self.view(request, context, parameterName: parameterName)) {
                return response.response
            }
            return try await otherwise(request, context)
        }
        inline.table.get(prefix + path, answer, deferred: onLoop)
    }

    /// An authenticated GET whose answer may come from memory for a principal whose token
    /// memory vouches for; `otherwise` does the rest (on the router, after the middleware).
    public func get(
        _ path: String, authenticated answer: @escaping @Sendable (InlineRequest, Principal) -> InlineResponse?,
        otherwise: @escaping @Sendable (Request, SwiftletRequestContext) async throws -> Response
    ) {
        guard let authentication else { preconditionFailure("get(_:authenticated:) needs requiringBearer(_:)") }
        let parameterName = Self.trailingParameter(path)
        group.get(RouterPath(path)) { request, context in
            let view = Self.view(request, context, parameterName: parameterName)
            if let response = answer(view, try context.requirePrincipal()) {
                return response.response
            }
            return try await otherwise(request, context)
        }
        inline.table.get(prefix + path) { request in
            guard let principal = authentication.principalFromMemory(authorization: request.header("authorization")) else {
                return nil
            }
            return answer(request, principal)
        }
    }

    /// A GET answered from memory every time: the same closure on both paths.
    public func get(_ path: String, always answer: @escaping @Sendable (InlineRequest) -> InlineResponse) {
        precondition(authentication == nil, "use get(_:authenticated:otherwise:) on routes that require a token")
        let parameterName = Self.trailingParameter(path)
        group.get(RouterPath(path)) { request, context in
            answer(Self.view(request, context, parameterName: parameterName)).response
        }
        inline.table.get(prefix + path, answer)
    }

    /// Adds an inline answer for a route registered on the router by other means
    /// (`SwiftletCustomization.inlineRoutes`); it must answer what that route does.
    public func addInline(_ add: (inout InlineRouteTable) -> Void) {
        add(&inline.table)
    }

    static func trailingParameter(_ path: String) -> String? {
        guard path.hasSuffix("}"), let open = path.lastIndex(of: "{") else { return nil }
        return String(path[path.index(after: open)..<path.index(before: path.endIndex)])
    }

    static func view(_ request: Request, _ context: SwiftletRequestContext, parameterName: String?) -> InlineRequest {
        InlineRequest(
            path: Substring(request.uri.path), parameter: parameterName.flatMap { context.parameters.get($0) }.map { Substring($0) },
            query: request.uri.query.map { Substring($0) },
            headers: .fields(request.headers))
    }
}

/// Where the inline forms of a route set accumulate while routes are declared.
final class InlineRouteCollector {
    var table = InlineRouteTable()
}
