import NIOCore

/// Reconnect delays: doubling from `base`, capped at `cap`, with "equal jitter" (half
/// fixed, half random), so many clients that lost the same server do not reconnect in
/// lockstep and a dead server costs a bounded rate of attempts.
public struct RedisBackoff: Sendable, Equatable {
    public var base: TimeAmount
    public var cap: TimeAmount

    public init(base: TimeAmount, cap: TimeAmount) {
        self.base = base
        self.cap = cap
    }

    /// The delay after `attempt` consecutive failures (1 for the first), with `jitter`
    /// in 0..<1 (random in use, fixed in tests).
    public func delay(afterFailures attempt: Int, jitter: Double) -> TimeAmount {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(cap.nanoseconds, base.nanoseconds.multipliedReportingOverflow(by: Int64(1) << exponent).partialValue)
        let bounded = full <= 0 ? cap.nanoseconds : full
        let half = bounded / 2
        return .nanoseconds(half + Int64(Double(bounded - half) * min(max(jitter, 0), 1)))
    }
}
