import Crypto
import Foundation
import Logging

/// Decides whether a user may join a room they were not added to. The default follows
/// the room's policy (`open`: yes; `invite`: no); an embedder replaces it to ask its own
/// rules (a paid live room, a group of one company), with the room's policy as advice.
public typealias RoomJoinDecider = @Sendable (_ user: UserID, _ room: Room) async throws -> Bool

/// Limits on rooms.
public struct RoomLimits: Sendable, Equatable {
    /// Messages kept per room; older ones go (a resume from before them gets a reset).
    public var historyLimit: Int
    /// Members one room may have.
    public var maxMembers: Int

    public init(historyLimit: Int = 500, maxMembers: Int = 10_000) {
        self.historyLimit = historyLimit
        self.maxMembers = maxMembers
    }
}

/// Group chats and live rooms: creation, membership, messages and history. One path for
/// REST and the socket; stored messages are announced to the room fan-out.
public struct RoomService: Sendable {
    let rooms: any RoomRepository
    let messages: DirectMessageService
    let limits: RoomLimits
    let decideJoin: RoomJoinDecider
    let announce: @Sendable (RoomMessage) -> Void
    let announceDeparture: @Sendable (UserID, RoomID) -> Void
    let clock: SwiftletClock

    public static let defaultJoinDecider: RoomJoinDecider = { _, room in room.policy == .open }

    public init(rooms: any RoomRepository, messages: DirectMessageService, limits: RoomLimits,
                decideJoin: @escaping RoomJoinDecider = RoomService.defaultJoinDecider,
                announce: @escaping @Sendable (RoomMessage) -> Void,
                announceDeparture: @escaping @Sendable (UserID, RoomID) -> Void = { _, _ in }, clock: SwiftletClock) {
        self.rooms = rooms
        self.messages = messages
        self.limits = limits
        self.decideJoin = decideJoin
        self.announce = announce
        self.announceDeparture = announceDeparture
        self.clock = clock
    }

    public func create(name: String, policy: RoomJoinPolicy, by owner: UserID) async throws -> Room {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Validation.fits(trimmed, characters: 1...64), !Validation.containsControlCharacters(trimmed) else {
            throw SwiftletError.invalid("rooms.invalid_name", "The room name must be 1–64 printable characters.")
        }
        let now = clock.now
        let room = try await rooms.create(Room(
            id: .generate(), name: trimmed, policy: policy, epoch: RandomID.base32(byteCount: 8), lastOffset: 0,
            createdBy: owner, createdAt: now))
        _ = try await rooms.addMember(owner, to: room.id, role: .owner, now: now)
        return room
    }

    public func room(_ id: RoomID) async throws -> Room {
        guard let room = try await rooms.find(id) else { throw Self.notFound }
        return room
    }

    /// Joins `user` to the room if they may; joining again is a no-op.
    public func join(_ id: RoomID, user: UserID) async throws -> Room {
        let room = try await room(id)
        if try await rooms.member(user, of: id) != nil { return room }
        guard try await decideJoin(user, room) else {
            throw SwiftletError(.forbidden, code: "rooms.join_forbidden", message: "This room takes members by invitation only.")
        }
        try await checkRoomForOneMore(id)
        _ = try await rooms.addMember(user, to: id, role: .member, now: clock.now)
        return room
    }

    /// Leaves the room; the user's connections stop following it on every node.
    public func leave(_ id: RoomID, user: UserID) async throws {
        _ = try await room(id)
        if try await rooms.removeMember(user, from: id) {
            announceDeparture(user, id)
        }
    }

    /// The owner adds someone (how `invite` rooms get members).
    public func add(_ user: UserID, to id: RoomID, by owner: UserID) async throws {
        _ = try await room(id)
        guard try await rooms.member(owner, of: id)?.role == .owner else {
            throw SwiftletError(.forbidden, code: "rooms.not_owner", message: "Only the room's owner may add members.")
        }
        try await checkRoomForOneMore(id)
        _ = try await rooms.addMember(user, to: id, role: .member, now: clock.now)
    }

    public func members(of id: RoomID, asker: UserID) async throws -> [RoomMember] {
        try await requireMember(asker, of: id)
        return try await rooms.members(of: id, limit: limits.maxMembers)
    }

    public func rooms(of user: UserID) async throws -> [Room] {
        try await rooms.rooms(of: user, limit: 200)
    }

    /// Stores a member's message and hands it to the fan-out.
    public func post(to id: RoomID, from sender: UserID, _ submission: DirectMessageSubmission) async throws -> RoomPostReceipt {
        try DirectMessageService.checkClientMessageID(submission.clientMessageID)
        let content = try messages.checkContent(submission)
        try await messages.checkRate(sender)
        var payload = JSONObjectWriter()
        payload.field("id", "rm_" + RandomID.base32(byteCount: 16))
        payload.field("room", id.rawValue)
        payload.field("from", sender.rawValue)
        payload.field("clientMsgId", submission.clientMessageID)
        payload.field("sentAt", RFC3339.string(clock.now))
        let object = content.completing(payload)
        let receipt = try await rooms.post(RoomPost(
            roomID: id, senderID: sender, clientMessageID: submission.clientMessageID,
            requestHash: Self.hash(content), payload: object), now: clock.now, historyLimit: limits.historyLimit)
        if !receipt.replayed { announce(receipt.message) }
        return receipt
    }

    /// History after `offset` for a member; `isReset` on the page says when the exact gap
    /// cannot be given.
    public func history(of id: RoomID, asker: UserID, after offset: Int64, limit: Int) async throws -> RoomHistoryPage {
        try await requireMember(asker, of: id)
        return try await rooms.history(of: id, after: max(0, offset), limit: limit)
    }

    public func requireMember(_ user: UserID, of id: RoomID) async throws {
        _ = try await room(id)
        guard try await rooms.member(user, of: id) != nil else { throw Self.notMember }
    }

    private func checkRoomForOneMore(_ id: RoomID) async throws {
        let count = try await rooms.members(of: id, limit: limits.maxMembers).count
        guard count < limits.maxMembers else {
            throw SwiftletError.conflict("rooms.full", "This room has as many members as it may.")
        }
    }

    static func hash(_ content: DirectMessageService.Content) -> String {
        content.hash()
    }

    public static let notFound = SwiftletError.notFound("rooms.not_found", "No such room.")
    public static let notMember = SwiftletError(.forbidden, code: "rooms.not_member", message: "Only members of the room may do this.")
}
