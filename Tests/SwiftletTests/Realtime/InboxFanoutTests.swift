import Foundation
import SwiftletCore
import Synchronization
import Testing

/// The fan-out over an in-process bus and an in-memory inbox: local delivery, heads from
/// other nodes, and the re-checks that make a lost announcement a delay, never a loss.
/// Intervals are short real durations (the fan-out takes no pause seam).
@Suite("Inbox fan-out", .timeLimit(.minutes(1)))
struct InboxFanoutTests {
    static let bob = UserID(rawValue: "u_bob")
    static let eve = UserID(rawValue: "u_eve")
    static let carol = UserID(rawValue: "u_carol")

    static func message(_ user: UserID, _ seq: Int64) -> InboxMessage {
        InboxMessage(userID: user, seq: seq, kind: InboxKind.directMessage, payload: "{}",
                     createdAt: Date(timeIntervalSince1970: 1_750_000_000))
    }

    /// One node's fan-out, running until `stop()`.
    struct Node {
        let fanout: InboxFanout
        let task: Task<Void, Never>

        init(cluster: any ClusterState, inbox: MemoryInbox, target: RecordingDeliveryTarget,
             retryInterval: Duration = .milliseconds(10), recheckInterval: Duration = .seconds(3_600)) {
            let fanout = InboxFanout(cluster: cluster, inbox: inbox, target: target, logger: TestStorage.logger,
                                     retryInterval: retryInterval, recheckInterval: recheckInterval)
            self.fanout = fanout
            task = Task { await fanout.run() }
        }

        /// Cancels the fan-out and waits for it to end: it must stop cleanly.
        func stop() async {
            task.cancel()
            await task.value
        }
    }

    @Test("messages stored on this node go to local connections at once and on the bus as each user's new head")
    func localAnnouncements() async throws {
        let cluster = InProcessClusterState()
        var bus = cluster.subscribe(to: [InboxFanout.channel]).makeAsyncIterator()
        #expect(await bus.next() == .subscribed)
        let target = RecordingDeliveryTarget()
        let node = Node(cluster: cluster, inbox: MemoryInbox(), target: target)
        try await waitUntil("the fan-out subscribed") { cluster.subscriberCount == 2 }

        let messages = [Self.message(Self.bob, 1), Self.message(Self.bob, 2), Self.message(Self.eve, 7)]
        node.fanout.announce(messages)
        #expect(target.deliveries == [messages], "handed over before announce returns")

        var published: [[Substring]] = []
        for _ in 0..<2 {
            guard case .message(_, let payload)? = await bus.next() else { break }
            published.append(payload.split(separator: " "))
        }
        #expect(Set(published.map { $0.dropFirst().joined(separator: " ") }) == ["2 u_bob", "7 u_eve"], "one head per user")
        #expect(Set(published.map(\.first)).count == 1 && published.allSatisfy { $0.count == 3 && !$0[0].isEmpty })

        // The fan-out heard its own announcements on the bus too, before this one.
        try await cluster.publish("other-node 3 u_carol", on: InboxFanout.channel)
        try await waitUntil("the other node's head applied") { !target.moves.isEmpty }
        #expect(target.moves == [HeadMove(Self.carol, 3)], "this node's own announcements are not applied again")
        await node.stop()
    }

    @Test("another node's announcement tells the connections of that user to read")
    func remoteAnnouncements() async throws {
        let cluster = InProcessClusterState()
        let target = RecordingDeliveryTarget()
        let node = Node(cluster: cluster, inbox: MemoryInbox(), target: target)
        try await waitUntil("subscribed") { cluster.subscriberCount == 1 }
        try await cluster.publish("n1 12 u_bob", on: InboxFanout.channel)
        try await cluster.publish("n2 4 u_eve", on: InboxFanout.channel)
        try await waitUntil("both applied") { target.moves.count == 2 }
        #expect(target.moves == [HeadMove(Self.bob, 12), HeadMove(Self.eve, 4)])
        #expect(target.deliveries.isEmpty, "another node's messages are read from the database, not handed over")
        await node.stop()
    }

    @Test("two nodes on one bus: each hears the other's heads and not its own")
    func twoNodes() async throws {
        let cluster = InProcessClusterState()
        let targetA = RecordingDeliveryTarget()
        let targetB = RecordingDeliveryTarget()
        let a = Node(cluster: cluster, inbox: MemoryInbox(), target: targetA)
        let b = Node(cluster: cluster, inbox: MemoryInbox(), target: targetB)
        try await waitUntil("both subscribed") { cluster.subscriberCount == 2 }
        a.fanout.announce([Self.message(Self.bob, 5)])
        b.fanout.announce([Self.message(Self.eve, 9)])
        try await waitUntil("each heard the other") { !targetA.moves.isEmpty && !targetB.moves.isEmpty }
        // A sentinel after both: once it is applied, everything before it was too.
        try await cluster.publish("n3 1 u_carol", on: InboxFanout.channel)
        try await waitUntil("the sentinel applied") { targetA.moves.count == 2 && targetB.moves.count == 2 }
        #expect(targetA.moves == [HeadMove(Self.eve, 9), HeadMove(Self.carol, 1)])
        #expect(targetB.moves == [HeadMove(Self.bob, 5), HeadMove(Self.carol, 1)])
        await a.stop()
        await b.stop()
    }

    @Test("malformed announcements are ignored")
    func malformed() async throws {
        let cluster = InProcessClusterState()
        let target = RecordingDeliveryTarget()
        let node = Node(cluster: cluster, inbox: MemoryInbox(), target: target)
        try await waitUntil("subscribed") { cluster.subscriberCount == 1 }
        for payload in ["", "n1", "n1 5", "n1 5 ", "n1 x u_bob", "n1 0 u_bob", "n1 -3 u_bob", "n1 1.5 u_bob",
                        "n1 99999999999999999999 u_bob", "n1 u_bob 5"] {
            try await cluster.publish(payload, on: InboxFanout.channel)
        }
        try await cluster.publish("n1 2 u_eve", on: InboxFanout.channel)
        try await waitUntil("the valid one applied") { !target.moves.isEmpty }
        #expect(target.moves == [HeadMove(Self.eve, 2)])
        await node.stop()
    }

    @Test("on every (re)subscription the heads of all connected users are re-read; those behind are told")
    func recheckOnSubscribe() async throws {
        let bus = SwitchableClusterState(base: InProcessClusterState())
        let inbox = MemoryInbox()
        inbox.store(Self.bob, count: 3)
        inbox.store(Self.carol, count: 5)
        let target = RecordingDeliveryTarget(connected: [Self.bob, Self.eve, Self.carol])
        // A retry interval longer than the test: only subscriptions re-check.
        let node = Node(cluster: bus, inbox: inbox, target: target, retryInterval: .seconds(600))
        try await waitUntil("the first subscription re-checked") { target.moves.count == 2 }
        #expect(Set(target.moves) == [HeadMove(Self.bob, 3), HeadMove(Self.carol, 5)], "a user never written to is not told")

        bus.setDown(true)
        // Stored by another node while this one's bus was down: the announcements are lost.
        inbox.store(Self.bob, count: 1)
        inbox.store(Self.eve, count: 2)
        target.clearMoves()
        bus.setDown(false)
        try await waitUntil("re-checked on the new subscription") { target.moves.count == 3 }
        #expect(Set(target.moves) == [HeadMove(Self.bob, 4), HeadMove(Self.eve, 2), HeadMove(Self.carol, 5)])
        #expect(inbox.headReads.count == 2)
        await node.stop()
    }

    @Test("heads are read 500 users a query")
    func recheckBatches() async throws {
        let inbox = MemoryInbox()
        let users = (0..<1_234).map { UserID(rawValue: "u_\($0)") }
        for user in users.prefix(10) { inbox.store(user, count: 1) }
        let target = RecordingDeliveryTarget(connected: users)
        let node = Node(cluster: InProcessClusterState(), inbox: inbox, target: target, retryInterval: .seconds(600))
        try await waitUntil("every user's head read") { inbox.headReads.joined().count >= users.count }
        #expect(inbox.headReads.map(\.count) == [500, 500, 234])
        #expect(Set(target.moves) == Set(users.prefix(10).map { HeadMove($0, 1) }), "only users with messages are told")
        #expect(Set(inbox.headReads.joined()) == Set(users))
        await node.stop()
    }

    @Test("while the bus is interrupted the heads are re-read about every retry interval, and no longer once it is back")
    func recheckWhileInterrupted() async throws {
        let bus = SwitchableClusterState(base: InProcessClusterState(), down: true)
        let inbox = MemoryInbox()
        let target = RecordingDeliveryTarget(connected: [Self.bob])
        let node = Node(cluster: bus, inbox: inbox, target: target, retryInterval: .milliseconds(10))
        try await waitUntil("several re-checks") { inbox.headReads.count >= 5 }
        #expect(target.moves.isEmpty, "nothing stored yet")

        inbox.store(Self.bob, count: 1)
        try await waitUntil("the new head noticed") { target.moves.contains(HeadMove(Self.bob, 1)) }
        inbox.store(Self.bob, count: 1)
        try await waitUntil("and the next") { target.moves.contains(HeadMove(Self.bob, 2)) }

        // A failing read is retried at the next interval.
        inbox.failing.store(true, ordering: .relaxed)
        let failedFrom = inbox.headReads.count
        try await waitUntil("failed reads") { inbox.headReads.count >= failedFrom + 3 }
        inbox.store(Self.bob, count: 1)
        inbox.failing.store(false, ordering: .relaxed)
        try await waitUntil("noticed once reads work again") { target.moves.contains(HeadMove(Self.bob, 3)) }

        bus.setDown(false)
        try await Task.sleep(for: .milliseconds(100))
        let settled = inbox.headReads.count
        try await Task.sleep(for: .milliseconds(300))
        #expect(inbox.headReads.count == settled, "live again: no re-checks before the re-check interval")
        await node.stop()
    }

    @Test("while the bus is live the heads are still re-read every re-check interval (a node that alone lost the bus)")
    func recheckWhileLive() async throws {
        let inbox = MemoryInbox()
        let target = RecordingDeliveryTarget(connected: [Self.bob])
        let node = Node(cluster: InProcessClusterState(), inbox: inbox, target: target,
                        retryInterval: .milliseconds(10), recheckInterval: .milliseconds(50))
        try await waitUntil("the subscription's re-check") { inbox.headReads.count >= 1 }
        // Stored by a node whose announcement never arrived.
        inbox.store(Self.bob, count: 1)
        try await waitUntil("noticed by a periodic re-check") { target.moves.contains(HeadMove(Self.bob, 1)) }
        await node.stop()
    }

    /// The re-check interval is time, not a count of pauses: with a 10 ms retry interval,
    /// counting each pause as a second would re-read every 20 pauses (~0.2 s).
    @Test("while the bus is live no re-check comes before the re-check interval")
    func noEarlyRecheckWhileLive() async throws {
        let inbox = MemoryInbox()
        let target = RecordingDeliveryTarget(connected: [Self.bob])
        let node = Node(cluster: InProcessClusterState(), inbox: inbox, target: target,
                        retryInterval: .milliseconds(10), recheckInterval: .seconds(20))
        try await waitUntil("the subscription's re-check") { inbox.headReads.count >= 1 }
        try await Task.sleep(for: .seconds(1))
        #expect(inbox.headReads.count == 1, "re-read \(inbox.headReads.count) times in 1 s with a 20 s re-check interval")
        await node.stop()
    }
}

/// A head the fan-out told the target about.
struct HeadMove: Hashable, CustomStringConvertible {
    let user: UserID
    let seq: Int64

    init(_ user: UserID, _ seq: Int64) {
        self.user = user
        self.seq = seq
    }

    var description: String { "\(user.rawValue)@\(seq)" }
}

/// Records what the fan-out hands to this node's connections.
final class RecordingDeliveryTarget: InboxDeliveryTarget {
    private struct State {
        var deliveries: [[InboxMessage]] = []
        var moves: [HeadMove] = []
        var connected: [UserID]
    }

    private let state: Mutex<State>

    init(connected: [UserID] = []) {
        state = Mutex(State(connected: connected))
    }

    var deliveries: [[InboxMessage]] { state.withLock { $0.deliveries } }
    var moves: [HeadMove] { state.withLock { $0.moves } }
    func clearMoves() { state.withLock { $0.moves.removeAll() } }

    func deliver(_ messages: [InboxMessage]) {
        state.withLock { $0.deliveries.append(messages) }
    }

    func headMoved(of userID: UserID, to seq: Int64) {
        state.withLock { $0.moves.append(HeadMove(userID, seq)) }
    }

    var connectedUsers: [UserID] { state.withLock { $0.connected } }
}

/// Heads and messages in memory, for what the fan-out reads; anything else throws.
final class MemoryInbox: InboxRepository {
    struct NotHere: Error {}

    private struct State {
        var messages: [UserID: [InboxMessage]] = [:]
        var headReads: [[UserID]] = []
    }

    private let state = Mutex(State())
    /// While set, `heads` throws (a database away).
    let failing = Atomic<Bool>(false)

    /// Every `heads` query, failed ones included.
    var headReads: [[UserID]] { state.withLock { $0.headReads } }

    func store(_ user: UserID, count: Int) {
        state.withLock { state in
            let head = Int64(state.messages[user]?.count ?? 0)
            for seq in head + 1...head + Int64(count) {
                state.messages[user, default: []].append(InboxFanoutTests.message(user, seq))
            }
        }
    }

    func heads(of userIDs: [UserID]) async throws -> [UserID: Int64] {
        try state.withLock { state in
            state.headReads.append(userIDs)
            if failing.load(ordering: .relaxed) { throw SwiftletError.storageUnavailable("test: database away") }
            return Dictionary(uniqueKeysWithValues: userIDs.map { ($0, Int64(state.messages[$0]?.count ?? 0)) })
        }
    }

    func messages(of userID: UserID, after since: Int64, limit: Int) async throws -> InboxPage {
        state.withLock { state in
            let stored = state.messages[userID] ?? []
            let page = stored.filter { $0.seq > since }.prefix(limit)
            return InboxPage(messages: Array(page), head: Int64(stored.count), oldest: 1)
        }
    }

    func append(_ drafts: [InboxDraft], now: Date) async throws -> [InboxMessage] { throw NotHere() }
    func acknowledge(userID: UserID, device: String, seq: Int64, now: Date) async throws -> InboxCursor { throw NotHere() }
    func cursors(of userID: UserID) async throws -> [InboxCursor] { throw NotHere() }
    func prune(_ retention: InboxRetention, now: Date) async throws -> Int { throw NotHere() }
    func storeDirectMessage(_ request: DirectMessageRequest, now: Date) async throws -> DirectMessageReceipt { throw NotHere() }
    func block(_ blockedID: UserID, by userID: UserID, now: Date) async throws { throw NotHere() }
    func unblock(_ blockedID: UserID, by userID: UserID) async throws { throw NotHere() }
    func blocked(by userID: UserID) async throws -> [UserID] { throw NotHere() }
}
