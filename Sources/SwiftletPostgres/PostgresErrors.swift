import PostgresNIO
import SwiftletCore

/// What a PostgreSQL error means outside the engine, decided once at its boundary.
enum PostgresErrors {
    static func unavailable() -> SwiftletError {
        .storageUnavailable("The database cannot be reached; retry shortly.")
    }

    /// A lost or refused connection, a server shutting down or out of connection slots
    /// is a transient `storage.unavailable` (503 with `Retry-After`), not a server fault.
    /// Everything else passes unchanged.
    static func translate(_ error: any Error) -> any Error {
        guard let error = error as? PSQLError else { return error }
        return isUnavailable(error) ? unavailable() : error
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
