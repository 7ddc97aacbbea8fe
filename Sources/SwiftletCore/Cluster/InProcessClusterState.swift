import Foundation
import Synchronization

/// The one-node `ClusterState`: the bus, keys and counters live in this process.
///
/// It is the zero-setup default, so every use of the port behaves on one node exactly as
/// it does on several: a publish reaches this node's own subscribers, a lock taken with
/// `setIfAbsent` excludes the other tasks of this process, a counter counts this node's
/// requests. Tests also share one instance between two applications in one process,
/// which then acts as the bus between them.
///
/// Expiry is read from the injected clock, so a test moves time by hand instead of
/// sleeping. Keys and counters share one key space, as they do in Redis: a counter is a
/// key whose value is a decimal integer.
///
/// Memory is bounded:
/// - each subscriber buffers at most `subscriberBuffer` events (`.bufferingNewest`). A
///   subscriber that falls that far behind loses its oldest events, and is then sent
///   `.subscribed` again, which tells it to re-sync from the database exactly as after a
///   lost Redis connection; so an overflow can delay a change, never hide it;
/// - expired keys are dropped when read and by a sweep every `sweepInterval` writes, so
///   the store holds no more than the keys alive at once (callers bound their key spaces).
public final class InProcessClusterState: ClusterState {
    /// Events a subscriber may have waiting before the oldest are dropped.
    public static let defaultSubscriberBuffer = 4096

    fileprivate struct Entry {
        var value: String
        var expiresAt: Date
    }

    fileprivate struct Subscriber {
        let channels: Set<String>
        let continuation: AsyncStream<ClusterBusEvent>.Continuation
    }

    fileprivate struct State {
        var entries: [String: Entry] = [:]
        var writesSinceSweep = 0
        var subscribers: [UInt64: Subscriber] = [:]
        var nextSubscriber: UInt64 = 0
    }

    /// Writes between two sweeps of expired keys.
    static let sweepInterval = 1024

    private let clock: SwiftletClock
    private let subscriberBuffer: Int
    private let state = Mutex(State())

    public init(clock: SwiftletClock = .system, subscriberBuffer: Int = InProcessClusterState.defaultSubscriberBuffer) {
        precondition(subscriberBuffer >= 2, "a subscriber needs room for an event and the re-sync marker")
        self.clock = clock
        self.subscriberBuffer = subscriberBuffer
    }

    public var isShared: Bool { false }

    /// How many subscriptions are open (a stream whose consumer was cancelled is gone).
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// How many keys are stored, expired ones not yet swept included.
    public var storedKeyCount: Int { state.withLock { $0.entries.count } }

    // MARK: Bus

    public func publish(_ payload: String, on channel: String) async throws {
        let targets = state.withLock { state in
            state.subscribers.values.filter { $0.channels.contains(channel) }.map(\.continuation)
        }
        // Yielded outside the lock: a consumer's termination handler takes it.
        for continuation in targets {
            if case .dropped = continuation.yield(.message(channel: channel, payload: payload)) {
                // The oldest waiting event was lost: ask the consumer to re-sync after
                // it has read what is left (this marker goes to the end of its buffer).
                continuation.yield(.subscribed)
            }
        }
    }

    public func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ClusterBusEvent.self, bufferingPolicy: .bufferingNewest(subscriberBuffer))
        continuation.yield(.subscribed)
        let id = state.withLock { state in
            let id = state.nextSubscriber
            state.nextSubscriber &+= 1
            state.subscribers[id] = Subscriber(channels: Set(channels), continuation: continuation)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: Keys and counters

    public func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64 {
        try Self.checkLifetime(window)
        let now = clock.now
        return try state.withLock { state in
            if let entry = state.live(key, now: now) {
                guard let current = Int64(entry.value) else { throw Self.notACounter }
                let (total, overflow) = current.addingReportingOverflow(amount)
                guard !overflow else { throw Self.notACounter }
                state.entries[key]?.value = String(total)
                return total
            }
            state.write(key, Entry(value: String(amount), expiresAt: now.addingTimeInterval(window)), now: now)
            return amount
        }
    }

    public func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool {
        try Self.checkLifetime(expiresIn)
        let now = clock.now
        return state.withLock { state in
            guard state.live(key, now: now) == nil else { return false }
            state.write(key, Entry(value: value, expiresAt: now.addingTimeInterval(expiresIn)), now: now)
            return true
        }
    }

    public func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws {
        try Self.checkLifetime(expiresIn)
        let now = clock.now
        state.withLock { state in
            state.write(key, Entry(value: value, expiresAt: now.addingTimeInterval(expiresIn)), now: now)
        }
    }

    public func value(at key: String) async throws -> String? {
        let now = clock.now
        return state.withLock { $0.live(key, now: now)?.value }
    }

    public func delete(_ key: String, ifValue value: String) async throws -> Bool {
        let now = clock.now
        return state.withLock { state in
            guard state.live(key, now: now)?.value == value else { return false }
            state.entries.removeValue(forKey: key)
            return true
        }
    }

    /// Redis refuses a zero or negative expiry; so does this store, so a caller's mistake
    /// shows on one node already.
    private static func checkLifetime(_ seconds: TimeInterval) throws {
        guard seconds > 0, seconds.isFinite else {
            throw SwiftletError(.internalFailure, code: "cluster.invalid_expiry", message: "An expiry must be a positive number of seconds.")
        }
    }

    static let notACounter = SwiftletError(
        .internalFailure, code: "cluster.not_a_counter", message: "The key holds a value that is not a 64-bit counter.")
}

extension InProcessClusterState.State {
    /// The entry at `key` if it has not expired; an expired one is dropped.
    fileprivate mutating func live(_ key: String, now: Date) -> InProcessClusterState.Entry? {
        guard let entry = entries[key] else { return nil }
        guard entry.expiresAt > now else {
            entries.removeValue(forKey: key)
            return nil
        }
        return entry
    }

    fileprivate mutating func write(_ key: String, _ entry: InProcessClusterState.Entry, now: Date) {
        entries[key] = entry
        writesSinceSweep += 1
        if writesSinceSweep >= InProcessClusterState.sweepInterval {
            entries = entries.filter { $0.value.expiresAt > now }
            writesSinceSweep = 0
        }
    }
}
