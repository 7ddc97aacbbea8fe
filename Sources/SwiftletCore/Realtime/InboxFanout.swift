import Foundation
import Logging
import Synchronization

/// Where the fan-out hands messages for the devices connected to this node (the
/// realtime gateway's connection registry).
public protocol InboxDeliveryTarget: Sendable {
    /// Messages just stored, for the local connections of their users.
    func deliver(_ messages: [InboxMessage])
    /// A user's inbox reached `seq` (told by another node, or found by a re-check):
    /// connections behind it read what they miss from the database.
    func headMoved(of userID: UserID, to seq: Int64)
    /// The users with at least one connection on this node.
    var connectedUsers: [UserID] { get }
}

/// Gets every stored inbox message to every device of its user, on any node.
///
/// The database is the truth; this only tells connections that there is something new:
/// - messages stored on this node are handed to local connections at once;
/// - each user's new head goes to the other nodes on `swiftlet:inbox` (through a bounded
///   outbox, so nothing waits on the bus); a node hearing it lets its connections of
///   that user read what they miss;
/// - on every (re)subscription, every second while the bus is interrupted, and every
///   `recheckInterval` while it is live, the heads of all locally connected users are
///   read from the database and compared: a lost bus message, a node that alone lost
///   Redis, or a crash between a commit and its announcement delays a message by at most
///   that long, and never loses it.
/// Connections decide by sequence number, so a message heard twice is sent once.
public final class InboxFanout: Sendable {
    public static let channel = "swiftlet:inbox"
    public static let outboxCapacity = 10_000
    /// Users whose heads are read in one query.
    static let recheckBatch = 500

    private let cluster: any ClusterState
    private let inbox: any InboxRepository
    private let target: any InboxDeliveryTarget
    private let logger: Logger
    private let outbox: ClusterOutbox
    private let pause: @Sendable () async throws -> Void
    private let recheckInterval: Duration
    /// Tells this node's own announcements apart from the other nodes' on the bus.
    let nodeID = RandomID.base32(byteCount: 8)

    public init(
        cluster: any ClusterState, inbox: any InboxRepository, target: any InboxDeliveryTarget, logger: Logger,
        retryInterval: Duration = .seconds(1), recheckInterval: Duration = .seconds(30)
    ) {
        self.cluster = cluster
        self.inbox = inbox
        self.target = target
        self.logger = logger
        self.recheckInterval = recheckInterval
        let pause: @Sendable () async throws -> Void = { try await Task.sleep(for: retryInterval) }
        self.pause = pause
        outbox = ClusterOutbox(cluster: cluster, channel: Self.channel, capacity: Self.outboxCapacity, pause: pause, logger: logger)
    }

    /// Called right after the transaction that stored `messages` committed.
    public func announce(_ messages: [InboxMessage]) {
        target.deliver(messages)
        var heads: [UserID: Int64] = [:]
        for message in messages {
            heads[message.userID] = max(heads[message.userID] ?? 0, message.seq)
        }
        for (user, seq) in heads {
            outbox.enqueue("\(nodeID) \(seq) \(user.rawValue)")
        }
    }

    /// Publishes announcements and applies the other nodes' until cancelled. Call once.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outbox.run() }
            group.addTask { await self.listen() }
        }
    }

    private func listen() async {
        let interrupted = InterruptionFlag()
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Re-checks: every second while interrupted, every `recheckInterval` while live.
                var sinceLastRecheck = Duration.zero
                while !Task.isCancelled {
                    do { try await self.pause() } catch { return }
                    sinceLastRecheck += .seconds(1)
                    if interrupted.value || sinceLastRecheck >= self.recheckInterval {
                        sinceLastRecheck = .zero
                        await self.recheck()
                    }
                }
            }
            group.addTask {
                await ClusterBusListener.listen(to: [Self.channel], on: self.cluster, pause: self.pause) { event in
                    switch event {
                    case .message(_, let payload):
                        self.apply(payload)
                    case .subscribed:
                        interrupted.set(false)
                        await self.recheck()
                    case .interrupted:
                        if !interrupted.value {
                            self.logger.warning("inbox bus interrupted; re-checking connected users' inboxes every second until it is back")
                        }
                        interrupted.set(true)
                    }
                }
            }
        }
    }

    private func apply(_ payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 2)
        guard parts.count == 3, let seq = Int64(parts[1]), seq > 0, !parts[2].isEmpty else {
            logger.warning("ignored a malformed inbox announcement", metadata: ["bytes": .stringConvertible(payload.utf8.count)])
            return
        }
        guard parts[0] != nodeID else { return }
        target.headMoved(of: UserID(rawValue: String(parts[2])), to: seq)
    }

    /// Reads the heads of every locally connected user and tells connections behind them.
    func recheck() async {
        let users = target.connectedUsers
        var start = 0
        while start < users.count {
            let batch = Array(users[start..<min(start + Self.recheckBatch, users.count)])
            start += batch.count
            do {
                for (user, head) in try await inbox.heads(of: batch) where head > 0 {
                    target.headMoved(of: user, to: head)
                }
            } catch {
                logger.warning("inbox re-check failed; retrying", metadata: ["error": .string(ErrorLog.describe(error))])
                return
            }
        }
    }
}

/// Whether the bus is interrupted, shared by the listener and the re-check loop.
private final class InterruptionFlag: Sendable {
    private let state = Mutex(false)
    var value: Bool { state.withLock { $0 } }
    func set(_ value: Bool) { state.withLock { $0 = value } }
}
