import Foundation

/// How a `WeChatClient` shares its access_token with the other nodes of a deployment.
///
/// Rules (WeChat's advice for several servers: one fetches, the others read):
/// - the token is read from the store, with its expiry, and used until its refresh
///   point; each node also keeps it in its own single-flight cache, so one node sends at
///   most one request to the store or to WeChat at a time;
/// - one node at a time refreshes it, holding a lock with a lease (`lockLease`); the
///   others re-read the store every `pollInterval` for at most `waitLimit`, then fetch
///   on their own in normal mode (harmless: `stable_token` returns the same token);
/// - a 40001/42001 drops the shared token only if it still is the rejected one, so a
///   rejection seen by every node causes one refresh; it is forced
///   (`force_refresh: true`) only if normal mode returns the rejected token again, and
///   at most once per `forcedRefreshSpacing` across the deployment;
/// - when the store throws, the node fetches on its own through `stable_token` in
///   normal mode and reports `.storeUnavailable` once per outage.
public struct AccessTokenSharing: Sendable {
    public var store: any SharedAccessTokenStore
    /// How long a node waits for another node's refresh before fetching on its own.
    public var waitLimit: Duration
    /// How often a waiting node re-reads the store.
    public var pollInterval: Duration
    /// How long the refresh lock holds if its owner never releases it; nil: twice the
    /// client timeout plus one second (a refresh is at most two WeChat calls).
    public var lockLease: Duration?
    /// Least time between two forced refreshes across the deployment (WeChat: 30 s).
    public var forcedRefreshSpacing: Duration
    /// Wall-clock time, shared by all nodes (tests inject theirs).
    public var now: @Sendable () -> Date
    /// Where outages and forced refreshes are reported (the server logs them).
    public var events: @Sendable (SharedAccessTokenEvent) -> Void

    public init(
        store: any SharedAccessTokenStore, waitLimit: Duration = .seconds(5), pollInterval: Duration = .milliseconds(50),
        lockLease: Duration? = nil, forcedRefreshSpacing: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() },
        events: @escaping @Sendable (SharedAccessTokenEvent) -> Void = { _ in }
    ) {
        self.store = store
        self.waitLimit = waitLimit
        self.pollInterval = pollInterval
        self.lockLease = lockLease
        self.forcedRefreshSpacing = forcedRefreshSpacing
        self.now = now
        self.events = events
    }
}
