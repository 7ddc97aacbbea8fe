import SwiftletResilience
import Testing

/// The learnt concurrency limit grows while latency holds, shrinks when latency rises with
/// load, and grows back by itself once latency falls again.
@Suite("Adaptive concurrency limit")
struct AdaptiveConcurrencyLimitTests {
    static let configuration = AdaptiveConcurrencyLimit.Configuration(initial: 20, minimum: 4, maximum: 200)

    @Test func steadyLatencyAtFullUseGrowsTheLimitToItsMaximum() {
        var limit = AdaptiveConcurrencyLimit(Self.configuration)
        for _ in 0..<50_000 {
            limit.record(rttNanoseconds: 10_000_000, inflight: Int(limit.limit))
        }
        #expect(limit.limit == 200)
    }

    @Test func lightLoadDoesNotGrowIt() {
        var limit = AdaptiveConcurrencyLimit(Self.configuration)
        for _ in 0..<2000 {
            limit.record(rttNanoseconds: 10_000_000, inflight: 2)
        }
        #expect(limit.limit == 20, "the load, not the server, was the bottleneck")
    }

    @Test func latencyRisingWithQueueingShrinksItAndItRecovers() {
        var limit = AdaptiveConcurrencyLimit(Self.configuration)
        for _ in 0..<50_000 {
            limit.record(rttNanoseconds: 10_000_000, inflight: Int(limit.limit))
        }
        let before = limit.limit
        // A server that does 4 requests at a time: latency grows with what it is given.
        for _ in 0..<1000 {
            let inflight = Int(limit.limit)
            limit.record(rttNanoseconds: Int64(10_000_000 * max(1, inflight / 4)), inflight: inflight)
        }
        #expect(limit.limit < before / 4, "from \(before) to \(limit.limit)")
        for _ in 0..<50_000 {
            limit.record(rttNanoseconds: 10_000_000, inflight: Int(limit.limit))
        }
        #expect(limit.limit > 100, "back up once latency is normal again: \(limit.limit)")
    }
}
