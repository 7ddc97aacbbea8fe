import SQLKit
import Synchronization

/// Runs `body` between `begin` and COMMIT on one connection, rolling back if it throws.
///
/// Written by hand rather than with a driver's helper so that the caller sees its own
/// error unchanged (drivers wrap it), and so that SQLite can pass `BEGIN IMMEDIATE`.
public enum SQLTransaction {
    /// The transaction failed and so did its ROLLBACK: the connection may still be inside
    /// the transaction (on the next lease, `BEGIN` would fail — or, on PostgreSQL, the
    /// next caller's work would join it). The engine must discard that connection, then
    /// throw `original` to the caller.
    public struct Abandoned: Error {
        /// Why the transaction failed (the body's error, or COMMIT's).
        public let original: any Error
        /// Why the rollback failed; for the log.
        public let rollbackError: any Error
    }

    public static func run<T: Sendable>(
        on db: any SQLDatabase, begin: String = "BEGIN", faults: RollbackFaults? = nil,
        _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            return result
        } catch {
            do {
                try faults?.failIfArmed()
                try await db.raw("ROLLBACK").run()
            } catch let rollbackError {
                throw Abandoned(original: error, rollbackError: rollbackError)
            }
            throw error
        }
    }
}

/// Makes the next rollbacks fail without running, leaving the transaction open, as a
/// rollback lost to an I/O error or a half-dead connection would. Engines accept one so
/// tests can prove that such a connection is discarded; nothing else arms it.
public final class RollbackFaults: Sendable {
    struct InjectedFailure: Error {}

    private let remaining = Atomic<Int>(0)

    public init() {}

    /// The next `count` rollbacks fail.
    public func failNext(_ count: Int = 1) {
        remaining.store(count, ordering: .relaxed)
    }

    func failIfArmed() throws {
        while true {
            let left = remaining.load(ordering: .relaxed)
            guard left > 0 else { return }
            if remaining.compareExchange(expected: left, desired: left - 1, ordering: .relaxed).exchanged {
                throw InjectedFailure()
            }
        }
    }
}
