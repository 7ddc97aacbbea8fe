import Foundation

/// One entry of a user's durable inbox: everything addressed to a user (a direct
/// message, an order event) gets the next number of that user's sequence and is stored
/// before anyone is told about it. Numbers start at 1 and have no gaps, so a client that
/// knows the last number it saw can ask for exactly what followed.
public struct InboxMessage: Sendable, Equatable {
    public var userID: UserID
    /// Position in the user's sequence: 1, 2, 3, … without gaps.
    public var seq: Int64
    /// What the message is (`dm`, `dm.sent`, `order.paid`, …); see `InboxKind`.
    public var kind: String
    /// A JSON object, stored and sent as is.
    public var payload: String
    public var createdAt: Date

    public init(userID: UserID, seq: Int64, kind: String, payload: String, createdAt: Date) {
        self.userID = userID
        self.seq = seq
        self.kind = kind
        self.payload = payload
        self.createdAt = createdAt
    }
}

/// A message to append: the repository gives it its sequence number.
public struct InboxDraft: Sendable, Equatable {
    public var userID: UserID
    public var kind: String
    /// A JSON object (the caller builds it with `JSONObjectWriter`).
    public var payload: String

    public init(userID: UserID, kind: String, payload: String) {
        self.userID = userID
        self.kind = kind
        self.payload = payload
    }
}

/// The kinds of inbox messages the server writes.
public enum InboxKind {
    /// A direct message to the recipient.
    public static let directMessage = "dm"
    /// The copy of a direct message in the sender's own inbox, so their other devices see it.
    public static let directMessageSent = "dm.sent"
    public static let orderPaid = "order.paid"
    public static let orderShipped = "order.shipped"
    public static let orderRefunded = "order.refunded"
    public static let orderClosed = "order.closed"
}

/// A page of a user's inbox after a given sequence number.
public struct InboxPage: Sendable, Equatable {
    /// In sequence order, starting right after the requested number (or at `oldest` when
    /// the requested number is older than what is kept).
    public var messages: [InboxMessage]
    /// The newest sequence number the user has (0 when the inbox was never written).
    public var head: Int64
    /// The oldest sequence number still stored; `head + 1` when nothing is stored.
    public var oldest: Int64

    public init(messages: [InboxMessage], head: Int64, oldest: Int64) {
        self.messages = messages
        self.head = head
        self.oldest = oldest
    }

    /// Whether messages right after `since` were removed by retention: the page then
    /// starts at `oldest`, and the client must be told (a `reset`), never given a silent
    /// partial history.
    public func isReset(since: Int64) -> Bool {
        since + 1 < oldest && since < head
    }
}

/// How far one device of a user has shown the inbox.
public struct InboxCursor: Sendable, Equatable {
    public var device: String
    public var ackedSeq: Int64
    public var updatedAt: Date

    public init(device: String, ackedSeq: Int64, updatedAt: Date) {
        self.device = device
        self.ackedSeq = ackedSeq
        self.updatedAt = updatedAt
    }
}

/// How long the inbox keeps messages: a message goes when it is older than `maxAge` or
/// when the user has more than `maxCount` newer ones. Always a prefix of the sequence,
/// so what is kept has no holes.
public struct InboxRetention: Sendable, Equatable {
    public var maxAge: TimeInterval
    public var maxCount: Int

    public init(maxAge: TimeInterval = 30 * 86_400, maxCount: Int = 1_000) {
        self.maxAge = maxAge
        self.maxCount = maxCount
    }
}
