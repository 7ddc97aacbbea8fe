import Foundation
import Hummingbird
import SwiftletCore

/// Wire types for `/admin/v1/webhooks`. The secret appears only in the answers to
/// creation and rotation (`WebhookWithSecretDTO`), never in a read.
struct WebhookCreateRequest: Decodable {
    let url: String
    let description: String?
    let eventTypes: [String]?
    let enabled: Bool?
    let ordered: Bool?
}

struct WebhookPatchRequest: Decodable {
    let url: String?
    let description: String?
    let eventTypes: [String]?
    let enabled: Bool?
    let ordered: Bool?
}

struct WebhookReplayRequest: Decodable {
    /// Message statuses to resend (`failed`, `dead`, `delivered`, `pending`); absent: every
    /// event in the range, including those the endpoint never got.
    let status: [String]?
    let from: String?
    let to: String?
}

struct WebhookEndpointDTO: ResponseEncodable {
    let id: String
    let url: String
    let description: String
    let eventTypes: [String]
    let enabled: Bool
    let ordered: Bool
    let createdAt: String
    let updatedAt: String
    let disabledAt: String?
    let disabledReason: String?
    let failingSince: String?
    let previousSecretExpiresAt: String?

    init(_ endpoint: WebhookEndpoint) {
        id = endpoint.id.rawValue
        url = endpoint.url
        description = endpoint.description
        eventTypes = endpoint.eventTypes
        enabled = endpoint.enabled
        ordered = endpoint.ordered
        createdAt = RFC3339.string(endpoint.createdAt)
        updatedAt = RFC3339.string(endpoint.updatedAt)
        disabledAt = endpoint.disabledAt.map(RFC3339.string)
        disabledReason = endpoint.disabledReason
        failingSince = endpoint.failingSince.map(RFC3339.string)
        previousSecretExpiresAt = endpoint.previousSecretExpiresAt.map(RFC3339.string)
    }
}

struct WebhookWithSecretDTO: ResponseEncodable {
    let endpoint: WebhookEndpointDTO
    /// `whsec_…`: shown this once; store it where the receiver verifies signatures.
    let secret: String

    init(_ created: WebhookService.WithSecret) {
        endpoint = WebhookEndpointDTO(created.endpoint)
        secret = created.secret
    }
}

struct WebhookEndpointListDTO: ResponseEncodable {
    let items: [WebhookEndpointDTO]
}

struct WebhookMessageDTO: ResponseEncodable {
    let id: String
    let endpointId: String
    let eventId: String
    let eventType: String
    let eventPosition: Int64
    let eventOccurredAt: String
    let aggregateId: String
    let status: String
    let attempts: Int
    let nextAttemptAt: String?
    let lastStatusCode: Int?
    let lastError: String?
    let createdAt: String
    let deliveredAt: String?

    init(_ message: WebhookMessage) {
        id = message.id.rawValue
        endpointId = message.endpointID.rawValue
        eventId = message.eventID.rawValue
        eventType = message.eventType
        eventPosition = message.eventPosition
        eventOccurredAt = RFC3339.string(message.eventOccurredAt)
        aggregateId = message.aggregateID
        status = message.status.rawValue
        attempts = message.attempts
        nextAttemptAt = message.status.isOutstanding ? message.nextAttemptAt.map(RFC3339.string) : nil
        lastStatusCode = message.lastStatusCode
        lastError = message.lastError
        createdAt = RFC3339.string(message.createdAt)
        deliveredAt = message.deliveredAt.map(RFC3339.string)
    }
}

struct WebhookMessagePageDTO: ResponseEncodable {
    let items: [WebhookMessageDTO]
    /// Pass as `before` for the next page; absent on the last page.
    let nextCursor: String?
}

struct WebhookAttemptDTO: Encodable, Sendable {
    let number: Int
    let attemptedAt: String
    let statusCode: Int?
    let latencyMs: Int
    let responseBody: String?
    let error: String?

    init(_ attempt: WebhookAttempt) {
        number = attempt.number
        attemptedAt = RFC3339.string(attempt.attemptedAt)
        statusCode = attempt.statusCode
        latencyMs = attempt.latencyMilliseconds
        responseBody = attempt.responseBody
        error = attempt.error
    }
}

struct WebhookMessageDetailDTO: ResponseEncodable {
    let message: WebhookMessageDTO
    let attempts: [WebhookAttemptDTO]
}

struct WebhookReplayDTO: ResponseEncodable {
    /// Messages made due by the replay.
    let replayed: Int
}
