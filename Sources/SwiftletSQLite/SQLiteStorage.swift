import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import SwiftletCore
import SwiftletMigrations
import SwiftletSQLStorage
import Synchronization

/// Settings for the embedded engine.
public struct SQLiteStorageConfiguration: Sendable {
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync at every commit: an acknowledged write survives power loss.
        case full
        /// fsync at checkpoints only: survives a process crash (`kill -9`) but a power
        /// cut may lose the last commits. Faster writes.
        case normal
    }

    public var path: String
    public var readerCount: Int
    public var busyTimeoutMilliseconds: Int
    public var synchronous: Synchronous

    public init(path: String, readerCount: Int = 4, busyTimeoutMilliseconds: Int = 5000, synchronous: Synchronous = .full) {
        self.path = path
        self.readerCount = readerCount
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.synchronous = synchronous
    }
}

/// The embedded default engine: one SQLite file in WAL mode with a single writer
/// connection (SQLite serialises writers anyway; queueing them here avoids busy errors)
/// and a pool of read-only connections that read concurrently with the writer.
public final class SQLiteStorage: SQLStorageEngine {
    public let name = "sqlite"
    public let configuration: SQLiteStorageConfiguration

    private let writer: ResourcePool<SQLiteConnection>
    private let readers: ResourcePool<SQLiteConnection>
    private let threadPool: NIOThreadPool
    private let logger: Logger
    public let clock: SwiftletClock
    public let inboxAnnouncer = InboxAnnouncer()
    private let gate = EngineGate()
    private let groupCommit = SQLiteGroupCommit()
    /// The writer's statements kept prepared for group commits (nil until first used).
    private let directWriter = Mutex<SQLiteWriterStatements?>(nil)
    private let directWriterMissingLogged = Atomic<Bool>(false)

    /// Group-commit batches and the statements in them so far.
    var groupCommitCounts: (batches: Int, statements: Int) { groupCommit.counts }
    /// Whether group commits run on the writer's own statements (`SQLiteWriterStatements`).
    var groupCommitsRunDirect: Bool { directWriter.withLock { $0 != nil } }
    /// One writer and the readers.
    public let operations: SQLOperationTelemetry
    /// Tests arm it to make a rollback fail and prove the writer is reopened.
    @_spi(Testing) public let rollbackFaults = RollbackFaults()

    private init(
        configuration: SQLiteStorageConfiguration, writer: SQLiteConnection, readers: [SQLiteConnection],
        threadPool: NIOThreadPool, clock: SwiftletClock, logger: Logger
    ) {
        self.configuration = configuration
        self.writer = ResourcePool([writer])
        self.readers = ResourcePool(readers)
        self.threadPool = threadPool
        self.logger = logger
        self.clock = clock
        self.operations = SQLOperationTelemetry(system: "sqlite", maximumConnections: readers.count + 1)
    }

    /// Opens (creating if needed) the database file and its directory.
    public static func open(
        _ configuration: SQLiteStorageConfiguration, clock: SwiftletClock = .system, logger: Logger
    ) async throws -> SQLiteStorage {
        let directory = URL(fileURLWithPath: configuration.path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        // Own threads: a writer waiting on busy_timeout must not block other NIO users.
        let threadPool = NIOThreadPool(numberOfThreads: configuration.readerCount + 1)
        threadPool.start()
        do {
            let writer = try await openConnection(configuration, threadPool: threadPool, logger: logger, readOnly: false)
            var readers: [SQLiteConnection] = []
            for _ in 0..<max(1, configuration.readerCount) {
                readers.append(try await openConnection(configuration, threadPool: threadPool, logger: logger, readOnly: true))
            }
            return SQLiteStorage(
                configuration: configuration, writer: writer, readers: readers,
                threadPool: threadPool, clock: clock, logger: logger)
        } catch {
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    /// Opens one connection configured for its role; the writer is reopened the same way
    /// after a failed rollback.
    private static func openConnection(
        _ configuration: SQLiteStorageConfiguration, threadPool: NIOThreadPool, logger: Logger, readOnly: Bool
    ) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: configuration.path), threadPool: threadPool, logger: logger,
            on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            try await configure(connection, configuration, readOnly: readOnly)
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static func configure(_ connection: SQLiteConnection, _ configuration: SQLiteStorageConfiguration, readOnly: Bool) async throws {
        let db = connection.sql(queryLogLevel: nil)
        try await db.raw("PRAGMA busy_timeout = \(unsafeRaw: String(configuration.busyTimeoutMilliseconds))").run()
        if !readOnly {
            let mode = try await db.raw("PRAGMA journal_mode = WAL").first()?.decode(column: "journal_mode", as: String.self)
            guard mode?.lowercased() == "wal" else {
                throw SwiftletError(.internalFailure, code: "storage.sqlite_wal", message: "could not enable WAL (got \(mode ?? "nothing"))")
            }
        }
        try await db.raw("PRAGMA synchronous = \(unsafeRaw: configuration.synchronous.rawValue.uppercased())").run()
        try await db.raw("PRAGMA foreign_keys = ON").run()
        if readOnly {
            try await db.raw("PRAGMA query_only = ON").run()
        }
    }

    public func performRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try gate.ensureOpen()
        do {
            return try await operations.waitingForConnection {
                try await readers.withResource { connection in
                    try await operations.holdingConnection { try await body(connection.sql(queryLogLevel: nil)) }
                }
            }
        } catch {
            throw SQLiteErrors.translate(error)
        }
    }

    /// A read on a reader, its rows taken as SQLite's own values (SQLite prepares every
    /// statement anyway; `shape` changes nothing here).
    public func performValues(_ shape: SQLPreparedShape?, _ statement: SQLQueryString) async throws -> [SQLValues] {
        try gate.ensureOpen()
        do {
            return try await operations.waitingForConnection {
                try await readers.withResource { connection in
                    try await operations.holdingConnection {
                        var serializer = SQLSerializer(database: connection.sql(queryLogLevel: nil))
                        statement.serialize(to: &serializer)
                        let encoder = SQLiteDataEncoder()
                        let binds = try serializer.binds.map { try encoder.encode($0) }
                        return try await connection.query(serializer.sql, binds).map(Self.values)
                    }
                }
            }
        } catch {
            throw SQLiteErrors.translate(error)
        }
    }

    static func values(_ row: SQLiteRow) -> SQLValues {
        SQLValues(row.columns.map { column in
            switch column.data {
            case .integer(let value): .integer(Int64(value))
            case .float(let value): .real(value)
            case .text(let value): .text(value)
            case .blob(let buffer): .text(String(buffer: buffer))
            case .null: .null
            }
        })
    }

    /// Runs `body` in one write transaction on the only writer.
    ///
    /// Shielded from the caller's cancellation: SQLite work goes through a thread pool that
    /// drops queued statements of a cancelled task, so a caller cancelled mid-transaction
    /// (a job whose lease heartbeat is stopped, a client that went away) would leave the
    /// writer inside an open transaction with its ROLLBACK — and its reopening — dropped
    /// too, and every later write would fail. A transaction that has been asked for runs
    /// to its end; cancellation is for whatever the caller does next.
    public func performTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try gate.ensureOpen()
        return try await Task { try await self.writeTransaction(body) }.value
    }

    private func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withWriter { connection in
            do {
                // IMMEDIATE takes the write lock up front so a transaction never fails
                // halfway on lock upgrade.
                return try await SQLTransaction.run(
                    on: connection.sql(queryLogLevel: nil), begin: "BEGIN IMMEDIATE", faults: rollbackFaults, body)
            } catch let abandoned as SQLTransaction.Abandoned where SQLiteErrors.isNoTransaction(abandoned.rollbackError) {
                // SQLite had already rolled the transaction back itself (a full disk, an
                // I/O error, an interrupted statement): the writer is clean.
                throw abandoned.original
            } catch let abandoned as SQLTransaction.Abandoned {
                // The only writer may still be inside that transaction: every later
                // write would fail. Closing it ends the transaction (SQLite rolls back
                // on close); a fresh writer takes its place.
                logger.error("rollback failed; reopening the writer connection", metadata: [
                    "error": .string(ErrorLog.describe(SQLiteErrors.translate(abandoned.rollbackError))),
                ])
                await close(writer: connection)
                if let fresh = await reopenWriter() {
                    connection = fresh
                }
                throw abandoned.original
            }
        }
    }

    /// A write shape is group-committed (`SQLiteGroupCommit`): each statement is atomic on
    /// its own, and those arriving while the writer is busy share the next commit. Not cut
    /// by the caller's cancellation: the batch runs in a task of its own. Write shapes
    /// select nothing, so no rows come back. A read shape is a read.
    public func performPrepared(_ shape: SQLPreparedShape, _ statement: SQLQueryString) async throws -> [any SQLRow] {
        guard shape.writes else { return try await performRead { db in try await db.raw(statement).all() } }
        try gate.ensureOpen()
        try await groupCommit.submit(statement) { batch in await self.commit(batch) }
        return []
    }

    /// One batch: alone, a plain statement; several, one transaction in which a statement
    /// refused by its own guard or a unique index fails alone (SQLite rolls back just that
    /// statement) and any other failure fails the whole batch. The whole batch runs in one
    /// trip to the writer's thread on statements prepared once (`SQLiteWriterStatements`),
    /// or statement by statement through the driver if the writer's handle is out of reach.
    private func commit(_ batch: [SQLiteGroupCommit.Entry]) async {
        let outcomes: [Result<Void, any Error>]
        do {
            try gate.ensureOpen()
            if let direct = try await directOutcomes(batch) {
                outcomes = direct
            } else {
                outcomes = try await perStatementOutcomes(batch)
            }
        } catch {
            outcomes = Array(repeating: .failure(error), count: batch.count)
        }
        for (entry, outcome) in zip(batch, outcomes) {
            entry.done(outcome.mapError { SQLiteErrors.translate($0) })
        }
    }

    /// The batch on the writer's handle in one trip to its thread; nil when the handle
    /// cannot be reached. A batch whose rollback failed closes the writer (it may still be
    /// inside the transaction) and a fresh one takes its place, as `writeTransaction` does.
    private func directOutcomes(_ batch: [SQLiteGroupCommit.Entry]) async throws -> [Result<Void, any Error>]? {
        try await withWriter { connection -> [Result<Void, any Error>]? in
            guard let statements = writerStatements(for: connection) else { return nil }
            let db = connection.sql(queryLogLevel: nil)
            let encoder = SQLiteDataEncoder()
            let work = try batch.map { entry -> (sql: String, binds: [SQLiteData]) in
                var serializer = SQLSerializer(database: db)
                entry.statement.serialize(to: &serializer)
                return (serializer.sql, try serializer.binds.map { try encoder.encode($0) })
            }
            let outcome = try await threadPool.runIfActive {
                statements.runBatch(work) { failure in self.classify(failure) != .other }
            }
            switch outcome {
            case .done(let results):
                return results.map { $0.mapError { $0 as any Error } }
            case .failed(let failure, rollbackFailed: false):
                return Array(repeating: .failure(failure), count: batch.count)
            case .failed(let failure, rollbackFailed: true):
                logger.error("rollback failed; reopening the writer connection", metadata: [
                    "error": .string(ErrorLog.describe(SQLiteErrors.translate(failure))),
                ])
                await close(writer: connection)
                if let fresh = await reopenWriter() {
                    connection = fresh
                }
                return Array(repeating: .failure(failure), count: batch.count)
            }
        }
    }

    /// The batch statement by statement through the driver: a trip to the writer's thread
    /// for each, and for BEGIN and COMMIT.
    private func perStatementOutcomes(_ batch: [SQLiteGroupCommit.Entry]) async throws -> [Result<Void, any Error>] {
        if batch.count == 1 {
            do {
                try await withWriter { connection in _ = try await connection.sql(queryLogLevel: nil).raw(batch[0].statement).all() }
                return [.success(())]
            } catch {
                return [.failure(error)]
            }
        }
        return try await writeTransaction { db in
            var outcomes: [Result<Void, any Error>] = []
            for entry in batch {
                do {
                    _ = try await db.raw(entry.statement).all()
                    outcomes.append(.success(()))
                } catch where self.classify(error) != .other {
                    outcomes.append(.failure(error))
                }
            }
            return outcomes
        }
    }

    /// The prepared statements of `connection`, the writer; made on first use, and again
    /// for a writer reopened since (whose predecessor's were finalized when it closed).
    private func writerStatements(for connection: SQLiteConnection) -> SQLiteWriterStatements? {
        directWriter.withLock { current in
            if let current, current.connection == ObjectIdentifier(connection) { return current }
            current = SQLiteWriterStatements(connection)
            if current == nil, !directWriterMissingLogged.exchange(true, ordering: .relaxed) {
                logger.warning("the SQLite writer's handle is out of reach; group commits run statement by statement")
            }
            return current
        }
    }

    /// Closes the writer, first finalizing the statements kept prepared on it (SQLite does
    /// not close a connection with statements open).
    private func close(writer connection: SQLiteConnection) async {
        let statements = directWriter.withLock { current -> SQLiteWriterStatements? in
            guard let kept = current, kept.connection == ObjectIdentifier(connection) else { return nil }
            current = nil
            return kept
        }
        if let statements {
            try? await threadPool.runIfActive { statements.finalizeAll() }
        }
        try? await connection.close()
    }

    /// The writer, measured while waited for and while held, reopened first if an earlier
    /// reopening failed; engine errors leave translated.
    private func withWriter<T: Sendable>(_ body: (inout SQLiteConnection) async throws -> T) async throws -> T {
        do {
            return try await operations.waitingForConnection { try await writer.withReplaceableResource { connection in
                try await operations.holdingConnection {
                    if connection.isClosed {
                        // An earlier reopening failed: try again, and until a writer exists the
                        // database is unavailable (503), not broken (500).
                        guard let fresh = await reopenWriter() else {
                            throw SwiftletError.storageUnavailable("The database cannot be written right now; retry shortly.")
                        }
                        connection = fresh
                    }
                    return try await body(&connection)
                }
            } }
        } catch {
            throw SQLiteErrors.translate(error)
        }
    }

    /// A writer configured exactly as at open, or nil (logged) when the file cannot be
    /// opened; the next transaction then tries again.
    private func reopenWriter() async -> SQLiteConnection? {
        do {
            return try await Self.openConnection(configuration, threadPool: threadPool, logger: logger, readOnly: false)
        } catch {
            logger.error("cannot reopen the writer connection", metadata: ["error": .string(ErrorLog.describe(SQLiteErrors.translate(error)))])
            return nil
        }
    }

    public func classify(_ error: any Error) -> SQLFailure {
        if let failure = SQLiteErrors.unwrapStatementFailure(error) {
            if failure.message.contains(SQLiteMigrations.guardRefusedMarker) { return .guardRefused }
            // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY: the idempotency key, an id.
            return failure.code == 2067 || failure.code == 1555 ? .uniqueViolation : .other
        }
        guard let error = SQLiteErrors.unwrap(error) else { return .other }
        if error.message.contains(SQLiteMigrations.guardRefusedMarker) { return .guardRefused }
        switch error.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed: return .uniqueViolation
        default: return .other
        }
    }

    public func migrationRunner() -> MigrationRunner {
        MigrationRunner(
            migrations: SQLiteMigrations.all,
            target: SQLMigrationTarget(executor: self, lockStatement: nil),
            now: { Date().unixMilliseconds })
    }

    /// Waits for leased connections to come back, then closes them. Idempotent.
    public func shutdown() async throws {
        guard gate.close() else { return }
        // In a task of its own: shutdown often runs in a cancelled task, and closing must
        // still happen (an unclosed connection loses nothing, but leaks a file handle).
        let writer = self.writer, readers = self.readers, threadPool = self.threadPool
        let readerCount = max(1, configuration.readerCount)
        try await Task {
            let connections = await writer.drain(count: 1) + readers.drain(count: readerCount)
            // The writer's kept statements first: SQLite does not close a connection with
            // statements open. Drained, no batch is using them.
            let statements = self.directWriter.withLock { current -> SQLiteWriterStatements? in
                defer { current = nil }
                return current
            }
            if let statements {
                try? await threadPool.runIfActive { statements.finalizeAll() }
            }
            for connection in connections {
                try? await connection.close()
            }
            try await threadPool.shutdownGracefully()
        }.value
        logger.debug("sqlite storage closed", metadata: ["path": "\(configuration.path)"])
    }
}
