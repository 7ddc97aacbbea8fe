import Foundation
import SQLKit
import SwiftletCore
import SwiftletMigrations
import SwiftletPostgres
import SwiftletSQLStorage
import SwiftletSQLite
import Testing

/// One contract, every engine: the same assertions run on SQLite and PostgreSQL.
@Suite("Storage contract")
struct StorageContractTests {
    @Test("migrations apply once and are recorded with checksums", arguments: EngineKind.available)
    func migrationsApplyOnce(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind, migrate: false) { storage in
            let runner = storage.migrationRunner()
            let before = try await runner.status()
            #expect(before.allSatisfy { $0.state == .pending })
            let applied = try await runner.migrate()
            #expect(applied.map(\.version) == runner.migrations.map(\.version))
            #expect(try await runner.migrate().isEmpty)
            let after = try await runner.status()
            #expect(after.allSatisfy { $0.state == .applied && $0.appliedAtMilliseconds != nil })
        }
    }

    @Test("concurrent migrators apply each migration exactly once", arguments: EngineKind.available)
    func concurrentMigrators(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind, migrate: false) { storage in
            let runner = storage.migrationRunner()
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try await runner.migrate().count } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(counts.reduce(0, +) == runner.migrations.count)
        }
    }

    @Test("a changed applied migration stops the runner", arguments: EngineKind.available)
    func changedMigrationRefused(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let executor = try #require(storage as? any SQLExecutor)
            try await executor.transaction { db in
                try await db.raw("UPDATE swiftlet_migrations SET checksum = 'edited' WHERE version = 1").run()
            }
            await #expect(throws: MigrationError.checksumMismatch(version: 1, name: "create_users")) {
                try await storage.migrationRunner().migrate()
            }
        }
    }

    @Test("a database migrated by a newer build is refused", arguments: EngineKind.available)
    func unknownMigrationRefused(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let executor = try #require(storage as? any SQLExecutor)
            try await executor.transaction { db in
                try await db.raw("INSERT INTO swiftlet_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 0)").run()
            }
            await #expect(throws: MigrationError.unknownApplied(version: 9999, name: "future")) {
                try await storage.migrationRunner().status()
            }
        }
    }

    @Test("findOrCreate creates once, then finds", arguments: EngineKind.available)
    func findOrCreate(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let first = try await storage.users.findOrCreate(openid: "o-alice", unionid: nil)
            #expect(first.created)
            #expect(first.user.openid == "o-alice")
            #expect(first.user.unionid == nil)
            let second = try await storage.users.findOrCreate(openid: "o-alice", unionid: "u-alice")
            #expect(!second.created)
            #expect(second.user.id == first.user.id)
            #expect(second.user.unionid == "u-alice", "a unionid learnt later is filled in")
            let third = try await storage.users.findOrCreate(openid: "o-alice", unionid: "u-other")
            #expect(third.user.unionid == "u-alice", "a known unionid is never overwritten")
            #expect(try await storage.users.find(id: first.user.id)?.openid == "o-alice")
            #expect(try await storage.users.find(openid: "o-alice")?.id == first.user.id)
            #expect(try await storage.users.find(openid: "nobody") == nil)
            #expect(try await storage.users.find(id: UserID(rawValue: "u_missing")) == nil)
        }
    }

    @Test("concurrent findOrCreate for one openid leaves exactly one row", arguments: EngineKind.available)
    func concurrentFindOrCreate(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let users = storage.users
            let results = try await withThrowingTaskGroup(of: (UserID, Bool).self) { group in
                for _ in 0..<25 {
                    group.addTask {
                        let result = try await users.findOrCreate(openid: "o-race", unionid: nil)
                        return (result.user.id, result.created)
                    }
                }
                return try await group.reduce(into: [(UserID, Bool)]()) { $0.append($1) }
            }
            #expect(Set(results.map(\.0)).count == 1)
            #expect(results.filter(\.1).count == 1)
            #expect(try await users.count() == 1)
        }
    }

    @Test("profile and phone updates are stored; unknown users give nil", arguments: EngineKind.available)
    func updates(kind: EngineKind) async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let later = start.addingTimeInterval(60)
        let clock = MutableClock(start)
        try await TestStorage.withStorage(kind, clock: clock.clock) { storage in
            let user = try await storage.users.findOrCreate(openid: "o-bob", unionid: nil).user
            #expect(user.createdAt == start)
            clock.set(later)
            let updated = try #require(try await storage.users.updateProfile(
                id: user.id, ProfileUpdate(nickname: "Bob 鲍勃", avatarURL: "https://example.com/a.png")))
            #expect(updated.nickname == "Bob 鲍勃")
            #expect(updated.avatarURL == "https://example.com/a.png")
            #expect(updated.updatedAt == later)
            #expect(updated.createdAt == start)
            let nicknameOnly = try await storage.users.updateProfile(id: user.id, ProfileUpdate(nickname: "Bobby"))
            #expect(nicknameOnly?.avatarURL == "https://example.com/a.png", "fields left nil are kept")
            let phone = try await storage.users.updatePhone(id: user.id, phone: "+8613800000000")
            #expect(phone?.phone == "+8613800000000")
            #expect(try await storage.users.updateProfile(id: UserID(rawValue: "u_none"), ProfileUpdate(nickname: "x")) == nil)
            #expect(try await storage.users.updatePhone(id: UserID(rawValue: "u_none"), phone: "1") == nil)
        }
    }

    @Test("a failed transaction leaves nothing behind", arguments: EngineKind.available)
    func rollback(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let executor = try #require(storage as? any SQLExecutor)
            await #expect(throws: TestSetupError.self) {
                try await executor.transaction { db in
                    try await db.raw("INSERT INTO users (id, openid, created_at, updated_at) VALUES ('u_x', 'o-x', 0, 0)").run()
                    throw TestSetupError("abort")
                }
            }
            #expect(try await storage.users.count() == 0)
        }
    }

    @Test("a duplicate key is classified as a unique violation", arguments: EngineKind.available)
    func uniqueViolation(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let executor = try #require(storage as? any SQLExecutor)
            let insert = { @Sendable in
                try await executor.transaction { db in
                    try await db.raw("INSERT INTO users (id, openid, created_at, updated_at) VALUES ('u_dup', 'o-dup', 0, 0)").run()
                }
            }
            try await insert()
            do {
                try await insert()
                Issue.record("second insert should fail")
            } catch {
                #expect(executor.classify(error) == .uniqueViolation)
            }
        }
    }

    @Test("ping answers on an open engine", arguments: EngineKind.available)
    func ping(kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            try await storage.ping()
        }
    }
}

/// A clock tests move by hand.
final class MutableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date) { current = start }

    func set(_ date: Date) { lock.withLock { current = date } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }
    var now: Date { lock.withLock { current } }
    var clock: SwiftletClock { SwiftletClock { [self] in now } }
}
