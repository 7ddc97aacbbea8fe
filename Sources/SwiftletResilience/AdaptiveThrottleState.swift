/// A snapshot of an `AdaptiveThrottle` over its current window, so logs and metrics can
/// show why calls to a dependency are being refused and how far it is from recovering.
public struct AdaptiveThrottleState: Sendable, Equatable {
    /// Calls attempted (passed to the dependency) in the window.
    public var requests: Int
    /// Attempted calls the dependency accepted.
    public var accepts: Int
    /// Calls refused locally by the throttle in the window (not part of `requests`).
    public var rejected: Int
    /// The probability that the next call is refused locally, in `0..<1`.
    public var rejectProbability: Double

    public init(requests: Int, accepts: Int, rejected: Int, rejectProbability: Double) {
        self.requests = requests
        self.accepts = accepts
        self.rejected = rejected
        self.rejectProbability = rejectProbability
    }
}
