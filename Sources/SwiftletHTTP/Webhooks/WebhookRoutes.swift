import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Operator routes for outbound webhooks under `/admin/v1` (behind admin keys): endpoints,
/// secret rotation, messages with their attempts, and replay. `swiftlet admin webhooks`
/// is the CLI twin, calling the same `WebhookService`.
public struct WebhookRoutes: Sendable {
    let webhooks: WebhookService

    public init(webhooks: WebhookService) {
        self.webhooks = webhooks
    }

    public func register(admin: RouterGroup<SwiftletRequestContext>) {
        admin.post("/webhooks") { request, context -> EditedResponse<WebhookWithSecretDTO> in
            let body = try await request.decodeJSON(WebhookCreateRequest.self, context: context)
            let created = try await webhooks.create(WebhookEndpointDraft(
                url: body.url, description: body.description ?? "", eventTypes: body.eventTypes ?? [],
                enabled: body.enabled ?? true, ordered: body.ordered ?? false))
            return EditedResponse(status: .created, headers: [.location: "/admin/v1/webhooks/\(created.endpoint.id)"],
                                  response: WebhookWithSecretDTO(created))
        }
        admin.get("/webhooks") { _, _ -> WebhookEndpointListDTO in
            WebhookEndpointListDTO(items: try await webhooks.endpoints().map(WebhookEndpointDTO.init))
        }
        admin.get("/webhooks/{id}") { _, context -> WebhookEndpointDTO in
            WebhookEndpointDTO(try await webhooks.endpoint(try Self.endpointID(context)))
        }
        admin.patch("/webhooks/{id}") { request, context -> WebhookEndpointDTO in
            let body = try await request.decodeJSON(WebhookPatchRequest.self, context: context)
            return WebhookEndpointDTO(try await webhooks.update(try Self.endpointID(context), WebhookEndpointUpdate(
                url: body.url, description: body.description, eventTypes: body.eventTypes, enabled: body.enabled,
                ordered: body.ordered)))
        }
        admin.delete("/webhooks/{id}") { _, context -> HTTPResponse.Status in
            try await webhooks.delete(try Self.endpointID(context))
            return .noContent
        }
        admin.post("/webhooks/{id}/rotate-secret") { _, context -> WebhookWithSecretDTO in
            WebhookWithSecretDTO(try await webhooks.rotateSecret(try Self.endpointID(context)))
        }
        admin.get("/webhooks/{id}/messages") { request, context -> WebhookMessagePageDTO in
            let query = request.uri.queryParameters
            let limit = try PagingQuery.limit(query) ?? 50
            guard (1...100).contains(limit) else {
                throw SwiftletError.invalid("request.invalid_limit", "limit must be an integer from 1 to 100.")
            }
            let status = try query.get("status").map(Self.status)
            let before = try query.get("before").map { text -> Int64 in
                guard let position = Int64(text), position > 0 else {
                    throw SwiftletError.invalid("request.invalid_cursor", "before must be a cursor from a previous page")
                }
                return position
            }
            let items = try await webhooks.messages(endpoint: try Self.endpointID(context), status: status, before: before, limit: limit)
            return WebhookMessagePageDTO(
                items: items.map(WebhookMessageDTO.init),
                nextCursor: items.count == limit ? items.last.map { String($0.eventPosition) } : nil)
        }
        admin.post("/webhooks/{id}/replay") { request, context -> WebhookReplayDTO in
            let body = try await request.decodeJSON(WebhookReplayRequest.self, context: context)
            let scope = WebhookService.ReplayScope(
                statuses: try body.status.map { try $0.map(Self.status) },
                from: try body.from.map { try Self.date($0, field: "from") },
                to: try body.to.map { try Self.date($0, field: "to") })
            return WebhookReplayDTO(replayed: try await webhooks.replay(endpoint: try Self.endpointID(context), scope))
        }
        admin.get("/webhook-messages/{id}") { _, context -> WebhookMessageDetailDTO in
            let (message, attempts) = try await webhooks.message(try Self.messageID(context))
            return WebhookMessageDetailDTO(message: WebhookMessageDTO(message), attempts: attempts.map(WebhookAttemptDTO.init))
        }
        admin.post("/webhook-messages/{id}/replay") { _, context -> WebhookMessageDTO in
            WebhookMessageDTO(try await webhooks.replay(message: try Self.messageID(context)))
        }
    }

    static func endpointID(_ context: SwiftletRequestContext) throws -> WebhookEndpointID {
        WebhookEndpointID(rawValue: try context.parameters.require("id"))
    }

    static func messageID(_ context: SwiftletRequestContext) throws -> WebhookMessageID {
        WebhookMessageID(rawValue: try context.parameters.require("id"))
    }

    static func status(_ text: String) throws -> WebhookMessageStatus {
        guard let status = WebhookMessageStatus(rawValue: text) else {
            let known = WebhookMessageStatus.allCases.map(\.rawValue).joined(separator: ", ")
            throw SwiftletError.invalid("webhooks.invalid_status", "status must be one of \(known)")
        }
        return status
    }

    /// An RFC 3339 time, with or without fractional seconds.
    static func date(_ text: String, field: String) throws -> Date {
        if let date = RFC3339.date(text) { return date }
        throw SwiftletError.invalid("webhooks.invalid_time", "\(field) must be an RFC 3339 time such as 2027-01-15T08:00:00Z")
    }
}
