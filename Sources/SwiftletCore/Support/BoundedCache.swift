/// The storage of a per-node cache, bounded both in entries and in approximate bytes.
///
/// A count alone does not bound memory: entries differ in size (a user row with a long
/// avatar URL, a token with long claims), so each entry is stored with its approximate
/// cost in bytes (`cost` from the owner: its strings' UTF-8 plus a fixed overhead) and
/// the total never exceeds `maxBytes`. When an entry would overflow either bound the
/// cache is emptied first: cheap, no bookkeeping per read, and memory stays bounded under
/// any access pattern (a working set larger than the cache just misses more). An entry
/// costlier than the whole budget is not stored.
///
/// A value type used under its owner's lock.
public struct BoundedCache<Key: Hashable, Value> {
    public let capacity: Int
    public let maxBytes: Int
    private var entries: [Key: (value: Value, cost: Int)] = [:]
    /// The summed cost of the entries held; never more than `maxBytes`.
    public private(set) var byteCount = 0

    public init(capacity: Int, maxBytes: Int) {
        precondition(capacity > 0 && maxBytes > 0)
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    public var count: Int { entries.count }

    public subscript(key: Key) -> Value? { entries[key]?.value }

    /// Stores `value` under `key` with its approximate size in bytes.
    public mutating func insert(_ value: Value, for key: Key, cost: Int) {
        remove(key)
        guard cost <= maxBytes else { return }
        if entries.count >= capacity || byteCount + cost > maxBytes {
            entries.removeAll(keepingCapacity: true)
            byteCount = 0
        }
        entries[key] = (value, cost)
        byteCount += cost
    }

    public mutating func remove(_ key: Key) {
        if let old = entries.removeValue(forKey: key) { byteCount -= old.cost }
    }

    public mutating func removeAll() {
        entries.removeAll()
        byteCount = 0
    }

    /// What an entry's fixed parts (dictionary slot, key and value headers, dates,
    /// counters) cost, roughly, on top of its strings' bytes.
    public static var entryOverhead: Int { 128 }
}
