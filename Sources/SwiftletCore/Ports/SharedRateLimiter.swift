/// GCRA rate limiting in a store every node shares (Redis), decided in one atomic step on
/// the store's own clock, so the nodes' clocks do not matter and a limit holds across nodes.
///
/// Times are microseconds: the store computes in them (Lua numbers are doubles, exact to
/// 2^53 µs). The arithmetic is the one `GCRAPolicy` documents in `SwiftletResilience`.
public protocol SharedRateLimiter: Sendable {
    /// Decides one request of weight `cost` for `key` under a policy with emission
    /// interval `interval` and capacity `capacity` (both µs), storing the new theoretical
    /// arrival time when it is admitted.
    func decideRateLimit(key: String, interval: Int64, capacity: Int64, cost: Int) async throws -> SharedRateLimitOutcome
}

/// What a shared store decided: the same fields as `RateLimitDecision`, in µs.
public struct SharedRateLimitOutcome: Sendable, Equatable {
    public let isAllowed: Bool
    public let remaining: Int
    /// After how long the same request would be admitted; nil when admitted, or when its
    /// cost never fits.
    public let retryAfterMicroseconds: Int64?
    /// How long until the key is idle again.
    public let resetAfterMicroseconds: Int64

    public init(isAllowed: Bool, remaining: Int, retryAfterMicroseconds: Int64?, resetAfterMicroseconds: Int64) {
        self.isAllowed = isAllowed
        self.remaining = remaining
        self.retryAfterMicroseconds = retryAfterMicroseconds
        self.resetAfterMicroseconds = resetAfterMicroseconds
    }
}
