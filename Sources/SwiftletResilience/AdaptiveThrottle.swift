/// Client-side adaptive throttling toward one dependency, after the Google SRE book
/// ("Handling Overload"): when the dependency refuses or fails more calls than it accepts,
/// the caller refuses some calls itself, locally and at once, with probability
///
///     max(0, (requests − K · accepts) / (requests + 1))
///
/// over a rolling window, so a failing dependency is not buried under calls that would
/// fail anyway, and callers fail fast instead of waiting on it. There are no open/closed
/// states to tune: the probability follows the dependency's own success rate.
///
/// **Only calls actually attempted count as `requests`.** The book counts every call the
/// application asked for, including those this throttle refused. That feeds back on
/// itself: refused calls raise `requests` but can never raise `accepts`, so the
/// probability is pushed toward 1, very few probes reach the dependency, and once it is
/// healthy again it takes those few probes a long time to outweigh the window (go-zero's
/// googlebreaker, which counted its own refusals as drops, was reported to stay open about
/// 15 minutes after a one-minute outage). Counted over attempts only, the probability is
/// `1 − K · (success rate of attempts)`: the dependency keeps receiving K times the calls it
/// can serve, a dead one still sees about √(load × window) probes per window, and failures
/// leave the window after at most `window`, so recovery takes seconds (see the tests:
/// ≥ 95 % of calls go through within 3 s of recovery after a 30 s outage at 100 calls/s).
/// Refusals are still counted, apart: for observability, and toward `minimumRequests`.
///
/// **Calls still waiting can count too.** A call is only recorded when it ends, so a
/// dependency that hangs says nothing until the caller's timeout fires, and the throttle
/// would keep admitting calls for a whole timeout (and, with a timeout longer than the
/// window, oscillate). The caller may pass `pending`: calls attempted that have waited
/// unusually long without an answer; they count as requests not (yet) accepted. The
/// caller decides what "unusually long" is (see `DependencyBreaker`).
///
/// A pure value: every method takes the current instant, `shouldAttempt` takes the random
/// draw, so decisions are reproducible; wrap it in a lock to share it between callers.
public struct AdaptiveThrottle: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// K: how many times the accepted calls may be attempted. 2 as the SRE book
        /// recommends; lower (go-zero uses 1.5) sheds sooner, higher wastes more calls on
        /// a failing dependency.
        public var multiplier: Double
        /// How far back outcomes count.
        public var window: Duration
        /// Buckets the window is kept in: outcomes leave one bucket at a time.
        public var bucketCount: Int
        /// Calls in the window below which nothing is refused, so a handful of failures on a
        /// quiet dependency does not start refusing calls. Calls refused count toward it
        /// (never toward the probability): a dependency whose calls are being refused is
        /// not a quiet one, and its few attempts leaving the window must not drop the
        /// probability to zero at once — that would let a burst of calls through to a
        /// dependency still down (with a hanging one, a burst that waits a whole timeout).
        public var minimumRequests: Int

        public init(
            multiplier: Double = 2,
            window: Duration = .seconds(10),
            bucketCount: Int = 40,
            minimumRequests: Int = 5
        ) {
            precondition(multiplier > 0, "the multiplier K must be positive")
            precondition(minimumRequests >= 0, "the minimum request count cannot be negative")
            self.multiplier = multiplier
            self.window = window
            self.bucketCount = bucketCount
            self.minimumRequests = minimumRequests
        }
    }

    struct Counts: AdditiveArithmetic, Sendable {
        var requests = 0
        var accepts = 0
        var rejected = 0

        static let zero = Counts()

        static func + (lhs: Counts, rhs: Counts) -> Counts {
            Counts(
                requests: lhs.requests + rhs.requests,
                accepts: lhs.accepts + rhs.accepts,
                rejected: lhs.rejected + rhs.rejected
            )
        }

        static func - (lhs: Counts, rhs: Counts) -> Counts {
            Counts(
                requests: lhs.requests - rhs.requests,
                accepts: lhs.accepts - rhs.accepts,
                rejected: lhs.rejected - rhs.rejected
            )
        }
    }

    public let configuration: Configuration
    private var window: SlidingBucketWindow<Counts>

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        window = SlidingBucketWindow(window: configuration.window, bucketCount: configuration.bucketCount)
    }

    /// Whether to call the dependency now. `random` is a uniform draw in `0..<1`
    /// (`Double.random(in: 0..<1)` in production); the call is refused when it falls below
    /// the current reject probability. A refusal is counted apart and never as a request.
    /// When this returns `true`, report the call's outcome with `record(success:now:)`.
    public mutating func shouldAttempt(now: ResilienceInstant, random: Double, pending: Int = 0) -> Bool {
        if random < state(now: now, pending: pending).rejectProbability {
            window.add(Counts(rejected: 1), at: now)
            return false
        }
        return true
    }

    /// Records the outcome of a call that was attempted. `success` is whether the
    /// dependency accepted it; count as failures only the dependency's own refusals and
    /// failures (overload, 5xx, timeouts, connection errors), not the caller's invalid
    /// requests, which say nothing about the dependency's health.
    public mutating func record(success: Bool, now: ResilienceInstant) {
        window.add(Counts(requests: 1, accepts: success ? 1 : 0), at: now)
    }

    /// What the throttle sees now, for logs and metrics.
    /// `pending`: calls attempted and still waiting too long, counted as requests that were
    /// not accepted (in `rejectProbability` only; `requests` is what the window recorded).
    public func state(now: ResilienceInstant, pending: Int = 0) -> AdaptiveThrottleState {
        let counts = window.total(at: now)
        var withPending = counts
        withPending.requests += max(0, pending)
        return AdaptiveThrottleState(
            requests: counts.requests,
            accepts: counts.accepts,
            rejected: counts.rejected,
            rejectProbability: rejectProbability(withPending)
        )
    }

    private func rejectProbability(_ counts: Counts) -> Double {
        guard counts.requests + counts.rejected >= configuration.minimumRequests else { return 0 }
        let requests = Double(counts.requests)
        let excess = requests - configuration.multiplier * Double(counts.accepts)
        return max(0, excess / (requests + 1))
    }
}
