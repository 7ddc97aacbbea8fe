import Foundation
import Synchronization

/// A per-node read-through cache in front of a `UserRepository`, for the hottest read in
/// the API: every authenticated `GET /me` needs the caller's row.
///
/// Writes made through this node drop the user's entry, so a user always sees their own
/// changes here (the next read fetches the row again). Entries expire after `lifetime`, which bounds how
/// long a change made on another node can take to show. A lifetime of zero turns the
/// cache off. The cache holds at most `capacity` users; when full it is cleared, which is
/// cheap and keeps memory bounded under any access pattern.
///
/// Races are settled with a generation counter: a write drops the entry and bumps the
/// counter both before and after it touches the database, and a read stores what it
/// fetched only if the counter did not move meanwhile. A read that overlapped a write can
/// therefore never put back a row older than that write.
public final class CachedUserRepository: UserRepository {
    private struct State {
        var entries: [UserID: (user: User, expiresAt: Date)] = [:]
        var generation: UInt64 = 0
    }

    private let base: any UserRepository
    private let lifetime: TimeInterval
    private let capacity: Int
    private let clock: SwiftletClock
    private let state = Mutex(State())

    public init(_ base: any UserRepository, lifetime: TimeInterval, capacity: Int = 10_000, clock: SwiftletClock) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
        self.clock = clock
    }

    public func find(id: UserID) async throws -> User? {
        guard lifetime > 0 else { return try await base.find(id: id) }
        let now = clock.now
        let (cached, generation) = state.withLock { state in (state.entries[id], state.generation) }
        if let cached, cached.expiresAt > now {
            return cached.user
        }
        let user = try await base.find(id: id)
        if let user { remember(user, ifGeneration: generation, now: now) }
        return user
    }

    public func cachedUser(id: UserID) -> User? {
        guard lifetime > 0 else { return nil }
        let now = clock.now
        guard let cached = state.withLock({ $0.entries[id] }), cached.expiresAt > now else { return nil }
        return cached.user
    }

    public func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
        // May fill in a unionid: a write as far as the cache is concerned.
        let result = try await base.findOrCreate(openid: openid, unionid: unionid)
        invalidate(result.user.id)
        return result
    }

    public func find(openid: String) async throws -> User? {
        try await base.find(openid: openid)
    }

    public func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User? {
        try await write(id) { try await self.base.updateProfile(id: id, update) }
    }

    public func updatePhone(id: UserID, phone: String) async throws -> User? {
        try await write(id) { try await self.base.updatePhone(id: id, phone: phone) }
    }

    public func count() async throws -> Int {
        try await base.count()
    }

    private func write(_ id: UserID, _ body: () async throws -> User?) async throws -> User? {
        invalidate(id)
        defer { invalidate(id) }
        return try await body()
    }

    private func invalidate(_ id: UserID) {
        state.withLock { state in
            state.entries.removeValue(forKey: id)
            state.generation &+= 1
        }
    }

    /// Stores `user` only if no write began after `generation` was read.
    private func remember(_ user: User, ifGeneration generation: UInt64, now: Date) {
        guard lifetime > 0 else { return }
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity, state.entries[user.id] == nil { state.entries.removeAll(keepingCapacity: true) }
            state.entries[user.id] = (user, now.addingTimeInterval(lifetime))
        }
    }
}
