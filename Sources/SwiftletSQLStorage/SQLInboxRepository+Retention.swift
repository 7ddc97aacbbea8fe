import Foundation
import SQLKit
import SwiftletCore

/// Inbox retention. What goes is always a prefix of a user's sequence: up to the newest
/// message older than the age limit (a clock step between nodes can leave a younger
/// message before an older one; it goes with the prefix) and everything more than
/// `maxCount` behind the head. What is kept therefore has no holes, and a client asking
/// for an older number is told to reset instead of being handed a partial history.
extension SQLInboxRepository {
    /// Users per DELETE transaction: a large first prune neither holds SQLite's writer nor
    /// a PostgreSQL transaction for long.
    static let pruneChunk = 200

    public func prune(_ retention: InboxRetention, now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-retention.maxAge).unixMilliseconds
        let maxCount = Int64(max(0, retention.maxCount))
        let limits = try await executor.read { db in
            var upTo: [String: Int64] = [:]
            for row in try await db.raw("""
                SELECT user_id, MAX(seq) AS up_to FROM inbox_messages WHERE created_at < \(bind: cutoff) GROUP BY user_id
                """).all() {
                upTo[try row.decode(column: "user_id", as: String.self)] = try row.decode(column: "up_to", as: Int64.self)
            }
            // Only heads that still have a message beyond the count (one key lookup each).
            for row in try await db.raw("""
                SELECT h.user_id, h.last_seq - \(bind: maxCount) AS up_to FROM inbox_heads h
                WHERE EXISTS (SELECT 1 FROM inbox_messages m
                              WHERE m.user_id = h.user_id AND m.seq <= h.last_seq - \(bind: maxCount))
                """).all() {
                let userID = try row.decode(column: "user_id", as: String.self)
                upTo[userID] = max(upTo[userID] ?? 0, try row.decode(column: "up_to", as: Int64.self))
            }
            return upTo.sorted { $0.key < $1.key }
        }
        var removed = 0
        for start in stride(from: 0, to: limits.count, by: Self.pruneChunk) {
            let chunk = limits[start..<min(start + Self.pruneChunk, limits.count)]
            let prefixes = chunk.map { userID, upTo -> SQLQueryString in
                "(user_id = \(bind: userID) AND seq <= \(bind: upTo))"
            }
            removed += try await executor.transaction { db in
                try await db.raw("""
                    DELETE FROM inbox_messages WHERE \(prefixes.joined(separator: " OR ")) RETURNING seq
                    """).all().count
            }
        }
        // Idempotency records of direct messages go with the age limit: a client retries
        // within minutes, and the table would otherwise grow for ever.
        try await executor.transaction { db in
            try await db.raw("DELETE FROM direct_messages WHERE created_at < \(bind: cutoff)").run()
        }
        return removed
    }
}
