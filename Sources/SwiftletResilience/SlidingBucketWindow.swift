/// Counts of events over the last `window` of time, kept in equal buckets so old events
/// leave the total one bucket at a time (never all at once) in constant memory, whatever
/// the traffic.
///
/// Time is given, never read. The window ends at the newest instant seen so far, so an
/// instant slightly older than one already recorded (two callers racing to record) still
/// lands in its bucket instead of moving the window backwards; an instant older than the
/// whole window is dropped, since it could not be counted anyway.
struct SlidingBucketWindow<Counts: AdditiveArithmetic & Sendable>: Sendable {
    private struct Slot: Sendable {
        var index: Int64
        var counts: Counts
    }

    /// Width of one bucket in nanoseconds.
    let bucketNanoseconds: Int64
    private var slots: [Slot]
    /// The first instant seen; bucket indices count from it.
    private var origin: ResilienceInstant?
    private var newestIndex: Int64 = .min

    init(window: Duration, bucketCount: Int) {
        precondition(bucketCount > 0, "a window needs at least one bucket")
        let total = window.wholeNanoseconds
        precondition(total >= Int64(bucketCount), "a bucket must last at least one nanosecond")
        bucketNanoseconds = total / Int64(bucketCount)
        slots = Array(repeating: Slot(index: .min, counts: .zero), count: bucketCount)
    }

    /// Adds `counts` to the bucket holding `now`.
    mutating func add(_ counts: Counts, at now: ResilienceInstant) {
        let start = origin ?? now
        origin = start
        let index = bucketIndex(of: now, from: start)
        newestIndex = max(newestIndex, index)
        guard index > newestIndex - Int64(slots.count) else { return }
        let position = Int(positiveModulo(index, Int64(slots.count)))
        // A slot holding another index holds one at least a whole window older: stale.
        if slots[position].index != index {
            slots[position] = Slot(index: index, counts: .zero)
        }
        slots[position].counts += counts
    }

    /// The sum of the buckets inside the window that ends at `now` (or at the newest
    /// instant recorded, if that is later).
    func total(at now: ResilienceInstant) -> Counts {
        guard let origin else { return .zero }
        let end = max(newestIndex, bucketIndex(of: now, from: origin))
        let oldestExcluded = end - Int64(slots.count)
        var sum = Counts.zero
        for slot in slots where slot.index > oldestExcluded && slot.index <= end {
            sum += slot.counts
        }
        return sum
    }

    private func bucketIndex(of instant: ResilienceInstant, from origin: ResilienceInstant) -> Int64 {
        let offset = (instant - origin).wholeNanoseconds
        // Floor division, so instants before the origin fall in negative buckets.
        let quotient = offset / bucketNanoseconds
        return offset % bucketNanoseconds < 0 ? quotient - 1 : quotient
    }

    private func positiveModulo(_ value: Int64, _ modulus: Int64) -> Int64 {
        let remainder = value % modulus
        return remainder < 0 ? remainder + modulus : remainder
    }
}

extension Duration {
    /// The duration in whole nanoseconds (rounded toward zero), for integer bucket arithmetic.
    fileprivate var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
