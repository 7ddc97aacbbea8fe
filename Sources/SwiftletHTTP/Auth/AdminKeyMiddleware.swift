import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Guards `/admin/v1`: only an active admin key passes. User access tokens never match
/// (they are not admin keys), so a user cannot reach admin routes whatever they hold.
public struct AdminKeyMiddleware: RouterMiddleware {
    public typealias Context = SwiftletRequestContext
    let keys: any AdminKeyRepository
    let clock: SwiftletClock

    public init(keys: any AdminKeyRepository, clock: SwiftletClock) {
        self.keys = keys
        self.clock = clock
    }

    public static let missing = SwiftletError(.unauthenticated, code: "admin.key_missing", message: "An admin key is required (Authorization: Bearer swk_…).")
    public static let invalid = SwiftletError(.unauthenticated, code: "admin.key_invalid", message: "The admin key is not valid or has been revoked.")

    public func handle(
        _ request: Request, context: SwiftletRequestContext,
        next: (Request, SwiftletRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let presented = BearerToken.extract(request.headers) else { throw Self.missing }
        guard presented.hasPrefix(AdminKeys.prefix), presented.utf8.count <= 128,
              let key = try await keys.authenticate(keyHash: SecretToken.hash(presented), now: clock.now)
        else {
            throw Self.invalid
        }
        var context = context
        context.adminKey = key
        return try await next(request, context)
    }
}
