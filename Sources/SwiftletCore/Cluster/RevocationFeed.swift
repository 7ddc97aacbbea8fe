import Foundation
import Logging
import Synchronization

/// Keeps this node's `RevocationList` in step with every other node's revocations.
///
/// The database is the source of truth (every revocation is written there first); the
/// bus only makes other nodes hear of it at once. So:
/// - every revocation this node makes is published on `swiftlet:revocations`
///   (`announce`, through a `ClusterOutbox`: a logout never waits on the bus);
/// - every revocation heard on the bus is added to the local list, which the router and
///   the inline lane both read;
/// - on every `.subscribed` (start, reconnect, a subscriber that fell behind) the list is
///   re-synced from `SessionRepository.activeRevocations`, since messages may have been
///   missed;
/// - while the subscription is interrupted, or a re-sync failed, the database is polled
///   every `pollInterval` (1 s), so a token revoked anywhere is refused here within about
///   that long even with the bus down;
/// - even while the bus is live the list is re-read every `liveResyncIntervals` poll
///   intervals (15 s): a node that alone lost the bus cannot publish, and the others,
///   whose subscriptions are fine, would otherwise not hear of its revocations until it
///   is back. This bounds that case too.
///
/// Payload: `kind:value:expiresAtUnixMs` (`jti:…` or `sid:…`).
public final class RevocationFeed: Sendable {
    public static let channel = "swiftlet:revocations"
    /// Revocations that may wait for the bus before the oldest are dropped (receivers
    /// still find them in the database when they re-sync).
    public static let outboxCapacity = 10_000

    private struct State {
        var subscribed = false
        var needsResync = true
        /// Counts `.subscribed` events: a re-sync that began before the latest one does
        /// not cover what was missed before it.
        var epoch: UInt64 = 0
        var running = false
    }

    private let cluster: any ClusterState
    private let sessions: any SessionRepository
    private let list: RevocationList
    private let clock: SwiftletClock
    /// One warning per outage (then one a minute), not one per re-sync.
    private let resyncFailures: FailureStreakLog
    private let pause: @Sendable () async throws -> Void
    private let logger: Logger
    private let outbox: ClusterOutbox
    private let liveResyncIntervals: Int
    private let state = Mutex(State())

    /// - Parameter pause: waits one poll interval; injected by tests to drive polling by
    ///   hand. Defaults to sleeping `pollInterval`.
    public init(
        cluster: any ClusterState, sessions: any SessionRepository, list: RevocationList, clock: SwiftletClock,
        logger: Logger, pollInterval: Duration = .seconds(1), liveResyncIntervals: Int = 15,
        pause: (@Sendable () async throws -> Void)? = nil
    ) {
        self.liveResyncIntervals = max(1, liveResyncIntervals)
        self.cluster = cluster
        self.sessions = sessions
        self.list = list
        self.clock = clock
        self.resyncFailures = FailureStreakLog("revocation re-sync failed; retrying", clock: clock)
        self.logger = logger
        let pause = pause ?? { try await Task.sleep(for: pollInterval) }
        self.pause = pause
        outbox = ClusterOutbox(cluster: cluster, channel: Self.channel, capacity: Self.outboxCapacity, pause: pause, logger: logger)
    }

    /// Tells the other nodes about a revocation this node made (already in the database
    /// and in the local list). Returns at once.
    public func announce(_ revocation: Revocation) {
        outbox.enqueue(Self.payload(revocation))
    }

    /// True while the bus subscription is active and the list has been re-synced since
    /// it was (re)established: the database is not being polled.
    public var isLive: Bool { state.withLock { $0.subscribed && !$0.needsResync } }

    /// Listens, polls while needed and publishes, until the task is cancelled. Call once.
    public func run() async {
        let first = state.withLock { state in
            defer { state.running = true }
            return !state.running
        }
        precondition(first, "RevocationFeed.run() is called once")
        await withDiscardingTaskGroup { group in
            group.addTask { await self.outbox.run() }
            group.addTask { await self.poll() }
            group.addTask {
                await ClusterBusListener.listen(to: [Self.channel], on: self.cluster, pause: self.pause) { event in
                    await self.handle(event)
                }
            }
        }
    }

    private func handle(_ event: ClusterBusEvent) async {
        switch event {
        case .message(_, let payload):
            guard let revocation = Self.revocation(fromPayload: payload) else {
                logger.warning("ignored a malformed revocation message", metadata: ["bytes": .stringConvertible(payload.utf8.count)])
                return
            }
            list.add(revocation)
        case .subscribed:
            state.withLock { $0.subscribed = true; $0.needsResync = true; $0.epoch &+= 1 }
            await resync()
        case .interrupted:
            let wasLive = state.withLock { state -> Bool in
                defer { state.subscribed = false }
                return state.subscribed
            }
            if wasLive {
                logger.warning("revocation bus interrupted; polling the database every interval until it is back")
            }
        }
    }

    /// Re-reads the database every interval while the bus cannot be trusted, and every
    /// `liveResyncIntervals` intervals while it can.
    private func poll() async {
        var intervals = 0
        while true {
            do { try await pause() } catch { return }
            intervals += 1
            let due = state.withLock { !$0.subscribed || $0.needsResync } || intervals % liveResyncIntervals == 0
            if due { await resync() }
        }
    }

    /// Loads every active revocation from the database into the list.
    private func resync() async {
        let epoch = state.withLock { $0.epoch }
        do {
            let active = try await sessions.activeRevocations(now: clock.now)
            list.load(active)
            state.withLock { state in
                if state.subscribed, state.epoch == epoch { state.needsResync = false }
            }
            resyncFailures.succeeded(logger: logger)
        } catch {
            state.withLock { $0.needsResync = true }
            resyncFailures.failed(error, logger: logger)
        }
    }

    static func payload(_ revocation: Revocation) -> String {
        "\(revocation.kind.rawValue):\(revocation.value):\(revocation.expiresAt.unixMilliseconds)"
    }

    /// Parses `kind:value:expiresAtUnixMs`; the value may itself contain colons.
    static func revocation(fromPayload payload: String) -> Revocation? {
        guard let kindEnd = payload.firstIndex(of: ":"), let valueEnd = payload.lastIndex(of: ":"), kindEnd < valueEnd,
              let kind = Revocation.Kind(rawValue: String(payload[..<kindEnd])),
              let expiry = Int64(payload[payload.index(after: valueEnd)...])
        else { return nil }
        let value = String(payload[payload.index(after: kindEnd)..<valueEnd])
        guard !value.isEmpty else { return nil }
        return Revocation(kind: kind, value: value, expiresAt: Date(unixMilliseconds: expiry))
    }
}
