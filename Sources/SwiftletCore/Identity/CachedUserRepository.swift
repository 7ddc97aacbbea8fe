import Foundation
import Synchronization

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
/// Races are settled with a generation counter: a write drops the entry and bumps the
/// counter both before and after it touches the database, and a read stores what it
/// fetched only if the counter did not move meanwhile. A read that overlapped a write can
/// therefore never put back a row older than that write.
///
/// Misses are loaded once: concurrent reads of the same user while its row is being
/// fetched wait for that one fetch instead of each querying the database (when an entry
/// expires under load, a thousand waiting requests would otherwise become a thousand
/// queries). A read joins only a fetch that began in the current generation, so a read
/// after a write never receives a row fetched before it.
///
/// Across nodes (`UserCacheFeed`): every write through here is announced (`onWrite`, after
/// the database has it), an announcement from another node drops that user's entry like a
/// local write does, and while the bus is interrupted the cache is bypassed (every read
/// goes to the database) and emptied when the bus is back. The hot reads (a cached
/// `find`, `cachedUser`) stay one lock and a lookup: while bypassed the cache is simply
/// empty.
public final class CachedUserRepository: UserRepository {
    private struct State {
        var entries: BoundedCache<UserID, (user: User, expiresAt: Date)>
        var generation: UInt64 = 0
        /// Fetches under way, with the generation each began in.
        var loading: [UserID: (generation: UInt64, task: Task<User?, any Error>)] = [:]
        /// Set while changes made on other nodes may go unheard: nothing is stored.
        var bypassed = false
    }

    private let base: any UserRepository
    private let lifetime: TimeInterval
    private let clock: SwiftletClock
    private let state: Mutex<State>
    private let onWrite: @Sendable (UserID) -> Void

    /// The default byte budget: 10,000 users of about 1.6 KB, the most a row can weigh
    /// within the field limits.
    public static let defaultMaxBytes = 16 << 20

    public init(_ base: any UserRepository, lifetime: TimeInterval, capacity: Int = 10_000,
                maxBytes: Int = CachedUserRepository.defaultMaxBytes, clock: SwiftletClock,
                onWrite: @escaping @Sendable (UserID) -> Void = { _ in }) {
        self.base = base
        self.onWrite = onWrite
        self.lifetime = lifetime
        self.clock = clock
        state = Mutex(State(entries: BoundedCache(capacity: capacity, maxBytes: maxBytes)))
    }

    /// Approximate bytes of the users held; never more than the budget.
    public var cachedByteCount: Int { state.withLock { $0.entries.byteCount } }

    public func find(id: UserID) async throws -> User? {
        guard lifetime > 0 else { return try await base.find(id: id) }
        let now = clock.now
        enum Lookup {
            case cached(User)
            case loading(Task<User?, any Error>)
        }
        let base = base
        let lookup = state.withLock { state -> Lookup? in
            if state.bypassed { return nil }
            if let cached = state.entries[id], cached.expiresAt > now { return .cached(cached.user) }
            if let load = state.loading[id], load.generation == state.generation { return .loading(load.task) }
            let generation = state.generation
            let task = Task { try await base.find(id: id) }
            state.loading[id] = (generation, task)
            return .loading(task)
        }
        switch lookup {
        case nil:
            return try await base.find(id: id)
        case .cached(let user):
            return user
        case .loading(let task):
            let result = await task.result
            finishLoading(id, task: task, result: result, now: now)
            return try result.get()
        }
    }

    /// Stores a finished fetch (once, by whichever waiter gets here first) if no write
    /// began since it started, and forgets the fetch.
    private func finishLoading(_ id: UserID, task: Task<User?, any Error>, result: Result<User?, any Error>, now: Date) {
        state.withLock { state in
            guard let load = state.loading[id], load.task == task else { return }
            state.loading.removeValue(forKey: id)
            guard case .success(let user?) = result, state.generation == load.generation, !state.bypassed else { return }
            state.entries.insert((user, now.addingTimeInterval(lifetime)), for: user.id, cost: user.approximateByteCount)
        }
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

    /// Another node changed this user: forget the entry, as after a local write.
    public func invalidateRemote(_ id: UserID) {
        invalidate(id)
    }

    /// The bus is interrupted: changes on other nodes may go unheard, so read through to
    /// the database until it is back. Fetches under way will not store what they read.
    public func bypass() {
        state.withLock { state in
            state.bypassed = true
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// The bus is (again) subscribed: start from an empty cache, since invalidations may
    /// have been missed, and cache again.
    public func resume() {
        state.withLock { state in
            state.bypassed = false
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// True while reads go straight to the database.
    public var isBypassed: Bool { state.withLock { $0.bypassed } }

    private func invalidate(_ id: UserID) {
        state.withLock { state in
            state.entries.remove(id)
            state.generation &+= 1
        }
    }

}
