/// The state of one migration relative to a database.
public struct MigrationStatus: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case applied
        case pending
    }

    public let version: Int
    public let name: String
    public let state: State
    public let appliedAtMilliseconds: Int64?
}

/// Pure comparison of the compiled migrations with the recorded history, so every rule
/// (order, checksums, unknown versions) is tested without a database.
public struct MigrationPlan: Sendable, Equatable {
    public let statuses: [MigrationStatus]
    public let pending: [Migration]

    public init(known: [Migration], applied: [AppliedMigration]) throws {
        try Self.validate(known)
        let knownByVersion = Dictionary(uniqueKeysWithValues: known.map { ($0.version, $0) })
        let appliedByVersion = Dictionary(applied.map { ($0.version, $0) }, uniquingKeysWith: { first, _ in first })

        for record in applied.sorted(by: { $0.version < $1.version }) {
            guard let migration = knownByVersion[record.version] else {
                throw MigrationError.unknownApplied(version: record.version, name: record.name)
            }
            guard migration.name == record.name else {
                throw MigrationError.nameMismatch(version: record.version, recorded: record.name, expected: migration.name)
            }
            guard migration.checksum == record.checksum else {
                throw MigrationError.checksumMismatch(version: record.version, name: record.name)
            }
        }

        self.statuses = known.map { migration in
            let record = appliedByVersion[migration.version]
            return MigrationStatus(
                version: migration.version,
                name: migration.name,
                state: record == nil ? .pending : .applied,
                appliedAtMilliseconds: record?.appliedAtMilliseconds
            )
        }
        self.pending = known.filter { appliedByVersion[$0.version] == nil }
    }

    static func validate(_ known: [Migration]) throws {
        var previous = 0
        for migration in known {
            guard migration.version > previous else {
                throw MigrationError.invalidList("version \(migration.version) does not follow \(previous)")
            }
            guard !migration.statements.isEmpty else {
                throw MigrationError.invalidList("migration \(migration.version) has no statements")
            }
            previous = migration.version
        }
    }
}
