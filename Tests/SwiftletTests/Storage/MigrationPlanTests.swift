import SwiftletMigrations
import SwiftletPostgres
import SwiftletSQLite
import Testing

@Suite("Migration planning")
struct MigrationPlanTests {
    let one = Migration(version: 1, name: "a", statements: ["CREATE TABLE a (x INTEGER)"])
    let two = Migration(version: 2, name: "b", statements: ["CREATE TABLE b (x INTEGER)"])

    func record(_ migration: Migration, checksum: String? = nil, name: String? = nil) -> AppliedMigration {
        AppliedMigration(version: migration.version, name: name ?? migration.name,
                         checksum: checksum ?? migration.checksum, appliedAtMilliseconds: 1)
    }

    @Test func pendingAreThoseNotRecorded() throws {
        let plan = try MigrationPlan(known: [one, two], applied: [record(one)])
        #expect(plan.pending == [two])
        #expect(plan.statuses.map(\.state) == [.applied, .pending])
    }

    @Test func editedMigrationIsRefused() {
        #expect(throws: MigrationError.checksumMismatch(version: 1, name: "a")) {
            try MigrationPlan(known: [one, two], applied: [record(one, checksum: "old")])
        }
    }

    @Test func renamedMigrationIsRefused() {
        #expect(throws: MigrationError.nameMismatch(version: 1, recorded: "z", expected: "a")) {
            try MigrationPlan(known: [one], applied: [record(one, name: "z")])
        }
    }

    @Test func unknownAppliedIsRefused() {
        #expect(throws: MigrationError.unknownApplied(version: 2, name: "b")) {
            try MigrationPlan(known: [one], applied: [record(one), record(two)])
        }
    }

    @Test func listMustIncrease() {
        #expect(throws: MigrationError.self) { try MigrationPlan(known: [two, one], applied: []) }
        #expect(throws: MigrationError.self) {
            try MigrationPlan(known: [Migration(version: 1, name: "empty", statements: [])], applied: [])
        }
    }

    @Test func checksumDependsOnStatementsAndBoundaries() {
        let joined = Migration(version: 1, name: "a", statements: ["AB"])
        let split = Migration(version: 1, name: "a", statements: ["A", "B"])
        #expect(joined.checksum != split.checksum)
        #expect(one.checksum == Migration(version: 1, name: "a", statements: ["CREATE TABLE a (x INTEGER)"]).checksum)
        #expect(one.checksum.count == 64)
    }

    @Test("every engine has the same versions and names")
    func enginesAgree() {
        let sqlite = SQLiteMigrations.all.map { "\($0.version) \($0.name)" }
        let postgres = PostgresMigrations.all.map { "\($0.version) \($0.name)" }
        #expect(sqlite == postgres)
        #expect(!sqlite.isEmpty)
    }
}
