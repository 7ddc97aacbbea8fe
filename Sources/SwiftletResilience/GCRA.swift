/// Why a rate-limit policy was refused at construction: a policy that could never admit a
/// request, or whose numbers do not fit the integer arithmetic, is a configuration mistake
/// to report at start-up rather than a limiter that misbehaves under load.
public enum GCRAPolicyError: Error, Equatable, Sendable {
    /// `rate` must be at least 1 request per period.
    case rateNotPositive(Int)
    /// `burst` must be 0 or more.
    case burstNegative(Int)
    /// `period` must be longer than zero.
    case periodNotPositive
    /// The emission interval times `burst + 1` does not fit in 64-bit nanoseconds.
    case tooLarge
}

/// A rate-limit policy under the Generic Cell Rate Algorithm (GCRA), the virtual-scheduling
/// form of a token bucket that keeps one number per key instead of a count and a timestamp.
///
/// Semantics (the same as redis-cell's `CL.THROTTLE` and go-redis `redis_rate` with its burst
/// raised by one), stated in integer nanoseconds:
/// - the **emission interval** `T = ceil(period / rate)`: one request of cost 1 is earned back
///   every `T`. Rounding up by under a nanosecond per request means the rate is never exceeded;
/// - the **limit** `L = burst + 1`: that many cost-1 requests are admitted at once by an idle
///   key, then one per `T`; the **capacity** is `C = L × T`;
/// - the state per key is the **theoretical arrival time** `TAT` (absent for an idle key). The
///   **backlog** at `now` is `b = max(TAT − now, 0)`: how much of the capacity is in use;
/// - a request of cost `n` is **allowed** iff `b + n × T ≤ C`. Then the new TAT is
///   `now + b + n × T`. When refused, the TAT is unchanged (a refused request costs nothing);
/// - `remaining = floor((C − b') / T)` where `b'` is the backlog after the decision: how many
///   more cost-1 requests would be admitted at this same instant;
/// - `retryAfter = b + n × T − C` when refused: the request repeated at `now + retryAfter`
///   is admitted and one nanosecond earlier it is not. A cost above `L` never fits, so it
///   is refused with no `retryAfter`;
/// - `resetAfter = b'`: the time until the key is idle again (full capacity).
///
/// Consequence used by the tests: over any time window of length `W`, the admitted costs
/// sum to at most `L + floor(W / T)`.
///
/// The policy is a pure value: `decide` takes the stored TAT and the current instant and
/// returns the decision with the TAT to store, so the same arithmetic serves an in-process
/// table and any shared store.
public struct GCRAPolicy: Sendable, Hashable {
    /// Requests admitted per `period` in the steady state.
    public let rate: Int
    /// The period `rate` is counted over.
    public let period: Duration
    /// Requests admitted at once beyond the first (redis-cell's `max_burst`).
    public let burst: Int
    /// `T` in nanoseconds.
    public let emissionIntervalNanoseconds: Int64
    /// `C = (burst + 1) × T` in nanoseconds.
    public let capacityNanoseconds: Int64

    public init(rate: Int, period: Duration, burst: Int) throws(GCRAPolicyError) {
        guard rate > 0 else { throw .rateNotPositive(rate) }
        guard burst >= 0 else { throw .burstNegative(burst) }
        guard period > .zero else { throw .periodNotPositive }
        guard burst < Int.max, let periodNanoseconds = gcraNanoseconds(exactly: period) else { throw .tooLarge }
        // Rounded up, so `rate` requests never take less than `period`; at least 1 ns.
        let interval = max(1, (periodNanoseconds - 1) / Int64(rate) + 1)
        let (capacity, overflow) = interval.multipliedReportingOverflow(by: Int64(burst) + 1)
        guard !overflow else { throw .tooLarge }
        self.rate = rate
        self.period = period
        self.burst = burst
        self.emissionIntervalNanoseconds = interval
        self.capacityNanoseconds = capacity
    }

    /// The limit `L = burst + 1`: cost-1 requests an idle key may send at once.
    public var limit: Int { burst + 1 }

    /// The emission interval `T`.
    public var emissionInterval: Duration { .nanoseconds(emissionIntervalNanoseconds) }

    /// Decides one request of weight `cost` (0 only reads the state) for a key whose stored
    /// theoretical arrival time is `tat` (`nil` when the key has none).
    public func decide(tat: ResilienceInstant?, now: ResilienceInstant, cost: Int = 1) -> RateLimitDecision {
        precondition(cost >= 0, "a rate-limit cost is never negative")
        let backlog = tat.map { gcraSaturatingNanoseconds($0 - now) }.map { max($0, 0) } ?? 0
        let (increment, incrementOverflow) = Int64(cost).multipliedReportingOverflow(by: emissionIntervalNanoseconds)
        let (newBacklog, sumOverflow) = backlog.addingReportingOverflow(increment)
        if !incrementOverflow, !sumOverflow, newBacklog <= capacityNanoseconds {
            return RateLimitDecision(
                isAllowed: true,
                tat: now.advanced(by: .nanoseconds(newBacklog)),
                remaining: remaining(backlog: newBacklog),
                retryAfter: nil,
                resetAfter: .nanoseconds(newBacklog),
                limit: limit
            )
        }
        // Only a cost above the limit overflows `increment` (C fits in 64 bits); the wait
        // saturates for a TAT stored under a policy with a far larger capacity.
        var retryAfter: Duration?
        if cost <= limit {
            let (wait, overflow) = (backlog - capacityNanoseconds).addingReportingOverflow(increment)
            retryAfter = .nanoseconds(overflow ? .max : wait)
        }
        return RateLimitDecision(
            isAllowed: false,
            tat: tat,
            remaining: remaining(backlog: backlog),
            retryAfter: retryAfter,
            resetAfter: .nanoseconds(backlog),
            limit: limit
        )
    }

    private func remaining(backlog: Int64) -> Int {
        guard backlog < capacityNanoseconds else { return 0 }
        return Int((capacityNanoseconds - backlog) / emissionIntervalNanoseconds)
    }
}

/// A duration in whole nanoseconds, or `nil` when it does not fit in 64 bits.
private func gcraNanoseconds(exactly duration: Duration) -> Int64? {
    let (seconds, attoseconds) = duration.components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow else { return nil }
    let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
    return sumOverflow ? nil : sum
}

/// A duration in whole nanoseconds, clamped to the 64-bit range: a TAT centuries away
/// from `now` behaves like one at the edge of the range.
private func gcraSaturatingNanoseconds(_ duration: Duration) -> Int64 {
    if let exact = gcraNanoseconds(exactly: duration) { return exact }
    return duration < .zero ? .min : .max
}
