import Foundation
import SQLKit
import SwiftletCore

/// `JobRepository` for every SQL engine: a lease-based queue in the `jobs` table.
///
/// A claim is one `UPDATE … WHERE id IN (due jobs) AND (unleased or lease expired)
/// RETURNING`. On PostgreSQL a competing claim waits on the row lock and then re-checks
/// the lease condition, so it skips jobs another node just took; on SQLite the single
/// writer serialises claims. Either way a job has one holder at a time. A lease is
/// extended only by the worker it names (`WHERE locked_by = me`), so an extension and a
/// competing claim of a lapsed lease are decided by the same row: exactly one wins.
public struct SQLJobRepository: JobRepository {
    let executor: any SQLExecutor

    public init(executor: any SQLExecutor) {
        self.executor = executor
    }

    public func enqueue(_ job: JobRequest) async throws {
        try await executor.transaction { db in try await Self.enqueue(db, job, now: job.runAt) }
    }

    static func enqueue(_ db: any SQLDatabase, _ job: JobRequest, now: Date) async throws {
        try await db.raw("""
            INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
            VALUES (\(bind: "j_" + RandomID.base32(byteCount: 16)), \(bind: job.kind), \(bind: job.key), \(bind: job.payload),
                    'pending', \(bind: job.runAt.unixMilliseconds), \(bind: 0), \(bind: now.unixMilliseconds), \(bind: now.unixMilliseconds))
            ON CONFLICT (kind, job_key) DO NOTHING
            """).run()
    }

    public func claim(worker: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedJob] {
        let now = now.unixMilliseconds
        return try await executor.transaction { db in
            try await db.raw("""
                UPDATE jobs SET locked_by = \(bind: worker), locked_until = \(bind: leaseUntil.unixMilliseconds),
                                attempts = attempts + 1, updated_at = \(bind: now)
                WHERE id IN (
                    SELECT id FROM jobs
                    WHERE status = 'pending' AND run_at <= \(bind: now) AND (locked_until IS NULL OR locked_until <= \(bind: now))
                    ORDER BY run_at LIMIT \(unsafeRaw: String(limit))
                ) AND status = 'pending' AND (locked_until IS NULL OR locked_until <= \(bind: now))
                RETURNING id, kind, job_key, payload, attempts
                """).all().map { row in
                ClaimedJob(
                    id: try row.decode(column: "id", as: String.self), kind: try row.decode(column: "kind", as: String.self),
                    key: try row.decode(column: "job_key", as: String.self), payload: try row.decode(column: "payload", as: String.self),
                    attempt: try row.decode(column: "attempts", as: Int.self))
            }
        }
    }

    public func extendLease(_ id: String, worker: String, until: Date, now: Date) async throws -> Bool {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE jobs SET locked_until = \(bind: until.unixMilliseconds), updated_at = \(bind: now.unixMilliseconds)
                WHERE id = \(bind: id) AND locked_by = \(bind: worker) AND status = 'pending'
                RETURNING id
                """).first() != nil
        }
    }

    public func complete(_ id: String, worker: String) async throws {
        try await finish(id, worker: worker, status: "done", runAt: nil, error: nil)
    }


    public func retry(_ id: String, worker: String, at: Date, error: String?, failed: Bool) async throws {
        try await finish(id, worker: worker, status: "pending", runAt: at, error: error, uncount: !failed)
    }

    public func fail(_ id: String, worker: String, error: String) async throws {
        try await finish(id, worker: worker, status: "failed", runAt: nil, error: error)
    }

    private func finish(_ id: String, worker: String, status: String, runAt: Date?, error: String?, uncount: Bool = false) async throws {
        try await executor.transaction { db in
            try await db.raw("""
                UPDATE jobs SET status = \(bind: status), run_at = COALESCE(\(bind: runAt?.unixMilliseconds), run_at),
                                attempts = attempts - \(bind: uncount ? 1 : 0), updated_at = \(bind: Date().unixMilliseconds),
                                last_error = \(bind: error.map { String($0.prefix(500)) }), locked_by = NULL, locked_until = NULL
                WHERE id = \(bind: id) AND locked_by = \(bind: worker)
                """).run()
        }
    }

    public func pruneFinished(before: Date) async throws -> Int {
        try await executor.transaction { db in
            try await db.raw("""
                DELETE FROM jobs WHERE status = 'done' AND updated_at < \(bind: before.unixMilliseconds) RETURNING id
                """).all().count
        }
    }

    public func pendingCount(kind: String) async throws -> Int {
        try await executor.read { db in
            try await db.raw("SELECT COUNT(*) AS n FROM jobs WHERE kind = \(bind: kind) AND status = 'pending'")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}
