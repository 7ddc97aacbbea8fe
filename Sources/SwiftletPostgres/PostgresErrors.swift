import NIOCore
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
        return failure(kind: String(describing: error.code), sqlState: info?[.sqlState], message: info?[.message],
                       identifiers: [info?[.schemaName], info?[.tableName], info?[.columnName], info?[.constraintName],
                                     info?[.dataTypeName]],
                       underlying: error)
    }

    private static func failure(kind: String, sqlState: String?, message: String?, identifiers: [String?],
                                underlying: any Error) -> StorageFailure {
        StorageFailure(engine: "postgres", kind: kind, sqlState: sqlState,
                       message: ErrorLog.sanitise(message ?? "", keeping: Set(identifiers.compactMap { $0 })),
                       underlying: underlying)
    }

    /// The same for the errors of PostgresNIO's future-based API (`PostgresLoopReads`),
    /// which hands out the older `PostgresError` and, for a broken socket, NIO's own error.
    static func translateLegacy(_ error: any Error) -> any Error {
        switch error {
        case let error as PSQLError:
            return translate(error)
        case PostgresError.connectionClosed, is IOError, is ChannelError:
            return unavailable()
        case PostgresError.server(let message):
            let fields = message.fields
            let state = fields[.sqlState]
            if isUnavailable(sqlState: state) { return unavailable() }
            return failure(kind: "server", sqlState: state, message: fields[.message],
                           identifiers: [fields[.schemaName], fields[.tableName], fields[.columnName], fields[.constraintName],
                                         fields[.dataTypeName]],
                           underlying: error)
        case PostgresError.protocol("Unexpected connection close"):
            // How this API reports the connection's unclean shutdown.
            return unavailable()
        case PostgresError.protocol:
            // Its text may quote a backend message, row data included: kept out.
            return failure(kind: "protocol", sqlState: nil, message: "the server's messages did not follow the protocol",
                           identifiers: [], underlying: error)
        default:
            return error
        }
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
            return isUnavailable(sqlState: error.serverInfo?[.sqlState])
        default:
            return false
        }
    }

    /// Class 08: connection exception. 57P01–57P03: admin/crash shutdown, cannot connect now
    /// (starting up or recovering). 53300: too many connections.
    static func isUnavailable(sqlState state: String?) -> Bool {
        guard let state else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
    }
}
