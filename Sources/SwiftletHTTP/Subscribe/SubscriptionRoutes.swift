import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// `/api/v1/me/subscriptions`: what the user accepted in `wx.requestSubscribeMessage`,
/// reported by the mini-program right after the call, and what is left.
public struct SubscriptionRoutes: Sendable {
    let subscriptions: SubscribeMessageService

    public init(subscriptions: SubscribeMessageService) {
        self.subscriptions = subscriptions
    }

    public func register(buyer api: RouterGroup<SwiftletRequestContext>) {
        api.post("/me/subscriptions") { request, context -> SubscriptionListDTO in
            let userID = try context.requirePrincipal().userID
            let result = try await request.decodeJSON([String: String].self, context: context)
            return SubscriptionListDTO(try await subscriptions.report(user: userID, result: result))
        }
        api.get("/me/subscriptions") { _, context -> SubscriptionListDTO in
            SubscriptionListDTO(try await subscriptions.quotas(user: try context.requirePrincipal().userID))
        }
    }
}

struct SubscriptionDTO: Encodable, Sendable {
    let templateId: String
    /// Messages that may still be sent with this template (one per acceptance).
    let remaining: Int
}

struct SubscriptionListDTO: ResponseEncodable {
    let subscriptions: [SubscriptionDTO]

    init(_ quotas: [SubscriptionQuota]) {
        subscriptions = quotas.map { SubscriptionDTO(templateId: $0.templateID, remaining: $0.remaining) }
    }
}
