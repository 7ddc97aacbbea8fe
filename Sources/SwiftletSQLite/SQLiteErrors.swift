import SQLiteNIO
import SwiftletCore

/// What a SQLite error means outside the engine, decided once at its boundary.
enum SQLiteErrors {
    /// A lock held past `busy_timeout` (another process writing, a long checkpoint) is
    /// a transient `storage.unavailable` (503 with `Retry-After`), not a server fault.
    /// Everything else passes unchanged.
    static func translate(_ error: any Error) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        if isBusy(error.reason) {
            return SwiftletError.storageUnavailable("The database is busy; retry shortly.")
        }
        return error
    }

    static func isBusy(_ reason: SQLiteError.Reason) -> Bool {
        switch reason {
        case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .lockedBySharedCache: true
        default: false
        }
    }
}
