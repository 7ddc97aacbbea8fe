import Synchronization

/// GCRA rate limiting inside one process: the theoretical arrival time of each key in a
/// table behind one lock, for a single node or as the fallback when the shared store is
/// unreachable.
///
/// Memory stays bounded under a flood of distinct keys (client IPs, forged user ids):
/// - at most `maxKeys` keys are tracked;
/// - a key whose TAT has passed carries no state (it decides exactly like an unknown key),
///   so when the table is full those keys are swept out first. A key still inside its
///   backlog is never evicted: a client that has spent its burst cannot reset it by
///   flooding the table with other keys;
/// - when the sweep frees nothing, the new key is **not tracked**: it is decided as a fresh
///   key (so a first request passes) and nothing is stored. This fails open for new keys
///   only while the table is full of live keys, which the caller sees in
///   `untrackedDecisions` (to log and count); size `maxKeys` above the distinct keys
///   expected within one policy's reset time, and let ingress load shedding cover the rest;
/// - a sweep costs one pass over the table, so after one, the next waits until `maxKeys / 8`
///   new keys have been inserted or turned away: a flood costs amortised O(1) per request.
public final class LocalRateLimiter: Sendable {
    /// The default bound on tracked keys (a few megabytes with keys of a few dozen bytes).
    public static let defaultMaxKeys = 100_000

    /// The most keys the table holds.
    public let maxKeys: Int

    private struct Table {
        var tats: [String: ResilienceInstant] = [:]
        /// New keys inserted or turned away since the last sweep.
        var newKeysSinceSweep: Int
        var untrackedDecisions = 0
    }

    private let table: Mutex<Table>
    private let sweepSpacing: Int

    public init(maxKeys: Int = LocalRateLimiter.defaultMaxKeys) {
        precondition(maxKeys > 0, "a rate limiter tracks at least one key")
        self.maxKeys = maxKeys
        self.sweepSpacing = max(1, maxKeys / 8)
        self.table = Mutex(Table(newKeysSinceSweep: max(1, maxKeys / 8)))
    }

    /// Decides one request of weight `cost` for `key` under `policy` at `now`, and records
    /// its cost when it is allowed.
    public func check(_ key: String, policy: GCRAPolicy, now: ResilienceInstant, cost: Int = 1) -> RateLimitDecision {
        table.withLock { table in
            let stored = table.tats[key]
            let decision = policy.decide(tat: stored, now: now, cost: cost)
            guard decision.isAllowed, let tat = decision.tat else { return decision }
            if tat <= now {
                // A zero-cost read of an idle key: nothing to remember.
                table.tats[key] = nil
                return decision
            }
            if stored == nil, !Self.makeRoom(in: &table, now: now, maxKeys: maxKeys, sweepSpacing: sweepSpacing) {
                table.untrackedDecisions += 1
                return decision
            }
            table.tats[key] = tat
            return decision
        }
    }

    /// Keys currently tracked.
    public var trackedKeys: Int {
        table.withLock { $0.tats.count }
    }

    /// Decisions made for keys the full table could not track (decided as fresh keys).
    public var untrackedDecisions: Int {
        table.withLock { $0.untrackedDecisions }
    }

    /// Whether one more key fits, sweeping out idle keys when the table is full and the
    /// last sweep has been paid for.
    private static func makeRoom(in table: inout Table, now: ResilienceInstant, maxKeys: Int, sweepSpacing: Int) -> Bool {
        table.newKeysSinceSweep += 1
        if table.tats.count < maxKeys { return true }
        guard table.newKeysSinceSweep > sweepSpacing else { return false }
        table.tats = table.tats.filter { $0.value > now }
        table.newKeysSinceSweep = 0
        return table.tats.count < maxKeys
    }
}
