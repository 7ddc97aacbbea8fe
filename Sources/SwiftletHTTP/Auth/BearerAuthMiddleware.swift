import HTTPTypes
import Hummingbird
import SwiftletCore

/// Requires a valid, unrevoked access token and puts its principal in the context.
/// Costs a signature check and an in-memory lookup: no database round trip.
public struct BearerAuthMiddleware: RouterMiddleware {
    public typealias Context = SwiftletRequestContext
    let auth: AuthService

    public init(auth: AuthService) {
        self.auth = auth
    }

    public func handle(
        _ request: Request, context: SwiftletRequestContext,
        next: (Request, SwiftletRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let token = BearerToken.extract(request.headers) else {
            throw AuthErrors.tokenMissing
        }
        var context = context
        context.principal = try await auth.authenticate(bearer: token)
        return try await next(request, context)
    }
}

enum BearerToken {
    /// The token of an `Authorization: Bearer …` header (scheme case-insensitive).
    static func extract(_ headers: HTTPFields) -> String? {
        guard let value = headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
