import SQLKit

/// Runs `body` between `begin` and COMMIT on one connection, rolling back if it throws.
///
/// Written by hand rather than with a driver's helper so that the caller sees its own
/// error unchanged (drivers wrap it), and so that SQLite can pass `BEGIN IMMEDIATE`.
public enum SQLTransaction {
    public static func run<T: Sendable>(
        on db: any SQLDatabase, begin: String = "BEGIN", _ body: @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            return result
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }
}
