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

    /// Runs `body`, whose statements each commit on their own (no explicit transaction):
    /// for a body of one statement that writes everything it must, atomic by itself. The
    /// default runs it as a transaction, which is as atomic on any engine.
    func performAutocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// True when one statement may write several tables (PostgreSQL's data-modifying
    /// `WITH`), so a repository may replace a transaction of one statement per table by
    /// one statement: one round trip instead of one per statement plus BEGIN and COMMIT.
    var writesSeveralTablesInOneStatement: Bool { get }

    /// Where operations and the pool are measured.
    var operations: SQLOperationTelemetry { get }

    /// Classifies an engine error so repositories can turn races into domain outcomes.
    func classify(_ error: any Error) -> SQLFailure
}

extension SQLExecutor {
    public func performAutocommit<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await performTransaction(body)
    }

    public var writesSeveralTablesInOneStatement: Bool { false }

    /// Runs one self-contained statement (`performAutocommit`), measured as the calling method.
    public func autocommit<T: Sendable>(
        function: StaticString = #function, file: StaticString = #fileID,
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await operations.measure(file: file, function: function) { try await self.performAutocommit(body) }
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

public enum SQLFailure: Sendable, Equatable {
    case uniqueViolation
    /// A statement's own guard refused it (it divides by zero when a condition it checks
    /// does not hold), rolling back everything the statement wrote.
    case guardRefused
    case other
}
