import Foundation

public struct RoomID: StringIdentifier {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static func generate() -> RoomID { RoomID(rawValue: "r_" + RandomID.base32(byteCount: 16)) }
}

/// Who may join a room without being added by a member who may add people.
public enum RoomJoinPolicy: String, Sendable, Equatable, CaseIterable, Codable {
    /// Anyone signed in may join (live rooms, public groups).
    case open
    /// Only people the owner (or an operator) added.
    case invite
}

public enum RoomRole: String, Sendable, Equatable, Codable {
    case owner
    case member
}

/// A group chat or live room. Its messages form one sequence of `offset`s (1, 2, 3, …)
/// within an `epoch`: a random label that changes only if the room's history is ever
/// lost or rewritten, so a client holding an offset of another epoch knows its position
/// means nothing any more (and gets a reset rather than a wrong gap).
public struct Room: Sendable, Equatable {
    public var id: RoomID
    public var name: String
    public var policy: RoomJoinPolicy
    public var epoch: String
    /// The newest offset (0 before the first message).
    public var lastOffset: Int64
    public var createdBy: UserID
    public var createdAt: Date

    public init(id: RoomID, name: String, policy: RoomJoinPolicy, epoch: String, lastOffset: Int64, createdBy: UserID,
                createdAt: Date) {
        self.id = id
        self.name = name
        self.policy = policy
        self.epoch = epoch
        self.lastOffset = lastOffset
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}

public struct RoomMember: Sendable, Equatable {
    public var userID: UserID
    public var role: RoomRole
    public var joinedAt: Date

    public init(userID: UserID, role: RoomRole, joinedAt: Date) {
        self.userID = userID
        self.role = role
        self.joinedAt = joinedAt
    }
}

public struct RoomMessage: Sendable, Equatable {
    public var roomID: RoomID
    public var offset: Int64
    public var senderID: UserID
    /// A JSON object (`id`, `from`, `text` or `payload`, `clientMsgId`, `sentAt`).
    public var payload: String
    public var createdAt: Date

    public init(roomID: RoomID, offset: Int64, senderID: UserID, payload: String, createdAt: Date) {
        self.roomID = roomID
        self.offset = offset
        self.senderID = senderID
        self.payload = payload
        self.createdAt = createdAt
    }
}

/// A room's history after an offset.
public struct RoomHistoryPage: Sendable, Equatable {
    public var messages: [RoomMessage]
    public var epoch: String
    /// The newest offset.
    public var head: Int64
    /// The oldest offset still kept (`head + 1` when none is).
    public var oldest: Int64

    public init(messages: [RoomMessage], epoch: String, head: Int64, oldest: Int64) {
        self.messages = messages
        self.epoch = epoch
        self.head = head
        self.oldest = oldest
    }

    /// Whether a client at `offset` in `epoch` cannot be given the exact gap: another
    /// epoch, a position the room never had, or messages after it no longer kept.
    public func isReset(offset: Int64, epoch clientEpoch: String?) -> Bool {
        if let clientEpoch, clientEpoch != epoch { return true }
        if offset > head { return true }
        return offset + 1 < oldest && offset < head
    }
}

/// A room message as a member submits it, already checked (`RoomService`).
public struct RoomPost: Sendable, Equatable {
    public var roomID: RoomID
    public var senderID: UserID
    public var clientMessageID: String
    /// SHA-256 of the content: the same client id with other content is a conflict.
    public var requestHash: String
    public var payload: String

    public init(roomID: RoomID, senderID: UserID, clientMessageID: String, requestHash: String, payload: String) {
        self.roomID = roomID
        self.senderID = senderID
        self.clientMessageID = clientMessageID
        self.requestHash = requestHash
        self.payload = payload
    }
}

public struct RoomPostReceipt: Sendable, Equatable {
    public var message: RoomMessage
    /// The same client message id came before with the same content: nothing was written.
    public var replayed: Bool

    public init(message: RoomMessage, replayed: Bool) {
        self.message = message
        self.replayed = replayed
    }
}
