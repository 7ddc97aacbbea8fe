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
        refreshFinished(value: value, refreshAt: now + expiresIn - Self.refreshLead(margin: margin, expiresIn: expiresIn))
    }

    /// A refresh ended with a token to use until `refreshAt` (a token read from the store
    /// shared by several nodes comes with its refresh point).
    public mutating func refreshFinished(value: String, refreshAt: ContinuousClock.Instant) {
        token = Token(value: value, refreshAt: refreshAt)
        refreshing = false
    }

    /// How long before its expiry a token is refreshed: the margin, but never past half
    /// the token's life when the margin would exceed it.
    public static func refreshLead(margin: Duration, expiresIn: Duration) -> Duration {
        min(margin, expiresIn / 2)
    }

    public mutating func refreshFailed() {
        refreshing = false
    }

    /// WeChat rejected `value` (40001/42001). True if it was the cached token (then the
    /// next request refreshes); false for a late rejection of an older one.
    @discardableResult
    public mutating func invalidate(_ value: String) -> Bool {
        guard token?.value == value else { return false }
        token = nil
        return true
    }
}
