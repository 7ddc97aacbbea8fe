import Foundation

/// When a failed delivery is tried again, and when it is given up (a dead letter).
///
/// The default is Svix's schedule: retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
/// after each failure, eight attempts over about 28 hours, enough to ride out a receiver's
/// deployment or a night-long outage without hammering it. Each delay is spread by ±20 %
/// so the messages that failed together during an outage do not all come back at the same
/// second when it ends.
///
/// A receiver's `Retry-After` can push a retry later, up to a day, never sooner than the
/// schedule: a receiver may ask for a pause but cannot make us retry faster, and a
/// mistaken `Retry-After: 31536000` does not park a message for a year.
///
/// A pure value: the time and the randomness are given, so tests pin every delay.
public struct WebhookRetrySchedule: Sendable {
    public static let defaultDelays: [Duration] = [
        .seconds(5), .seconds(5 * 60), .seconds(30 * 60), .seconds(2 * 3600),
        .seconds(5 * 3600), .seconds(10 * 3600), .seconds(10 * 3600),
    ]
    public static let defaultJitter = 0.2
    public static let defaultMaximumRetryAfter: Duration = .seconds(24 * 3600)

    /// The delay before each retry: `delays[0]` after the first attempt fails.
    public let delays: [Duration]
    /// Each delay is multiplied by a factor drawn uniformly from `1 ± jitter`.
    public let jitter: Double
    /// The longest wait a `Retry-After` can ask for.
    public let maximumRetryAfter: Duration
    /// A value in `0..<1`; the system generator by default, a constant in tests.
    let random: @Sendable () -> Double

    public init(
        delays: [Duration] = defaultDelays,
        jitter: Double = defaultJitter,
        maximumRetryAfter: Duration = defaultMaximumRetryAfter,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        precondition(delays.allSatisfy { $0 >= .zero }, "retry delays cannot be negative")
        precondition((0...1).contains(jitter), "jitter is a fraction between 0 and 1")
        precondition(maximumRetryAfter >= .zero, "the Retry-After bound cannot be negative")
        self.delays = delays
        self.jitter = jitter
        self.maximumRetryAfter = maximumRetryAfter
        self.random = random
    }

    /// Attempts a message gets: the first and one per delay.
    public var maximumAttempts: Int { delays.count + 1 }

    /// When to try again after attempt number `attempt` (1 for the first delivery) failed
    /// at `now`, given the answer's `Retry-After` if any; `nil` when that was the last
    /// attempt and the message is a dead letter.
    public func nextAttempt(after attempt: Int, now: Date, retryAfter: String?) -> Date? {
        delay(after: attempt, now: now, retryAfter: retryAfter).map { now.addingTimeInterval($0.timeInterval) }
    }

    /// The wait after attempt `attempt` failed: the scheduled delay with jitter, raised to
    /// the `Retry-After` (capped at `maximumRetryAfter`) when that is later.
    public func delay(after attempt: Int, now: Date, retryAfter: String?) -> Duration? {
        precondition(attempt >= 1, "attempts are counted from 1")
        guard attempt <= delays.count else { return nil }
        let draw = min(max(random(), 0), 1.0.nextDown)
        let factor = 1 + jitter * (2 * draw - 1)
        let scheduled = Duration.milliseconds(Int64((delays[attempt - 1].timeInterval * factor * 1000).rounded()))
        guard let retryAfter, let asked = WebhookRetryAfter.delay(parsing: retryAfter, now: now) else { return scheduled }
        return max(scheduled, min(asked, maximumRetryAfter))
    }
}

extension Duration {
    /// The duration in seconds, as `Date` arithmetic takes it.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
