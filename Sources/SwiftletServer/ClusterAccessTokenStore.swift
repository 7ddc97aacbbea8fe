import Foundation
import Logging
import SwiftletCore
import SwiftletWeChat

/// The WeChat client's shared token store on the cluster state: Redis when several nodes
/// run, in-process for one (which then behaves exactly as a one-node cluster).
///
/// Keys: the token with its refresh point and expiry under `tokenKey` (expiring with the
/// token), the refresh lock under `lockKey` (its value is the owner, so only the owner
/// releases it; the lease frees it if the owner dies), and the forced-refresh marker under
/// `forcedRefreshKey` (one forced refresh per spacing across the deployment).
public struct ClusterAccessTokenStore: SharedAccessTokenStore {
    public static let tokenKey = "swiftlet:wechat:access_token"
    public static let lockKey = "swiftlet:wechat:access_token:lock"
    public static let forcedRefreshKey = "swiftlet:wechat:access_token:forced"

    let cluster: any ClusterState
    let clock: SwiftletClock

    public init(cluster: any ClusterState, clock: SwiftletClock = .system) {
        self.cluster = cluster
        self.clock = clock
    }

    public func token() async throws -> SharedAccessToken? {
        try await cluster.value(at: Self.tokenKey).flatMap(SharedAccessToken.init(encoded:))
    }

    public func store(_ token: SharedAccessToken) async throws {
        let lifetime = token.expiresAt.timeIntervalSince(clock.now)
        guard lifetime > 0 else { return }
        try await cluster.set(Self.tokenKey, to: token.encoded, expiresIn: lifetime)
    }

    public func dropToken(ifValue rejected: String) async throws -> Bool {
        // Delete the exact text read: if another node stored a new token in between, the
        // conditional delete leaves it.
        guard let stored = try await cluster.value(at: Self.tokenKey),
              SharedAccessToken(encoded: stored)?.value == rejected
        else { return false }
        return try await cluster.delete(Self.tokenKey, ifValue: stored)
    }

    public func acquireRefreshLock(owner: String, lease: Duration) async throws -> Bool {
        try await cluster.setIfAbsent(Self.lockKey, to: owner, expiresIn: Self.seconds(lease))
    }

    public func releaseRefreshLock(owner: String) async throws {
        _ = try await cluster.delete(Self.lockKey, ifValue: owner)
    }

    public func claimForcedRefresh(spacing: Duration) async throws -> Bool {
        try await cluster.setIfAbsent(Self.forcedRefreshKey, to: String(clock.now.unixMilliseconds), expiresIn: Self.seconds(spacing))
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension AccessTokenSharing {
    /// Sharing through `cluster`, with its events logged: a store outage once as a
    /// warning (the node fetches on its own meanwhile), its end as a notice, a forced
    /// refresh as a warning (WeChat allows 20 a day).
    public static func cluster(_ cluster: any ClusterState, clock: SwiftletClock, logger: Logger) -> AccessTokenSharing {
        AccessTokenSharing(
            store: ClusterAccessTokenStore(cluster: cluster, clock: clock),
            now: { clock.now },
            events: { event in
                switch event {
                case .storeUnavailable(let reason):
                    logger.warning("wechat access_token: shared store unavailable, this node fetches its own token (stable_token, normal mode) until it answers",
                                   metadata: ["error": .string(reason)])
                case .storeRecovered:
                    logger.notice("wechat access_token: shared store answers again")
                case .forcedRefresh:
                    logger.warning("wechat access_token: rejected token still returned by stable_token, forcing a refresh")
                }
            })
    }
}
