import Foundation
import SQLKit
import SwiftletCore
@_spi(Testing) import SwiftletPostgres
@_spi(Testing) import SwiftletSQLite
import SwiftletSQLStorage
import Testing

/// A transaction whose ROLLBACK fails leaves its connection possibly still inside the
/// transaction. The engine discards that connection (SQLite reopens its only writer),
/// so later writes work and the failed transaction's work is never committed.
@Suite("Failed rollback")
struct RollbackFailureTests {
    struct Refused: Error {}

    static func insertUser(_ db: any SQLDatabase, _ id: String) async throws {
        try await db.raw("INSERT INTO users (id, openid, created_at, updated_at) VALUES (\(bind: id), \(bind: "o-" + id), 0, 0)").run()
    }

    @Test("after a failed rollback the next write succeeds and the failed one left nothing", arguments: EngineKind.available)
    func nextWriteSucceeds(kind: EngineKind) async throws {
        try await Self.withOneWriteConnection(kind) { executor, faults in
            faults.failNext()
            await #expect(throws: Refused.self, "the caller still sees its own error") {
                try await executor.transaction { db in
                    try await Self.insertUser(db, "u_failed")
                    throw Refused()
                }
            }
            // Before the fix: SQLite's writer was still inside the transaction ("cannot
            // start a transaction within a transaction"); PostgreSQL's connection went
            // back to the pool with it open, and this COMMIT also committed u_failed.
            try await executor.transaction { db in try await Self.insertUser(db, "u_after") }
            try await executor.transaction { db in try await Self.insertUser(db, "u_later") }
            let ids = try await executor.read { db in
                try await db.raw("SELECT id FROM users ORDER BY id").all().map { try $0.decode(column: "id", as: String.self) }
            }
            #expect(ids == ["u_after", "u_later"])
        }
    }

    @Test("a caller cancelled mid-transaction does not cut it: it completes and the next write works",
          arguments: EngineKind.available)
    func cancelledCallerDoesNotCutTheTransaction(kind: EngineKind) async throws {
        try await Self.withOneWriteConnection(kind) { executor, _ in
            let (started, startedContinuation) = AsyncStream<Void>.makeStream()
            let caller = Task {
                try await executor.transaction { db in
                    try await Self.insertUser(db, "u_first")
                    startedContinuation.yield()
                    // Cancelled here, the old code dropped the next statements — the ROLLBACK
                    // and the writer's reopening included — and left SQLite's only writer
                    // inside this transaction.
                    try await Task.sleep(for: .milliseconds(200))
                    try await Self.insertUser(db, "u_second")
                }
            }
            var iterator = started.makeAsyncIterator()
            _ = await iterator.next()
            caller.cancel()
            _ = try? await caller.value
            try await executor.transaction { db in try await Self.insertUser(db, "u_next") }
            let ids = try await executor.read { db in
                try await db.raw("SELECT id FROM users ORDER BY id").all().map { try $0.decode(column: "id", as: String.self) }
            }
            #expect(ids == ["u_first", "u_next", "u_second"], "the transaction ran to its end")
        }
    }

    /// An engine with exactly one connection for writes (SQLite's writer; a PostgreSQL
    /// pool of one), so a connection left inside a transaction would be the next one used.
    static func withOneWriteConnection(
        _ kind: EngineKind, _ body: (any SQLExecutor, RollbackFaults) async throws -> Void
    ) async throws {
        switch kind {
        case .sqlite:
            try await TestStorage.withStorage(.sqlite) { storage in
                let sqlite = try #require(storage as? SQLiteStorage)
                try await body(sqlite, sqlite.rollbackFaults)
            }
        case .postgres:
            let schema = "t_" + RandomID.base32(byteCount: 8)
            try await PostgresSchemas.create(schema)
            do {
                let storage = try await PostgresStorage.connect(
                    PostgresStorageConfiguration(url: try TestStorage.postgresURL, maximumConnections: 1,
                                                 startupParameters: [("search_path", schema)]),
                    logger: TestStorage.logger)
                do {
                    try await storage.migrationRunner().migrate()
                    try await body(storage, storage.rollbackFaults)
                    try await storage.shutdown()
                } catch {
                    try? await storage.shutdown()
                    throw error
                }
                try await PostgresSchemas.drop(schema)
            } catch {
                try? await PostgresSchemas.drop(schema)
                throw error
            }
        }
    }
}
