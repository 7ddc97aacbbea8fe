import Foundation
import Logging

/// A per-node cache that the cluster bus keeps in step with the other nodes.
public protocol ClusterInvalidatedCache: AnyObject, Sendable {
    /// Another node (or this one: announcements come back to their sender) changed what
    /// `payload` names.
    func invalidate(announced payload: String)
    /// Changes made elsewhere may go unheard: read through to the database.
    func bypass()
    /// Changes are heard again: start from empty and cache.
    func resume()
    var isBypassed: Bool { get }
}

/// Keeps one kind of per-node cache (user rows, catalogue pages) consistent across nodes.
///
/// Each cache announces what it wrote (`announce`, wired as the cache's write hook); the
/// announcements go out on the feed's channel through a `ClusterOutbox`, so an edit never
/// waits on the bus. Every node drops what an announcement names, so a change is visible
/// everywhere as soon as the message arrives. While the subscription is interrupted the
/// cache is bypassed (reads go to the database) and on every `.subscribed` it is emptied,
/// since announcements may have been missed: no node ever serves data older than the
/// bus outage it missed.
///
/// An announcement this node made comes back to it too and drops an entry it already
/// dropped; harmless, and it keeps the rule simple (one path for every node).
public final class ClusterCacheFeed: Sendable {
    /// User rows (`CachedUserRepository`); the payload is the user id.
    public static let usersChannel = "swiftlet:users"
    /// The buyer's catalogue (`CatalogCache`); the payload is the product id.
    public static let catalogueChannel = "swiftlet:catalogue"
    /// Announcements that may wait for the bus before the oldest are dropped.
    public static let outboxCapacity = 10_000

    public let channel: String
    /// What the cache holds, for the log line of an outage.
    private let subject: String
    private let cluster: any ClusterState
    private let pause: @Sendable () async throws -> Void
    private let logger: Logger
    private let outbox: ClusterOutbox

    /// - Parameter pause: waits before a failed publish or a lost subscription is tried
    ///   again; injected by tests. Defaults to sleeping `retryInterval`.
    public init(
        channel: String, subject: String, cluster: any ClusterState, logger: Logger, retryInterval: Duration = .seconds(1),
        pause: (@Sendable () async throws -> Void)? = nil
    ) {
        self.channel = channel
        self.subject = subject
        self.cluster = cluster
        self.logger = logger
        let pause = pause ?? { try await Task.sleep(for: retryInterval) }
        self.pause = pause
        outbox = ClusterOutbox(cluster: cluster, channel: channel, capacity: Self.outboxCapacity, pause: pause, logger: logger)
    }

    /// The feed of the user-row caches.
    public static func users(
        cluster: any ClusterState, logger: Logger, pause: (@Sendable () async throws -> Void)? = nil
    ) -> ClusterCacheFeed {
        ClusterCacheFeed(channel: usersChannel, subject: "users", cluster: cluster, logger: logger, pause: pause)
    }

    /// The feed of the catalogue caches.
    public static func catalogue(
        cluster: any ClusterState, logger: Logger, pause: (@Sendable () async throws -> Void)? = nil
    ) -> ClusterCacheFeed {
        ClusterCacheFeed(channel: catalogueChannel, subject: "the catalogue", cluster: cluster, logger: logger, pause: pause)
    }

    /// Tells every node (this one included) that what `payload` names changed. Returns at once.
    public func announce(_ payload: String) {
        outbox.enqueue(payload)
    }

    /// Applies the bus to `cache` and publishes announcements until the task is cancelled.
    /// The cache is bypassed from the start until the first `.subscribed`. Call once.
    public func run(applyingTo cache: any ClusterInvalidatedCache) async {
        cache.bypass()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outbox.run() }
            group.addTask {
                await ClusterBusListener.listen(to: [self.channel], on: self.cluster, pause: self.pause) { event in
                    switch event {
                    case .message(_, let payload):
                        cache.invalidate(announced: payload)
                    case .subscribed:
                        cache.resume()
                    case .interrupted:
                        if !cache.isBypassed {
                            self.logger.warning("cache bus interrupted; reading \(self.subject) from the database until it is back",
                                                metadata: ["channel": .string(self.channel)])
                        }
                        cache.bypass()
                    }
                }
            }
        }
    }
}
