import SQLKit

/// What the shared repositories need from an engine: single reads, atomic write
/// transactions, and a way to recognise constraint violations.
///
/// Each engine decides how to get a connection (SQLite: one writer plus a reader pool;
/// PostgreSQL: a client pool), so repositories are written once against SQLKit.
public protocol SQLExecutor: Sendable {
    /// Runs `body` on a connection suitable for reads.
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Runs `body` inside one transaction: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T

    /// Classifies an engine error so repositories can turn races into domain outcomes.
    func classify(_ error: any Error) -> SQLFailure
}

public enum SQLFailure: Sendable, Equatable {
    case uniqueViolation
    case other
}
