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
            #expect(counting.readCount == 1, "the second read is served from memory")

            let renamed = try #require(try await users.updateProfile(id: user.id, ProfileUpdate(nickname: "Neo")))
            #expect(try await users.find(id: user.id)?.nickname == "Neo", "own writes are seen at once")
            #expect(try await users.find(id: user.id)?.nickname == "Neo")
            #expect(counting.readCount == 2)

            // Another node changes the row: seen once the entry expires.
            _ = try await storage.users.updateProfile(id: user.id, ProfileUpdate(nickname: "Trinity"))
            #expect(try await users.find(id: user.id)?.nickname == renamed.nickname)
            time.advance(2.5)
            #expect(try await users.find(id: user.id)?.nickname == "Trinity")
            #expect(counting.readCount == 3)
            #expect(try await users.find(id: UserID(rawValue: "u_missing")) == nil)
        }
    }

    /// A read that fetched the row before a write committed must not put it back after.
    @Test func aReadOverlappingAWriteNeverRestoresTheOldRow() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let gate = SlowReads(storage.users)
            let users = CachedUserRepository(gate, lifetime: 60, clock: .system)
            let user = try await users.findOrCreate(openid: "o-race", unionid: nil).user
            gate.holdNextRead()
            async let staleRead = users.find(id: user.id)   // fetches the old row, then waits
            try await gate.waitUntilHeld()
            _ = try await users.updateProfile(id: user.id, ProfileUpdate(nickname: "New"))
            gate.release()
            #expect(try await staleRead?.nickname == nil, "that read itself saw the old row")
            #expect(try await users.find(id: user.id)?.nickname == "New", "but did not cache it")
        }
    }

    /// Lets a test stop a read after it fetched its row.
    final class SlowReads: UserRepository, @unchecked Sendable {
        let base: any UserRepository
        private let lock = NSLock()
        private var hold = false
        private var held: CheckedContinuation<Void, Never>?
        private var isHeld = false
        init(_ base: any UserRepository) { self.base = base }
        func holdNextRead() { lock.withLock { hold = true } }
        func waitUntilHeld() async throws {
            while !lock.withLock({ isHeld }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        func release() { lock.withLock { held }?.resume() }
        func find(id: UserID) async throws -> User? {
            let user = try await base.find(id: id)
            if lock.withLock({ let h = hold; hold = false; return h }) {
                await withCheckedContinuation { continuation in
                    lock.withLock { held = continuation; isHeld = true }
                }
            }
            return user
        }
        func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
            try await base.findOrCreate(openid: openid, unionid: unionid)
        }
        func find(openid: String) async throws -> User? { try await base.find(openid: openid) }
        func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User? { try await base.updateProfile(id: id, update) }
        func updatePhone(id: UserID, phone: String) async throws -> User? { try await base.updatePhone(id: id, phone: phone) }
        func count() async throws -> Int { try await base.count() }
    }

    /// When an entry is missing under load, concurrent readers share one database read.
    @Test func concurrentMissesReadTheDatabaseOnce() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let gate = SlowReads(storage.users)
            let counting = Counting(gate)
            let users = CachedUserRepository(counting, lifetime: 60, clock: .system)
            let user = try await users.findOrCreate(openid: "o-herd", unionid: nil).user
            gate.holdNextRead()
            try await withThrowingTaskGroup(of: User?.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await users.find(id: user.id) }
                }
                try await gate.waitUntilHeld()
                try await Task.sleep(for: .milliseconds(50))  // the other nineteen are waiting now
                gate.release()
                for try await found in group {
                    #expect(found == user)
                }
            }
            #expect(counting.readCount == 1, "twenty concurrent misses, one read")
            #expect(try await users.find(id: user.id) == user)
            #expect(counting.readCount == 1, "and the result was cached")
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
            let second = try await users.findOrCreate(openid: "o-2", unionid: nil).user
            let third = try await users.findOrCreate(openid: "o-3", unionid: nil).user
            _ = try await users.find(id: first.id)
            _ = try await users.find(id: second.id)
            _ = try await users.find(id: third.id)  // full: cleared, then only o-3 kept
            _ = try await users.find(id: first.id)
            #expect(counting.readCount == 4, "evicted entries are read again")
        }
    }
}
