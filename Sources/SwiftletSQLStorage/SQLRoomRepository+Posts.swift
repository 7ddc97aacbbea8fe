import Foundation
import SQLKit
import SwiftletCore

/// Room posts: the message, its idempotency record and the history bound, in one
/// transaction.
///
/// The `room_message_keys` row keyed by (room, sender, client message id) is the
/// idempotency record: a retry with the same content finds it and gets the stored message
/// back. Two identical posts racing on PostgreSQL both pass the lookup; the loser waits
/// on the room row, takes the next offset, and its insert of the record fails as a unique
/// violation, which rolls back its offset and answers with the winner's message.
///
/// A record goes with its message when the history bound trims it, so the table stays as
/// small as the history: a retry that comes only after the room has moved on by a whole
/// history is stored as a new message.
extension SQLRoomRepository {
    public func post(_ post: RoomPost, now: Date, historyLimit: Int) async throws -> RoomPostReceipt {
        do {
            return try await executor.transaction { db in
                try await Self.postOnce(db, post, now: now, historyLimit: historyLimit)
            }
        } catch where executor.classify(error) == .uniqueViolation {
            let replay = try await executor.read { db in try await Self.replay(db, post) }
            guard let replay else { throw error }
            return replay
        }
    }

    static func postOnce(_ db: any SQLDatabase, _ post: RoomPost, now: Date, historyLimit: Int) async throws -> RoomPostReceipt {
        guard try await db.raw("SELECT id FROM rooms WHERE id = \(bind: post.roomID.rawValue)").first() != nil else {
            throw RoomService.notFound
        }
        let member = try await db.raw("""
            SELECT user_id FROM room_members WHERE room_id = \(bind: post.roomID.rawValue) AND user_id = \(bind: post.senderID.rawValue)
            """).first()
        guard member != nil else { throw RoomService.notMember }
        if let replay = try await replay(db, post) { return replay }
        guard let row = try await db.raw("""
            UPDATE rooms SET last_offset = last_offset + 1 WHERE id = \(bind: post.roomID.rawValue) RETURNING last_offset
            """).first()
        else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "room row vanished during a post")
        }
        let message = RoomMessage(
            roomID: post.roomID, offset: try row.decode(column: "last_offset", as: Int64.self), senderID: post.senderID,
            payload: post.payload, createdAt: Date(unixMilliseconds: now.unixMilliseconds))
        try await db.raw("""
            INSERT INTO room_messages (room_id, seq, sender_id, payload, created_at)
            VALUES (\(bind: message.roomID.rawValue), \(bind: message.offset), \(bind: message.senderID.rawValue),
                    \(bind: message.payload), \(bind: message.createdAt.unixMilliseconds))
            """).run()
        try await db.raw("""
            INSERT INTO room_message_keys (room_id, sender_id, client_msg_id, request_hash, seq, created_at)
            VALUES (\(bind: post.roomID.rawValue), \(bind: post.senderID.rawValue), \(bind: post.clientMessageID),
                    \(bind: post.requestHash), \(bind: message.offset), \(bind: message.createdAt.unixMilliseconds))
            """).run()
        try await trim(db, post.roomID, head: message.offset, historyLimit: historyLimit)
        return RoomPostReceipt(message: message, replayed: false)
    }

    /// Removes what the bound no longer keeps: always a prefix of the room's offsets, so
    /// what is kept has no holes and an older position gets a reset, never a partial gap.
    /// The message just stored always stays (a bound below one is taken as one), so its
    /// sender's retry is answered with it.
    static func trim(_ db: any SQLDatabase, _ roomID: RoomID, head: Int64, historyLimit: Int) async throws {
        let upTo = head - Int64(max(1, historyLimit))
        guard upTo > 0 else { return }
        try await db.raw("""
            DELETE FROM room_messages WHERE room_id = \(bind: roomID.rawValue) AND seq <= \(bind: upTo)
            """).run()
        try await db.raw("""
            DELETE FROM room_message_keys WHERE room_id = \(bind: roomID.rawValue) AND seq <= \(bind: upTo)
            """).run()
    }

    /// The stored answer for this sender's client message id in this room, nil when it is
    /// new; a conflict when the id came before with other content.
    static func replay(_ db: any SQLDatabase, _ post: RoomPost) async throws -> RoomPostReceipt? {
        guard let key = try await db.raw("""
            SELECT request_hash, seq FROM room_message_keys
            WHERE room_id = \(bind: post.roomID.rawValue) AND sender_id = \(bind: post.senderID.rawValue)
              AND client_msg_id = \(bind: post.clientMessageID)
            """).first()
        else { return nil }
        guard try key.decode(column: "request_hash", as: String.self) == post.requestHash else {
            throw SwiftletError.conflict("rooms.client_msg_id_conflict",
                                         "This client message id was already used for a different message.")
        }
        let offset = try key.decode(column: "seq", as: Int64.self)
        // A record outlives its message only while a trim commits between the two reads
        // (PostgreSQL, read committed); the content is then no longer known.
        guard let message = try await db.raw("""
            SELECT room_id, seq, sender_id, payload, created_at FROM room_messages
            WHERE room_id = \(bind: post.roomID.rawValue) AND seq = \(bind: offset)
            """).first().map(decodeMessage)
        else {
            throw SwiftletError.conflict("rooms.client_msg_id_expired",
                                         "This client message id belongs to a message that is no longer kept.")
        }
        return RoomPostReceipt(message: message, replayed: true)
    }
}
