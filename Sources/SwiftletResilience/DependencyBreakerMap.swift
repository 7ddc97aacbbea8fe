import Synchronization

/// One `DependencyBreaker` per key (a webhook endpoint id), made on first use, so one
/// failing receiver is throttled without throttling the others.
///
/// Memory stays bounded whatever the number of keys: at most `capacity` breakers are
/// kept (each about 2 KiB: its two windows of buckets); making one more drops the least
/// recently used. A dropped breaker forgets what it saw, so a key used again starts from a
/// clean window and is throttled again after `minimumRequests` failed calls — the price of
/// a bound, paid only by keys idle longer than every other key in the table.
public final class DependencyBreakerMap: Sendable {
    public static let defaultCapacity = 1_024

    /// Prefix of the breakers' names: `webhook` names them `webhook:<key>`.
    public let prefix: String
    public let capacity: Int
    private let configuration: DependencyBreaker.Configuration
    private let now: @Sendable () -> ResilienceInstant
    private let random: @Sendable () -> Double
    private let onChange: @Sendable (DependencyBreakerChange) -> Void
    private let table = Mutex<Table>(Table())

    private struct Table {
        var entries: [String: (breaker: DependencyBreaker, lastUsed: UInt64)] = [:]
        var tick: UInt64 = 0
    }

    /// The breakers share `configuration`, `now`, `random` and `onChange` (see `DependencyBreaker`).
    public init(
        prefix: String, capacity: Int = DependencyBreakerMap.defaultCapacity,
        configuration: DependencyBreaker.Configuration = .init(),
        now: @escaping @Sendable () -> ResilienceInstant = { .now },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        onChange: @escaping @Sendable (DependencyBreakerChange) -> Void = { _ in }
    ) {
        precondition(capacity > 0, "a breaker map holds at least one breaker")
        self.prefix = prefix
        self.capacity = capacity
        self.configuration = configuration
        self.now = now
        self.random = random
        self.onChange = onChange
    }

    /// The breaker for `key`, made now if the table has none.
    public func breaker(for key: String) -> DependencyBreaker {
        table.withLock { table in
            table.tick += 1
            if let entry = table.entries[key] {
                table.entries[key] = (entry.breaker, table.tick)
                return entry.breaker
            }
            if table.entries.count >= capacity,
               let oldest = table.entries.min(by: { $0.value.lastUsed < $1.value.lastUsed })?.key {
                table.entries[oldest] = nil
            }
            let breaker = DependencyBreaker(
                name: "\(prefix):\(key)", configuration: configuration, now: now, random: random, onChange: onChange)
            table.entries[key] = (breaker, table.tick)
            return breaker
        }
    }

    /// How many breakers the table holds.
    public var count: Int {
        table.withLock { $0.entries.count }
    }

    /// Every breaker's snapshot, by name.
    public func snapshots() -> [DependencyBreakerSnapshot] {
        let breakers = table.withLock { $0.entries.values.map(\.breaker) }
        return breakers.map { $0.snapshot() }.sorted { $0.dependency < $1.dependency }
    }
}
