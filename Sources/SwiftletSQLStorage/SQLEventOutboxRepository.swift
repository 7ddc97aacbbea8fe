import Foundation
import SQLKit
import SwiftletCore

/// `EventOutboxRepository` for every SQL engine, and the writer the change repositories
/// call inside their own transactions.
///
/// Positions come from the single `event_outbox_head` row, moved forward by an upsert
/// that returns the new head, as a user's inbox head does: on PostgreSQL the upsert holds
/// the row's lock until commit, so the next writer continues from the committed head and
/// positions are gapless and visible in order (a rolled-back writer's positions are
/// given again, never seen). The port explains the trade-off this makes.
public struct SQLEventOutboxRepository: EventOutboxRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    /// Stores the events inside the caller's transaction, positioned in the order given,
    /// and returns them as stored.
    ///
    /// Call it as the transaction's last statement: from here to the commit every other
    /// event-writing transaction waits on the head (PostgreSQL). Being last also means a
    /// transaction holding the head never waits for another lock, so the head can never
    /// be part of a deadlock.
    @discardableResult
    public static func append(_ db: any SQLDatabase, _ events: [DomainEvent]) async throws -> [StoredDomainEvent] {
        guard !events.isEmpty else { return [] }
        guard let row = try await db.raw("""
            INSERT INTO event_outbox_head (id, last_position) VALUES (1, \(bind: Int64(events.count)))
            ON CONFLICT (id) DO UPDATE SET last_position = event_outbox_head.last_position + excluded.last_position
            RETURNING last_position
            """).first()
        else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "event outbox head upsert returned no row")
        }
        let head = try row.decode(column: "last_position", as: Int64.self)
        let stored = events.enumerated().map { index, event in
            var event = event
            event.occurredAt = Date(unixMilliseconds: event.occurredAt.unixMilliseconds)
            return StoredDomainEvent(position: head - Int64(events.count) + Int64(index) + 1, event: event)
        }
        for start in stride(from: 0, to: stored.count, by: insertChunk) {
            let rows = stored[start..<min(start + insertChunk, stored.count)].map { stored -> SQLQueryString in
                let event = stored.event
                return """
                    (\(bind: stored.position), \(bind: event.id.rawValue), \(bind: event.type), \(bind: event.version), \
                    \(bind: event.aggregateType), \(bind: event.aggregateID), \(bind: event.payload), \
                    \(bind: event.occurredAt.unixMilliseconds))
                    """
            }
            try await db.raw("""
                INSERT INTO event_outbox (position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
                VALUES \(rows.joined(separator: ", "))
                """).run()
        }
        return stored
    }

    /// Rows per INSERT: 8 binds each stays far below both engines' bind limits.
    static let insertChunk = 500

    static let columns = "position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at"

    public func events(after cursor: Int64, limit: Int) async throws -> [StoredDomainEvent] {
        try await executor.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM event_outbox
                WHERE position > \(bind: cursor) ORDER BY position LIMIT \(bind: max(0, limit))
                """).all().map(Self.decode)
        }
    }

    public func events(occurredFrom from: Date, to: Date, after cursor: Int64, limit: Int) async throws -> [StoredDomainEvent] {
        try await executor.read { db in
            try await db.raw("""
                SELECT \(unsafeRaw: Self.columns) FROM event_outbox
                WHERE occurred_at >= \(bind: from.unixMilliseconds) AND occurred_at < \(bind: to.unixMilliseconds)
                  AND position > \(bind: cursor)
                ORDER BY position LIMIT \(bind: max(0, limit))
                """).all().map(Self.decode)
        }
    }

    public func event(id: DomainEventID) async throws -> StoredDomainEvent? {
        try await executor.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.columns) FROM event_outbox WHERE id = \(bind: id.rawValue)")
                .first().map(Self.decode)
        }
    }

    public func count() async throws -> Int {
        try await executor.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM event_outbox").first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Positions per DELETE transaction: a large first prune neither holds SQLite's writer
    /// nor a PostgreSQL transaction for long.
    static let pruneChunk = 5_000

    public func prune(before date: Date, through position: Int64) async throws -> Int {
        let bounds = try await executor.read { db in
            try await db.raw("""
                SELECT (SELECT MIN(position) FROM event_outbox) AS oldest,
                       (SELECT MAX(position) FROM event_outbox
                        WHERE occurred_at < \(bind: date.unixMilliseconds) AND position <= \(bind: position)) AS up_to
                """).first()
        }
        guard let oldest = try bounds?.decode(column: "oldest", as: Int64?.self),
              let upTo = try bounds?.decode(column: "up_to", as: Int64?.self)
        else { return 0 }
        var removed = 0
        for start in stride(from: oldest, through: upTo, by: Self.pruneChunk) {
            let end = min(start + Int64(Self.pruneChunk) - 1, upTo)
            removed += try await executor.transaction { db in
                try await db.raw("""
                    DELETE FROM event_outbox WHERE position >= \(bind: start) AND position <= \(bind: end) RETURNING position
                    """).all().count
            }
        }
        return removed
    }

    static func decode(_ row: any SQLRow) throws -> StoredDomainEvent {
        StoredDomainEvent(
            position: try row.decode(column: "position", as: Int64.self),
            event: DomainEvent(
                id: DomainEventID(rawValue: try row.decode(column: "id", as: String.self)),
                type: try row.decode(column: "type", as: String.self),
                version: try row.decode(column: "version", as: Int.self),
                aggregateType: try row.decode(column: "aggregate_type", as: String.self),
                aggregateID: try row.decode(column: "aggregate_id", as: String.self),
                payload: try row.decode(column: "payload", as: String.self),
                occurredAt: Date(unixMilliseconds: try row.decode(column: "occurred_at", as: Int64.self))))
    }
}
