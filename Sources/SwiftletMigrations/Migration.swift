import Crypto

/// One versioned schema change, compiled into the binary.
///
/// A migration is a list of statements rather than one script because SQLite prepares
/// one statement at a time; keeping them separate also keeps the checksum independent
/// of how an engine would split a script.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// SHA-256 of the statements, hex. Recorded when applied; a later mismatch means the
    /// migration was edited after it ran somewhere, which must stop start-up.
    public var checksum: String {
        var hasher = SHA256()
        for statement in statements {
            hasher.update(data: Array(statement.utf8))
            hasher.update(data: [0])
        }
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// A row of the schema history table.
public struct AppliedMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let checksum: String
    public let appliedAtMilliseconds: Int64

    public init(version: Int, name: String, checksum: String, appliedAtMilliseconds: Int64) {
        self.version = version
        self.name = name
        self.checksum = checksum
        self.appliedAtMilliseconds = appliedAtMilliseconds
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    /// An applied migration's recorded checksum differs from the binary's.
    case checksumMismatch(version: Int, name: String)
    /// The database records a migration under this version with another name.
    case nameMismatch(version: Int, recorded: String, expected: String)
    /// The database has a migration this binary does not know: it was migrated by a newer build.
    case unknownApplied(version: Int, name: String)
    /// The compiled list itself is broken (duplicate or non-increasing versions).
    case invalidList(String)

    public var description: String {
        switch self {
        case .checksumMismatch(let version, let name):
            "migration \(version) \"\(name)\" was changed after it was applied (checksum differs); restore it and add a new migration instead"
        case .nameMismatch(let version, let recorded, let expected):
            "migration \(version) is recorded as \"\(recorded)\" but this build calls it \"\(expected)\""
        case .unknownApplied(let version, let name):
            "the database has migration \(version) \"\(name)\" which this build does not know; it was migrated by a newer Swiftlet"
        case .invalidList(let reason):
            "invalid migration list: \(reason)"
        }
    }
}
