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

    /// Where operations and the pool are measured.
    var operations: SQLOperationTelemetry { get }

    /// Classifies an engine error so repositories can turn races into domain outcomes.
    func classify(_ error: any Error) -> SQLFailure
}

extension SQLExecutor {
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
    case other
}
