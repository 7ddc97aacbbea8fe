/// The event types the server writes to the outbox, and the aggregates they are about.
/// docs/events.md describes when each is written and its payload.
public enum DomainEventTypes {
    /// An order was placed (its stock is reserved until it is paid or closed).
    public static let orderCreated = "order.created"
    /// WeChat Pay confirmed the payment (also for a closed order revived by a late payment).
    public static let orderPaid = "order.paid"
    /// The buyer or an admin cancelled the unpaid order.
    public static let orderCancelled = "order.cancelled"
    /// The unpaid order timed out and was closed.
    public static let orderClosed = "order.closed"
    public static let orderShipped = "order.shipped"
    public static let orderCompleted = "order.completed"
    /// A refund was requested; the order waits for WeChat's answer.
    public static let orderRefunding = "order.refunding"
    /// Everything paid was refunded.
    public static let orderRefunded = "order.refunded"
    public static let refundSucceeded = "refund.succeeded"
    /// WeChat closed the refund without paying it out; the order went back to where it was.
    public static let refundFailed = "refund.failed"
    public static let userCreated = "user.created"
    /// The delivery disabled a webhook endpoint (410 Gone, or failing for too long).
    public static let webhookEndpointDisabled = "webhook.endpoint_disabled"

    public static let all = [
        orderCreated, orderPaid, orderCancelled, orderClosed, orderShipped, orderCompleted, orderRefunding,
        orderRefunded, refundSucceeded, refundFailed, userCreated, webhookEndpointDisabled,
    ]

    /// What an event is about: `DomainEvent.aggregateType`.
    public enum Aggregate {
        public static let order = "order"
        public static let refund = "refund"
        public static let user = "user"
        public static let webhookEndpoint = "webhook_endpoint"
    }
}
