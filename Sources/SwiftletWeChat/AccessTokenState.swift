/// The access_token cache as a value-type state machine: who may refresh, when, and
/// what waiting callers get. Tested with explicit times, no network.
///
/// Rules: a cached token is used until `refreshAt` (its expiry minus a margin); then
/// exactly one refresh runs and every other caller waits for it (never two refreshes
/// racing, which with `/cgi-bin/token` would invalidate each other's tokens); a token
/// WeChat rejected is dropped only if it is still the cached one, so a late rejection of
/// an old token cannot throw away a fresh one.
public struct AccessTokenState: Sendable, Equatable {
    public struct Token: Sendable, Equatable {
        public let value: String
        public let refreshAt: ContinuousClock.Instant
    }

    public enum Action: Sendable, Equatable {
        case use(String)
        /// The caller must fetch a token and report with `refreshFinished`.
        case refresh
        /// A refresh is running; wait for it.
        case wait
    }

    public private(set) var token: Token?
    public private(set) var refreshing = false

    public init() {}

    public mutating func request(now: ContinuousClock.Instant) -> Action {
        if let token, now < token.refreshAt {
            return .use(token.value)
        }
        if refreshing { return .wait }
        refreshing = true
        return .refresh
    }

    public mutating func refreshFinished(
        value: String, expiresIn: Duration, margin: Duration, now: ContinuousClock.Instant
    ) {
        // Never keep a token past half its life when the margin would exceed it.
        let lead = min(margin, expiresIn / 2)
        token = Token(value: value, refreshAt: now + expiresIn - lead)
        refreshing = false
    }

    public mutating func refreshFailed() {
        refreshing = false
    }

    /// WeChat rejected `value` (40001/42001).
    public mutating func invalidate(_ value: String) {
        if token?.value == value { token = nil }
    }
}
