import PostgresNIO
import SwiftletCore

/// What a PostgreSQL error means outside the engine, decided once at its boundary.
enum PostgresErrors {
    /// A statement for `performValues` bound a value of a type it does not convert: a bug
    /// in the statement, reported without its values.
    static var unsupportedBind: StorageFailure {
        StorageFailure(engine: "postgres", kind: "unsupportedBind", sqlState: nil,
                       message: "a bound value of a type the values path does not convert", underlying: UnsupportedBind())
    }

    struct UnsupportedBind: Error {}

    static func unavailable() -> SwiftletError {
        .storageUnavailable("The database cannot be reached; retry shortly.")
    }

    /// A lost or refused connection, a server shutting down or out of connection slots
    /// is a transient `storage.unavailable` (503 with `Retry-After`), not a server fault.
    /// Any other PostgreSQL error leaves as a `StorageFailure`: `PSQLError` describes
    /// itself with the statement and its bind values (openid, phone, nickname), so it
    /// must not travel further. Errors that are not PostgreSQL's pass unchanged.
    static func translate(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        if isUnavailable(error) { return unavailable() }
        return failure(error)
    }

    /// SQLSTATE, the driver's code and the server's primary message with every literal
    /// masked; the schema names the server reports (table, column, constraint) are kept.
    /// Never the `detail` (`Key (phone)=(…)`), the query or its binds.
    static func failure(_ error: PSQLError) -> StorageFailure {
        let info = error.serverInfo
        let identifiers = Set([info?[.schemaName], info?[.tableName], info?[.columnName], info?[.constraintName],
                               info?[.dataTypeName]].compactMap { $0 })
        return StorageFailure(engine: "postgres", kind: String(describing: error.code), sqlState: info?[.sqlState],
                              message: ErrorLog.sanitise(info?[.message] ?? "", keeping: identifiers), underlying: error)
    }

    /// The driver's error, whether raw (inside a transaction body) or already wrapped.
    static func unwrap(_ error: any Error) -> PSQLError? {
        ((error as? StorageFailure)?.underlying ?? error) as? PSQLError
    }

    static func isUnavailable(_ error: PSQLError) -> Bool {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
            return true
        case .server:
            guard let state = error.serverInfo?[.sqlState] else { return false }
            // Class 08: connection exception. 57P01–57P03: admin/crash shutdown, cannot
            // connect now (starting up or recovering). 53300: too many connections.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
        default:
            return false
        }
    }
}
