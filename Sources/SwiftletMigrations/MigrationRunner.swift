/// What an engine provides so the runner can migrate it.
public protocol MigrationTarget: Sendable {
    /// Creates the history table if it does not exist.
    func prepareHistory() async throws
    func appliedMigrations() async throws -> [AppliedMigration]
    /// Runs the migration's statements and records it, in one transaction. Must be a
    /// no-op if another process applied the same version meanwhile (several nodes may
    /// start at once); returns whether this call applied it.
    func apply(_ migration: Migration, appliedAtMilliseconds: Int64) async throws -> Bool
}

/// Applies compiled migrations in order, refusing to touch a database whose history
/// disagrees with the binary.
public struct MigrationRunner: Sendable {
    public let migrations: [Migration]
    public let target: any MigrationTarget
    private let now: @Sendable () -> Int64

    public init(migrations: [Migration], target: any MigrationTarget, now: @escaping @Sendable () -> Int64) {
        self.migrations = migrations
        self.target = target
        self.now = now
    }

    public func status() async throws -> [MigrationStatus] {
        try await target.prepareHistory()
        return try MigrationPlan(known: migrations, applied: try await target.appliedMigrations()).statuses
    }

    /// Applies every pending migration; returns those this call applied.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        try await target.prepareHistory()
        let plan = try MigrationPlan(known: migrations, applied: try await target.appliedMigrations())
        var appliedNow: [Migration] = []
        for migration in plan.pending where try await target.apply(migration, appliedAtMilliseconds: now()) {
            appliedNow.append(migration)
        }
        return appliedNow
    }
}
