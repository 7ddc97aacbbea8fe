import SwiftletResilience
import Testing

@Suite("Adaptive throttle")
struct AdaptiveThrottleTests {
    /// A seeded generator (SplitMix64), so the random draws of a simulation repeat exactly.
    struct SeededRandom {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        /// A uniform draw in `0..<1`.
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476C_E484_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(UInt64(1) << 53)
        }
    }

    let start = ContinuousClock.now

    @Test func healthyDependencyIsNeverRefused() {
        for seed: UInt64 in 0..<20 {
            var random = SeededRandom(seed: seed)
            var throttle = AdaptiveThrottle()
            var now = start
            for _ in 0..<2_000 {
                now += .milliseconds(Int64(random.next() * 20))
                // The strictest draw: refused whenever the probability is above zero.
                let attempted = throttle.shouldAttempt(now: now, random: 0)
                #expect(attempted, "seed \(seed)")
                throttle.record(success: true, now: now)
            }
            #expect(throttle.state(now: now).rejectProbability == 0)
            #expect(throttle.state(now: now).rejected == 0)
        }
    }

    @Test func rejectProbabilityFollowsTheFormula() {
        // 100 attempts, 30 accepted, K = 2: (100 − 60) / 101.
        var throttle = AdaptiveThrottle()
        record(&throttle, successes: 30, failures: 70, at: start)
        let state = throttle.state(now: start)
        #expect(state.requests == 100)
        #expect(state.accepts == 30)
        #expect(abs(state.rejectProbability - 40.0 / 101.0) < 1e-12)
        let justBelow = throttle.shouldAttempt(now: start, random: 0.39)
        #expect(!justBelow)
        let justAbove = throttle.shouldAttempt(now: start, random: 0.40)
        #expect(justAbove)

        // K = 1.5 tolerates fewer failures: (100 − 45) / 101.
        var stricter = AdaptiveThrottle(.init(multiplier: 1.5))
        record(&stricter, successes: 30, failures: 70, at: start)
        #expect(abs(stricter.state(now: start).rejectProbability - 55.0 / 101.0) < 1e-12)

        // Everything failing: 20 / 21.
        var failing = AdaptiveThrottle()
        record(&failing, successes: 0, failures: 20, at: start)
        #expect(abs(failing.state(now: start).rejectProbability - 20.0 / 21.0) < 1e-12)

        // Half accepted with K = 2 is healthy enough: nothing refused.
        var half = AdaptiveThrottle()
        record(&half, successes: 50, failures: 50, at: start)
        #expect(half.state(now: start).rejectProbability == 0)
    }

    @Test func probabilityRisesAsFailuresAccumulate() {
        var throttle = AdaptiveThrottle()
        var previous = 0.0
        for failures in 1...50 {
            throttle.record(success: false, now: start)
            let probability = throttle.state(now: start).rejectProbability
            let expected = failures < 5 ? 0 : Double(failures) / Double(failures + 1)
            #expect(abs(probability - expected) < 1e-12, "after \(failures) failures")
            #expect(probability >= previous)
            previous = probability
        }
    }

    @Test func nothingIsRefusedBelowTheMinimumRequestCount() {
        var throttle = AdaptiveThrottle(.init(minimumRequests: 10))
        record(&throttle, successes: 0, failures: 9, at: start)
        #expect(throttle.state(now: start).rejectProbability == 0)
        let belowMinimum = throttle.shouldAttempt(now: start, random: 0)
        #expect(belowMinimum)
        throttle.record(success: false, now: start)
        #expect(abs(throttle.state(now: start).rejectProbability - 10.0 / 11.0) < 1e-12)
        let atMinimum = throttle.shouldAttempt(now: start, random: 0)
        #expect(!atMinimum)
    }

    @Test func refusalsKeepTheMinimumMetWhileAttemptsLeaveTheWindow() {
        var throttle = AdaptiveThrottle(.init(window: .seconds(10), bucketCount: 10, minimumRequests: 10))
        record(&throttle, successes: 0, failures: 10, at: start)
        for _ in 0..<100 {
            let attempted = throttle.shouldAttempt(now: start + .seconds(5), random: 0)
            #expect(!attempted)
        }
        // The ten failures have left the window, two new ones came in: still refusing
        // (2 / 3), not zero at once as for a quiet dependency with two failures.
        throttle.record(success: false, now: start + .seconds(12))
        throttle.record(success: false, now: start + .seconds(12))
        #expect(abs(throttle.state(now: start + .seconds(12)).rejectProbability - 2.0 / 3.0) < 1e-12)
        // Once the refusals have left too, it is a quiet dependency again.
        #expect(throttle.state(now: start + .seconds(16)).rejectProbability == 0)
    }

    @Test func refusalsAreCountedApartNeverAsRequests() {
        var throttle = AdaptiveThrottle()
        record(&throttle, successes: 0, failures: 20, at: start)
        for _ in 0..<1_000 {
            let attempted = throttle.shouldAttempt(now: start, random: 0)
            #expect(!attempted)
        }
        let state = throttle.state(now: start)
        #expect(state.requests == 20)
        #expect(state.rejected == 1_000)
        #expect(abs(state.rejectProbability - 20.0 / 21.0) < 1e-12, "refusals do not push the probability up")
    }

    @Test func outcomesLeaveTheWindowWithExplicitInstants() {
        // 10 s in 40 buckets of 250 ms, counted from the first instant seen.
        var throttle = AdaptiveThrottle()
        record(&throttle, successes: 0, failures: 10, at: start)
        record(&throttle, successes: 0, failures: 10, at: start + .seconds(5))
        #expect(throttle.state(now: start + .milliseconds(9_999)).requests == 20)
        let halfway = throttle.state(now: start + .seconds(10))
        #expect(halfway.requests == 10, "the first bucket has left the window")
        #expect(abs(halfway.rejectProbability - 10.0 / 11.0) < 1e-12)
        #expect(throttle.state(now: start + .milliseconds(14_999)).requests == 10)
        #expect(throttle.state(now: start + .seconds(15)) == AdaptiveThrottleState(
            requests: 0, accepts: 0, rejected: 0, rejectProbability: 0
        ))
        let afterExpiry = throttle.shouldAttempt(now: start + .seconds(15), random: 0)
        #expect(afterExpiry)

        // A bucket's slot is reused after a full window without its old counts.
        throttle.record(success: false, now: start + .seconds(20))
        #expect(throttle.state(now: start + .seconds(20)).requests == 1)
    }

    @Test func aSlightlyOlderInstantStillCounts() {
        var throttle = AdaptiveThrottle()
        throttle.record(success: false, now: start + .seconds(5))
        throttle.record(success: false, now: start + .milliseconds(4_900))
        // Reading with an older instant does not move the window back.
        #expect(throttle.state(now: start).requests == 2)
        // Older than the whole window: dropped.
        throttle.record(success: false, now: start + .seconds(5) - .seconds(11))
        #expect(throttle.state(now: start + .seconds(5)).requests == 2)
    }

    @Test func decisionsAreDeterministicForTheSameDraws() {
        func run(seed: UInt64) -> [Bool] {
            var random = SeededRandom(seed: seed)
            var throttle = AdaptiveThrottle()
            var decisions: [Bool] = []
            for step in 0..<3_000 {
                let now = start + .milliseconds(Int64(step) * 10)
                let attempted = throttle.shouldAttempt(now: now, random: random.next())
                decisions.append(attempted)
                if attempted { throttle.record(success: random.next() < 0.3, now: now) }
            }
            return decisions
        }
        let first = run(seed: 42)
        #expect(first == run(seed: 42))
        #expect(first.contains(false), "a 30 % success rate is throttled")
        #expect(first != run(seed: 43))
    }

    /// 100 calls a second; the dependency fails every call for 30 s, then is healthy.
    /// The throttle must shed most calls during the outage and let ≥ 95 % of calls through
    /// within 3 s of recovery, in every 1 s slice from then on, for every seed.
    @Test func recoversWithinSecondsAfterAThirtySecondOutage() {
        let outage = 30
        let total = 60
        var worstRecovery = 0
        var worstShedding = 0
        for seed: UInt64 in 0..<50 {
            var random = SeededRandom(seed: seed)
            var throttle = AdaptiveThrottle()
            var attemptedPerSecond = [Int](repeating: 0, count: total)
            for step in 0..<(total * 100) {
                let now = start + .milliseconds(Int64(step) * 10)
                let second = step / 100
                guard throttle.shouldAttempt(now: now, random: random.next()) else { continue }
                attemptedPerSecond[second] += 1
                throttle.record(success: second >= outage, now: now)
            }
            // During the outage, after the first seconds, at most 20 % of calls get through.
            let shedFrom = (0..<outage).first { second in
                (second..<outage).allSatisfy { attemptedPerSecond[$0] <= 20 }
            } ?? outage
            worstShedding = max(worstShedding, shedFrom)
            // After recovery: the first second from which every slice lets ≥ 95 of 100 through.
            let recoveredFrom = (outage..<total).first { second in
                (second..<total).allSatisfy { attemptedPerSecond[$0] >= 95 }
            } ?? total
            worstRecovery = max(worstRecovery, recoveredFrom - outage)
        }
        #expect(worstShedding <= 2, "sheds ≥ 80 % of calls within \(worstShedding) s of the outage")
        #expect(worstRecovery <= 3, "≥ 95 % of calls go through within \(worstRecovery) s of recovery")
    }

    private func record(_ throttle: inout AdaptiveThrottle, successes: Int, failures: Int, at now: ContinuousClock.Instant) {
        for _ in 0..<successes { throttle.record(success: true, now: now) }
        for _ in 0..<failures { throttle.record(success: false, now: now) }
    }
}
