import SwiftletResilience
import Testing

@Suite("GCRA")
struct GCRATests {
    let start = ContinuousClock.now

    func at(_ offset: Duration) -> ContinuousClock.Instant { start.advanced(by: offset) }

    /// 10 per second (T = 100 ms) with a burst of 4 (limit 5).
    func tenPerSecond() throws -> GCRAPolicy { try GCRAPolicy(rate: 10, period: .seconds(1), burst: 4) }

    @Test func refusesPoliciesThatCannotWork() {
        #expect(throws: GCRAPolicyError.rateNotPositive(0)) { try GCRAPolicy(rate: 0, period: .seconds(1), burst: 1) }
        #expect(throws: GCRAPolicyError.rateNotPositive(-3)) { try GCRAPolicy(rate: -3, period: .seconds(1), burst: 1) }
        #expect(throws: GCRAPolicyError.burstNegative(-1)) { try GCRAPolicy(rate: 1, period: .seconds(1), burst: -1) }
        #expect(throws: GCRAPolicyError.periodNotPositive) { try GCRAPolicy(rate: 1, period: .zero, burst: 0) }
        #expect(throws: GCRAPolicyError.tooLarge) { try GCRAPolicy(rate: 1, period: .seconds(1), burst: Int.max) }
        #expect(throws: GCRAPolicyError.tooLarge) { try GCRAPolicy(rate: 1, period: .seconds(3_000_000_000), burst: 10) }
    }

    @Test func emissionIntervalIsExactOrRoundedUp() throws {
        #expect(try tenPerSecond().emissionInterval == .milliseconds(100))
        #expect(try tenPerSecond().limit == 5)
        // 3 per second: 333_333_333.3 ns rounds up, so 3 requests never take under a second.
        let three = try GCRAPolicy(rate: 3, period: .seconds(1), burst: 0)
        #expect(three.emissionIntervalNanoseconds == 333_333_334)
    }

    @Test func burstThenSteadyRate() throws {
        let policy = try tenPerSecond()
        var tat: ContinuousClock.Instant?
        // An idle key: the limit (burst + 1 = 5) at once, remaining counting down.
        for expected in [4, 3, 2, 1, 0] {
            let decision = policy.decide(tat: tat, now: at(.zero))
            #expect(decision.isAllowed)
            #expect(decision.remaining == expected)
            #expect(decision.retryAfter == nil)
            tat = decision.tat
        }
        #expect(tat == at(.milliseconds(500)))
        let sixth = policy.decide(tat: tat, now: at(.zero))
        #expect(!sixth.isAllowed)
        #expect(sixth.tat == tat)
        #expect(sixth.remaining == 0)
        #expect(sixth.retryAfter == .milliseconds(100))
        #expect(sixth.resetAfter == .milliseconds(500))
        // Then one per 100 ms, and only one.
        for step in 1...20 {
            let now = at(.milliseconds(100 * step))
            let admitted = policy.decide(tat: tat, now: now)
            #expect(admitted.isAllowed, "step \(step)")
            #expect(admitted.remaining == 0)
            #expect(admitted.resetAfter == .milliseconds(500))
            tat = admitted.tat
            let extra = policy.decide(tat: tat, now: now)
            #expect(!extra.isAllowed, "step \(step)")
            #expect(extra.retryAfter == .milliseconds(100))
        }
    }

    @Test func retryAfterIsExactToTheNanosecond() throws {
        // 7 per 3 s (T = 428_571_429 ns, rounded up) with a burst of 2: an awkward interval.
        let policy = try GCRAPolicy(rate: 7, period: .seconds(3), burst: 2)
        var tat: ContinuousClock.Instant?
        var now = at(.zero)
        var refusals = 0
        for step in 0..<200 {
            now = now.advanced(by: .nanoseconds(Int64(step % 7) * 61_234_567))
            let decision = policy.decide(tat: tat, now: now)
            if decision.isAllowed {
                tat = decision.tat
                continue
            }
            refusals += 1
            let wait = try #require(decision.retryAfter)
            #expect(wait > .zero)
            #expect(!policy.decide(tat: tat, now: now.advanced(by: wait - .nanoseconds(1))).isAllowed)
            #expect(policy.decide(tat: tat, now: now.advanced(by: wait)).isAllowed)
        }
        #expect(refusals > 20)
    }

    @Test func costAboveOneWeighsAsThatManyRequests() throws {
        let policy = try tenPerSecond()
        let three = policy.decide(tat: nil, now: at(.zero), cost: 3)
        #expect(three.isAllowed)
        #expect(three.remaining == 2)
        #expect(three.resetAfter == .milliseconds(300))
        // 3 more do not fit with 2 left; the refusal costs nothing and says when 3 fit.
        let tooMuch = policy.decide(tat: three.tat, now: at(.zero), cost: 3)
        #expect(!tooMuch.isAllowed)
        #expect(tooMuch.remaining == 2)
        #expect(tooMuch.tat == three.tat)
        #expect(tooMuch.retryAfter == .milliseconds(100))
        #expect(policy.decide(tat: three.tat, now: at(.milliseconds(100)), cost: 3).isAllowed)
        // 2 still fit at once.
        let two = policy.decide(tat: three.tat, now: at(.zero), cost: 2)
        #expect(two.isAllowed)
        #expect(two.remaining == 0)
        // A cost above the limit never fits: refused without a retry time.
        let huge = policy.decide(tat: nil, now: at(.zero), cost: 6)
        #expect(!huge.isAllowed)
        #expect(huge.retryAfter == nil)
        #expect(huge.remaining == 5)
        #expect(!policy.decide(tat: nil, now: at(.zero), cost: .max).isAllowed)
        // Cost 0 reads without spending.
        let peek = policy.decide(tat: two.tat, now: at(.zero), cost: 0)
        #expect(peek.isAllowed)
        #expect(peek.remaining == 0)
        #expect(peek.tat == two.tat)
    }

    @Test func longIdleRestoresTheWholeBurst() throws {
        let policy = try tenPerSecond()
        var tat: ContinuousClock.Instant?
        for _ in 0..<5 { tat = policy.decide(tat: tat, now: at(.zero)).tat }
        #expect(!policy.decide(tat: tat, now: at(.zero)).isAllowed)
        // Half-way: part of the burst is back.
        #expect(policy.decide(tat: tat, now: at(.milliseconds(250)), cost: 0).remaining == 2)
        // After the reset time (and long after), exactly the limit again, as for a new key.
        for idle in [Duration.milliseconds(500), .seconds(3600), .seconds(86_400 * 365)] {
            var replay = tat
            var admitted = 0
            while policy.decide(tat: replay, now: at(idle)).isAllowed {
                replay = policy.decide(tat: replay, now: at(idle)).tat
                admitted += 1
            }
            #expect(admitted == 5, "after \(idle)")
        }
    }

    @Test func aStaleStateFromALargerPolicyOnlyDelays() throws {
        // A TAT stored under a policy with more capacity (a configuration change) is a backlog
        // longer than this policy's capacity: refused until it has drained, then normal.
        let small = try GCRAPolicy(rate: 1, period: .seconds(1), burst: 0)
        let decision = small.decide(tat: at(.seconds(10)), now: at(.zero))
        #expect(!decision.isAllowed)
        #expect(decision.retryAfter == .seconds(10))
        #expect(small.decide(tat: at(.seconds(10)), now: at(.seconds(10))).isAllowed)
    }

    /// Over any window of length W, admitted costs sum to at most limit + floor(W / T),
    /// whatever the arrival pattern.
    @Test func noWindowAdmitsMoreThanTheLimitPlusTheRate() throws {
        var random = SplitMix64(seed: 0x5EED_6C2A)
        for round in 0..<300 {
            let rate = Int.random(in: 1...50, using: &random)
            let burst = Int.random(in: 0...10, using: &random)
            let policy = try GCRAPolicy(rate: rate, period: .milliseconds(Int64.random(in: 100...5000, using: &random)), burst: burst)
            let interval = policy.emissionIntervalNanoseconds
            var tat: ContinuousClock.Instant?
            var clock: Int64 = 0
            var admitted: [(at: Int64, cost: Int)] = []
            for _ in 0..<400 {
                // Bursts at one instant, short gaps, and idle spells.
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4: break
                case 4..<9: clock += Int64.random(in: 1...interval, using: &random)
                default: clock += Int64.random(in: interval...(interval * Int64(burst + 3)), using: &random)
                }
                let cost = Int.random(in: 1...3, using: &random)
                let decision = policy.decide(tat: tat, now: at(.nanoseconds(clock)), cost: cost)
                if decision.isAllowed {
                    tat = decision.tat
                    admitted.append((clock, cost))
                }
            }
            #expect(admitted.count > 50, "round \(round) admits too little to test anything")
            for window in [Int64(0), interval / 2, interval, interval * 3 + 1, interval * Int64(burst + 1) * 2] {
                let bound = policy.limit + Int(window / interval)
                var low = 0
                var sum = 0
                for high in admitted.indices {
                    sum += admitted[high].cost
                    while admitted[high].at - admitted[low].at > window {
                        sum -= admitted[low].cost
                        low += 1
                    }
                    #expect(sum <= bound, "round \(round): \(sum) admitted within \(window) ns, bound \(bound)")
                    if sum > bound { return }
                }
            }
        }
    }
}

/// A seeded generator (SplitMix64), so a failing random sequence repeats exactly.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
