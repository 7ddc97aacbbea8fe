import Foundation
import SQLKit
import SwiftletCore

/// Direct messages and block lists.
///
/// A direct message is the recipient's inbox message, the sender's copy and the
/// `direct_messages` row keyed by (sender, client message id), written in one
/// transaction. That row is the idempotency record: a retry with the same content finds
/// it and gets the stored messages back; two identical sends racing on PostgreSQL both
/// pass the lookup, and the loser's insert of the row fails as a unique violation, rolls
/// back its numbers and answers with the winner's messages.
extension SQLInboxRepository {
    public func storeDirectMessage(_ request: DirectMessageRequest, now: Date) async throws -> DirectMessageReceipt {
        let stored: DirectMessageReceipt
        do {
            stored = try await executor.transaction { db in try await Self.storeOnce(db, request, now: now) }
        } catch where executor.classify(error) == .uniqueViolation {
            let replay = try await executor.read { db in try await Self.replay(db, request) }
            guard let replay else { throw error }
            return replay
        }
        if !stored.replayed {
            announcer?.announce([stored.delivered, stored.echoed])
        }
        return stored
    }

    static func storeOnce(_ db: any SQLDatabase, _ request: DirectMessageRequest, now: Date) async throws -> DirectMessageReceipt {
        // A retry gets the first answer even if the recipient has blocked the sender since.
        if let replay = try await replay(db, request) { return replay }
        let recipient = try await db.raw("SELECT id FROM users WHERE id = \(bind: request.recipientID.rawValue)").first()
        guard recipient != nil else {
            throw SwiftletError.notFound("messages.recipient_not_found", "No such recipient.")
        }
        let blocked = try await db.raw("""
            SELECT user_id FROM user_blocks
            WHERE user_id = \(bind: request.recipientID.rawValue) AND blocked_id = \(bind: request.senderID.rawValue)
            """).first()
        guard blocked == nil else {
            throw SwiftletError(.forbidden, code: "messages.blocked", message: "The recipient does not accept your messages.")
        }
        // Both users in one call, so their heads are locked in the fixed order.
        let messages = try await append(db, [
            InboxDraft(userID: request.recipientID, kind: InboxKind.directMessage, payload: request.payload),
            InboxDraft(userID: request.senderID, kind: InboxKind.directMessageSent, payload: request.payload),
        ], now: now)
        let delivered = messages[0], echoed = messages[1]
        try await db.raw("""
            INSERT INTO direct_messages (sender_id, client_msg_id, id, recipient_id, request_hash, recipient_seq, sender_seq,
                                         created_at)
            VALUES (\(bind: request.senderID.rawValue), \(bind: request.clientMessageID), \(bind: request.messageID),
                    \(bind: request.recipientID.rawValue), \(bind: request.requestHash), \(bind: delivered.seq),
                    \(bind: echoed.seq), \(bind: delivered.createdAt.unixMilliseconds))
            """).run()
        return DirectMessageReceipt(messageID: request.messageID, delivered: delivered, echoed: echoed, replayed: false)
    }

    /// The stored answer for this sender's client message id, nil when it is new; a
    /// conflict when the id came before with other content.
    static func replay(_ db: any SQLDatabase, _ request: DirectMessageRequest) async throws -> DirectMessageReceipt? {
        guard let row = try await db.raw("""
            SELECT id, recipient_id, request_hash, recipient_seq, sender_seq, created_at FROM direct_messages
            WHERE sender_id = \(bind: request.senderID.rawValue) AND client_msg_id = \(bind: request.clientMessageID)
            """).first()
        else { return nil }
        guard try row.decode(column: "request_hash", as: String.self) == request.requestHash else {
            throw SwiftletError.conflict("messages.client_msg_id_conflict",
                                         "This client message id was already used for a different message.")
        }
        let recipientID = UserID(rawValue: try row.decode(column: "recipient_id", as: String.self))
        let recipientSeq = try row.decode(column: "recipient_seq", as: Int64.self)
        let senderSeq = try row.decode(column: "sender_seq", as: Int64.self)
        let found = try await db.raw("""
            SELECT user_id, seq, kind, payload, created_at FROM inbox_messages
            WHERE (user_id = \(bind: recipientID.rawValue) AND seq = \(bind: recipientSeq))
               OR (user_id = \(bind: request.senderID.rawValue) AND seq = \(bind: senderSeq))
            """).all().map(decodeMessage)
        let delivered = found.first { $0.userID == recipientID && $0.seq == recipientSeq && $0.kind == InboxKind.directMessage }
        let echoed = found.first { $0.userID == request.senderID && $0.seq == senderSeq && $0.kind == InboxKind.directMessageSent }
        // Both carry the same payload, so one that retention removed is rebuilt from the
        // other exactly as it was stored. With both gone the content is no longer known.
        guard let payload = delivered?.payload ?? echoed?.payload else {
            throw SwiftletError.conflict("messages.client_msg_id_expired",
                                         "This client message id belongs to a message that is no longer kept.")
        }
        let createdAt = Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self))
        return DirectMessageReceipt(
            messageID: try row.decode(column: "id", as: String.self),
            delivered: delivered ?? InboxMessage(userID: recipientID, seq: recipientSeq, kind: InboxKind.directMessage,
                                                 payload: payload, createdAt: createdAt),
            echoed: echoed ?? InboxMessage(userID: request.senderID, seq: senderSeq, kind: InboxKind.directMessageSent,
                                           payload: payload, createdAt: createdAt),
            replayed: true)
    }

    public func block(_ blockedID: UserID, by userID: UserID, now: Date) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO user_blocks (user_id, blocked_id, created_at)
                VALUES (\(bind: userID.rawValue), \(bind: blockedID.rawValue), \(bind: now.unixMilliseconds))
                ON CONFLICT (user_id, blocked_id) DO NOTHING
                """).run()
        }
    }

    public func unblock(_ blockedID: UserID, by userID: UserID) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                DELETE FROM user_blocks WHERE user_id = \(bind: userID.rawValue) AND blocked_id = \(bind: blockedID.rawValue)
                """).run()
        }
    }

    public func blocked(by userID: UserID) async throws -> [UserID] {
        try await executor.read { db in
            try await db.raw("""
                SELECT blocked_id FROM user_blocks WHERE user_id = \(bind: userID.rawValue) ORDER BY created_at, blocked_id
                """).all().map { UserID(rawValue: try $0.decode(column: "blocked_id", as: String.self)) }
        }
    }
}
