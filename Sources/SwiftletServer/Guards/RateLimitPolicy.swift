import SwiftletResilience

/// One rate limit: which requests it counts (method + route template, e.g.
/// `POST /api/v1/orders`), what it counts them by, and how many it admits.
public struct RateLimitPolicy: Sendable {
    /// What a limit is counted by.
    public enum Key: String, Sendable, CaseIterable {
        /// The client's address (behind trusted proxies, from `X-Forwarded-For`).
        case ip
        /// The user of the request's verified access token.
        case user
        /// The request's verified signing key (`X-Swiftlet-Key`).
        case signingKey
    }

    public let name: String
    /// `"METHOD /template"` entries.
    public let routes: Set<String>
    public let key: Key
    public let gcra: GCRAPolicy
    /// Count and log, never refuse: for rolling a new policy out.
    public let shadow: Bool

    public init(name: String, routes: Set<String>, key: Key, gcra: GCRAPolicy, shadow: Bool) {
        self.name = name
        self.routes = routes
        self.key = key
        self.gcra = gcra
        self.shadow = shadow
    }

    /// The policy one node applies alone when the shared store is unreachable: the rate
    /// (and burst) divided among the nodes, so the deployment as a whole stays near the
    /// limit.
    func perNode(of nodes: Int) -> GCRAPolicy {
        guard nodes > 1 else { return gcra }
        return (try? GCRAPolicy(rate: max(1, gcra.rate / nodes), period: gcra.period, burst: gcra.burst / nodes)) ?? gcra
    }
}
