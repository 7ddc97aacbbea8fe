import Foundation
import PostgresNIO
import Synchronization
import SwiftletCore
@testable import SwiftletPostgres
import Testing

/// The migration lock is per schema: migrators of one schema take turns, migrators of
/// another schema in the same database do not wait for them.
@Suite("PostgreSQL migration lock", .timeLimit(.minutes(2)))
struct PostgresMigrationLockTests {
    @Test("a schema migrates while another schema's migration lock is held; that schema's own migrator waits for it")
    func lockIsPerSchema() async throws {
        guard EngineKind.available.contains(.postgres) else { return }
        try await PostgresTestSlots.withSlot { try await migrateBesideAHeldLock() }
    }

    func migrateBesideAHeldLock() async throws {
        let held = "t_" + RandomID.base32(byteCount: 8)
        let free = "t_" + RandomID.base32(byteCount: 8)
        try await PostgresSchemas.create(held)
        try await PostgresSchemas.create(free)
        let heldStorage = try await Self.storage(in: held)
        let freeStorage = try await Self.storage(in: free)
        try await PostgresSchemas.admin { holder in
            // Another migrator of `held`, mid-transaction: it holds the lock its schema's
            // migrators take.
            try await holder.query("BEGIN", logger: TestStorage.logger)
            try await holder.query("SET LOCAL search_path TO \(unescaped: held)", logger: TestStorage.logger)
            try await holder.query("\(unescaped: PostgresStorage.migrationLock)", logger: TestStorage.logger)

            let waiting = Task { try await heldStorage.migrationRunner().migrate().count }
            let otherDone = Mutex(false)
            let other = Task {
                let count = try await freeStorage.migrationRunner().migrate().count
                otherDone.withLock { $0 = true }
                return count
            }
            // A lock shared by every schema would hold the other migrator too: bounded, so
            // that shows as a failure rather than a hang.
            let deadline = ContinuousClock.now + .seconds(60)
            while !otherDone.withLock({ $0 }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(otherDone.withLock { $0 }, "the other schema migrated while the lock was held")
            #expect(try await Self.appliedCount(in: held) == 0, "the held schema's migrator is still waiting")

            try await holder.query("COMMIT", logger: TestStorage.logger)
            let applied = try await other.value
            #expect(applied > 0)
            #expect(try await waiting.value == applied, "and applies everything once the lock is free")
        }
        try await heldStorage.shutdown()
        try await freeStorage.shutdown()
        try await PostgresSchemas.drop(held)
        try await PostgresSchemas.drop(free)
    }

    static func storage(in schema: String) async throws -> PostgresStorage {
        try await PostgresStorage.connect(
            PostgresStorageConfiguration(url: try TestStorage.postgresURL, maximumConnections: 2, leaseTimeout: .seconds(20),
                                         startupParameters: [("search_path", schema)]),
            logger: TestStorage.logger)
    }

    /// Rows in the schema's migration history; 0 while the table does not exist yet.
    static func appliedCount(in schema: String) async throws -> Int {
        var count = 0
        try await PostgresSchemas.admin { connection in
            var exists = false
            let tables = try await connection.query(
                "SELECT count(*)::int8 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'swiftlet_migrations'",
                logger: TestStorage.logger)
            for try await (found) in tables.decode(Int64.self) { exists = found > 0 }
            guard exists else { return }
            let applied = try await connection.query(
                "SELECT count(*)::int8 FROM \(unescaped: schema).swiftlet_migrations", logger: TestStorage.logger)
            for try await (value) in applied.decode(Int64.self) { count = Int(value) }
        }
        return count
    }
}
