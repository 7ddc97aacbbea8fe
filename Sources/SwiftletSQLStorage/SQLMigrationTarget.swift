import SQLKit
import SwiftletMigrations

/// Schema history stored in `swiftlet_migrations`, shared by every SQL engine.
public struct SQLMigrationTarget: MigrationTarget {
    let executor: any SQLExecutor
    /// Statement run first inside each migration transaction to serialise concurrent
    /// migrators (PostgreSQL advisory lock); nil where the transaction is already exclusive.
    let lockStatement: String?

    public init(executor: any SQLExecutor, lockStatement: String?) {
        self.executor = executor
        self.lockStatement = lockStatement
    }

    public func prepareHistory() async throws {
        let lockStatement = self.lockStatement
        // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide on
        // PostgreSQL's catalog.
        try await executor.transaction { db in
            if let lockStatement {
                try await db.raw(SQLQueryString(lockStatement)).run()
            }
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS swiftlet_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )
                """).run()
        }
    }

    public func appliedMigrations() async throws -> [AppliedMigration] {
        try await executor.read { db in
            try await db.raw("SELECT version, name, checksum, applied_at FROM swiftlet_migrations ORDER BY version")
                .all()
                .map { row in
                    AppliedMigration(
                        version: try row.decode(column: "version", as: Int.self),
                        name: try row.decode(column: "name", as: String.self),
                        checksum: try row.decode(column: "checksum", as: String.self),
                        appliedAtMilliseconds: try row.decode(column: "applied_at", as: Int64.self)
                    )
                }
        }
    }

    public func apply(_ migration: Migration, appliedAtMilliseconds: Int64) async throws -> Bool {
        let lockStatement = self.lockStatement
        return try await executor.transaction { db in
            if let lockStatement {
                try await db.raw(SQLQueryString(lockStatement)).run()
            }
            let already = try await db.raw(
                "SELECT version FROM swiftlet_migrations WHERE version = \(bind: migration.version)"
            ).first()
            if already != nil { return false }
            for statement in migration.statements {
                try await db.raw(SQLQueryString(statement)).run()
            }
            try await db.raw("""
                INSERT INTO swiftlet_migrations (version, name, checksum, applied_at)
                VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: migration.checksum), \(bind: appliedAtMilliseconds))
                """).run()
            return true
        }
    }
}
