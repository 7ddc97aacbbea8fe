import Foundation

/// How a node delivers webhooks (the `webhooks.*` configuration keys).
public struct WebhookDeliverySettings: Sendable, Equatable {
    /// How long one attempt may take, from connecting to the end of the answer's head.
    public var attemptTimeout: Duration
    /// How often an idle node looks for new events and due retries.
    public var pollInterval: Duration
    /// How long a claimed message stays this node's; longer than an attempt can take.
    public var lease: Duration
    /// Attempts in flight at once on this node.
    public var concurrency: Int

    public init(attemptTimeout: Duration = .seconds(15), pollInterval: Duration = .milliseconds(100),
                lease: Duration = .seconds(120), concurrency: Int = 32) {
        precondition(lease > attemptTimeout, "a lease must outlast an attempt")
        self.attemptTimeout = attemptTimeout
        self.pollInterval = pollInterval
        self.lease = lease
        self.concurrency = max(1, concurrency)
    }
}
