import Foundation
import Synchronization
import SwiftletCore
import Testing

@Suite("User cache")
struct CachedUserRepositoryTests {
    /// Counts reads that reach the real repository.
    final class Counting: UserRepository {
        let base: any UserRepository
        let reads = Atomic<Int>(0)
        init(_ base: any UserRepository) { self.base = base }
        func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
            try await base.findOrCreate(openid: openid, unionid: unionid)
        }
        func find(id: UserID) async throws -> User? {
            reads.add(1, ordering: .relaxed)
            return try await base.find(id: id)
        }
        func find(openid: String) async throws -> User? { try await base.find(openid: openid) }
        func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User? { try await base.updateProfile(id: id, update) }
        func updatePhone(id: UserID, phone: String) async throws -> User? { try await base.updatePhone(id: id, phone: phone) }
        func count() async throws -> Int { try await base.count() }
        var readCount: Int { reads.load(ordering: .relaxed) }
    }

    @Test func servesFromMemorySeesOwnWritesAndExpires() async throws {
        let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await TestStorage.withStorage(.sqlite, clock: time.clock) { storage in
            let counting = Counting(storage.users)
            let users = CachedUserRepository(counting, lifetime: 2, clock: time.clock)
            let user = try await users.findOrCreate(openid: "o-cache", unionid: nil).user

            #expect(try await users.find(id: user.id) == user)
            #expect(try await users.find(id: user.id) == user)
            #expect(counting.readCount == 0, "login put the user in the cache")

            let renamed = try #require(try await users.updateProfile(id: user.id, ProfileUpdate(nickname: "Neo")))
            #expect(try await users.find(id: user.id)?.nickname == "Neo", "own writes are seen at once")
            #expect(counting.readCount == 0)

            // Another node changes the row: seen once the entry expires.
            _ = try await storage.users.updateProfile(id: user.id, ProfileUpdate(nickname: "Trinity"))
            #expect(try await users.find(id: user.id)?.nickname == renamed.nickname)
            time.advance(2.5)
            #expect(try await users.find(id: user.id)?.nickname == "Trinity")
            #expect(counting.readCount == 1)
            #expect(try await users.find(id: UserID(rawValue: "u_missing")) == nil)
        }
    }

    @Test func zeroLifetimeReadsThrough() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let counting = Counting(storage.users)
            let users = CachedUserRepository(counting, lifetime: 0, clock: .system)
            let user = try await users.findOrCreate(openid: "o-nocache", unionid: nil).user
            _ = try await users.find(id: user.id)
            _ = try await users.find(id: user.id)
            #expect(counting.readCount == 2)
        }
    }

    @Test func capacityBoundsMemory() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let counting = Counting(storage.users)
            let users = CachedUserRepository(counting, lifetime: 60, capacity: 2, clock: .system)
            let first = try await users.findOrCreate(openid: "o-1", unionid: nil).user
            _ = try await users.findOrCreate(openid: "o-2", unionid: nil)
            _ = try await users.findOrCreate(openid: "o-3", unionid: nil)  // full: cleared, then o-3 kept
            _ = try await users.find(id: first.id)
            #expect(counting.readCount == 1, "evicted entries are read again")
        }
    }
}
