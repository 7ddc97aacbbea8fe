import SwiftletResilience
import Testing

@Suite("Local rate limiter")
struct LocalRateLimiterTests {
    let start = ContinuousClock.now

    func at(_ offset: Duration) -> ContinuousClock.Instant { start.advanced(by: offset) }

    @Test func keysAreLimitedIndependently() throws {
        let limiter = LocalRateLimiter()
        let policy = try GCRAPolicy(rate: 1, period: .seconds(1), burst: 1)
        #expect(limiter.check("a", policy: policy, now: at(.zero)).isAllowed)
        #expect(limiter.check("a", policy: policy, now: at(.zero)).isAllowed)
        let refused = limiter.check("a", policy: policy, now: at(.zero))
        #expect(!refused.isAllowed)
        #expect(refused.retryAfter == .seconds(1))
        #expect(limiter.check("b", policy: policy, now: at(.zero)).isAllowed)
        #expect(limiter.check("a", policy: policy, now: at(.seconds(1))).isAllowed)
        #expect(limiter.trackedKeys == 2)
    }

    @Test func aReadOfAnIdleKeyStoresNothing() throws {
        let limiter = LocalRateLimiter()
        let policy = try GCRAPolicy(rate: 1, period: .seconds(1), burst: 1)
        let peek = limiter.check("idle", policy: policy, now: at(.zero), cost: 0)
        #expect(peek.isAllowed)
        #expect(peek.remaining == 2)
        #expect(limiter.trackedKeys == 0)
    }

    @Test func aFloodOfLiveKeysStaysBoundedAndEvictsNoLiveKey() throws {
        let limiter = LocalRateLimiter(maxKeys: 100_000)
        let policy = try GCRAPolicy(rate: 1, period: .seconds(60), burst: 0)
        #expect(limiter.check("victim", policy: policy, now: at(.zero)).isAllowed)
        #expect(!limiter.check("victim", policy: policy, now: at(.zero)).isAllowed)
        for index in 0..<200_000 {
            let decision = limiter.check("flood-\(index)", policy: policy, now: at(.microseconds(index)))
            #expect(decision.isAllowed)
        }
        #expect(limiter.trackedKeys == 100_000)
        // Everything beyond the bound was decided as fresh and not stored.
        #expect(limiter.untrackedDecisions == 100_001)
        // The key that spent its burst before the flood is still limited.
        #expect(!limiter.check("victim", policy: policy, now: at(.seconds(1))).isAllowed)
        // A key turned away is still untracked, so it passes again (the documented fail-open).
        #expect(limiter.check("flood-199999", policy: policy, now: at(.seconds(1))).isAllowed)
        #expect(limiter.trackedKeys == 100_000)
    }

    @Test func aFloodOfExpiringKeysIsTrackedByReclaimingIdleOnes() throws {
        let limiter = LocalRateLimiter(maxKeys: 100_000)
        // Each key is idle again 1 s after its request; keys arrive every 20 µs, so about
        // 50,000 are live at any time and the sweep always finds room.
        let policy = try GCRAPolicy(rate: 1, period: .seconds(1), burst: 0)
        for index in 0..<200_000 {
            let now = at(.microseconds(20 * index))
            #expect(limiter.check("key-\(index)", policy: policy, now: now).isAllowed)
            #expect(limiter.trackedKeys <= 100_000)
        }
        #expect(limiter.untrackedDecisions == 0)
        // The latest keys are tracked and limited.
        #expect(!limiter.check("key-199999", policy: policy, now: at(.microseconds(20 * 199_999))).isAllowed)
    }
}
