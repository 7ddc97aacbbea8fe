import Foundation
import Logging
import SwiftletCore
import Synchronization
import Testing

/// One node's revocation list kept in step with the others: over the bus while it is up,
/// from the database whenever it may have missed something.
@Suite("Revocation feed", .timeLimit(.minutes(3)))
struct RevocationFeedTests {
    /// One node's list and feed, running until `stop()`.
    struct Node {
        let list: RevocationList
        let feed: RevocationFeed
        let task: Task<Void, Never>

        init(cluster: any ClusterState, sessions: any SessionRepository, ticker: ManualTicker) {
            let list = RevocationList()
            self.list = list
            let feed = RevocationFeed(
                cluster: cluster, sessions: sessions, list: list, clock: .system, logger: TestStorage.logger, pause: ticker.pause)
            self.feed = feed
            task = Task { await feed.run() }
        }

        func has(_ revocation: Revocation) -> Bool {
            switch revocation.kind {
            case .token: list.isRevoked(tokenID: revocation.value, sessionID: SessionID(rawValue: "s_none"), now: Date())
            case .session: list.isRevoked(tokenID: "t_none", sessionID: SessionID(rawValue: revocation.value), now: Date())
            }
        }

        /// Cancels the feed and waits for it to end: it must stop cleanly.
        func stop() async {
            task.cancel()
            await task.value
        }
    }

    static func revocation(_ kind: Revocation.Kind = .token, _ value: String = "t_" + RandomID.base32(byteCount: 8)) -> Revocation {
        Revocation(kind: kind, value: value, expiresAt: Date().addingTimeInterval(600))
    }

    @Test("a revocation announced on one node reaches another node's list", arguments: EngineKind.available)
    func announcedRevocationsReachOtherNodes(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let cluster = InProcessClusterState()
            let a = Node(cluster: cluster, sessions: storage.sessions, ticker: ManualTicker())
            let b = Node(cluster: cluster, sessions: storage.sessions, ticker: ManualTicker())
            try await waitUntil("both live") { a.feed.isLive && b.feed.isLive }

            let token = Self.revocation(.token)
            let session = Self.revocation(.session, "s_with:colon")
            a.feed.announce(token)
            a.feed.announce(session)
            try await waitUntil("B heard both") { b.has(token) && b.has(session) }
            #expect(a.has(token), "the announcing node hears its own message too (harmless)")
            await a.stop()
            await b.stop()
        }
    }

    @Test("malformed messages are ignored")
    func malformedMessagesAreIgnored() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let cluster = InProcessClusterState()
            let node = Node(cluster: cluster, sessions: storage.sessions, ticker: ManualTicker())
            try await waitUntil("live") { node.feed.isLive }
            for payload in ["", "jti", "jti:x", "xyz:v:1", "jti::1", "jti:v:soon", "sid:v:"] {
                try await cluster.publish(payload, on: RevocationFeed.channel)
            }
            let good = Self.revocation()
            try await cluster.publish("jti:\(good.value):\(good.expiresAt.unixMilliseconds)", on: RevocationFeed.channel)
            try await waitUntil("the valid message applied") { node.has(good) }
            #expect(node.list.count == 1)
            await node.stop()
        }
    }

    @Test("every (re)subscription re-syncs the list from the database", arguments: EngineKind.available)
    func resyncsOnSubscribed(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let bus = SwitchableClusterState(base: InProcessClusterState(), down: true)
            let ticker = ManualTicker()
            let node = Node(cluster: bus, sessions: storage.sessions, ticker: ticker)
            try await ticker.waitForWaiters(1)

            // Stored by another node while this one's bus was down, never polled (no tick).
            let missed = Self.revocation()
            try await storage.sessions.recordRevocation(missed)
            #expect(!node.has(missed))
            bus.setDown(false)
            try await waitUntil("re-synced on subscribe") { node.has(missed) }
            try await waitUntil("live") { node.feed.isLive }

            bus.setDown(true)
            let missedAgain = Self.revocation(.session)
            try await storage.sessions.recordRevocation(missedAgain)
            bus.setDown(false)
            try await waitUntil("re-synced on the next subscribe") { node.has(missedAgain) }
            await node.stop()
        }
    }

    @Test("the database is polled every interval while the bus is interrupted, and only then", arguments: EngineKind.available)
    func pollsOnlyWhileInterrupted(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let bus = SwitchableClusterState(base: InProcessClusterState())
            let ticker = ManualTicker()
            let node = Node(cluster: bus, sessions: storage.sessions, ticker: ticker)
            try await waitUntil("live") { node.feed.isLive }
            try await ticker.waitForWaiters(1)

            let first = Self.revocation()
            try await storage.sessions.recordRevocation(first)
            try await ticker.advance()
            try await ticker.advance()
            #expect(!node.has(first), "no polling while the bus is live")

            bus.setDown(true)
            try await waitUntil("interrupted") { !node.feed.isLive }
            try await ticker.advance()
            #expect(node.has(first), "the first interval of the outage polled the database")

            let second = Self.revocation(.session)
            try await storage.sessions.recordRevocation(second)
            try await ticker.advance()
            #expect(node.has(second), "and so does every later one")
            await node.stop()
        }
    }

    @Test("while the bus is live the database is still read every 15 intervals (a node that alone lost the bus)")
    func liveResyncBoundsAPartitionedPublisher() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let ticker = ManualTicker()
            let node = Node(cluster: InProcessClusterState(), sessions: storage.sessions, ticker: ticker)
            try await waitUntil("live") { node.feed.isLive }
            try await ticker.waitForWaiters(1)
            // Written by a node whose publish never arrived.
            let unheard = Self.revocation()
            try await storage.sessions.recordRevocation(unheard)
            for _ in 0..<14 { try await ticker.advance() }
            #expect(!node.has(unheard), "no database read in the first 14 live intervals")
            try await ticker.advance()
            #expect(node.has(unheard), "the 15th interval re-read the database")
            await node.stop()
        }
    }

    /// Sessions whose `activeRevocations` fails while `failing` is set (a database away).
    final class FlakySessions: SessionRepository {
        let base: any SessionRepository
        let failing = Atomic<Bool>(true)
        init(_ base: any SessionRepository) { self.base = base }
        func create(_ session: Session, refreshTokenHash: String) async throws { try await base.create(session, refreshTokenHash: refreshTokenHash) }
        func rotate(_ rotation: RefreshRotation) async throws -> RefreshOutcome { try await base.rotate(rotation) }
        func revoke(_ id: SessionID, of userID: UserID, reason: SessionRevocationReason, now: Date, revocationExpiresAt: Date) async throws -> Bool {
            try await base.revoke(id, of: userID, reason: reason, now: now, revocationExpiresAt: revocationExpiresAt)
        }
        func find(_ id: SessionID) async throws -> Session? { try await base.find(id) }
        func activeSessions(of userID: UserID, now: Date) async throws -> [Session] { try await base.activeSessions(of: userID, now: now) }
        func recordRevocation(_ revocation: Revocation) async throws { try await base.recordRevocation(revocation) }
        func activeRevocations(now: Date) async throws -> [Revocation] {
            if failing.load(ordering: .relaxed) { throw SwiftletError.storageUnavailable("test: database away") }
            return try await base.activeRevocations(now: now)
        }
        func pruneRevocations(before now: Date) async throws -> Int { try await base.pruneRevocations(before: now) }
    }

    @Test("a re-sync that failed is retried every interval, even with the bus up")
    func failedResyncIsRetried() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let sessions = FlakySessions(storage.sessions)
            let ticker = ManualTicker()
            let node = Node(cluster: InProcessClusterState(), sessions: sessions, ticker: ticker)
            try await ticker.waitForWaiters(1)
            let missed = Self.revocation()
            try await storage.sessions.recordRevocation(missed)
            try await ticker.advance()
            #expect(!node.feed.isLive && !node.has(missed), "subscribed, but the re-sync keeps failing")

            sessions.failing.store(false, ordering: .relaxed)
            try await ticker.advance()
            #expect(node.has(missed))
            #expect(node.feed.isLive, "no more polling once a re-sync succeeded")
            await node.stop()
        }
    }

    @Test("a revocation published while the bus was down is sent once it is back")
    func failedPublishesAreRetried() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let base = InProcessClusterState()
            let flaky = SwitchableClusterState(base: base)
            let tickerA = ManualTicker()
            let a = Node(cluster: flaky, sessions: storage.sessions, ticker: tickerA)
            let b = Node(cluster: base, sessions: storage.sessions, ticker: ManualTicker())
            try await waitUntil("both live") { a.feed.isLive && b.feed.isLive }
            try await tickerA.waitForWaiters(1)

            flaky.setDown(true)
            let revocation = Self.revocation()
            a.feed.announce(revocation)
            try await waitUntil("the publish was refused") { flaky.refusedPublishes.load(ordering: .relaxed) >= 1 }
            try await tickerA.waitForWaiters(2)   // the poll loop and the outbox's retry
            #expect(!b.has(revocation))

            flaky.setDown(false)
            try await tickerA.advance(thenWaitFor: 1)
            try await waitUntil("B heard the retried message") { b.has(revocation) }
            await a.stop()
            await b.stop()
        }
    }
}
