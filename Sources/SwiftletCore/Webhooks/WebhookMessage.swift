import Foundation

/// Webhook message identifier: `msg_` + 26 base32 characters. One message is one event
/// on its way to one endpoint.
public struct WebhookMessageID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> WebhookMessageID { WebhookMessageID(rawValue: "msg_" + RandomID.base32(byteCount: 16)) }
}

/// Where a message stands.
public enum WebhookMessageStatus: String, Sendable, CaseIterable, Codable {
    /// Not tried yet.
    case pending
    /// Tried and failed; another attempt is scheduled at `nextAttemptAt`.
    case failed
    /// A 2xx answer was received.
    case delivered
    /// Every attempt failed (or the event left the outbox): a dead letter, kept for replay.
    case dead

    /// Statuses still waiting for an attempt.
    public var isOutstanding: Bool { self == .pending || self == .failed }
}

public struct WebhookMessage: Sendable, Equatable {
    public var id: WebhookMessageID
    public var endpointID: WebhookEndpointID
    public var eventID: DomainEventID
    public var eventType: String
    public var eventPosition: Int64
    public var eventOccurredAt: Date
    public var aggregateID: String
    public var status: WebhookMessageStatus
    /// Attempts started so far, the one in flight included (a replay counts from 0 again).
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastStatusCode: Int?
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var deliveredAt: Date?

    public init(id: WebhookMessageID, endpointID: WebhookEndpointID, eventID: DomainEventID, eventType: String,
                eventPosition: Int64, eventOccurredAt: Date, aggregateID: String, status: WebhookMessageStatus, attempts: Int, nextAttemptAt: Date?,
                lastStatusCode: Int?, lastError: String?, createdAt: Date, updatedAt: Date, deliveredAt: Date?) {
        self.id = id
        self.endpointID = endpointID
        self.eventID = eventID
        self.eventType = eventType
        self.eventPosition = eventPosition
        self.eventOccurredAt = eventOccurredAt
        self.aggregateID = aggregateID
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deliveredAt = deliveredAt
    }

    /// A new message carrying `event` to `endpoint`, due at `now`.
    public static func pending(_ event: StoredDomainEvent, to endpoint: WebhookEndpointID, now: Date) -> WebhookMessage {
        WebhookMessage(
            id: .generate(), endpointID: endpoint, eventID: event.event.id, eventType: event.event.type,
            eventPosition: event.position, eventOccurredAt: event.event.occurredAt, aggregateID: event.event.aggregateID,
            status: .pending, attempts: 0, nextAttemptAt: now, lastStatusCode: nil, lastError: nil, createdAt: now,
            updatedAt: now, deliveredAt: nil)
    }
}

/// One try at delivering a message, as recorded.
public struct WebhookAttempt: Sendable, Equatable {
    public var messageID: WebhookMessageID
    public var endpointID: WebhookEndpointID
    /// 1 for the first attempt of the message (since its last replay).
    public var number: Int
    public var attemptedAt: Date
    /// The HTTP status, nil when no answer came (timeout, refused connection, forbidden address).
    public var statusCode: Int?
    public var latencyMilliseconds: Int
    /// The first 1 KiB of the answer's body.
    public var responseBody: String?
    public var error: String?

    public init(messageID: WebhookMessageID, endpointID: WebhookEndpointID, number: Int, attemptedAt: Date, statusCode: Int?,
                latencyMilliseconds: Int, responseBody: String?, error: String?) {
        self.messageID = messageID
        self.endpointID = endpointID
        self.number = number
        self.attemptedAt = attemptedAt
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.responseBody = responseBody
        self.error = error
    }
}

/// A message leased for delivery, with what the attempt needs: the event, the endpoint's
/// address and its signing secrets.
public struct WebhookDelivery: Sendable, Equatable {
    public var message: WebhookMessage
    public var event: StoredDomainEvent?
    public var url: String
    public var secrets: WebhookSigningSecrets
    /// Since when the endpoint has been failing, nil when its last attempt succeeded.
    public var endpointFailingSince: Date?

    public init(message: WebhookMessage, event: StoredDomainEvent?, url: String, secrets: WebhookSigningSecrets,
                endpointFailingSince: Date?) {
        self.message = message
        self.event = event
        self.url = url
        self.secrets = secrets
        self.endpointFailingSince = endpointFailingSince
    }
}

/// What an attempt decided for its message.
public enum WebhookMessageOutcome: Sendable, Equatable {
    case delivered
    case retry(at: Date)
    case dead
}

/// What an attempt decided for its endpoint.
public enum WebhookEndpointHealth: Sendable, Equatable {
    /// A 2xx: the endpoint is healthy again.
    case healthy
    /// A failure: starts (or continues) its failing streak.
    case failing
    /// Disable it now, with this reason (`410 Gone`, or failing for too long).
    case disable(reason: String)
    /// Nothing was sent (the event is gone): the endpoint's health stays as it is.
    case unchanged
}

/// The stored result of one attempt.
public struct WebhookAttemptRecord: Sendable, Equatable {
    public var attempt: WebhookAttempt
    public var outcome: WebhookMessageOutcome
    public var endpoint: WebhookEndpointHealth

    public init(attempt: WebhookAttempt, outcome: WebhookMessageOutcome, endpoint: WebhookEndpointHealth) {
        self.attempt = attempt
        self.outcome = outcome
        self.endpoint = endpoint
    }
}

/// A finished attempt to store, with the operator event to write if it disabled its endpoint.
public struct WebhookRecordedAttempt: Sendable, Equatable {
    public var record: WebhookAttemptRecord
    public var endpointEvent: DomainEvent?

    public init(record: WebhookAttemptRecord, endpointEvent: DomainEvent?) {
        self.record = record
        self.endpointEvent = endpointEvent
    }
}
