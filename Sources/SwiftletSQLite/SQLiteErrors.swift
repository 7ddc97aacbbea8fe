import SQLiteNIO
import SwiftletCore

/// What a SQLite error means outside the engine, decided once at its boundary.
enum SQLiteErrors {
    /// A lock held past `busy_timeout` (another process writing, a long checkpoint) is
    /// a transient `storage.unavailable` (503 with `Retry-After`), not a server fault.
    /// Any other SQLite error leaves as a `StorageFailure` that logs its result code and
    /// a masked message only. Errors that are not SQLite's pass unchanged.
    static func translate(_ error: any Error) -> any Error {
        if let failure = error as? SQLiteStatementFailure {
            if isBusy(failure) {
                return SwiftletError.storageUnavailable("The database is busy; retry shortly.")
            }
            return StorageFailure(engine: "sqlite", kind: "code \(failure.code)", sqlState: nil,
                                  message: ErrorLog.sanitise(failure.message), underlying: failure)
        }
        guard let error = error as? SQLiteError else { return error }
        if isBusy(error.reason) {
            return SwiftletError.storageUnavailable("The database is busy; retry shortly.")
        }
        return StorageFailure(engine: "sqlite", kind: String(describing: error.reason), sqlState: nil,
                              message: ErrorLog.sanitise(error.message), underlying: error)
    }

    /// The driver's error, whether raw (inside a transaction body) or already wrapped.
    static func unwrap(_ error: any Error) -> SQLiteError? {
        ((error as? StorageFailure)?.underlying ?? error) as? SQLiteError
    }

    /// A ROLLBACK refused because no transaction is open: SQLite already rolled back.
    static func isNoTransaction(_ error: any Error) -> Bool {
        guard let error = unwrap(error) else { return false }
        return error.message.contains("no transaction is active")
    }

    /// A failure from the writer's own statements (`SQLiteWriterStatements`), raw or wrapped.
    static func unwrapStatementFailure(_ error: any Error) -> SQLiteStatementFailure? {
        ((error as? StorageFailure)?.underlying ?? error) as? SQLiteStatementFailure
    }

    /// `SQLITE_BUSY` and `SQLITE_LOCKED`, with any extended code.
    static func isBusy(_ failure: SQLiteStatementFailure) -> Bool {
        failure.primaryCode == 5 || failure.primaryCode == 6
    }

    static func isBusy(_ reason: SQLiteError.Reason) -> Bool {
        switch reason {
        case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .lockedBySharedCache: true
        default: false
        }
    }
}
