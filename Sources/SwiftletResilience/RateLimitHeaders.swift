/// The response header fields that tell a client its rate limit, so a well-behaved client
/// paces itself instead of learning the limit from refusals.
///
/// Form: draft-ietf-httpapi-ratelimit-headers-11 (May 2026), Structured Fields (RFC 9651)
/// lists of one item each:
/// - `RateLimit-Policy: "<name>";q=<quota>;w=<window seconds>`: the policy's `rate` per
///   `period`. The draft's window is whole seconds, so a period that is not is advertised
///   over the next whole second with the quota scaled down (rounded down, never promising
///   more than the policy admits);
/// - `RateLimit: "<name>";r=<remaining>;t=<seconds>`: `r` is the decision's `remaining`.
///   `t` (the time within which the client should not use more than `r`) is the time until
///   the key is idle again, rounded up, for an admitted request; for a refused one it equals
///   `Retry-After`, because the draft asks that `Retry-After` not point before the end of
///   the effective window, and `r=0` over the time until the request fits is exact;
/// - `Retry-After: <seconds>` only when refused: `retryAfter` rounded up to whole seconds
///   (at least 1), so a client that waits that long is admitted. A request whose cost can
///   never fit gets no `Retry-After`.
public struct RateLimitHeaders: Sendable, Hashable {
    public static let policyFieldName = "RateLimit-Policy"
    public static let rateLimitFieldName = "RateLimit"
    public static let retryAfterFieldName = "Retry-After"

    /// The `RateLimit-Policy` field value.
    public let policy: String
    /// The `RateLimit` field value.
    public let rateLimit: String
    /// The `Retry-After` field value (delay-seconds), present only for a refusal that a
    /// later retry can pass.
    public let retryAfter: String?

    /// Renders the fields for `decision` under `policy`, named `name` (the route group's
    /// policy name; characters a Structured Fields string cannot hold are left out).
    public init(name: String, policy: GCRAPolicy, decision: RateLimitDecision) {
        let item = Self.structuredString(name)
        let (quota, window) = Self.quotaAndWindow(policy)
        self.policy = "\(item);q=\(quota);w=\(window)"
        let retrySeconds = decision.retryAfter.map(Self.wholeSecondsRoundedUp)
        let effectiveWindow = retrySeconds ?? Self.wholeSecondsRoundedUp(decision.resetAfter, minimum: 0)
        self.rateLimit = "\(item);r=\(max(0, decision.remaining));t=\(effectiveWindow)"
        self.retryAfter = retrySeconds.map(String.init)
    }

    /// The fields as name/value pairs, in the order a response carries them.
    public var fields: [(name: String, value: String)] {
        var fields = [(name: Self.policyFieldName, value: policy), (name: Self.rateLimitFieldName, value: rateLimit)]
        if let retryAfter { fields.append((name: Self.retryAfterFieldName, value: retryAfter)) }
        return fields
    }

    /// `rate` per `period` as a quota over a whole number of seconds (at least 1).
    private static func quotaAndWindow(_ policy: GCRAPolicy) -> (quota: Int64, window: Int64) {
        let (seconds, attoseconds) = policy.period.components
        if attoseconds == 0 { return (Int64(policy.rate), seconds) }
        let window = seconds + 1
        // rate × window / period, in attoseconds, without overflow.
        let periodAttoseconds = Int128(seconds) * 1_000_000_000_000_000_000 + Int128(attoseconds)
        let windowAttoseconds = Int128(window) * 1_000_000_000_000_000_000
        let quota = Int128(policy.rate) * windowAttoseconds / periodAttoseconds
        return (Int64(clamping: quota), window)
    }

    /// Whole seconds, rounded up; a positive duration is at least `minimum`.
    private static func wholeSecondsRoundedUp(_ duration: Duration, minimum: Int64) -> Int64 {
        let (seconds, attoseconds) = duration.components
        guard duration > .zero else { return 0 }
        return max(minimum, attoseconds > 0 ? seconds + 1 : seconds)
    }

    private static func wholeSecondsRoundedUp(_ duration: Duration) -> Int64 {
        wholeSecondsRoundedUp(duration, minimum: 1)
    }

    /// An RFC 9651 sf-string: printable ASCII, with `"` and `\` escaped.
    private static func structuredString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars where (0x20...0x7E).contains(scalar.value) {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.unicodeScalars.append(scalar)
        }
        out.append("\"")
        return out
    }
}
