import SQLiteNIO
import VaporCSQLite

/// The writer's group-committed statements, prepared once and run on its `sqlite3` handle
/// directly: a whole batch (BEGIN, every statement, COMMIT) in one trip to the writer's
/// thread.
///
/// Why not through the driver: SQLiteNIO prepares every statement anew and runs each in a
/// trip of its own to its thread pool. An order's insert into `order_intake` compiled the
/// view's trigger on every prepare (about an eighth of an order's CPU), and a batch of N
/// orders cost N + 2 trips, each a thread hand-off there and back.
///
/// SQLiteNIO does not expose its connection's handle, so it is read once by reflection:
/// the one place the engine depends on the driver's internals. Should that fail (another
/// driver version), `init` returns nil and the engine keeps the per-statement path.
///
/// Not thread-safe, on purpose: used only on the writer's thread-pool thread while the
/// writer is leased, the way the driver itself uses the handle. Its statements must be
/// finalized (`finalizeAll`) before the connection closes: SQLite refuses to close a
/// connection with statements still open.
final class SQLiteWriterStatements: @unchecked Sendable {
    /// The connection whose handle this is.
    let connection: ObjectIdentifier
    private let handle: OpaquePointer
    private var prepared: [String: OpaquePointer] = [:]

    init?(_ connection: SQLiteConnection) {
        guard let handle = Self.handle(of: connection) else { return nil }
        self.connection = ObjectIdentifier(connection)
        self.handle = handle
    }

    /// `SQLiteConnection.handle.raw`, read through `Mirror`.
    static func handle(of connection: SQLiteConnection) -> OpaquePointer? {
        guard let box = Mirror(reflecting: connection).children.first(where: { $0.label == "handle" })?.value,
              let raw = Mirror(reflecting: box).children.first(where: { $0.label == "raw" })?.value,
              let handle = raw as? OpaquePointer? else { return nil }
        return handle
    }

    /// How many statements are kept prepared.
    var preparedCount: Int { prepared.count }

    /// Runs `sql` with `binds` to its end (rows, if any, are stepped over). A failing
    /// statement is undone by SQLite alone (statement-level atomicity); the transaction
    /// around it, if any, stays open.
    func run(_ sql: String, _ binds: [SQLiteData] = []) throws(SQLiteStatementFailure) {
        let statement = try self.statement(sql)
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        for (index, value) in binds.enumerated() {
            try check(Self.bind(value, at: Int32(index + 1), to: statement))
        }
        while true {
            switch sqlite_nio_sqlite3_step(statement) {
            case SQLITE_ROW: continue
            case SQLITE_DONE: return
            default: throw failure()
            }
        }
    }

    /// What became of a batch.
    enum BatchOutcome: Sendable {
        /// Committed; each statement's own result (a refused one changed nothing).
        case done([Result<Void, SQLiteStatementFailure>])
        /// Nothing of the batch was kept; `rollbackFailed` means the connection may still
        /// be inside the transaction and must not be used again.
        case failed(SQLiteStatementFailure, rollbackFailed: Bool)
    }

    /// Runs `statements` as one group commit: one alone as a plain statement; several in one
    /// transaction in which a statement whose failure `failsAlone` (its own guard, a unique
    /// index) is undone alone, and any other failure undoes the whole batch.
    func runBatch(_ statements: [(sql: String, binds: [SQLiteData])],
                  failsAlone: (SQLiteStatementFailure) -> Bool) -> BatchOutcome {
        if statements.count == 1 {
            do {
                try run(statements[0].sql, statements[0].binds)
                return .done([.success(())])
            } catch {
                return .done([.failure(error)])
            }
        }
        do {
            // IMMEDIATE takes the write lock up front, as every write transaction does.
            try run("BEGIN IMMEDIATE")
        } catch {
            return .failed(error, rollbackFailed: false)
        }
        var results: [Result<Void, SQLiteStatementFailure>] = []
        results.reserveCapacity(statements.count)
        for statement in statements {
            do {
                try run(statement.sql, statement.binds)
                results.append(.success(()))
            } catch where failsAlone(error) {
                results.append(.failure(error))
            } catch {
                return abandon(after: error)
            }
        }
        do {
            try run("COMMIT")
            return .done(results)
        } catch {
            return abandon(after: error)
        }
    }

    /// Rolls the batch's transaction back, unless SQLite already did (a full disk, an I/O
    /// error).
    private func abandon(after failure: SQLiteStatementFailure) -> BatchOutcome {
        guard inTransaction else { return .failed(failure, rollbackFailed: false) }
        do {
            try run("ROLLBACK")
            return .failed(failure, rollbackFailed: false)
        } catch {
            return .failed(failure, rollbackFailed: true)
        }
    }

    /// Whether the connection is inside a transaction (not in autocommit mode).
    var inTransaction: Bool { sqlite_nio_sqlite3_get_autocommit(handle) == 0 }

    /// Finalizes every kept statement; call before the connection closes.
    func finalizeAll() {
        for statement in prepared.values {
            sqlite_nio_sqlite3_finalize(statement)
        }
        prepared.removeAll()
    }

    private func statement(_ sql: String) throws(SQLiteStatementFailure) -> OpaquePointer {
        if let statement = prepared[sql] { return statement }
        var statement: OpaquePointer?
        let code = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw failure() }
        prepared[sql] = statement
        return statement
    }

    private static func bind(_ value: SQLiteData, at index: Int32, to statement: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let value): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
        case .float(let value): sqlite_nio_sqlite3_bind_double(statement, index, value)
        case .text(let value):
            sqlite_nio_sqlite3_bind_text64(statement, index, value, UInt64(value.utf8.count), transient, UInt8(SQLITE_UTF8))
        case .blob(let value):
            value.withUnsafeReadableBytes {
                sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient)
            }
        case .null: sqlite_nio_sqlite3_bind_null(statement, index)
        }
    }

    private func check(_ code: Int32) throws(SQLiteStatementFailure) {
        guard code == SQLITE_OK else { throw failure() }
    }

    private func failure() -> SQLiteStatementFailure {
        SQLiteStatementFailure(code: sqlite_nio_sqlite3_extended_errcode(handle),
                               message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    /// SQLite copies the bound bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A statement run on the writer's handle failed: SQLite's extended result code and its
/// message (which may quote values; logged only through `SQLiteErrors.translate`).
struct SQLiteStatementFailure: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, …).
    var primaryCode: Int32 { code & 0xFF }

    var description: String { "SQLite error \(code): \(message)" }
}
