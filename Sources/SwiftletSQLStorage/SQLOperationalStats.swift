import Foundation
import SQLKit
import SwiftletCore

/// The figures operators watch that live in the tables themselves: jobs due and waiting
/// (how many, and how long the oldest has waited) and outbox events the webhook
/// dispatcher has not reached yet. Read at scrape time; each is one indexed query.
public struct SQLOperationalStats: Sendable {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    public struct DueJobs: Sendable, Equatable {
        public let count: Int
        /// Seconds since the oldest due job should have run.
        public let lagSeconds: Double
    }

    /// Due pending jobs by kind (kinds with none are absent).
    public func dueJobs(now: Date) async throws -> [String: DueJobs] {
        let nowMilliseconds = now.unixMilliseconds
        return try await executor.read { db in
            let rows = try await db.raw("""
                SELECT kind, COUNT(*) AS n, MIN(run_at) AS oldest FROM jobs
                WHERE status = 'pending' AND run_at <= \(bind: nowMilliseconds) GROUP BY kind
                """).all()
            var due: [String: DueJobs] = [:]
            for row in rows {
                let kind = try row.decode(column: "kind", as: String.self)
                let oldest = try row.decode(column: "oldest", as: Int64.self)
                due[kind] = DueJobs(count: try row.decode(column: "n", as: Int.self),
                                    lagSeconds: max(0, Double(nowMilliseconds - oldest) / 1000))
            }
            return due
        }
    }

    /// Outbox events past the webhook dispatch cursor.
    public func outboxPending() async throws -> Int {
        try await executor.read { db in
            try await db.raw("""
                SELECT COUNT(*) AS n FROM event_outbox
                WHERE position > COALESCE((SELECT last_position FROM webhook_dispatch WHERE id = 1), 0)
                """).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}
