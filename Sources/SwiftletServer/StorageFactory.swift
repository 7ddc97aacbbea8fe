import Logging
import SwiftletConfig
import SwiftletCore
import SwiftletMigrations
import SwiftletPostgres
import SwiftletPostgresURL
import SwiftletSQLite

/// Opens the configured engine. The only place (with the CLI) that knows which engines exist.
public enum StorageFactory {
    /// Opens the engine for `serve`: SQLite is migrated always (the file is ours alone);
    /// PostgreSQL only when `storage.autoMigrate` is on, otherwise it must already be
    /// current (`swiftlet migrate up`) and start-up fails with what is pending.
    public static func openForServing(_ config: SwiftletConfiguration, clock: SwiftletClock = .system, logger: Logger) async throws -> any StorageEngine {
        switch config.storage.engine {
        case .sqlite:
            let storage = try await openSQLite(config, clock: clock, logger: logger)
            do {
                let applied = try await storage.migrationRunner().migrate()
                logApplied(applied, logger: logger)
            } catch {
                try? await storage.shutdown()
                throw error
            }
            return storage
        case .postgres:
            let storage = try await openPostgres(config, clock: clock, logger: logger)
            do {
                let runner = storage.migrationRunner()
                if config.storage.autoMigrate {
                    logApplied(try await runner.migrate(), logger: logger)
                } else {
                    let pending = try await runner.status().filter { $0.state == .pending }
                    if let first = pending.first {
                        throw SwiftletError.unavailable(
                            "storage.migrations_pending",
                            "\(pending.count) PostgreSQL migration(s) pending (first: \(first.version) \(first.name)); run `swiftlet migrate up` or set storage.autoMigrate=true")
                    }
                }
            } catch {
                try? await storage.shutdown()
                throw error
            }
            return storage
        }
    }

    /// The migration runner of the configured engine plus a way to close it: for the
    /// `migrate` commands.
    public static func openForMigration(_ config: SwiftletConfiguration, logger: Logger) async throws -> (runner: MigrationRunner, storage: any StorageEngine) {
        switch config.storage.engine {
        case .sqlite:
            let storage = try await openSQLite(config, clock: .system, logger: logger)
            return (storage.migrationRunner(), storage)
        case .postgres:
            let storage = try await openPostgres(config, clock: .system, logger: logger)
            return (storage.migrationRunner(), storage)
        }
    }

    static func openSQLite(_ config: SwiftletConfiguration, clock: SwiftletClock, logger: Logger) async throws -> SQLiteStorage {
        let settings = config.storage
        return try await SQLiteStorage.open(
            SQLiteStorageConfiguration(
                path: settings.sqlitePath,
                readerCount: settings.sqliteReaders,
                busyTimeoutMilliseconds: settings.sqliteBusyTimeoutMilliseconds,
                synchronous: settings.sqliteSynchronous == .full ? .full : .normal),
            clock: clock, logger: logger)
    }

    static func openPostgres(_ config: SwiftletConfiguration, clock: SwiftletClock, logger: Logger) async throws -> PostgresStorage {
        guard let text = config.storage.postgresURL else {
            throw SwiftletError.invalid("config.invalid", "storage.postgres.url is required")
        }
        if case .acceptedByOptOut(let reason) = config.postgresTLSPolicy {
            logger.warning("PostgreSQL TLS not verified", metadata: [
                "key": .string(SwiftletConfiguration.postgresTLSOptOutKey), "reason": .string(reason)])
        }
        return try await PostgresStorage.connect(
            PostgresStorageConfiguration(
                url: try PostgresURL(parsing: text),
                maximumConnections: config.storage.postgresPoolSize,
                connectTimeout: .milliseconds(Int64(config.storage.postgresConnectTimeoutSeconds * 1000)),
                leaseTimeout: .milliseconds(Int64(config.storage.postgresLeaseTimeoutSeconds * 1000)),
                readConnections: config.storage.postgresReadConnections),
            clock: clock, logger: logger)
    }

    private static func logApplied(_ applied: [Migration], logger: Logger) {
        for migration in applied {
            logger.notice("migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }
}
