import SwiftletResilience

/// Webhook receivers are guarded one endpoint at a time (a `DependencyBreakerMap` keyed by
/// endpoint id, named `webhook:<endpoint id>`): a receiver that is down or hanging has its
/// attempts refused locally, so they stop holding the node's delivery slots for a whole
/// timeout each, while every other endpoint is delivered to as before.
///
/// Retries of webhooks are never immediate — they follow the schedule — so no retry
/// budget is spent here; the breaker covers scheduled retries like first attempts.
public enum WebhookEndpointBreakers {
    /// The throttle waits for 10 attempts to an endpoint within its 10 s window (not 5, as
    /// toward WeChat) before it refuses any: a refused webhook is not failed back to a
    /// client who may try again in a second, it waits for its next turn in the schedule
    /// (5 s, then minutes to hours), so a quiet endpoint's few failures — a receiver
    /// restarting — should not delay its next messages. A receiver that is really down
    /// reaches 10 failures in seconds as soon as traffic is worth protecting.
    public static let configuration = DependencyBreaker.Configuration(throttle: .init(minimumRequests: 10))

    /// One breaker per endpoint, with `configuration`, at most `capacity` of them.
    public static func map(
        capacity: Int = DependencyBreakerMap.defaultCapacity,
        now: @escaping @Sendable () -> ResilienceInstant = { .now },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onChange: @escaping @Sendable (DependencyBreakerChange) -> Void = { _ in }
    ) -> DependencyBreakerMap {
        DependencyBreakerMap(
            prefix: "webhook", capacity: capacity, configuration: configuration, now: now, random: random, onChange: onChange)
    }
}

extension WebhookAnswer {
    /// What an answer says about the receiver's health, for its endpoint's breaker.
    ///
    /// A failure is what says the receiver cannot take deliveries now: no answer (timeout,
    /// connection refused or reset, TLS failure), 408, 429, or any 5xx. Every other status
    /// is an answer, 4xx included, however fast or slow: a receiver answering 400 or 401 is
    /// up and refuses *these* messages (a bug, a wrong secret), which the retry schedule
    /// and the failing-streak rule deal with; refusing its calls locally would not make it
    /// answer differently. 3xx and 410 are answers too. A refusal is nil: nothing was sent.
    var receiverOutcome: DependencyOutcome? {
        switch self {
        case .response(let status, _, _):
            status == 408 || status == 429 || status >= 500 ? .failed : .accepted
        case .failure:
            .failed
        case .refused:
            nil
        }
    }
}

extension WebhookAttemptPolicy {
    /// How a locally refused attempt's error starts in its record.
    public static let refusedReasonPrefix = "not sent: refused locally"

    /// The recorded reason of an attempt refused by the endpoint's breaker.
    static func refusedReason(_ refusal: DependencyRefusal) -> String {
        "\(refusedReasonPrefix): most recent attempts to this endpoint failed (reject probability "
            + "\(DependencyBreakerChange.rounded(refusal.rejectProbability))); tried again on the schedule"
    }
}
