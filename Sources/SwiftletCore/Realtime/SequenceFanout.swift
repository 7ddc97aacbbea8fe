import Foundation
import Logging
import Synchronization

/// Gets every stored item of a gapless sequence (a user's inbox, a room's messages) to
/// every connection following it, on any node.
///
/// The database is the truth; this only tells connections that there is something new:
/// - items stored on this node are handed to local connections at once;
/// - each sequence's new head goes to the other nodes on the bus (through a bounded
///   outbox, so nothing waits on it); a node hearing it lets its connections read what
///   they miss;
/// - on every (re)subscription, every second while the bus is interrupted, and every
///   `recheckInterval` while it is live, the heads of all locally followed sequences
///   are read from the database: a lost bus message, a node that alone lost Redis, or a
///   crash between a commit and its announcement delays an item by at most that long,
///   and never loses it.
/// Connections decide by number, so an item heard twice is sent once.
final class SequenceFanout: Sendable {
    /// How the fan-out reaches storage and this node's connections, for one kind of sequence.
    struct Target: Sendable {
        /// The heads (newest numbers) of these sequences.
        var heads: @Sendable ([String]) async throws -> [String: Int64]
        /// A sequence reached this number (another node stored it, or a re-check found it).
        var headMoved: @Sendable (String, Int64) -> Void
        /// The sequences followed by at least one connection on this node.
        var followed: @Sendable () -> [String]
    }

    static let outboxCapacity = 10_000
    /// Sequences whose heads are read in one query.
    static let recheckBatch = 500

    let channel: String
    private let cluster: any ClusterState
    private let target: Target
    private let logger: Logger
    private let outbox: ClusterOutbox
    private let pause: @Sendable () async throws -> Void
    private let recheckInterval: Duration
    /// Tells this node's own announcements apart from the other nodes' on the bus.
    let nodeID = RandomID.base32(byteCount: 8)

    init(channel: String, cluster: any ClusterState, target: Target, logger: Logger, retryInterval: Duration,
         recheckInterval: Duration) {
        self.channel = channel
        self.cluster = cluster
        self.target = target
        self.logger = logger
        self.recheckInterval = recheckInterval
        let pause: @Sendable () async throws -> Void = { try await Task.sleep(for: retryInterval) }
        self.pause = pause
        outbox = ClusterOutbox(cluster: cluster, channel: channel, capacity: Self.outboxCapacity, pause: pause, logger: logger)
    }

    /// Tells the other nodes that `key`'s sequence reached `head`.
    func announce(_ key: String, head: Int64) {
        outbox.enqueue("\(nodeID) \(head) \(key)")
    }

    /// Publishes announcements and applies the other nodes' until cancelled. Call once.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outbox.run() }
            group.addTask { await self.listen() }
        }
    }

    private func listen() async {
        let interrupted = InterruptionFlag()
        /// A re-check failed (the database was away): the next pause tries again.
        let recheckFailed = InterruptionFlag()
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Re-checks: every pause while interrupted, every `recheckInterval` while live.
                var lastRecheck = ContinuousClock.now
                while !Task.isCancelled {
                    do { try await self.pause() } catch { return }
                    if interrupted.value || recheckFailed.value || ContinuousClock.now - lastRecheck >= self.recheckInterval {
                        lastRecheck = ContinuousClock.now
                        recheckFailed.set(!(await self.recheck()))
                    }
                }
            }
            group.addTask {
                await ClusterBusListener.listen(to: [self.channel], on: self.cluster, pause: self.pause) { event in
                    switch event {
                    case .message(_, let payload):
                        self.apply(payload)
                    case .subscribed:
                        interrupted.set(false)
                        recheckFailed.set(!(await self.recheck()))
                    case .interrupted:
                        if !interrupted.exchange(true) {
                            self.logger.warning("realtime bus interrupted; re-checking followed sequences every second until it is back",
                                                metadata: ["channel": .string(self.channel)])
                        }
                    }
                }
            }
        }
    }

    private func apply(_ payload: String) {
        let parts = payload.split(separator: " ", maxSplits: 2)
        guard parts.count == 3, let head = Int64(parts[1]), head > 0, !parts[2].isEmpty else {
            logger.warning("ignored a malformed realtime announcement",
                           metadata: ["channel": .string(channel), "bytes": .stringConvertible(payload.utf8.count)])
            return
        }
        guard parts[0] != nodeID else { return }
        target.headMoved(String(parts[2]), head)
    }

    /// Reads the heads of every locally followed sequence and tells connections behind
    /// them; false when the database could not be read (tried again at the next pause).
    @discardableResult
    func recheck() async -> Bool {
        let keys = target.followed()
        var start = 0
        while start < keys.count {
            let batch = Array(keys[start..<min(start + Self.recheckBatch, keys.count)])
            start += batch.count
            do {
                for (key, head) in try await target.heads(batch) where head > 0 {
                    target.headMoved(key, head)
                }
            } catch {
                logger.warning("realtime re-check failed; retrying",
                               metadata: ["channel": .string(channel), "error": .string(ErrorLog.describe(error))])
                return false
            }
        }
        return true
    }
}

/// Whether the bus is interrupted, shared by the listener and the re-check loop.
private final class InterruptionFlag: Sendable {
    private let state = Mutex(false)
    var value: Bool { state.withLock { $0 } }
    func set(_ value: Bool) { state.withLock { $0 = value } }
    /// Sets the flag and returns what it was.
    func exchange(_ value: Bool) -> Bool {
        state.withLock { state in
            defer { state = value }
            return state
        }
    }
}
