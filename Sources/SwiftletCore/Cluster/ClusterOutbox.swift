import Foundation
import Logging
import Synchronization

/// Messages this node has to publish on one bus channel, sent in the background.
///
/// Why not publish inline: a request (a logout, a profile edit) must never wait on the bus
/// or fail because Redis is away; the change is already in the database, which is what
/// counts. So callers `enqueue` (a lock and an append) and `run` publishes in order.
/// A publish that throws keeps its message and everything after it, waits one `pause`
/// and tries again, so a short outage delays notifications instead of losing them; the
/// first failure of an outage is logged as a warning, the recovery as a notice.
///
/// At most `capacity` messages wait; beyond that the oldest are dropped (and counted in
/// the log). Receivers never depend on the bus alone: they re-sync from the database
/// whenever their own subscription was interrupted.
final class ClusterOutbox: Sendable {
    private struct State {
        var pending: [String] = []
        var failing = false
        var dropped = 0
    }

    let channel: String
    private let cluster: any ClusterState
    private let capacity: Int
    private let pause: @Sendable () async throws -> Void
    private let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(cluster: any ClusterState, channel: String, capacity: Int, pause: @escaping @Sendable () async throws -> Void, logger: Logger) {
        self.cluster = cluster
        self.channel = channel
        self.capacity = capacity
        self.pause = pause
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Messages waiting to be published.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    func enqueue(_ payload: String) {
        state.withLock { state in
            state.pending.append(payload)
            let excess = state.pending.count - capacity
            if excess > 0 {
                state.pending.removeFirst(excess)
                state.dropped += excess
            }
        }
        wake.yield()
    }

    /// Publishes until the task is cancelled. Call once.
    func run() async {
        for await _ in wakeups {
            guard await flush() else { return }
        }
    }

    /// Publishes everything pending; false if cancelled meanwhile.
    private func flush() async -> Bool {
        while true {
            let batch = state.withLock { state in
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            if batch.isEmpty { return true }
            var sent = 0
            do {
                for payload in batch {
                    try await cluster.publish(payload, on: channel)
                    sent += 1
                }
                recovered()
            } catch {
                failed(keeping: batch[sent...], error: error)
                do { try await pause() } catch { return false }
            }
            if Task.isCancelled { return false }
        }
    }

    private func failed(keeping unsent: ArraySlice<String>, error: any Error) {
        let (firstFailure, dropped) = state.withLock { state -> (Bool, Int) in
            state.pending.insert(contentsOf: unsent, at: 0)
            let excess = state.pending.count - capacity
            if excess > 0 {
                state.pending.removeFirst(excess)
                state.dropped += excess
            }
            defer { state.failing = true }
            return (!state.failing, state.dropped)
        }
        if firstFailure {
            logger.warning("cluster bus publish failed; retrying", metadata: [
                "channel": .string(channel), "error": .string(ErrorLog.describe(error)), "dropped": .stringConvertible(dropped),
            ])
        }
    }

    private func recovered() {
        let (wasFailing, dropped) = state.withLock { state -> (Bool, Int) in
            defer { state.failing = false; state.dropped = 0 }
            return (state.failing, state.dropped)
        }
        if wasFailing {
            logger.notice("cluster bus publish recovered", metadata: [
                "channel": .string(channel), "dropped": .stringConvertible(dropped),
            ])
        }
    }
}
