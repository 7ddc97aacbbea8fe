import Foundation
import SQLKit
import SwiftletCore

/// `InboxRepository` for every SQL engine.
///
/// A user's sequence numbers come from their `inbox_heads` row, moved forward by an
/// upsert that returns the new head. On PostgreSQL that upsert takes the row's lock until
/// commit, so a second append for the same user waits and then continues from the first
/// one's head; on SQLite the single writer orders appends. Either way a user's numbers
/// are 1…head without holes, and a number is visible only once every smaller one is.
///
/// Direct messages, retention and block lists are in the extensions beside this file.
public struct SQLInboxRepository: InboxRepository {
    let executor: any SQLExecutor
    let announcer: InboxAnnouncer?

    public init(executor: any SQLExecutor, announcer: InboxAnnouncer?) {
        self.executor = executor
        self.announcer = announcer
    }

    public func append(_ drafts: [InboxDraft], now: Date) async throws -> [InboxMessage] {
        guard !drafts.isEmpty else { return [] }
        let messages = try await executor.transaction { db in try await Self.append(db, drafts, now: now) }
        announcer?.announce(messages)
        return messages
    }

    /// Stores the drafts inside the caller's transaction (an order change, a direct
    /// message) and returns them numbered, in the order given. The caller announces them
    /// once its transaction has committed.
    ///
    /// Heads are taken in user id order whatever the drafts' order, so two transactions
    /// that both write to users A and B lock A before B and cannot deadlock.
    public static func append(_ db: any SQLDatabase, _ drafts: [InboxDraft], now: Date) async throws -> [InboxMessage] {
        guard !drafts.isEmpty else { return [] }
        let createdAt = Date(unixMilliseconds: now.unixMilliseconds)
        var positions: [UserID: [Int]] = [:]
        for (index, draft) in drafts.enumerated() {
            positions[draft.userID, default: []].append(index)
        }
        var numbered = [InboxMessage?](repeating: nil, count: drafts.count)
        for userID in positions.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            let indices = positions[userID] ?? []
            let head = try await advanceHead(db, of: userID, by: Int64(indices.count))
            var seq = head - Int64(indices.count)
            for index in indices {
                seq += 1
                numbered[index] = InboxMessage(
                    userID: userID, seq: seq, kind: drafts[index].kind, payload: drafts[index].payload, createdAt: createdAt)
            }
        }
        let messages = numbered.compactMap { $0 }
        try await insert(db, messages)
        return messages
    }

    /// Reserves `count` numbers for the user and returns the new head (the last of them).
    static func advanceHead(_ db: any SQLDatabase, of userID: UserID, by count: Int64) async throws -> Int64 {
        guard let row = try await db.raw("""
            INSERT INTO inbox_heads (user_id, last_seq) VALUES (\(bind: userID.rawValue), \(bind: count))
            ON CONFLICT (user_id) DO UPDATE SET last_seq = inbox_heads.last_seq + excluded.last_seq
            RETURNING last_seq
            """).first()
        else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "inbox head upsert returned no row")
        }
        return try row.decode(column: "last_seq", as: Int64.self)
    }

    /// Rows per INSERT: 5 binds each stays far below both engines' bind limits.
    static let insertChunk = 500

    static func insert(_ db: any SQLDatabase, _ messages: [InboxMessage]) async throws {
        for start in stride(from: 0, to: messages.count, by: insertChunk) {
            let rows = messages[start..<min(start + insertChunk, messages.count)].map { message -> SQLQueryString in
                """
                (\(bind: message.userID.rawValue), \(bind: message.seq), \(bind: message.kind), \(bind: message.payload), \
                \(bind: message.createdAt.unixMilliseconds))
                """
            }
            try await db.raw("""
                INSERT INTO inbox_messages (user_id, seq, kind, payload, created_at) VALUES \(rows.joined(separator: ", "))
                """).run()
        }
    }

    public func messages(of userID: UserID, after since: Int64, limit: Int) async throws -> InboxPage {
        try await executor.read { db in
            let bounds = try await db.raw("""
                SELECT (SELECT last_seq FROM inbox_heads WHERE user_id = \(bind: userID.rawValue)) AS head,
                       (SELECT MIN(seq) FROM inbox_messages WHERE user_id = \(bind: userID.rawValue)) AS oldest
                """).first()
            var head = try bounds?.decode(column: "head", as: Int64?.self) ?? 0
            var oldest = try bounds?.decode(column: "oldest", as: Int64?.self) ?? head + 1
            let start = max(since, oldest - 1)
            let messages = try await db.raw("""
                SELECT user_id, seq, kind, payload, created_at FROM inbox_messages
                WHERE user_id = \(bind: userID.rawValue) AND seq > \(bind: start)
                ORDER BY seq LIMIT \(bind: max(0, limit))
                """).all().map(Self.decodeMessage)
            // The two statements may see different moments (PostgreSQL, read committed): a
            // prune or an append committed in between is folded into the bounds, so the page
            // never hides a gap behind a stale `oldest`.
            if let first = messages.first, first.seq > start + 1 { oldest = first.seq }
            if let last = messages.last, last.seq > head { head = last.seq }
            return InboxPage(messages: messages, head: head, oldest: oldest)
        }
    }

    /// Ids per `IN (…)` list.
    static let headsChunk = 500

    public func heads(of userIDs: [UserID]) async throws -> [UserID: Int64] {
        let unique = Array(Set(userIDs))
        guard !unique.isEmpty else { return [:] }
        return try await executor.read { db in
            var heads = Dictionary(uniqueKeysWithValues: unique.map { ($0, Int64(0)) })
            for start in stride(from: 0, to: unique.count, by: Self.headsChunk) {
                let chunk = unique[start..<min(start + Self.headsChunk, unique.count)].map(\.rawValue)
                for row in try await db.raw("""
                    SELECT user_id, last_seq FROM inbox_heads WHERE user_id IN (\(binds: chunk))
                    """).all() {
                    let userID = UserID(rawValue: try row.decode(column: "user_id", as: String.self))
                    heads[userID] = try row.decode(column: "last_seq", as: Int64.self)
                }
            }
            return heads
        }
    }

    public func acknowledge(userID: UserID, device: String, seq: Int64, now: Date) async throws -> InboxCursor {
        try await executor.transaction { db in
            let head = try await db.raw("SELECT last_seq FROM inbox_heads WHERE user_id = \(bind: userID.rawValue)")
                .first()?.decode(column: "last_seq", as: Int64.self) ?? 0
            let acked = min(max(seq, 0), head)
            // CASE rather than GREATEST/MAX, which the two engines spell differently.
            guard let row = try await db.raw("""
                INSERT INTO inbox_cursors (user_id, device, acked_seq, updated_at)
                VALUES (\(bind: userID.rawValue), \(bind: device), \(bind: acked), \(bind: now.unixMilliseconds))
                ON CONFLICT (user_id, device) DO UPDATE SET
                    acked_seq = CASE WHEN excluded.acked_seq > inbox_cursors.acked_seq
                                     THEN excluded.acked_seq ELSE inbox_cursors.acked_seq END,
                    updated_at = excluded.updated_at
                RETURNING device, acked_seq, updated_at
                """).first()
            else {
                throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "inbox cursor upsert returned no row")
            }
            return try Self.decodeCursor(row)
        }
    }

    public func cursors(of userID: UserID) async throws -> [InboxCursor] {
        try await executor.read { db in
            try await db.raw("""
                SELECT device, acked_seq, updated_at FROM inbox_cursors
                WHERE user_id = \(bind: userID.rawValue) ORDER BY device
                """).all().map(Self.decodeCursor)
        }
    }

    static func decodeMessage(_ row: any SQLRow) throws -> InboxMessage {
        InboxMessage(
            userID: UserID(rawValue: try row.decode(column: "user_id", as: String.self)),
            seq: try row.decode(column: "seq", as: Int64.self),
            kind: try row.decode(column: "kind", as: String.self),
            payload: try row.decode(column: "payload", as: String.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)))
    }

    static func decodeCursor(_ row: any SQLRow) throws -> InboxCursor {
        InboxCursor(
            device: try row.decode(column: "device", as: String.self),
            ackedSeq: try row.decode(column: "acked_seq", as: Int64.self),
            updatedAt: Date(unixMilliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }
}
