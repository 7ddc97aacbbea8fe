import Foundation
import SQLKit
import SwiftletCore

/// `RoomRepository` for every SQL engine.
///
/// A room's offsets come from its `rooms` row, moved forward by an UPDATE that returns the
/// new `last_offset`. On PostgreSQL that UPDATE holds the row's lock until commit, so a
/// second post to the same room waits and then continues from the first one's offset; on
/// SQLite the single writer orders posts. Either way a room's offsets are 1…last_offset
/// without holes, and an offset is visible only once every smaller one is, as in an inbox.
///
/// Posting (idempotency and the history bound) is in the extension beside this file.
public struct SQLRoomRepository: RoomRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    static let roomColumns = "id, name, policy, epoch, last_offset, created_by, created_at"

    public func create(_ room: Room) async throws -> Room {
        // Returned as stored: times in whole milliseconds, as every later read gives them.
        let stored = Room(
            id: room.id, name: room.name, policy: room.policy, epoch: room.epoch, lastOffset: room.lastOffset,
            createdBy: room.createdBy, createdAt: Date(unixMilliseconds: room.createdAt.unixMilliseconds))
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO rooms (id, name, policy, epoch, last_offset, created_by, created_at)
                VALUES (\(bind: stored.id.rawValue), \(bind: stored.name), \(bind: stored.policy.rawValue),
                        \(bind: stored.epoch), \(bind: stored.lastOffset), \(bind: stored.createdBy.rawValue),
                        \(bind: stored.createdAt.unixMilliseconds))
                """).run()
        }
        return stored
    }

    public func find(_ id: RoomID) async throws -> Room? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.roomColumns) FROM rooms WHERE id = \(bind: id.rawValue)")
                .first().map(Self.decodeRoom)
        }
    }

    public func addMember(_ userID: UserID, to roomID: RoomID, role: RoomRole, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                INSERT INTO room_members (room_id, user_id, role, joined_at)
                VALUES (\(bind: roomID.rawValue), \(bind: userID.rawValue), \(bind: role.rawValue), \(bind: now.unixMilliseconds))
                ON CONFLICT (room_id, user_id) DO NOTHING
                RETURNING user_id
                """).first() != nil
        }
    }

    public func removeMember(_ userID: UserID, from roomID: RoomID) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                DELETE FROM room_members WHERE room_id = \(bind: roomID.rawValue) AND user_id = \(bind: userID.rawValue)
                RETURNING user_id
                """).first() != nil
        }
    }

    public func member(_ userID: UserID, of roomID: RoomID) async throws -> RoomMember? {
        try await executor.read { db in
            try await db.raw("""
                SELECT user_id, role, joined_at FROM room_members
                WHERE room_id = \(bind: roomID.rawValue) AND user_id = \(bind: userID.rawValue)
                """).first().map(Self.decodeMember)
        }
    }

    public func members(of roomID: RoomID, limit: Int) async throws -> [RoomMember] {
        try await executor.read { db in
            try await db.raw("""
                SELECT user_id, role, joined_at FROM room_members WHERE room_id = \(bind: roomID.rawValue)
                ORDER BY joined_at, user_id LIMIT \(bind: max(0, limit))
                """).all().map(Self.decodeMember)
        }
    }

    public func rooms(of userID: UserID, limit: Int) async throws -> [Room] {
        try await executor.read { db in
            try await db.raw("""
                SELECT r.id, r.name, r.policy, r.epoch, r.last_offset, r.created_by, r.created_at
                FROM room_members m JOIN rooms r ON r.id = m.room_id
                WHERE m.user_id = \(bind: userID.rawValue)
                ORDER BY m.joined_at DESC, r.id DESC LIMIT \(bind: max(0, limit))
                """).all().map(Self.decodeRoom)
        }
    }

    public func history(of roomID: RoomID, after offset: Int64, limit: Int) async throws -> RoomHistoryPage {
        try await executor.read { db in
            guard let bounds = try await db.raw("""
                SELECT epoch, last_offset,
                       (SELECT MIN(seq) FROM room_messages WHERE room_id = \(bind: roomID.rawValue)) AS oldest
                FROM rooms WHERE id = \(bind: roomID.rawValue)
                """).first()
            else { throw RoomService.notFound }
            let epoch = try bounds.decode(column: "epoch", as: String.self)
            var head = try bounds.decode(column: "last_offset", as: Int64.self)
            var oldest = try bounds.decode(column: "oldest", as: Int64?.self) ?? head + 1
            let start = max(offset, oldest - 1)
            let messages = try await db.raw("""
                SELECT room_id, seq, sender_id, payload, created_at FROM room_messages
                WHERE room_id = \(bind: roomID.rawValue) AND seq > \(bind: start)
                ORDER BY seq LIMIT \(bind: max(0, limit))
                """).all().map(Self.decodeMessage)
            // The two statements may see different moments (PostgreSQL, read committed): a
            // trim or a post committed in between is folded into the bounds, so the page
            // never hides a gap behind a stale `oldest`.
            if let first = messages.first, first.offset > start + 1 { oldest = first.offset }
            if let last = messages.last, last.offset > head { head = last.offset }
            return RoomHistoryPage(messages: messages, epoch: epoch, head: head, oldest: oldest)
        }
    }

    static func decodeRoom(_ row: any SQLRow) throws -> Room {
        guard let policy = RoomJoinPolicy(rawValue: try row.decode(column: "policy", as: String.self)) else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "unknown room join policy")
        }
        return Room(
            id: RoomID(rawValue: try row.decode(column: "id", as: String.self)),
            name: try row.decode(column: "name", as: String.self),
            policy: policy,
            epoch: try row.decode(column: "epoch", as: String.self),
            lastOffset: try row.decode(column: "last_offset", as: Int64.self),
            createdBy: UserID(rawValue: try row.decode(column: "created_by", as: String.self)),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    static func decodeMember(_ row: any SQLRow) throws -> RoomMember {
        guard let role = RoomRole(rawValue: try row.decode(column: "role", as: String.self)) else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "unknown room role")
        }
        return RoomMember(
            userID: UserID(rawValue: try row.decode(column: "user_id", as: String.self)),
            role: role,
            joinedAt: Date(unixMilliseconds: try row.decode(column: "joined_at", as: Int64.self)))
    }

    static func decodeMessage(_ row: any SQLRow) throws -> RoomMessage {
        RoomMessage(
            roomID: RoomID(rawValue: try row.decode(column: "room_id", as: String.self)),
            offset: try row.decode(column: "seq", as: Int64.self),
            senderID: UserID(rawValue: try row.decode(column: "sender_id", as: String.self)),
            payload: try row.decode(column: "payload", as: String.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }
}
