import Foundation
import SwiftletCore

/// Everything one realtime connection decides, as a value: which frames to send, when to
/// read the inbox, when to ping and when to close. The socket handler feeds it events
/// (frames, ticks, messages, database answers) with the time from the injected clock and
/// executes the actions it returns, so every rule here is tested without a socket or a
/// timer.
///
/// **Exact resume.** `delivered` is the last sequence number sent. A live message is
/// sent only if it is exactly the next one; one already sent is dropped; one further
/// ahead means something in between was missed (not yet heard, or lost on the bus), and
/// the connection reads the database after `delivered` instead. Catch-up works the same
/// way: live messages arriving while a read is under way only raise `known`, and the
/// read is repeated until `delivered` reaches it. Numbers have no holes and a number is
/// visible only once every smaller one is, so each device gets every message once, in
/// order, whatever the timing of live messages and reads.
///
/// **Catch-up respects the socket.** A page is sent only while the connection's outbound
/// queue is below half its bound; the rest of the page waits (`paused`) until the socket
/// has drained, then the read continues from `delivered`. Only live traffic that outruns
/// a client can therefore reach the bound and close it as a slow consumer; a long
/// catch-up never does.
public struct RealtimeConnectionState: Sendable {
    public enum Action: Sendable, Equatable {
        case send(ServerFrame)
        case ping
        case close(RealtimeClose)
        /// Authenticated: put the connection in the registry under its user.
        case register(Principal)
        /// Read the inbox after this sequence number.
        case fetch(after: Int64)
        /// Check a token (first-frame auth or a refresh).
        case verify(token: String)
        case acknowledge(seq: Int64)
        case sendDirectMessage(DirectMessageSubmission)
        /// Join the room (membership as its policy allows) and read its head.
        case joinRoom(RoomID)
        /// Leave the room's membership.
        case leaveRoom(RoomID)
        /// Start or stop receiving the room's live messages on this connection.
        case followRoom(RoomID)
        case unfollowRoom(RoomID)
        case fetchRoom(RoomID, after: Int64)
        case postToRoom(RoomID, DirectMessageSubmission)
    }

    enum Phase: Sendable, Equatable {
        case awaitingAuth(deadline: Date)
        case open
        case closed
    }

    let settings: RealtimeSettings
    let connectionID: String
    private(set) var phase: Phase
    private(set) var principal: Principal?
    /// The `since` the client connected with.
    let requestedSince: Int64
    /// The position in the user's inbox.
    private(set) var inbox: SequenceCursor<InboxMessage>
    /// Rooms this connection follows, with its position in each (RealtimeConnectionState+Rooms).
    var rooms: [RoomID: RoomSubscription] = [:]
    /// The last inbox message sent: what every frame's `seq` says.
    var delivered: Int64 { inbox.delivered }
    private(set) var lastHeard: Date
    private(set) var nextPing: Date
    /// Set once `token_expired` was sent: the close comes at this time unless a fresh token does.
    private(set) var graceDeadline: Date?

    public init(settings: RealtimeSettings, connectionID: String, since: Int64, now: Date) {
        self.settings = settings
        self.connectionID = connectionID
        self.phase = .awaitingAuth(deadline: now.addingTimeInterval(settings.authTimeout))
        self.requestedSince = max(0, since)
        self.inbox = SequenceCursor(after: since, number: \.seq, size: { $0.payload.utf8.count + Self.frameOverhead })
        self.lastHeard = now
        self.nextPing = now.addingTimeInterval(settings.pingInterval)
    }

    public var isOpen: Bool { phase == .open }
    public var isClosed: Bool { phase == .closed }
    public var userID: UserID? { principal?.userID }
    public var deliveredSeq: Int64 { delivered }

    // MARK: Authentication

    /// A verified token: on the upgrade, as the first frame, or as a refresh.
    public mutating func authenticated(_ principal: Principal, now: Date) -> [Action] {
        switch phase {
        case .closed:
            return []
        case .awaitingAuth:
            guard principal.expiresAt > now else { return close(.tokenExpired) }
            self.principal = principal
            phase = .open
            let welcome = ServerFrame.welcome(seq: delivered, userID: principal.userID, connectionID: connectionID,
                                              pingIntervalSeconds: Int(settings.pingInterval))
            let steps = inbox.start()
            return [.register(principal), .send(welcome)] + inboxActions(steps)
        case .open:
            guard principal.userID == self.principal?.userID else {
                return [.send(error("realtime.token_user_mismatch", "The token belongs to another user."))] + close(.unauthorized)
            }
            guard principal.expiresAt > now else {
                return [.send(error("auth.token_expired", "The token has expired."))]
            }
            self.principal = principal
            graceDeadline = nil
            return [.send(.tokenRefreshed(seq: delivered, expiresAt: principal.expiresAt))]
        }
    }

    /// A token sent in a frame did not verify.
    public mutating func authenticationFailed(_ error: SwiftletError) -> [Action] {
        switch phase {
        case .closed: return []
        case .awaitingAuth: return [.send(self.error(error.code, error.message))] + close(.unauthorized)
        // A refresh that fails leaves the grace period running: the client may try again.
        case .open: return [.send(self.error(error.code, error.message))]
        }
    }

    // MARK: Frames from the client

    public mutating func received(_ frame: ClientFrame, now: Date) -> [Action] {
        lastHeard = now
        switch phase {
        case .closed:
            return []
        case .awaitingAuth:
            guard case .auth(let token) = frame else {
                return [.send(error("realtime.auth_required", "Send an auth frame first."))] + close(.unauthorized)
            }
            return [.verify(token: token)]
        case .open:
            switch frame {
            case .auth(let token): return [.verify(token: token)]
            case .ack(let seq): return [.acknowledge(seq: min(max(0, seq), delivered))]
            case .send(let submission): return [.sendDirectMessage(submission)]
            case .ping: return [.send(.pong(seq: delivered))]
            case .join(let room, let offset, let epoch): return join(room, offset: offset, epoch: epoch)
            case .leave(let room): return leave(room, membership: true)
            case .unsubscribe(let room): return leave(room, membership: false)
            case .roomSend(let room, let submission): return [.postToRoom(RoomID(rawValue: room), submission)]
            case .unknown(let type):
                return [.send(error("realtime.unknown_frame", "Unknown frame type `\(type)`."))]
            }
        }
    }

    /// A pong, or any other sign of life below the JSON level.
    public mutating func heard(now: Date) {
        lastHeard = now
    }

    // MARK: Inbox

    /// Messages just stored for this user (from this node, in order per user).
    public mutating func live(_ messages: [InboxMessage]) -> [Action] {
        guard phase == .open else { return [] }
        let steps = inbox.live(messages.filter { $0.userID == principal?.userID })
        return inboxActions(steps)
    }

    /// The user's inbox reached `seq` (another node stored something, or a re-check).
    public mutating func headMoved(to seq: Int64) -> [Action] {
        guard phase == .open else { return [] }
        let steps = inbox.headMoved(to: seq)
        return inboxActions(steps)
    }

    /// What the database returned for `.fetch(after:)`, with the bytes waiting in the
    /// connection's outbound queue right now.
    public mutating func fetched(_ page: InboxPage, queuedBytes: Int = 0) -> [Action] {
        guard phase == .open else { return [] }
        // Older than what is kept, or a position this inbox never had: a reset.
        let isReset = page.isReset(since: inbox.delivered) || inbox.delivered > page.head
        let steps = inbox.fetched(
            .init(items: page.messages, head: page.head, oldest: page.oldest, isReset: isReset),
            queuedBytes: queuedBytes, maxQueuedBytes: settings.maxQueuedBytes)
        return inboxActions(steps)
    }

    /// Bytes a message frame adds to its payload (type, seq, kind, time, WebSocket header).
    static let frameOverhead = 96

    /// The outbound queue drained (below a quarter of its bound) after a paused catch-up.
    public mutating func drained() -> [Action] {
        guard phase == .open else { return [] }
        let steps = inbox.drained()
        var actions = inboxActions(steps)
        for room in Array(rooms.keys) {
            let roomSteps = rooms[room]?.cursor.drained() ?? []
            actions += roomActions(room, roomSteps)
        }
        return actions
    }

    public var isPaused: Bool { inbox.paused || rooms.values.contains { $0.cursor.paused } }

    /// Maps the cursor's steps to actions. Call with steps computed beforehand (`let steps
    /// = inbox.…; return inboxActions(steps)`): in `inboxActions(inbox.live(…))` the
    /// receiver is read before the argument mutates it, and `caught_up` would carry the
    /// old position.
    private func inboxActions(_ steps: [SequenceCursor<InboxMessage>.Step]) -> [Action] {
        steps.map { step in
            switch step {
            case .send(let message): .send(.message(message))
            case .reset(let oldest, let requested): .send(.reset(seq: oldest - 1, oldest: oldest, requested: requested))
            case .fetch(let after): .fetch(after: after)
            case .caughtUp: .send(.caughtUp(seq: inbox.delivered))
            }
        }
    }

    /// The inbox could not be read: the client reconnects with its position.
    public mutating func fetchFailed() -> [Action] {
        guard phase == .open else { return [] }
        return close(.unavailable)
    }

    // MARK: Answers to the client's requests

    public func acknowledged(_ cursor: InboxCursor) -> [Action] {
        guard phase == .open else { return [] }
        return [.send(.acked(seq: delivered, device: cursor.device, ackedSeq: cursor.ackedSeq))]
    }

    public func directMessageSent(_ receipt: DirectMessageReceipt, clientMessageID: String) -> [Action] {
        guard phase == .open else { return [] }
        return [.send(.sent(seq: delivered, clientMessageID: clientMessageID, messageID: receipt.messageID,
                            messageSeq: receipt.echoed.seq))]
    }

    public func requestFailed(_ error: SwiftletError, clientMessageID: String?) -> [Action] {
        guard phase == .open else { return [] }
        return [.send(.error(seq: delivered, code: error.code, message: error.message, clientMessageID: clientMessageID))]
    }

    // MARK: Time and limits

    /// Called about once a second: pings, silence, token expiry, the auth deadline.
    public mutating func tick(now: Date, sessionRevoked: Bool = false) -> [Action] {
        switch phase {
        case .closed:
            return []
        case .awaitingAuth(let deadline):
            return now >= deadline ? close(.unauthorized) : []
        case .open:
            if sessionRevoked { return close(.sessionRevoked) }
            if now.timeIntervalSince(lastHeard) >= 2 * settings.pingInterval { return close(.stale) }
            if let graceDeadline, now >= graceDeadline { return close(.tokenExpired) }
            var actions: [Action] = []
            if graceDeadline == nil, let principal, principal.expiresAt <= now {
                graceDeadline = now.addingTimeInterval(settings.tokenGrace)
                actions.append(.send(.tokenExpired(seq: delivered, graceSeconds: Int(settings.tokenGrace))))
            }
            if now >= nextPing {
                nextPing = now.addingTimeInterval(settings.pingInterval)
                actions.append(.ping)
            }
            return actions
        }
    }

    /// Bytes written and not yet taken by the socket.
    public mutating func queued(bytes: Int) -> [Action] {
        guard phase != .closed, bytes > settings.maxQueuedBytes else { return [] }
        return close(.slowConsumer)
    }

    /// The client closed, or the connection dropped: nothing more is sent.
    public mutating func closedByPeer() {
        phase = .closed
    }

    public mutating func close(_ reason: RealtimeClose) -> [Action] {
        guard phase != .closed else { return [] }
        phase = .closed
        return [.close(reason)]
    }

    private func error(_ code: String, _ message: String) -> ServerFrame {
        .error(seq: delivered, code: code, message: message, clientMessageID: nil)
    }
}
