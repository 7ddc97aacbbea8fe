import HTTPTypes
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// The one bearer-token check, shared by the router's middleware and the inline lane so
/// both paths accept and refuse exactly the same tokens.
public struct BearerAuthentication: Sendable {
    let auth: AuthService

    public init(auth: AuthService) {
        self.auth = auth
    }

    /// The principal when memory alone can vouch for the token (verified before, still
    /// unexpired and unrevoked); nil whenever the full check must decide, including every
    /// failure, so refusals are always worded by `authenticate`.
    public func principalFromMemory(authorization: String?) -> Principal? {
        guard let token = BearerToken.extract(authorization: authorization) else { return nil }
        return auth.cachedPrincipal(bearer: token)
    }

    /// The full check: memory first, then signature and claims.
    public func authenticate(authorization: String?) async throws -> Principal {
        guard let token = BearerToken.extract(authorization: authorization) else {
            throw AuthErrors.tokenMissing
        }
        if let principal = auth.cachedPrincipal(bearer: token) { return principal }
        return try await auth.authenticate(bearer: token)
    }
}

/// Requires a valid, unrevoked access token and puts its principal in the context.
/// Costs a signature check and an in-memory lookup: no database round trip.
public struct BearerAuthMiddleware: RouterMiddleware {
    public typealias Context = SwiftletRequestContext
    let authentication: BearerAuthentication

    public init(auth: AuthService) {
        self.authentication = BearerAuthentication(auth: auth)
    }

    public init(_ authentication: BearerAuthentication) {
        self.authentication = authentication
    }

    public func handle(
        _ request: Request, context: SwiftletRequestContext,
        next: (Request, SwiftletRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.principal = try await authentication.authenticate(authorization: request.headers[.authorization])
        return try await next(request, context)
    }
}

enum BearerToken {
    /// The token of an `Authorization: Bearer …` header (scheme case-insensitive).
    /// Byte-level on purpose: this runs on every authenticated request, and Foundation's
    /// trimming goes through NSString.
    static func extract(_ headers: HTTPFields) -> String? {
        extract(authorization: headers[.authorization])
    }

    static func extract(authorization value: String?) -> String? {
        guard let value else { return nil }
        let bytes = value.utf8
        guard bytes.count > 7 else { return nil }
        var index = bytes.startIndex
        for expected in "bearer".utf8 {
            guard bytes[index] | 0x20 == expected else { return nil }
            index = bytes.index(after: index)
        }
        guard bytes[index] == UInt8(ascii: " ") else { return nil }
        while index < bytes.endIndex, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
            index = bytes.index(after: index)
        }
        var end = bytes.endIndex
        while end > index, bytes[bytes.index(before: end)] == UInt8(ascii: " ") || bytes[bytes.index(before: end)] == UInt8(ascii: "\t") {
            end = bytes.index(before: end)
        }
        guard index < end else { return nil }
        return String(value[index..<end])
    }
}
