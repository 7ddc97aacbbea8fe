import Hummingbird
import Logging
import NIOCore
import SwiftletCore

/// Per-request state shared by middleware and handlers.
public struct SwiftletRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed in `X-Request-Id` and in every error body and log line.
    public var requestID: String = ""
    /// Set by the request pipeline from `http.maxBodySize`; Hummingbird's body collection
    /// enforces it.
    public var maxUploadSize: Int = 1_048_576
    /// Set by `BearerAuthMiddleware` on user routes.
    public var principal: Principal?
    /// Set by `AdminKeyMiddleware` on admin routes.
    public var adminKey: AdminKey?
    /// The connection's peer, as the seam reports it.
    public let client: SocketAddress?

    /// The authenticated user; only called on routes behind `BearerAuthMiddleware`.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw AuthErrors.tokenMissing }
        return principal
    }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.client = source.channel.remoteAddress
    }
}
