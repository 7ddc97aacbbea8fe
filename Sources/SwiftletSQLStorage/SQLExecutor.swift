import SQLKit

/// What the shared repositories need from an engine: single reads, atomic write
/// transactions, and a way to recognise constraint violations.
///
/// Each engine decides how to get a connection (SQLite: one writer plus a reader pool;
/// PostgreSQL: a client pool), so repositories are written once against SQLKit.
///
/// Repositories call `read` and `transaction` (below), which measure each operation and
/// name it after its call site; engines implement the `perform…` requirements.
public protocol SQLExecutor: Sendable {
    /// Runs `body` on a connection suitable for reads.
    func performRead<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` inside one transaction: committed if it returns, rolled back if it throws.
    func performTransaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `statement`, a shape that runs often (`SQLPreparedShape`), and returns its rows.
    /// A write shape is one self-contained statement, atomic by itself, whose rows nobody
    /// reads (SQLite's group commit returns none). Engines run it as
    /// suits them (PostgreSQL: prepared once per connection instead of parsed and planned
    /// on every call; SQLite: group-committed); the default runs it as written, a read as
    /// `performRead`, a write in a transaction of its own.
    func performPrepared(_ shape: SQLPreparedShape, _ statement: SQLQueryString) async throws -> [any SQLRow]

    /// Runs the read `statement` and returns its rows as values in column order
    /// (`SQLValues`), converted by the engine without `Decodable`. With a `shape`, the
    /// engine may prepare it as `performPrepared` does.
    func performValues(_ shape: SQLPreparedShape?, _ statement: SQLQueryString) async throws -> [SQLValues]

    /// Where operations and the pool are measured.
    var operations: SQLOperationTelemetry { get }

    /// The engine's name (`sqlite`, `postgres`), for the few statements written per engine.
    var name: String { get }

    /// Classifies an engine error so repositories can turn races into domain outcomes.
    func classify(_ error: any Error) -> SQLFailure
}

extension SQLExecutor {
    public func performPrepared(_ shape: SQLPreparedShape, _ statement: SQLQueryString) async throws -> [any SQLRow] {
        shape.writes
            ? try await performTransaction { db in try await db.raw(statement).all() }
            : try await performRead { db in try await db.raw(statement).all() }
    }

    /// Runs a statement of a known shape (`performPrepared`), measured as the calling method.
    public func prepared(
        _ shape: SQLPreparedShape, _ statement: SQLQueryString, function: StaticString = #function, file: StaticString = #fileID
    ) async throws -> [any SQLRow] {
        try await operations.measure(file: file, function: function) { try await self.performPrepared(shape, statement) }
    }

    /// Runs a read for its values (`performValues`), measured as the calling method.
    public func values(
        _ shape: SQLPreparedShape?, _ statement: SQLQueryString, function: StaticString = #function, file: StaticString = #fileID
    ) async throws -> [SQLValues] {
        try await operations.measure(file: file, function: function) { try await self.performValues(shape, statement) }
    }

    /// Runs `body` on a connection suitable for reads, measured as the calling method.
    public func read<T: Sendable>(
        function: StaticString = #function, file: StaticString = #fileID,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await operations.measure(file: file, function: function) { try await self.performRead(body) }
    }

    /// Runs `body` inside one transaction, measured as the calling method.
    public func transaction<T: Sendable>(
        function: StaticString = #function, file: StaticString = #fileID,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await operations.measure(file: file, function: function) { try await self.performTransaction(body) }
    }
}

/// The statements that run often enough to be worth preparing: each always has the same
/// text (only its bound values change), so an engine may prepare it once per connection.
public enum SQLPreparedShape: String, Sendable, CaseIterable {
    /// The SKU and product of an order of one line (`SQLOrderRepository.snapshots`).
    case orderSnapshot = "swiftlet_order_snapshot_v1"
    /// An order of one line written in one statement (`SQLOrderRepository.oneStatement`).
    case orderOneLine = "swiftlet_order_one_line_v1"
    /// An order of several lines in one statement: its text varies with the line count, so
    /// it is never prepared, but it is a write shape (SQLite group-commits it).
    case orderSeveralLines = "swiftlet_order_several_lines_v1"
    /// The buyer's first catalogue page, products with their SKUs (`SQLCatalogRepository.list`).
    case cataloguePage = "swiftlet_catalogue_page_v1"
    /// A later catalogue page, after a cursor.
    case cataloguePageAfter = "swiftlet_catalogue_page_after_v1"
    /// One product with its SKUs (`SQLCatalogRepository.find`).
    case catalogueProduct = "swiftlet_catalogue_product_v1"

    public var writes: Bool { self == .orderOneLine || self == .orderSeveralLines }
    /// Whether the shape always has the same text (so an engine may prepare it).
    public var hasFixedText: Bool { self != .orderSeveralLines }
}

public enum SQLFailure: Sendable, Equatable {
    case uniqueViolation
    /// A statement's own guard refused it (it divides by zero when a condition it checks
    /// does not hold), rolling back everything the statement wrote.
    case guardRefused
    case other
}
