import Foundation
import Logging

/// Keeps the per-node user caches (`CachedUserRepository`) of all nodes consistent.
///
/// Each cache announces the users it wrote (`announce`, wired as the cache's `onWrite`);
/// the announcements go out on `swiftlet:users` (payload: the user id) through a
/// `ClusterOutbox`, so a profile edit never waits on the bus. Every node drops the entry
/// of a user announced by any node, so a change is visible everywhere as soon as the
/// message arrives. While the subscription is interrupted the cache is bypassed (reads go
/// to the database) and on every `.subscribed` it is emptied, since announcements may
/// have been missed: no node ever serves a row older than the bus outage it missed.
///
/// An announcement this node made comes back to it too and drops an entry it already
/// dropped; harmless, and it keeps the rule simple (one path for every node).
public final class UserCacheFeed: Sendable {
    public static let channel = "swiftlet:users"
    /// Announcements that may wait for the bus before the oldest are dropped.
    public static let outboxCapacity = 10_000

    private let cluster: any ClusterState
    private let pause: @Sendable () async throws -> Void
    private let logger: Logger
    private let outbox: ClusterOutbox

    /// - Parameter pause: waits before a failed publish or a lost subscription is tried
    ///   again; injected by tests. Defaults to sleeping `retryInterval`.
    public init(
        cluster: any ClusterState, logger: Logger, retryInterval: Duration = .seconds(1),
        pause: (@Sendable () async throws -> Void)? = nil
    ) {
        self.cluster = cluster
        self.logger = logger
        let pause = pause ?? { try await Task.sleep(for: retryInterval) }
        self.pause = pause
        outbox = ClusterOutbox(cluster: cluster, channel: Self.channel, capacity: Self.outboxCapacity, pause: pause, logger: logger)
    }

    /// Tells every node (this one included) that this user's row changed. Returns at once.
    public func announce(_ id: UserID) {
        outbox.enqueue(id.rawValue)
    }

    /// Applies the bus to `cache` and publishes announcements until the task is cancelled.
    /// The cache is bypassed from the start until the first `.subscribed`. Call once.
    public func run(applyingTo cache: CachedUserRepository) async {
        cache.bypass()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outbox.run() }
            group.addTask {
                await ClusterBusListener.listen(to: [Self.channel], on: self.cluster, pause: self.pause) { event in
                    switch event {
                    case .message(_, let payload):
                        cache.invalidateRemote(UserID(rawValue: payload))
                    case .subscribed:
                        cache.resume()
                    case .interrupted:
                        if !cache.isBypassed {
                            self.logger.warning("user cache bus interrupted; reading users from the database until it is back")
                        }
                        cache.bypass()
                    }
                }
            }
        }
    }
}
