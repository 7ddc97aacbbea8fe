/// Limits retries toward one dependency to a share of the calls made to it, so that when
/// the dependency fails, retries cannot multiply the load on it (three retries per call
/// would quadruple an outage's traffic; a budget of 10 % adds at most a tenth).
///
/// A retry is granted only while the retries in the rolling window are fewer than
/// `ratio × calls + minimumPerSecond × window` (calls in the same window): the ratio
/// scales with traffic, the small minimum lets a quiet caller (a few calls a minute) still
/// retry a transient failure. Under a sustained outage at 100 calls/s this grants 11 % of
/// calls (10 % + 1 a second), against 300 % for three unbudgeted retries per call.
///
/// Call `recordCall(now:)` for every first attempt, and `canRetry(now:)` before each
/// retry; retries are not calls (a retry funding more retries would defeat the budget).
/// A pure value: time is given, never read; wrap it in a lock to share it.
public struct RetryBudget: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Retries allowed per call over the window.
        public var ratio: Double
        /// Retries allowed per second whatever the traffic, spent over the window.
        public var minimumPerSecond: Double
        /// How far back calls and retries count.
        public var window: Duration
        /// Buckets the window is kept in: counts leave one bucket at a time.
        public var bucketCount: Int

        public init(
            ratio: Double = 0.1,
            minimumPerSecond: Double = 1,
            window: Duration = .seconds(10),
            bucketCount: Int = 10
        ) {
            precondition(ratio >= 0, "the retry ratio cannot be negative")
            precondition(minimumPerSecond >= 0, "the minimum retry rate cannot be negative")
            self.ratio = ratio
            self.minimumPerSecond = minimumPerSecond
            self.window = window
            self.bucketCount = bucketCount
        }

        /// Retries the minimum rate allows over one window.
        var minimumPerWindow: Int {
            let (seconds, attoseconds) = window.components
            let windowSeconds = Double(seconds) + Double(attoseconds) / 1e18
            return Int((minimumPerSecond * windowSeconds).rounded(.down))
        }
    }

    struct Counts: AdditiveArithmetic, Sendable {
        var calls = 0
        var retries = 0

        static let zero = Counts()

        static func + (lhs: Counts, rhs: Counts) -> Counts {
            Counts(calls: lhs.calls + rhs.calls, retries: lhs.retries + rhs.retries)
        }

        static func - (lhs: Counts, rhs: Counts) -> Counts {
            Counts(calls: lhs.calls - rhs.calls, retries: lhs.retries - rhs.retries)
        }
    }

    public let configuration: Configuration
    private var window: SlidingBucketWindow<Counts>

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        window = SlidingBucketWindow(window: configuration.window, bucketCount: configuration.bucketCount)
    }

    /// Records a first attempt: each one earns the budget `ratio` of a retry.
    public mutating func recordCall(now: ResilienceInstant) {
        window.add(Counts(calls: 1), at: now)
    }

    /// Whether a retry may be made now; when it returns `true` the retry is spent.
    public mutating func canRetry(now: ResilienceInstant) -> Bool {
        let current = state(now: now)
        guard current.retries < current.allowance else { return false }
        window.add(Counts(retries: 1), at: now)
        return true
    }

    /// What the budget sees now, for logs and metrics.
    public func state(now: ResilienceInstant) -> RetryBudgetState {
        let counts = window.total(at: now)
        let earned = Int((configuration.ratio * Double(counts.calls)).rounded(.down))
        return RetryBudgetState(
            calls: counts.calls,
            retries: counts.retries,
            allowance: earned + configuration.minimumPerWindow
        )
    }
}

/// A snapshot of a `RetryBudget` over its current window.
public struct RetryBudgetState: Sendable, Equatable {
    /// First attempts in the window.
    public var calls: Int
    /// Retries granted in the window.
    public var retries: Int
    /// Retries the window allows in all: `ratio × calls` plus the minimum.
    public var allowance: Int

    public init(calls: Int, retries: Int, allowance: Int) {
        self.calls = calls
        self.retries = retries
        self.allowance = allowance
    }
}
