import Foundation
import Logging
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import SwiftletCore
import SwiftletEventLoopExecutor
import SwiftletMigrations
import SwiftletPostgresURL
import SwiftletSQLStorage

public struct PostgresStorageConfiguration: Sendable {
    public var url: PostgresURL
    public var maximumConnections: Int
    public var connectTimeout: Duration
    /// How long a request waits for a pooled connection before it answers
    /// `storage.unavailable` (pool exhausted, or the server unreachable).
    public var leaseTimeout: Duration
    /// Extra startup parameters (e.g. `search_path`), used by tests to isolate schemas.
    public var startupParameters: [(String, String)]
    /// Connections beside the pool for the buyer's catalogue reads, spread over the event
    /// loops (`PostgresReadConnections`); 0 reads the catalogue through the pool.
    public var readConnections: Int

    public init(url: PostgresURL, maximumConnections: Int = 10, connectTimeout: Duration = .seconds(5),
                leaseTimeout: Duration = .seconds(5), startupParameters: [(String, String)] = [], readConnections: Int = 0) {
        self.url = url
        self.readConnections = readConnections
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        self.leaseTimeout = leaseTimeout
        self.startupParameters = startupParameters
    }
}

/// The production engine: a pooled `PostgresClient`. The client's `run()` loop is owned
/// here, started on connect and ended by `shutdown()`, so callers cannot forget it.
public final class PostgresStorage: SQLStorageEngine {
    public let name = "postgres"

    let client: PostgresClient
    private let leaseTimeout: Duration
    private let runTask: Task<Void, Never>
    private let deadlines = LeaseDeadlines()
    private let readCompleteGuards: ReadCompleteGuards
    let loopReads = PostgresLoopReads()
    let readConnections: PostgresReadConnections
    private let deadlineWatch: Task<Void, Never>
    private let logger: Logger
    public let clock: SwiftletClock
    public let inboxAnnouncer = InboxAnnouncer()
    private let gate = EngineGate()
    public let operations: SQLOperationTelemetry
    /// Tests arm it to make a rollback fail and prove the connection is discarded.
    @_spi(Testing) public let rollbackFaults = RollbackFaults()

    private init(client: PostgresClient, leaseTimeout: Duration, runTask: Task<Void, Never>, maximumConnections: Int,
                 readConnections: PostgresReadConnections, guards: ReadCompleteGuards, clock: SwiftletClock, logger: Logger) {
        self.client = client
        self.operations = SQLOperationTelemetry(system: "postgresql", maximumConnections: maximumConnections)
        self.leaseTimeout = leaseTimeout
        self.runTask = runTask
        self.deadlineWatch = Task { [deadlines] in await deadlines.watch() }
        self.clock = clock
        self.logger = logger
        self.readCompleteGuards = guards
        self.readConnections = readConnections
    }

    /// Creates the pool and proves it can reach the server (fails fast with the cause).
    public static func connect(
        _ configuration: PostgresStorageConfiguration, clock: SwiftletClock = .system, logger: Logger
    ) async throws -> PostgresStorage {
        let url = configuration.url
        var clientConfiguration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: PostgresTLS(url: url).client)
        clientConfiguration.options.maximumConnections = configuration.maximumConnections
        clientConfiguration.options.connectTimeout = configuration.connectTimeout
        clientConfiguration.options.additionalStartupParameters = configuration.startupParameters
        var readConfiguration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password,
            database: url.database, tls: try PostgresTLS(url: url).connection())
        readConfiguration.options.connectTimeout = TimeAmount(configuration.connectTimeout)
        readConfiguration.options.additionalStartupParameters = configuration.startupParameters
        if !configuration.startupParameters.contains(where: { $0.0 == "application_name" }) {
            // Told apart from the pool's in pg_stat_activity.
            readConfiguration.options.additionalStartupParameters.append(("application_name", PostgresReadConnections.applicationName))
        }
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let runTask = Task { await client.run() }
        let guards = ReadCompleteGuards(logger: logger)
        let storage = PostgresStorage(
            client: client, leaseTimeout: configuration.leaseTimeout, runTask: runTask,
            maximumConnections: configuration.maximumConnections,
            readConnections: PostgresReadConnections(
                count: configuration.readConnections, configuration: readConfiguration,
                readTimeout: TimeAmount(configuration.leaseTimeout), guards: guards, logger: logger),
            guards: guards, clock: clock, logger: logger)
        do {
            // The first connection is being made: it may take up to the connect timeout,
            // which a short lease timeout must not cut.
            _ = try await storage.withConnection(waitingAtMost: max(configuration.leaseTimeout, configuration.connectTimeout)) { connection in
                try await connection.query("SELECT 1", logger: logger).collect()
            }
        } catch {
            try? await storage.shutdown()
            throw error
        }
        return storage
    }

    public func performRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try gate.ensureOpen()
        return try await withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    /// Runs `body` in one transaction on a pooled connection. Shielded from the caller's
    /// cancellation like the SQLite engine's: a transaction that got its connection runs to
    /// its end (commit or rollback) instead of being cut between statements. The lease
    /// gives that shield (`PostgresConnectionLease`: the work runs in the lease's own task,
    /// which the caller cancels only while it still waits for a connection).
    public func performTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try gate.ensureOpen()
        return try await runTransaction(body)
    }

    private func runTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let faults = rollbackFaults, logger = logger
        return try await withConnection { connection in
            do {
                return try await SQLTransaction.run(on: connection.sql(queryLogLevel: nil), faults: faults, body)
            } catch let abandoned as SQLTransaction.Abandoned {
                // The connection may still be inside that transaction, and the next caller's
                // work would join it. Closed, the pool never hands it out again.
                logger.error("rollback failed; closing the connection", metadata: [
                    "error": .string(ErrorLog.describe(PostgresErrors.translate(abandoned.rollbackError))),
                ])
                try? await connection.close()
                throw abandoned.original
            }
        }
    }

    /// The engine boundary: a bounded wait for a connection, and driver errors that mean
    /// "the database is out of reach" turned into `storage.unavailable`.
    ///
    /// The work with the connection runs on the connection's event loop (`onItsEventLoop`):
    /// a query goes out and its rows come back without waking another thread for either.
    /// Work made of EventLoopFutures (`PostgresLoopReads`) gets there by itself and asks for
    /// `onItsEventLoop: false`; it must call `ready(_:guards:)` there first.
    /// (Internal, not private: tests drive the driver on this production path.)
    func withConnection<T: Sendable>(
        waitingAtMost timeout: Duration? = nil, onItsEventLoop: Bool = true,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            let operations = operations, guards = readCompleteGuards
            return try await operations.waitingForConnection {
                try await PostgresConnectionLease.with(client, timeout: timeout ?? leaseTimeout, deadlines: deadlines) { connection in
                    guard onItsEventLoop else {
                        return try await operations.holdingConnection { try await body(connection) }
                    }
                    return try await Self.onItsEventLoop(connection, guards: guards) { connection in
                        try await operations.holdingConnection { try await body(connection) }
                    }
                }
            }
        } catch is PostgresConnectionLease.NotLeased {
            throw PostgresErrors.unavailable()
        } catch is PostgresConnectionLease.ConnectionLost {
            logger.debug("the leased PostgreSQL connection closed under the work; answered storage.unavailable")
            throw PostgresErrors.unavailable()
        } catch {
            throw PostgresErrors.translate(error)
        }
    }

    /// Runs `body` as a task preferring the connection's event loop, once `ready`.
    private static func onItsEventLoop<T: Sendable>(
        _ connection: PostgresConnection, guards: ReadCompleteGuards,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(connection.eventLoop)) {
            try ready(connection, guards: guards)
            return try await body(connection)
        }
    }

    /// On the connection's event loop, before its first statement. There a connection
    /// found open stays open until the statement is written, so one that closed between
    /// the pool's lease and the work is refused here rather than handed a statement it would
    /// never answer (later statements are covered by the lease's watch). There, too, a
    /// connection gets its `ReadCompleteGuard` the first time it is leased.
    private static func ready(_ connection: PostgresConnection, guards: ReadCompleteGuards) throws {
        guard !connection.isClosed else { throw PostgresConnectionLease.ConnectionLost() }
        guards.install(on: connection)
    }

    public func classify(_ error: any Error) -> SQLFailure {
        switch PostgresErrors.unwrap(error)?.serverInfo?[.sqlState] ?? (error as? StorageFailure)?.sqlState {
        case "23505": .uniqueViolation
        case "22012": .guardRefused
        default: .other
        }
    }

    /// Prepared once per connection (`PostgresPreparedShapes`), through PostgresNIO's
    /// prepared statements, which send the binds' types when they prepare: an order's
    /// statement has parameters bare in `VALUES` lists that nothing else types (the
    /// future-based path of `performValues` prepares without types). Like a transaction, a
    /// write shape that got its connection runs to its end whatever becomes of the caller.
    public func performPrepared(_ shape: SQLPreparedShape, _ statement: SQLQueryString) async throws -> [any SQLRow] {
        try gate.ensureOpen()
        let logger = logger
        return try await withConnection { connection -> [any SQLRow] in
            let db = connection.sql(queryLogLevel: nil)
            var serializer = SQLSerializer(database: db)
            statement.serialize(to: &serializer)
            guard let prepared = PostgresPreparedShapes.statement(shape, sql: serializer.sql, binds: serializer.binds) else {
                return try await db.raw(statement).all()
            }
            return try await prepared.run(on: connection, logger: logger).map { $0.sql() }
        }
    }

    /// A statement of a fixed shape reads as futures on the connection's event loop
    /// (`PostgresLoopReads`); others through the async row sequence.
    public func performValues(_ shape: SQLPreparedShape?, _ statement: SQLQueryString) async throws -> [SQLValues] {
        try gate.ensureOpen()
        if let shape, !readConnections.isEmpty, let values = try await readValues(shape, statement) {
            return values
        }
        let logger = logger, loopReads = loopReads, guards = readCompleteGuards
        return try await withConnection(onItsEventLoop: false) { connection in
            var serializer = SQLSerializer(database: connection.sql(queryLogLevel: nil))
            statement.serialize(to: &serializer)
            let sql = serializer.sql, binds = serializer.binds
            if let shape, PostgresPreparedShapes.isPreparable(shape, sql: sql), let data = PostgresPreparedShapes.data(binds) {
                return try await loopReads.values(shape, sql: sql, binds: data, on: connection) {
                    try Self.ready(connection, guards: guards)
                }.get()
            }
            guard let bindings = PostgresPreparedShapes.bindings(binds) else {
                throw PostgresErrors.unsupportedBind
            }
            return try await Self.onItsEventLoop(connection, guards: guards) { connection in
                var values: [SQLValues] = []
                for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) {
                    values.append(try PostgresPreparedShapes.values(row))
                }
                return values
            }
        }
    }

    /// A fixed-shape read on the read connections, or nil when they declined it (the
    /// caller reads through the pool).
    private func readValues(_ shape: SQLPreparedShape, _ statement: SQLQueryString) async throws -> [SQLValues]? {
        guard let read = loopValues(shape, statement, preferring: nil) else { return nil }
        do {
            return try await read.get()
        } catch is SQLLoopReadDeclined {
            return nil
        }
    }

    public func migrationRunner() -> MigrationRunner {
        MigrationRunner(
            migrations: PostgresMigrations.all,
            target: SQLMigrationTarget(executor: self, lockStatement: Self.migrationLock),
            now: { Date().unixMilliseconds })
    }

    /// Serialises migrators of one schema: nodes starting together apply each migration
    /// once. The key is Swiftlet's class (first half) and the schema the migrations create
    /// their tables in (second half), so deployments sharing a database in separate schemas
    /// (staging beside production, one per test) migrate without waiting for each other.
    static let migrationLock = "SELECT pg_advisory_xact_lock(7355608, hashtext(current_schema()))"

    /// Ends the pool's run loop, closing its connections. Idempotent.
    public func shutdown() async throws {
        guard gate.close() else { return }
        await readConnections.shutdown()
        runTask.cancel()
        deadlineWatch.cancel()
        await runTask.value
        await deadlineWatch.value
        logger.debug("postgres storage closed")
    }
}

extension PostgresStorage: SQLLoopReader {
    public var readsOnLoop: Bool { !readConnections.isEmpty }

    /// On the read connections (`PostgresReadConnections`); nil without them or once closed.
    public func loopValues(_ shape: SQLPreparedShape, _ statement: SQLQueryString, preferring eventLoop: (any EventLoop)?)
        -> EventLoopFuture<[SQLValues]>? {
        guard !readConnections.isEmpty, gate.isOpen else { return nil }
        let (sql, binds) = PostgresStatementText.of(statement)
        guard PostgresPreparedShapes.isPreparable(shape, sql: sql), let data = PostgresPreparedShapes.data(binds) else { return nil }
        return readConnections.values(shape, sql: sql, binds: data, preferring: eventLoop).flatMapErrorThrowing { error in
            throw error is SQLLoopReadDeclined ? error : PostgresErrors.translateLegacy(error)
        }
    }
}
