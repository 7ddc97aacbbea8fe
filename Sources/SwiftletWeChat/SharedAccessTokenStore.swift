import Foundation

/// An access_token as every node of a deployment sees it: instants are wall-clock time,
/// the only time nodes on different machines agree on.
public struct SharedAccessToken: Sendable, Equatable {
    public let value: String
    /// When nodes stop using it and one of them refreshes it (its expiry minus the
    /// client's refresh margin, as a single node would).
    public let refreshAt: Date
    /// When WeChat stops accepting it; a store may forget it then.
    public let expiresAt: Date

    public init(value: String, refreshAt: Date, expiresAt: Date) {
        self.value = value
        self.refreshAt = refreshAt
        self.expiresAt = expiresAt
    }

    /// `refreshAtUnixMs:expiresAtUnixMs:token`: the text a key-value store keeps, so
    /// nodes of different versions read one format.
    public var encoded: String {
        "\(Self.milliseconds(refreshAt)):\(Self.milliseconds(expiresAt)):\(value)"
    }

    /// Nil for text that is not an encoded token (then the store holds no usable token).
    public init?(encoded text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let refresh = Int64(parts[0]), let expiry = Int64(parts[1]), !parts[2].isEmpty else {
            return nil
        }
        self.init(
            value: String(parts[2]),
            refreshAt: Date(timeIntervalSince1970: Double(refresh) / 1000),
            expiresAt: Date(timeIntervalSince1970: Double(expiry) / 1000))
    }

    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// Where the nodes of one deployment share the access_token, so that one of them
/// fetches it and the others read it (WeChat's own advice for several servers).
///
/// This module depends on nothing of Swiftlet's; the server adapts its cluster state
/// (Redis for several nodes, in-process for one) to this protocol. Every method may
/// throw when the store cannot be reached: the client then falls back to fetching on
/// its own (see `AccessTokenSharing`).
public protocol SharedAccessTokenStore: Sendable {
    /// The shared token, or nil if there is none (never fetched, expired, or dropped).
    func token() async throws -> SharedAccessToken?

    /// Stores `token` for every node, replacing what was there, until its expiry.
    func store(_ token: SharedAccessToken) async throws

    /// Removes the shared token only if it is still `rejected`: many nodes that saw one
    /// token rejected drop it once, and none drops a fresh one stored since.
    /// True if it was removed.
    func dropToken(ifValue rejected: String) async throws -> Bool

    /// Takes the refresh lock for `owner` unless another owner holds it; it is released
    /// after `lease` even if the owner never releases it (a node that died). True if taken.
    func acquireRefreshLock(owner: String, lease: Duration) async throws -> Bool

    /// Releases the refresh lock if `owner` still holds it.
    func releaseRefreshLock(owner: String) async throws

    /// Claims the right to force a refresh (`stable_token` with `force_refresh`) for
    /// `spacing`: WeChat allows a forced refresh 20 times a day, at least 30 s apart,
    /// so the whole deployment makes at most one per `spacing`. True if claimed.
    func claimForcedRefresh(spacing: Duration) async throws -> Bool
}

/// What sharing the access_token reports, for the caller to log.
public enum SharedAccessTokenEvent: Sendable, Equatable {
    /// The shared store failed; this node now fetches on its own (normal mode) until it
    /// answers again. Reported once per outage, with the error's description.
    case storeUnavailable(String)
    /// The shared store answered again after an outage.
    case storeRecovered
    /// WeChat rejected the token and `stable_token` in normal mode kept returning it, so
    /// this node forced a refresh (for the whole deployment).
    case forcedRefresh
}
