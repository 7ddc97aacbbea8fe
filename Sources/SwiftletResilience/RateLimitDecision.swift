/// The answer of a rate limiter for one request, with everything the caller needs: whether
/// to admit it, the state to store, and the numbers the `RateLimit` / `Retry-After` headers
/// advertise. Shadow mode (counting without refusing) is the caller's choice: it reads
/// `isAllowed` and admits anyway.
public struct RateLimitDecision: Sendable, Hashable {
    /// Whether the request fits the policy now.
    public let isAllowed: Bool
    /// The theoretical arrival time to store for the key (unchanged when refused; `nil`
    /// when the key had none and still has none).
    public let tat: ResilienceInstant?
    /// Cost-1 requests that would still be admitted at this same instant.
    public let remaining: Int
    /// When refused: the wait after which this same request is admitted. `nil` when
    /// allowed, and when its cost exceeds the policy's limit (it never fits).
    public let retryAfter: Duration?
    /// The time until the key is idle again, its whole burst available.
    public let resetAfter: Duration
    /// The policy's limit (`burst + 1`), for the headers.
    public let limit: Int

    public init(
        isAllowed: Bool,
        tat: ResilienceInstant?,
        remaining: Int,
        retryAfter: Duration?,
        resetAfter: Duration,
        limit: Int
    ) {
        self.isAllowed = isAllowed
        self.tat = tat
        self.remaining = remaining
        self.retryAfter = retryAfter
        self.resetAfter = resetAfter
        self.limit = limit
    }
}
