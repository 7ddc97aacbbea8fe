import Foundation
import Logging

/// Whether a user has a live realtime connection on any node, for deciding whether a
/// subscribe message is needed (a user in the app gets the event on the socket).
///
/// Each node answers for its own connections at once, and every `refreshInterval` marks
/// its connected users in the shared state (`swiftlet:online:<user>`, expiring after
/// `ttl`), so another node sees them within one interval; a node that died stops
/// marking and its users count as away after at most `ttl`. With one node the shared
/// state is the node's own, and the local answer is the whole answer.
public final class UserPresence: Sendable {
    static let keyPrefix = "swiftlet:online:"

    private let cluster: any ClusterState
    private let localUsers: @Sendable () -> [UserID]
    private let isLocal: @Sendable (UserID) -> Bool
    private let logger: Logger
    let refreshInterval: Duration
    let ttl: TimeInterval

    public init(cluster: any ClusterState, localUsers: @escaping @Sendable () -> [UserID],
                isLocal: @escaping @Sendable (UserID) -> Bool, logger: Logger,
                refreshInterval: Duration = .seconds(15), ttl: TimeInterval = 45) {
        self.cluster = cluster
        self.localUsers = localUsers
        self.isLocal = isLocal
        self.logger = logger
        self.refreshInterval = refreshInterval
        self.ttl = ttl
    }

    /// Connected here, or marked by another node within `ttl`. Shared state that cannot
    /// be read counts as away (a subscribe message too many beats one too few).
    public func isOnline(_ user: UserID) async -> Bool {
        if isLocal(user) { return true }
        return ((try? await cluster.value(at: Self.keyPrefix + user.rawValue)) ?? nil) != nil
    }

    /// Marks this node's connected users once.
    public func refresh() async {
        for user in localUsers() {
            do {
                try await cluster.set(Self.keyPrefix + user.rawValue, to: "1", expiresIn: ttl)
            } catch {
                logger.warning("presence marks not written", metadata: ["error": .string(ErrorLog.describe(error))])
                return
            }
        }
    }

    /// Marks every `refreshInterval` until cancelled.
    public func run() async {
        while !Task.isCancelled {
            await refresh()
            do { try await Task.sleep(for: refreshInterval) } catch { return }
        }
    }
}
