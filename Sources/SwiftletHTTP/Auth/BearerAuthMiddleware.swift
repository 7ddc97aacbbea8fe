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
