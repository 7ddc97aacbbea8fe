import Logging
import SwiftletResilience
import SwiftletWeChat
import SwiftletWebhookDelivery

/// The breakers in front of this node's outbound calls: one for WeChat (the mini-program
/// API, token fetches included), one for WeChat Pay, one per webhook endpoint. Each node
/// has its own: a breaker reacts to what this node sees, in seconds, with no shared state
/// to fail.
///
/// Every change is logged once, with the dependency's name and numbers only (never a URL,
/// a body or a user): `warning` when a breaker starts refusing calls, `notice` when it
/// stops. `snapshots()` is the read-only view for metrics.
public final class OutboundBreakers: Sendable {
    public let wechat: DependencyBreaker
    public let wechatPay: DependencyBreaker
    /// Keyed by webhook endpoint id.
    public let webhooks: DependencyBreakerMap

    /// `now` is the breakers' time source: the monotonic clock, never the wall clock a
    /// test may move (their windows are seconds of elapsed time, not business time).
    init(logger: Logger, now: @escaping @Sendable () -> ResilienceInstant = { .now }) {
        let report: @Sendable (DependencyBreakerChange) -> Void = { Self.log($0, to: logger) }
        wechat = DependencyBreaker(name: "wechat", configuration: WeChatClient.breakerConfiguration, now: now, onChange: report)
        wechatPay = DependencyBreaker(name: "wechatpay", now: now, onChange: report)
        webhooks = WebhookEndpointBreakers.map(now: now, onChange: report)
    }

    /// Every breaker's state now: WeChat, WeChat Pay, then the webhook endpoints by name.
    public func snapshots() -> [DependencyBreakerSnapshot] {
        [wechat.snapshot(), wechatPay.snapshot()] + webhooks.snapshots()
    }

    static func log(_ change: DependencyBreakerChange, to logger: Logger) {
        switch change {
        case .startedRefusing(let started):
            logger.warning("dependency breaker started refusing calls: most recent calls failed", metadata: [
                "dependency": .string(started.dependency),
                "rejectProbability": .stringConvertible(DependencyBreakerChange.rounded(started.rejectProbability)),
                "windowRequests": .stringConvertible(started.requests),
                "windowAccepts": .stringConvertible(started.accepts),
            ])
        case .stoppedRefusing(let stopped):
            logger.notice("dependency breaker stopped refusing calls", metadata: [
                "dependency": .string(stopped.dependency),
                "refusedForSeconds": .stringConvertible(Self.seconds(stopped.refusedFor)),
                "refusals": .stringConvertible(stopped.refusals),
            ])
        }
    }

    /// A duration in seconds with one decimal.
    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return ((Double(seconds) + Double(attoseconds) / 1e18) * 10).rounded() / 10
    }
}
