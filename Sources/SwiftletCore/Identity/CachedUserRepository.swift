import Foundation
import Synchronization

/// A per-node read-through cache in front of a `UserRepository`, for the hottest read in
/// the API: every authenticated `GET /me` needs the caller's row.
///
/// Writes made through this node update the cache at once (write-through), so a user
/// always sees their own changes here. Entries expire after `lifetime`, which bounds how
/// long a change made on another node can take to show. A lifetime of zero turns the
/// cache off. The cache holds at most `capacity` users; when full it is cleared, which is
/// cheap and keeps memory bounded under any access pattern.
public final class CachedUserRepository: UserRepository {
    private let base: any UserRepository
    private let lifetime: TimeInterval
    private let capacity: Int
    private let clock: SwiftletClock
    private let entries = Mutex<[UserID: (user: User, expiresAt: Date)]>([:])

    public init(_ base: any UserRepository, lifetime: TimeInterval, capacity: Int = 10_000, clock: SwiftletClock) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
        self.clock = clock
    }

    public func find(id: UserID) async throws -> User? {
        guard lifetime > 0 else { return try await base.find(id: id) }
        let now = clock.now
        if let cached = entries.withLock({ $0[id] }), cached.expiresAt > now {
            return cached.user
        }
        let user = try await base.find(id: id)
        if let user { remember(user, now: now) }
        return user
    }

    public func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
        let result = try await base.findOrCreate(openid: openid, unionid: unionid)
        remember(result.user, now: clock.now)
        return result
    }

    public func find(openid: String) async throws -> User? {
        try await base.find(openid: openid)
    }

    public func updateProfile(id: UserID, _ update: ProfileUpdate) async throws -> User? {
        try await written(id, try await base.updateProfile(id: id, update))
    }

    public func updatePhone(id: UserID, phone: String) async throws -> User? {
        try await written(id, try await base.updatePhone(id: id, phone: phone))
    }

    public func count() async throws -> Int {
        try await base.count()
    }

    private func written(_ id: UserID, _ user: User?) async throws -> User? {
        if let user {
            remember(user, now: clock.now)
        } else {
            entries.withLock { _ = $0.removeValue(forKey: id) }
        }
        return user
    }

    private func remember(_ user: User, now: Date) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity, entries[user.id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[user.id] = (user, now.addingTimeInterval(lifetime))
        }
    }
}
