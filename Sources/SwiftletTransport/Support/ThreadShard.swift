import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shard a thread records into: threads are handed indices round-robin on first use,
/// so the event loops and the pool's threads (one each per core) each get their own.
///
/// For counters every request updates (request metrics, the head sampler): one value
/// shared by all cores costs a cache-line transfer per update, one per thread does not.
public enum ThreadShard {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
    private static let next = Atomic<Int>(0)

    public static func index(modulo count: Int) -> Int {
        if let stored = pthread_getspecific(key) {
            return (Int(bitPattern: stored) - 1) % count
        }
        let assigned = next.wrappingAdd(1, ordering: .relaxed).oldValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: assigned + 1))
        return assigned % count
    }
}

/// One thread's shard of a value (a counter, a locked table) on cache lines of its own:
/// the padding keeps two shards from sharing a line when the allocator places them side
/// by side, which would bring back the transfers sharding avoids.
public final class PaddedShard<Value: ~Copyable & Sendable>: Sendable {
    public let value: Value
    private let padding: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    public init(_ value: consuming Value) {
        self.value = value
    }
}
