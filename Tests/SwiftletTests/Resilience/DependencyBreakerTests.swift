import Synchronization
import SwiftletResilience
import Testing

@Suite("Dependency breaker")
struct DependencyBreakerTests {
    struct Failure: Error {}
    struct Refused: Error {}

    @Test func refusesWhileFailingAndReportsEachChangeOnce() {
        let clock = ManualResilienceClock()
        let changes = BreakerChanges(clock: clock)
        // A draw of 0.5: refused whenever the reject probability is above one half.
        let breaker = DependencyBreaker(name: "wechat", now: clock.source, random: { 0.5 }, onChange: changes.sink)
        for _ in 0..<5 {
            #expect(breaker.admit() == nil)
            breaker.record(.failed)
        }
        // Five failures and no accept: 5 / 6.
        let refusal = breaker.admit()
        #expect(refusal == DependencyRefusal(dependency: "wechat", rejectProbability: 5.0 / 6.0))
        for _ in 0..<50 { #expect(breaker.admit() != nil) }
        #expect(changes.all == [.startedRefusing(.init(dependency: "wechat", rejectProbability: 5.0 / 6.0, requests: 5, accepts: 0))])
        var snapshot = breaker.snapshot()
        #expect(snapshot.requests == 5 && snapshot.accepts == 0 && snapshot.refusals == 51)
        #expect(snapshot.isRefusing && snapshot.totals.failures == 5 && snapshot.totals.refusals == 51)

        // The failures leave the window: the next call goes through and the end is reported once.
        clock.advance(by: .seconds(11))
        #expect(breaker.admit() == nil)
        breaker.record(.accepted)
        #expect(breaker.admit() == nil)
        #expect(changes.all.count == 2)
        #expect(changes.all.last == .stoppedRefusing(.init(dependency: "wechat", refusedFor: .seconds(11), refusals: 51)))
        snapshot = breaker.snapshot()
        #expect(!snapshot.isRefusing && snapshot.rejectProbability == 0 && snapshot.requests == 1)
        #expect(snapshot.totals == {
            var totals = DependencyBreakerTotals()
            totals.accepts = 1
            totals.failures = 5
            totals.refusals = 51
            return totals
        }())
    }

    @Test func answersThatRefuseTheRequestNeverTripIt() async throws {
        let clock = ManualResilienceClock()
        let breaker = DependencyBreaker(name: "wechatpay", now: clock.source, random: { 0 })
        // 200 business refusals (an unknown order, an invalid code): the strictest draw still passes.
        for _ in 0..<200 {
            await #expect(throws: Failure.self) {
                try await breaker.run(refused: { _ in Refused() }, isFailure: { _ in false }) { throw Failure() }
            }
        }
        let snapshot = breaker.snapshot()
        #expect(snapshot.rejectProbability == 0 && snapshot.accepts == 200 && snapshot.totals.refusals == 0)
    }

    @Test func aRefusedCallIsNeverRunAndFailsWithTheCallersError() async throws {
        let clock = ManualResilienceClock()
        let breaker = DependencyBreaker(name: "wechat", now: clock.source, random: { 0 })
        for _ in 0..<5 {
            await #expect(throws: Failure.self) {
                try await breaker.run(refused: { _ in Refused() }, isFailure: { _ in true }) { throw Failure() }
            }
        }
        let ran = RanFlag()
        await #expect(throws: Refused.self) {
            try await breaker.run(refused: { _ in Refused() }, isFailure: { _ in true }) { ran.set() }
        }
        #expect(!ran.value)
    }

    @Test func callsCutShortByCancellationAreNotCounted() async throws {
        let clock = ManualResilienceClock()
        let breaker = DependencyBreaker(name: "webhook:a", now: clock.source, random: { 0 })
        for _ in 0..<20 {
            await #expect(throws: CancellationError.self) {
                try await breaker.run(refused: { _ in Refused() }, isFailure: { _ in true }) { throw CancellationError() }
            }
        }
        let snapshot = breaker.snapshot()
        #expect(snapshot.requests == 0 && snapshot.rejectProbability == 0)
    }

    @Test func retriesStayWithinATenthOfFirstCalls() {
        let clock = ManualResilienceClock()
        let breaker = DependencyBreaker(
            name: "wechat", configuration: .init(retryBudget: .init(minimumPerSecond: 0)), now: clock.source, random: { 0.99 })
        for _ in 0..<200 {
            #expect(breaker.admit(.first) == nil)
            breaker.record(.accepted)
        }
        var granted = 0
        for _ in 0..<100 where breaker.grantRetry() {
            granted += 1
            // A retry goes through the throttle but earns no budget of its own.
            #expect(breaker.admit(.retry) == nil)
            breaker.record(.accepted)
        }
        #expect(granted == 20)
        let snapshot = breaker.snapshot()
        #expect(snapshot.retryBudget == RetryBudgetState(calls: 200, retries: 20, allowance: 20))
        #expect(snapshot.totals.retries == 20 && snapshot.totals.retriesDenied == 80)
        // Refused first calls are not calls either: they earn nothing.
        let refusing = DependencyBreaker(
            name: "wechat", configuration: .init(retryBudget: .init(minimumPerSecond: 0)), now: clock.source, random: { 0 })
        for _ in 0..<10 {
            _ = refusing.admit()
            refusing.record(.failed)
        }
        for _ in 0..<100 { _ = refusing.admit() }
        #expect(refusing.snapshot().retryBudget.calls == 5, "the five admitted before it refused")
    }

    @Test func eachKeyHasItsOwnBreakerAndTheTableStaysBounded() {
        let clock = ManualResilienceClock()
        let changes = BreakerChanges(clock: clock)
        let map = DependencyBreakerMap(prefix: "webhook", capacity: 8, now: clock.source, random: { 0.5 }, onChange: changes.sink)
        let failing = map.breaker(for: "wh_ep_down")
        for _ in 0..<10 {
            _ = failing.admit()
            failing.record(.failed)
        }
        #expect(map.breaker(for: "wh_ep_down").admit() != nil)
        #expect(map.breaker(for: "wh_ep_up").admit() == nil, "another endpoint is not throttled")
        #expect(changes.all.count == 1)
        if case .startedRefusing(let started) = changes.all.first {
            #expect(started.dependency == "webhook:wh_ep_down")
        }

        for index in 0..<1_000 { _ = map.breaker(for: "wh_ep_\(index)") }
        #expect(map.count == 8)
        // The failing endpoint was the least recently used: dropped, it starts clean.
        #expect(map.breaker(for: "wh_ep_down").snapshot().requests == 0)
        #expect(map.snapshots().count == 8)
        #expect(map.snapshots().allSatisfy { $0.dependency.hasPrefix("webhook:wh_ep_") })
    }
}

/// Whether a closure ran.
private final class RanFlag: Sendable {
    private let ran = Mutex(false)
    var value: Bool { ran.withLock { $0 } }
    func set() { ran.withLock { $0 = true } }
}
