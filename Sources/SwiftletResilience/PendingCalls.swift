/// The calls admitted to a dependency and not yet answered, by when they started, so a
/// breaker can count the ones waiting unusually long before any of them times out.
///
/// Start instants are kept in slots of 100 ms (counts per slot, never one entry per
/// call), so memory grows with the longest wait divided by the slot width, not with the
/// number of calls in flight. An instant is placed in its slot from `origin` (the first
/// start seen); "overdue" is decided by the slot's start, within one slot width.
struct PendingCalls: Sendable {
    /// The width of a slot: 100 ms.
    private static let slotNanoseconds: Int64 = 100_000_000

    private var counts: [Int64: Int] = [:]
    private var origin: ResilienceInstant?

    var count: Int { counts.values.reduce(0, +) }

    mutating func add(startedAt instant: ResilienceInstant) {
        let origin = self.origin ?? instant
        self.origin = origin
        counts[slot(of: instant, from: origin), default: 0] += 1
    }

    /// Ends a call that `add` counted, with the same start instant.
    mutating func remove(startedAt instant: ResilienceInstant) {
        guard let origin else { return }
        let key = slot(of: instant, from: origin)
        guard let current = counts[key] else { return }
        counts[key] = current > 1 ? current - 1 : nil
    }

    /// Calls that started at least `limit` before `now` and are still waiting.
    func overdue(now: ResilienceInstant, after limit: Duration) -> Int {
        guard let origin, !counts.isEmpty else { return 0 }
        // Slots that start no later than `now - limit`; a slot holds its width of starts.
        let latest = slot(of: now - limit, from: origin)
        var total = 0
        for (key, count) in counts where key < latest {
            total += count
        }
        return total
    }

    private func slot(of instant: ResilienceInstant, from origin: ResilienceInstant) -> Int64 {
        let (seconds, attoseconds) = (instant - origin).components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let width = Self.slotNanoseconds
        return nanoseconds >= 0 ? nanoseconds / width : (nanoseconds - width + 1) / width
    }
}
