import Foundation

/// Operator events about webhook endpoints, written to the outbox in the transaction that
/// changes the endpoint, so monitoring (or another endpoint) hears that deliveries stopped.
public enum WebhookDomainEvents {
    public static let version = 1

    /// The endpoint was disabled by the delivery: it answered `410 Gone`, or every attempt
    /// failed for longer than `webhooks.disableAfter`. The URL is left out (it may carry
    /// a receiver's token); the id finds it through the admin API.
    public static func endpointDisabled(_ id: WebhookEndpointID, reason: String, failingSince: Date?, at now: Date) -> DomainEvent {
        var payload = JSONObjectWriter()
        payload.field("version", version)
        payload.field("endpointId", id.rawValue)
        payload.field("reason", reason)
        if let failingSince { payload.field("failingSince", RFC3339.string(failingSince)) }
        payload.field("disabledAt", RFC3339.string(now))
        return DomainEvent(type: DomainEventTypes.webhookEndpointDisabled, version: version,
                           aggregateType: DomainEventTypes.Aggregate.webhookEndpoint, aggregateID: id.rawValue,
                           payload: payload.finish(), occurredAt: now)
    }
}
