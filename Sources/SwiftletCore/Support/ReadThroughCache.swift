import Foundation
import Synchronization

/// A per-node read-through cache with the rules every Swiftlet cache in front of the
/// database follows (the user rows behind `/me`, the catalogue pages):
///
/// - **Expiry.** An entry lives `lifetime` seconds: the backstop for a change made behind
///   Swiftlet's back, and what keeps a snapshot (stock shown on a catalogue page) short.
///   A lifetime of zero turns the cache off: every read loads.
/// - **Bounded.** At most `capacity` entries and `maxBytes` bytes (as `cost` counts them);
///   when full it is cleared (`BoundedCache`), so memory stays bounded under any access
///   pattern, hostile ones included.
/// - **Single flight.** Concurrent misses of one key wait for one load instead of each
///   querying the database: when a hot entry expires under load, a thousand waiting
///   requests would otherwise become a thousand queries.
/// - **No stale fill.** Every invalidation bumps a generation counter; a load stores what
///   it read only if the counter did not move meanwhile, and a read joins only a load
///   begun in the current generation. Callers invalidate both before and after a write,
///   so a read that overlapped a write can never put back what was there before it.
/// - **Bypass.** While changes made on other nodes may go unheard (the cluster bus is
///   interrupted) nothing is stored and every read loads; `resume` starts from empty.
///
/// Hot reads (`cached`, a hit in `value`) are one lock and one lookup.
public final class ReadThroughCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var entries: BoundedCache<Key, (value: Value, expiresAt: Date)>
        var generation: UInt64 = 0
        /// Loads under way, with the generation each began in.
        var loading: [Key: (generation: UInt64, task: Task<Value?, any Error>)] = [:]
        var bypassed = false
    }

    private enum Lookup {
        case cached(Value)
        case loading(Task<Value?, any Error>)
    }

    private let lifetime: TimeInterval
    private let clock: SwiftletClock
    private let cost: @Sendable (Value) -> Int
    private let state: Mutex<State>

    public init(lifetime: TimeInterval, capacity: Int, maxBytes: Int, clock: SwiftletClock,
                cost: @escaping @Sendable (Value) -> Int) {
        self.lifetime = lifetime
        self.clock = clock
        self.cost = cost
        state = Mutex(State(entries: BoundedCache(capacity: capacity, maxBytes: maxBytes)))
    }

    /// False when the lifetime is zero: every read goes to `load`.
    public var isEnabled: Bool { lifetime > 0 }

    /// The value if it is held and fresh; never loads. For answers that must not wait.
    public func cached(_ key: Key) -> Value? {
        guard lifetime > 0 else { return nil }
        let now = clock.now
        guard let entry = state.withLock({ $0.entries[key] }), entry.expiresAt > now else { return nil }
        return entry.value
    }

    /// The held value, or what `load` returns (shared with every concurrent miss of
    /// `key`). A nil or a thrown error is passed on and not stored.
    public func value(for key: Key, load: @escaping @Sendable () async throws -> Value?) async throws -> Value? {
        guard lifetime > 0 else { return try await load() }
        let now = clock.now
        let lookup = state.withLock { state -> Lookup? in
            if state.bypassed { return nil }
            if let entry = state.entries[key], entry.expiresAt > now { return .cached(entry.value) }
            if let load = state.loading[key], load.generation == state.generation { return .loading(load.task) }
            let task = Task { try await load() }
            state.loading[key] = (state.generation, task)
            return .loading(task)
        }
        switch lookup {
        case nil:
            return try await load()
        case .cached(let value):
            return value
        case .loading(let task):
            let result = await task.result
            finishLoading(key, task: task, result: result, now: now)
            return try result.get()
        }
    }

    /// Stores a finished load (once, by whichever waiter gets here first) if nothing was
    /// invalidated since it began, and forgets the load.
    private func finishLoading(_ key: Key, task: Task<Value?, any Error>, result: Result<Value?, any Error>, now: Date) {
        state.withLock { state in
            guard let load = state.loading[key], load.task == task else { return }
            state.loading.removeValue(forKey: key)
            guard case .success(let value?) = result, state.generation == load.generation, !state.bypassed else { return }
            state.entries.insert((value, now.addingTimeInterval(lifetime)), for: key, cost: cost(value))
        }
    }

    /// Forgets `key`; loads under way will not store what they read.
    public func invalidate(_ key: Key) {
        state.withLock { state in
            state.entries.remove(key)
            state.generation &+= 1
        }
    }

    /// Forgets everything; loads under way will not store what they read.
    public func invalidateAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// Changes made elsewhere may go unheard: load every read until `resume`.
    public func bypass() {
        state.withLock { state in
            state.bypassed = true
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// Changes are heard again: start from empty (some may have been missed) and cache.
    public func resume() {
        state.withLock { state in
            state.bypassed = false
            state.entries.removeAll()
            state.generation &+= 1
        }
    }

    /// True while every read loads.
    public var isBypassed: Bool { state.withLock { $0.bypassed } }

    /// Approximate bytes held; never more than the budget.
    public var byteCount: Int { state.withLock { $0.entries.byteCount } }
}
