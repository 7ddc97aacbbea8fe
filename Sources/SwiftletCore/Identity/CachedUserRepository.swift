import Foundation

/// A per-node read-through cache in front of a `UserRepository`, for the hottest read in
/// the API: every authenticated `GET /me` needs the caller's row.
///
/// Writes made through this node drop the user's entry, so a user always sees their own
/// changes here (the next read fetches the row again); writes made on other nodes drop it
/// when their announcement arrives (below). Entries expire after `lifetime` all the same,
/// a backstop for a change made behind Swiftlet's back (directly in the database). A
/// lifetime of zero turns the cache off. The cache holds at most `capacity` users and `maxBytes` bytes of them
/// (approximately: `User.approximateByteCount`); when full it is cleared, which is cheap
/// and keeps memory bounded under any access pattern (see `BoundedCache`).
///
/// Misses are loaded once, reads that overlap a write never put back an older row, and
/// entries expire: the rules of `ReadThroughCache`, which holds the rows.
///
/// Across nodes (`ClusterCacheFeed.users`): every write through here is announced (`onWrite`, after
/// the database has it), an announcement from another node drops that user's entry like a
/// local write does, and while the bus is interrupted the cache is bypassed (every read
/// goes to the database) and emptied when the bus is back.
public final class CachedUserRepository: UserRepository, ClusterInvalidatedCache {
    private let base: any UserRepository
    private let cache: ReadThroughCache<UserID, User>
    private let onWrite: @Sendable (UserID) -> Void

    /// The default byte budget: 10,000 users of about 1.6 KB, the most a row can weigh
    /// within the field limits.
    public static let defaultMaxBytes = 16 << 20

    public init(_ base: any UserRepository, lifetime: TimeInterval, capacity: Int = 10_000,
                maxBytes: Int = CachedUserRepository.defaultMaxBytes, clock: SwiftletClock,
                onWrite: @escaping @Sendable (UserID) -> Void = { _ in }) {
        self.base = base
        self.onWrite = onWrite
        cache = ReadThroughCache(lifetime: lifetime, capacity: capacity, maxBytes: maxBytes, clock: clock,
                                 cost: { $0.approximateByteCount })
    }

    /// Approximate bytes of the users held; never more than the budget.
    public var cachedByteCount: Int { cache.byteCount }

    public func find(id: UserID) async throws -> User? {
        let base = base
        return try await cache.value(for: id) { try await base.find(id: id) }
    }

    public func cachedUser(id: UserID) -> User? {
        cache.cached(id)
    }

    public func findOrCreate(openid: String, unionid: String?) async throws -> (user: User, created: Bool) {
        // May fill in a unionid: a write as far as the cache is concerned.
        let result = try await base.findOrCreate(openid: openid, unionid: unionid)
        invalidate(result.user.id)
        // Only an existing row given a unionid can have changed; announcing every login
        // would make every node's cache discard its fills in progress (generation).
        if !result.created, unionid != nil { onWrite(result.user.id) }
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
        defer {
            invalidate(id)
            // Also after a failure: the write may have committed before the error.
            onWrite(id)
        }
        return try await body()
    }

    /// A node changed this user (the payload is its id): forget the entry, as after a
    /// local write.
    public func invalidate(announced payload: String) {
        invalidate(UserID(rawValue: payload))
    }

    /// The bus is interrupted: changes on other nodes may go unheard, so read through to
    /// the database until it is back. Fetches under way will not store what they read.
    public func bypass() {
        cache.bypass()
    }

    /// The bus is (again) subscribed: start from an empty cache, since invalidations may
    /// have been missed, and cache again.
    public func resume() {
        cache.resume()
    }

    /// True while reads go straight to the database.
    public var isBypassed: Bool { cache.isBypassed }

    private func invalidate(_ id: UserID) {
        cache.invalidate(id)
    }
}
