import Foundation
import SwiftletCore
import SwiftletRealtime
import Testing

/// The connection state machine without a socket or a timer: events go in with explicit
/// times, actions come out, and the database is a simulated inbox answering `.fetch`.
@Suite("Realtime connection state")
struct RealtimeConnectionStateTests {
    typealias Action = RealtimeConnectionState.Action

    static let user = UserID(rawValue: "u_bob")
    static let other = UserID(rawValue: "u_eve")
    static let start = Date(timeIntervalSince1970: 1_750_000_000)

    static func principal(_ user: UserID = user, expiresIn seconds: TimeInterval = 900, token: String = "t_1") -> Principal {
        Principal(claims: AccessTokenClaims(
            userID: user, sessionID: SessionID(rawValue: "s_1"), tokenID: token, issuedAt: start,
            expiresAt: start.addingTimeInterval(seconds)))
    }

    static func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    /// A connection whose token came with the upgrade, authenticated at `start`; the
    /// welcome's actions are returned with it.
    static func open(
        since: Int64 = 0, settings: RealtimeSettings = RealtimeSettings(), principal: Principal = principal()
    ) -> (RealtimeConnectionState, [Action]) {
        var state = RealtimeConnectionState(settings: settings, connectionID: "c_test", since: since, now: start)
        let actions = state.authenticated(principal, now: start)
        return (state, actions)
    }

    /// An open connection that has read the inbox up to its head.
    static func caughtUp(with inbox: SimulatedInbox, settings: RealtimeSettings = RealtimeSettings()) -> RealtimeConnectionState {
        var (state, welcome) = open(settings: settings)
        _ = SimulatedInbox.answer(welcome, on: &state, from: inbox)
        return state
    }

    // MARK: Exact resume

    @Test("exact resume: whatever the timing of live messages, lost or repeated notices and reads, a device gets every message once, in order")
    func exactResumeProperty() {
        Self.checkExactResume(lossless: false)
    }

    /// Re-checks are there for notices lost on the bus; with none lost, live messages and
    /// heads alone must get everything there, however they race with reads.
    @Test("exact resume with no notice lost needs no re-check")
    func exactResumeWithoutRechecks() {
        Self.checkExactResume(lossless: true)
    }

    static func checkExactResume(lossless: Bool) {
        var paused = 0
        for seed in UInt64(1)...400 {
            var simulation = ResumeSimulation(seed: seed, lossless: lossless)
            simulation.run()
            if !simulation.failures.isEmpty {
                Issue.record("seed \(seed): \(simulation.failures.joined(separator: "; "))")
                return
            }
            paused += simulation.pauses > 0 ? 1 : 0
        }
        #expect(paused >= 40, "only \(paused) of 400 runs paused a catch-up for a full socket")
    }

    @Test("the welcome says where delivery resumes, then the inbox is read from there")
    func welcome() {
        let (state, actions) = Self.open(since: 4)
        #expect(actions == [
            .register(Self.principal()),
            .send(.welcome(seq: 4, userID: Self.user, connectionID: "c_test", pingIntervalSeconds: 25)),
            .fetch(after: 4),
        ])
        #expect(state.isOpen && state.userID == Self.user && state.deliveredSeq == 4)
        let negative = RealtimeConnectionState(settings: RealtimeSettings(), connectionID: "c", since: -3, now: Self.start)
        #expect(negative.deliveredSeq == 0, "a negative since counts as 0")
    }

    @Test("a resume from before what retention kept is reset to the oldest message kept, then read on in order")
    func resetWhenOlderThanOldest() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(25)
        inbox.prune(keepingFrom: 16)
        var (state, welcome) = Self.open(since: 3)
        let first = state.fetched(inbox.page(after: 3, limit: 7))
        #expect(first.first == .send(.reset(seq: 15, oldest: 16, requested: 3)))
        #expect(first.messageSeqs == Array(16...22))
        #expect(first.last == .fetch(after: 22))
        let rest = SimulatedInbox.answer(welcome.filter { !$0.isFetch } + first, on: &state, from: inbox)
        #expect(rest.messageSeqs == Array(16...25))
        #expect(rest.frames.filter(\.isCaughtUp) == [.caughtUp(seq: 25)])
        #expect(rest.frames.last == .caughtUp(seq: 25), "caught_up comes after the last message")
        #expect(state.deliveredSeq == 25)
    }

    @Test("a resume from a position the inbox never had is reset")
    func resetWhenAheadOfHead() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(25)
        inbox.prune(keepingFrom: 16)
        var (state, _) = Self.open(since: 99)
        let actions = state.fetched(inbox.page(after: 99, limit: 7))
        #expect(actions.first == .send(.reset(seq: 15, oldest: 16, requested: 99)))

        // An inbox never written to: reset to 0, and caught up there.
        var (empty, _) = Self.open(since: 5)
        let emptyActions = empty.fetched(SimulatedInbox(user: Self.user).page(after: 5, limit: 7))
        #expect(emptyActions == [.send(.reset(seq: 0, oldest: 1, requested: 5)), .send(.caughtUp(seq: 0))])
    }

    /// The repository answers `messages(after: 99)` with the messages after 99 (none),
    /// so after the reset to 15 nothing was read from 16 yet; `caught_up` promises that
    /// everything stored has been delivered.
    @Test("after a reset from a position ahead of the head, the kept messages follow before caught_up")
    func resetAheadOfHeadDeliversWhatIsKept() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(25)
        inbox.prune(keepingFrom: 16)
        var (state, welcome) = Self.open(since: 99)
        let actions = SimulatedInbox.answer(welcome, on: &state, from: inbox)
        #expect(actions.frames.dropFirst().first == .reset(seq: 15, oldest: 16, requested: 99), "right after the welcome")
        #expect(actions.messageSeqs == Array(16...25))
        #expect(actions.frames.last == .caughtUp(seq: 25))
    }

    /// A read answered from a moment before message 6 was stored, while message 6's live
    /// notice arrived during the read (and was only counted in `known`).
    @Test("a message heard while a read that found nothing was under way is read at once, not at the next re-check")
    func liveMessageDuringAnEmptyRead() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(5)
        var (state, welcome) = Self.open(since: 5)
        #expect(welcome.fetches == [5])
        let snapshot = inbox.page(after: 5, limit: 7)
        inbox.commit(1)
        #expect(state.live([inbox.message(6)]).isEmpty, "a live message during a read waits for the read")
        let answered = SimulatedInbox.answer(state.fetched(snapshot), on: &state, from: inbox)
        #expect(answered.messageSeqs == [6])
        #expect(answered.frames.last == .caughtUp(seq: 6))
        #expect(state.headMoved(to: inbox.head).isEmpty, "nothing is read twice")
        #expect(state.deliveredSeq == 6)
    }

    @Test("caught_up is sent once, after the first catch-up")
    func caughtUpOnce() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(3)
        var state = Self.caughtUp(with: inbox)
        #expect(state.deliveredSeq == 3)
        inbox.commit(4)
        // A gap (5 before 4) sends the connection to the database again.
        let gap = state.live([inbox.message(5)])
        #expect(gap == [.fetch(after: 3)])
        let read = SimulatedInbox.answer(gap, on: &state, from: inbox)
        #expect(read.messageSeqs == [4, 5, 6, 7])
        #expect(read.frames.filter(\.isCaughtUp).isEmpty)
        let again = SimulatedInbox.answer(state.headMoved(to: 7), on: &state, from: inbox)
        #expect(again.isEmpty, "nothing new: no read, no second caught_up")
    }

    @Test("a catch-up pauses while the socket's queue is over half its bound, and goes on once it drained")
    func catchUpPausesForTheSocket() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(20)
        var settings = RealtimeSettings()
        settings.maxQueuedBytes = 1_000
        var (state, _) = Self.open(settings: settings)
        #expect(state.fetched(inbox.page(after: 0, limit: 7), queuedBytes: 501).isEmpty)
        #expect(state.isPaused)
        #expect(state.live([inbox.message(1)]).isEmpty, "live messages wait for the paused catch-up")
        #expect(state.headMoved(to: 20).isEmpty, "and so do new heads")
        #expect(state.drained() == [.fetch(after: 0)])
        #expect(state.drained().isEmpty, "drained only matters while paused")

        // Each message counts its payload and its frame: 103 bytes here, so the sixth
        // would start past half the bound.
        let partial = state.fetched(inbox.page(after: 0, limit: 7), queuedBytes: 0)
        #expect(partial.messageSeqs == [1, 2, 3, 4, 5])
        #expect(partial.fetches.isEmpty && state.isPaused)

        var all = partial
        var next = state.drained()
        while !next.isEmpty {
            all += next
            if let after = next.fetches.first {
                next = state.fetched(inbox.page(after: after, limit: 7))
            } else {
                next = state.isPaused ? state.drained() : []
            }
        }
        #expect(all.messageSeqs == Array(1...20))
        #expect(all.frames.filter(\.isCaughtUp) == [.caughtUp(seq: 20)])
        #expect(all.frames.last == .caughtUp(seq: 20))
    }

    @Test("live messages: the next one is sent, one already sent is dropped, another user's is ignored")
    func liveMessages() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(2)
        var state = Self.caughtUp(with: inbox)
        inbox.commit(2)
        #expect(state.live([inbox.message(3), inbox.message(4)]) == [.send(.message(inbox.message(3))), .send(.message(inbox.message(4)))])
        #expect(state.live([inbox.message(4), inbox.message(2)]).isEmpty)
        var eve = SimulatedInbox(user: Self.other)
        eve.commit(5)
        #expect(state.live([eve.message(5)]).isEmpty)
        #expect(state.headMoved(to: 4).isEmpty)
        #expect(state.deliveredSeq == 4)
    }

    // MARK: Authentication

    @Test("before authentication only an auth frame is accepted; anything else is an error and close 4500")
    func framesBeforeAuth() {
        var state = RealtimeConnectionState(settings: RealtimeSettings(), connectionID: "c", since: 0, now: Self.start)
        #expect(state.received(.auth(token: "tok"), now: Self.start) == [.verify(token: "tok")])
        let refused = state.received(.ping, now: Self.start)
        #expect(refused.count == 2)
        #expect(refused.frames.first?.errorCode == "realtime.auth_required")
        #expect(refused.closes == [.unauthorized])
        #expect(RealtimeClose.unauthorized.code == 4500)
        #expect(state.isClosed)

        var failing = RealtimeConnectionState(settings: RealtimeSettings(), connectionID: "c", since: 0, now: Self.start)
        let failed = failing.authenticationFailed(SwiftletError(.unauthenticated, code: "auth.invalid_token", message: "bad"))
        #expect(failed.frames.first?.errorCode == "auth.invalid_token")
        #expect(failed.closes == [.unauthorized])
    }

    @Test("no token by the auth deadline closes with 4500")
    func authDeadline() {
        var state = RealtimeConnectionState(settings: RealtimeSettings(), connectionID: "c", since: 0, now: Self.start)
        #expect(state.tick(now: Self.at(9.9)).isEmpty)
        #expect(state.tick(now: Self.at(10)) == [.close(.unauthorized)])
        #expect(state.authenticated(Self.principal(), now: Self.at(10)).isEmpty, "too late")
    }

    @Test("an expired token at authentication closes with 4501")
    func expiredAtAuthentication() {
        var state = RealtimeConnectionState(settings: RealtimeSettings(), connectionID: "c", since: 0, now: Self.start)
        #expect(state.authenticated(Self.principal(expiresIn: 0), now: Self.start) == [.close(.tokenExpired)])
        #expect(RealtimeClose.tokenExpired.code == 4501)
    }

    static var quietSettings: RealtimeSettings {
        var settings = RealtimeSettings()
        settings.pingInterval = 10_000
        return settings
    }

    @Test("an expired token gets token_expired, then close 4501 once the grace period is over")
    func tokenExpiry() {
        var (state, _) = Self.open(settings: Self.quietSettings, principal: Self.principal(expiresIn: 60))
        #expect(state.tick(now: Self.at(59)).isEmpty)
        #expect(state.tick(now: Self.at(60)) == [.send(.tokenExpired(seq: 0, graceSeconds: 30))])
        #expect(state.tick(now: Self.at(61)).isEmpty, "token_expired is sent once")
        // A refresh that does not verify leaves the grace period running.
        let failed = state.authenticationFailed(SwiftletError(.unauthenticated, code: "auth.invalid_token", message: "bad"))
        #expect(failed.frames.map(\.errorCode) == ["auth.invalid_token"] && failed.closes.isEmpty)
        // So does a token that has expired too.
        let stale = state.authenticated(Self.principal(expiresIn: 70, token: "t_2"), now: Self.at(75))
        #expect(stale.frames.map(\.errorCode) == ["auth.token_expired"] && stale.closes.isEmpty)
        #expect(state.tick(now: Self.at(89.9)).isEmpty)
        #expect(state.tick(now: Self.at(90)) == [.close(.tokenExpired)])
        #expect(state.isClosed)
    }

    @Test("a later-expiring token of the same user within the grace period keeps the connection")
    func tokenRefresh() {
        var (state, _) = Self.open(settings: Self.quietSettings, principal: Self.principal(expiresIn: 60))
        _ = state.tick(now: Self.at(60))
        let fresh = Self.principal(expiresIn: 960, token: "t_2")
        #expect(state.authenticated(fresh, now: Self.at(80)) == [.send(.tokenRefreshed(seq: 0, expiresAt: fresh.expiresAt))])
        #expect(state.tick(now: Self.at(90)).isEmpty)
        #expect(state.tick(now: Self.at(959)).isEmpty)
        #expect(state.isOpen)
        // The new token's own expiry starts a new grace period.
        #expect(state.tick(now: Self.at(960)) == [.send(.tokenExpired(seq: 0, graceSeconds: 30))])
        #expect(state.tick(now: Self.at(990)) == [.close(.tokenExpired)])
    }

    @Test("another user's token closes the connection with 4500")
    func anotherUsersToken() {
        var (state, _) = Self.open()
        let actions = state.authenticated(Self.principal(Self.other, token: "t_eve"), now: Self.at(1))
        #expect(actions.frames.map(\.errorCode) == ["realtime.token_user_mismatch"])
        #expect(actions.closes == [.unauthorized])
        #expect(state.isClosed && state.userID == Self.user)
    }

    // MARK: Time and limits

    @Test("a ping is due every interval; a client silent for two intervals is closed with 4002")
    func pingsAndStaleness() {
        var (state, _) = Self.open()
        #expect(state.tick(now: Self.at(24)).isEmpty)
        #expect(state.tick(now: Self.at(25)) == [.ping])
        #expect(state.tick(now: Self.at(26)).isEmpty, "the next ping is an interval later")
        state.heard(now: Self.at(30))
        #expect(state.tick(now: Self.at(50)) == [.ping])
        #expect(state.tick(now: Self.at(75)) == [.ping])
        #expect(state.tick(now: Self.at(79.9)).isEmpty)
        #expect(state.tick(now: Self.at(80)) == [.close(.stale)], "50 s = two intervals since the pong at 30")
        #expect(RealtimeClose.stale.code == 4002)

        var (talking, _) = Self.open()
        _ = talking.received(.ping, now: Self.at(45))
        #expect(talking.tick(now: Self.at(60)) == [.ping], "a frame is a sign of life too")
        #expect(talking.tick(now: Self.at(95)) == [.close(.stale)])
    }

    @Test("more bytes queued than the bound closes with 4001")
    func slowConsumer() {
        var (state, _) = Self.open()
        let bound = RealtimeSettings().maxQueuedBytes
        #expect(state.queued(bytes: bound).isEmpty)
        #expect(state.queued(bytes: bound + 1) == [.close(.slowConsumer)])
        #expect(RealtimeClose.slowConsumer.code == 4001)
    }

    @Test("a revoked session closes with 4504")
    func revoked() {
        var (state, _) = Self.open()
        #expect(state.tick(now: Self.at(1), sessionRevoked: true) == [.close(.sessionRevoked)])
        #expect(RealtimeClose.sessionRevoked.code == 4504)
    }

    @Test("an inbox that cannot be read closes with 4003 (reconnect)")
    func fetchFailed() {
        var (state, _) = Self.open()
        #expect(state.fetchFailed() == [.close(.unavailable)])
        #expect(RealtimeClose.unavailable.code == 4003 && RealtimeClose.unavailable.reconnects)
    }

    // MARK: Frames from the client

    @Test("an ack is clamped to what this connection delivered")
    func ackClamps() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(3)
        var state = Self.caughtUp(with: inbox)
        #expect(state.received(.ack(seq: 100), now: Self.at(1)) == [.acknowledge(seq: 3)])
        #expect(state.received(.ack(seq: 2), now: Self.at(1)) == [.acknowledge(seq: 2)])
        #expect(state.received(.ack(seq: -5), now: Self.at(1)) == [.acknowledge(seq: 0)])
    }

    @Test("open frames: ping is answered, auth is verified, send is handed over, an unknown type is an error")
    func openFrames() {
        var (state, _) = Self.open()
        #expect(state.received(.ping, now: Self.at(1)) == [.send(.pong(seq: 0))])
        #expect(state.received(.auth(token: "fresh"), now: Self.at(1)) == [.verify(token: "fresh")])
        let submission = DirectMessageSubmission(to: "u_eve", text: "hi", payload: nil, clientMessageID: "m1")
        #expect(state.received(.send(submission), now: Self.at(1)) == [.sendDirectMessage(submission)])
        #expect(state.received(.unknown(type: "typing"), now: Self.at(1)).frames.map(\.errorCode) == ["realtime.unknown_frame"])
        #expect(state.isOpen)
    }

    @Test("answers to requests carry the delivered position")
    func answers() {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(2)
        let state = Self.caughtUp(with: inbox)
        let cursor = InboxCursor(device: "phone", ackedSeq: 2, updatedAt: Self.start)
        #expect(state.acknowledged(cursor) == [.send(.acked(seq: 2, device: "phone", ackedSeq: 2))])
        let echoed = InboxMessage(userID: Self.user, seq: 3, kind: InboxKind.directMessageSent, payload: "{}", createdAt: Self.start)
        let receipt = DirectMessageReceipt(messageID: "m_1", delivered: echoed, echoed: echoed, replayed: false)
        #expect(state.directMessageSent(receipt, clientMessageID: "c1")
            == [.send(.sent(seq: 2, clientMessageID: "c1", messageID: "m_1", messageSeq: 3))])
        let error = SwiftletError(.rateLimited, code: "messages.rate_limited", message: "slow down")
        #expect(state.requestFailed(error, clientMessageID: "c1")
            == [.send(.error(seq: 2, code: "messages.rate_limited", message: "slow down", clientMessageID: "c1"))])
    }

    // MARK: After the close

    @Test("nothing is emitted after a close, whoever closed", arguments: [false, true])
    func silentAfterClose(byPeer: Bool) {
        var inbox = SimulatedInbox(user: Self.user)
        inbox.commit(3)
        var state = Self.caughtUp(with: inbox)
        if byPeer {
            state.closedByPeer()
        } else {
            #expect(state.close(.serverShutdown) == [.close(.serverShutdown)])
        }
        #expect(state.isClosed)
        inbox.commit(2)
        var emitted: [Action] = []
        emitted += state.close(.normal)
        emitted += state.live([inbox.message(4)])
        emitted += state.headMoved(to: 5)
        emitted += state.fetched(inbox.page(after: 3, limit: 7))
        emitted += state.fetchFailed()
        emitted += state.received(.ping, now: Self.at(1))
        emitted += state.received(.ack(seq: 1), now: Self.at(1))
        emitted += state.authenticated(Self.principal(token: "t_2"), now: Self.at(1))
        emitted += state.authenticated(Self.principal(Self.other), now: Self.at(1))
        emitted += state.authenticationFailed(SwiftletError(.unauthenticated, code: "auth.invalid_token", message: "bad"))
        emitted += state.tick(now: Self.at(10_000), sessionRevoked: true)
        emitted += state.queued(bytes: .max)
        emitted += state.acknowledged(InboxCursor(device: "d", ackedSeq: 1, updatedAt: Self.start))
        emitted += state.requestFailed(SwiftletError.invalid("x.y", "z"), clientMessageID: nil)
        #expect(emitted.isEmpty)
        #expect(state.deliveredSeq == 3)
    }
}

// MARK: - Simulation

/// One user's inbox as the database holds it, read with `InboxRepository`'s contract:
/// up to `limit` messages after `since`, from the oldest kept one when `since` is older.
struct SimulatedInbox {
    let user: UserID
    private(set) var head: Int64 = 0
    private(set) var oldest: Int64 = 1

    init(user: UserID) { self.user = user }

    func message(_ seq: Int64) -> InboxMessage {
        InboxMessage(userID: user, seq: seq, kind: InboxKind.directMessage, payload: #"{"n":\#(seq)}"#,
                     createdAt: Date(timeIntervalSince1970: 1_750_000_000 + Double(seq)))
    }

    /// Stores `count` more messages; returns them.
    @discardableResult
    mutating func commit(_ count: Int64) -> [InboxMessage] {
        let first = head + 1
        head += count
        return (first..<head + 1).map(message)
    }

    /// Retention removed everything before `seq`.
    mutating func prune(keepingFrom seq: Int64) {
        oldest = max(oldest, seq)
    }

    func page(after since: Int64, limit: Int) -> InboxPage {
        let start = max(since, oldest - 1)
        let last = min(head, start + Int64(limit))
        let messages = start < last ? (start + 1...last).map(message) : []
        return InboxPage(messages: messages, head: head, oldest: oldest <= head ? oldest : head + 1)
    }

    /// Carries out `actions` the way the socket handler does, answering every `.fetch`
    /// from `inbox` at once (7 messages a page), until nothing is left to read. Returns
    /// every action, fetches included.
    static func answer(_ actions: [RealtimeConnectionState.Action], on state: inout RealtimeConnectionState,
                       from inbox: SimulatedInbox) -> [RealtimeConnectionState.Action] {
        var all: [RealtimeConnectionState.Action] = []
        var queue = actions
        var reads = 0
        while !queue.isEmpty, reads < 1_000 {
            let action = queue.removeFirst()
            all.append(action)
            if case .fetch(let after) = action {
                reads += 1
                queue += state.fetched(inbox.page(after: after, limit: 7))
            }
        }
        return all
    }
}

/// One randomised run: a connection resumes from some position while messages are
/// stored, announced live on this node (in any order, repeated, or lost), announced by
/// other nodes as a new head (also in any order, repeated or lost); reads are answered
/// from a moment of the database that may be older than the answer, and the socket takes
/// the queued frames at its own pace (so catch-ups pause and resume).
private struct ResumeSimulation {
    enum Notice {
        case live([InboxMessage])
        case headMoved(Int64)
    }

    enum Read {
        /// `.fetch(after:)` was emitted; the database has not been read yet.
        case issued(after: Int64)
        /// Read at some moment; the answer is on its way back.
        case answered(InboxPage)
    }

    /// Small enough that a catch-up fills half of it within a page or two.
    static let maxQueuedBytes = 2_000

    var random: SplitMix64
    var inbox: SimulatedInbox
    let total: Int64
    let since: Int64
    var state: RealtimeConnectionState
    var notices: [Notice] = []
    var read: Read?
    /// Bytes written and not yet taken by the socket, counted as the socket handler does.
    var queuedBytes = 0
    var delivered: [Int64] = []
    var caughtUp = 0
    var pauses = 0
    var failures: [String] = []

    /// Every notice arrives (possibly late or twice) and the fan-out never re-checks.
    let lossless: Bool

    init(seed: UInt64, lossless: Bool) {
        self.lossless = lossless
        random = SplitMix64(seed: seed)
        total = Int64.random(in: 1...60, using: &random)
        inbox = SimulatedInbox(user: RealtimeConnectionStateTests.user)
        inbox.commit(Int64.random(in: 0...total / 2, using: &random))
        since = Int64.random(in: 0...inbox.head, using: &random)
        var settings = RealtimeSettings()
        settings.maxQueuedBytes = Self.maxQueuedBytes
        state = RealtimeConnectionState(
            settings: settings, connectionID: "c_sim", since: since, now: RealtimeConnectionStateTests.start)
    }

    mutating func run() {
        apply(state.authenticated(RealtimeConnectionStateTests.principal(), now: RealtimeConnectionStateTests.start))
        var steps = 0
        while inbox.head < total || !notices.isEmpty || read != nil || state.isPaused {
            steps += 1
            guard failures.isEmpty else { return }
            guard steps < 100_000 else { return fail("no progress after \(steps) steps") }
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<20 where inbox.head < total: store()
            case 20..<45 where !notices.isEmpty:
                switch notices.remove(at: Int.random(in: notices.indices, using: &random)) {
                case .live(let messages): apply(state.live(messages))
                case .headMoved(let seq): apply(state.headMoved(to: seq))
                }
            case 45..<60:
                if case .issued(let after) = read {
                    read = .answered(inbox.page(after: after, limit: 7))
                }
            case 60..<75:
                if case .answered(let page) = read {
                    read = nil
                    apply(state.fetched(page, queuedBytes: queuedBytes))
                }
            case 75..<95: socketTakes(Int.random(in: 0...queuedBytes, using: &random))
            case 95..<100 where !lossless: recheck()
            default: continue
            }
        }
        // The fan-out re-reads every connected user's head at least every re-check
        // interval; after that, everything stored must have been delivered.
        if !lossless { recheck() }
        while read != nil || state.isPaused {
            guard failures.isEmpty else { return }
            socketTakes(queuedBytes)
            switch read {
            case .issued(let after)?:
                read = nil
                apply(state.fetched(inbox.page(after: after, limit: 7), queuedBytes: queuedBytes))
            case .answered(let page)?:
                read = nil
                apply(state.fetched(page, queuedBytes: queuedBytes))
            case nil:
                continue
            }
        }
        let expected = total > since ? Array(since + 1...total) : []
        if delivered != expected { fail("delivered \(delivered), expected \(since + 1)…\(total)") }
        if caughtUp != 1 { fail("caught_up sent \(caughtUp) times") }
        if state.deliveredSeq != total { fail("deliveredSeq \(state.deliveredSeq)") }
    }

    /// Stores one message (sometimes two in one transaction) and queues its notices.
    mutating func store() {
        let stored = inbox.commit(min(total - inbox.head, Int64.random(in: 0..<5, using: &random) == 0 ? 2 : 1))
        let notice: Notice = Bool.random(using: &random) ? .live(stored) : .headMoved(inbox.head)
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<15 where !lossless: break                // lost on the bus
        case 15..<25: notices += [notice, notice]         // heard twice
        default: notices.append(notice)
        }
    }

    mutating func recheck() {
        apply(state.headMoved(to: inbox.head))
    }

    /// The socket took `bytes`; a paused catch-up goes on below a quarter of the bound,
    /// as the socket handler does it.
    mutating func socketTakes(_ bytes: Int) {
        queuedBytes -= bytes
        if state.isPaused, queuedBytes <= Self.maxQueuedBytes / 4 {
            apply(state.drained())
        }
    }

    mutating func apply(_ actions: [RealtimeConnectionState.Action]) {
        for action in actions {
            if case .send(let frame) = action {
                queuedBytes += frame.text.utf8.count + 10
            }
            switch action {
            case .send(.message(let message)):
                let next = (delivered.last ?? since) + 1
                if message.seq != next { fail("sent \(message.seq) after \(next - 1)") }
                if message != inbox.message(message.seq) { fail("sent a different message \(message.seq)") }
                delivered.append(message.seq)
            case .send(.caughtUp(let seq)):
                caughtUp += 1
                if seq != state.deliveredSeq { fail("caught_up at \(seq), delivered \(state.deliveredSeq)") }
            case .send(.reset):
                fail("reset without retention")
            case .fetch(let after):
                if read != nil { fail("a second read while one is under way") }
                if state.isPaused { fail("a read while paused") }
                if after != state.deliveredSeq { fail("read after \(after), delivered \(state.deliveredSeq)") }
                read = .issued(after: after)
            case .close(let reason):
                fail("closed: \(reason)")
            default:
                continue
            }
        }
        if state.isPaused, !wasPaused { pauses += 1 }
        wasPaused = state.isPaused
    }

    private var wasPaused = false

    mutating func fail(_ message: String) {
        failures.append(message)
    }
}

/// A seeded generator (SplitMix64), so a failing run repeats exactly.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension [RealtimeConnectionState.Action] {
    var frames: [ServerFrame] {
        compactMap { if case .send(let frame) = $0 { frame } else { nil } }
    }

    var messageSeqs: [Int64] {
        frames.compactMap { if case .message(let message) = $0 { message.seq } else { nil } }
    }

    var fetches: [Int64] {
        compactMap { if case .fetch(let after) = $0 { after } else { nil } }
    }

    var closes: [RealtimeClose] {
        compactMap { if case .close(let reason) = $0 { reason } else { nil } }
    }
}

extension RealtimeConnectionState.Action {
    var isFetch: Bool {
        if case .fetch = self { true } else { false }
    }
}

extension ServerFrame {
    var isCaughtUp: Bool {
        if case .caughtUp = self { true } else { false }
    }

    var errorCode: String? {
        if case .error(_, let code, _, _) = self { code } else { nil }
    }
}
