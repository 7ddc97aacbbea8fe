import SwiftletResilience
import Testing

@Suite("Retry budget")
struct RetryBudgetTests {
    let start = ContinuousClock.now

    /// 100 calls a second for 60 s, every call and every retry failing, each call wanting
    /// up to 3 retries: retries stay within 10 % of calls plus the minimum at every
    /// instant, and over the whole run; without a budget they would be 300 %.
    @Test func sustainedFailureKeepsRetriesWithinTenPercentOfCalls() {
        var budget = RetryBudget()
        var calls = 0
        var retries = 0
        for step in 0..<6_000 {
            let now = start + .milliseconds(Int64(step) * 10)
            budget.recordCall(now: now)
            calls += 1
            for _ in 0..<3 {
                guard budget.canRetry(now: now) else { break }
                retries += 1
            }
            let state = budget.state(now: now)
            #expect(state.retries <= state.calls / 10 + 10, "at \(step * 10) ms: \(state)")
            if state.retries > state.calls / 10 + 10 { return }
        }
        // Six windows of 10 s, each allowing 10 % of its calls and 10 more (1 a second);
        // the budget's window slides, so allow the first window's minimum once more.
        #expect(retries <= calls / 10 + 6 * 10 + 10, "\(retries) retries for \(calls) calls")
        #expect(retries >= calls / 10, "the budget is spent, not withheld: \(retries) for \(calls) calls")
    }

    @Test func fewCallsStillGetTheMinimum() {
        // 1 retry a second over 10 s: 10 retries a window, whatever the traffic.
        var budget = RetryBudget()
        budget.recordCall(now: start)
        budget.recordCall(now: start + .seconds(1))
        var granted = 0
        while budget.canRetry(now: start + .seconds(2)) { granted += 1 }
        #expect(granted == 10)
        #expect(budget.state(now: start + .seconds(2)) == RetryBudgetState(calls: 2, retries: 10, allowance: 10))

        // With no minimum, two calls earn no whole retry.
        var strict = RetryBudget(.init(minimumPerSecond: 0))
        strict.recordCall(now: start)
        strict.recordCall(now: start)
        let withoutMinimum = strict.canRetry(now: start)
        #expect(!withoutMinimum)
    }

    @Test func theRatioScalesWithCalls() {
        var budget = RetryBudget(.init(ratio: 0.1, minimumPerSecond: 0))
        for _ in 0..<250 { budget.recordCall(now: start) }
        var granted = 0
        while budget.canRetry(now: start) { granted += 1 }
        #expect(granted == 25)
        budget.recordCall(now: start)
        let afterOneCall = budget.canRetry(now: start)
        #expect(!afterOneCall, "251 calls still earn 25 retries")
        for _ in 0..<9 { budget.recordCall(now: start) }
        let afterTenCalls = budget.canRetry(now: start)
        #expect(afterTenCalls, "260 calls earn a 26th")
    }

    @Test func spentRetriesAndCallsLeaveTheWindowWithExplicitInstants() {
        // 10 s in 10 buckets of 1 s, counted from the first instant seen.
        var budget = RetryBudget(.init(minimumPerSecond: 0.5))
        for _ in 0..<100 { budget.recordCall(now: start) }
        var granted = 0
        while budget.canRetry(now: start + .milliseconds(500)) { granted += 1 }
        #expect(granted == 15, "10 % of 100 calls and 5 for the minimum")

        let stillSpent = budget.canRetry(now: start + .milliseconds(9_999))
        #expect(!stillSpent)
        #expect(budget.state(now: start + .milliseconds(9_999)) == RetryBudgetState(calls: 100, retries: 15, allowance: 15))

        // The first second's calls and retries leave together: only the minimum remains.
        #expect(budget.state(now: start + .seconds(10)) == RetryBudgetState(calls: 0, retries: 0, allowance: 5))
        var later = 0
        while budget.canRetry(now: start + .seconds(10)) { later += 1 }
        #expect(later == 5)
    }

    @Test func aGrantNeverTakesTheWindowPastItsAllowanceUnderRandomTraffic() {
        var random = AdaptiveThrottleTests.SeededRandom(seed: 11)
        for _ in 0..<20 {
            var budget = RetryBudget()
            var now = start
            for _ in 0..<3_000 {
                now += .milliseconds(Int64(random.next() * 50))
                if random.next() < 0.7 { budget.recordCall(now: now) }
                if random.next() < 0.5 {
                    let before = budget.state(now: now)
                    let granted = budget.canRetry(now: now)
                    #expect(granted == (before.retries < before.allowance))
                    // A grant never takes the window past its allowance. (Without a grant
                    // the window may sit above it for a while: calls that earned retries
                    // can leave the window before the retries they paid for.)
                    let after = budget.state(now: now)
                    #expect(after.retries == before.retries + (granted ? 1 : 0))
                    if granted { #expect(after.retries <= after.allowance) }
                }
            }
        }
    }
}
