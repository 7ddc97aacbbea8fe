import Synchronization
import SwiftletResilience
import Testing

@Suite("Dependency breaker")
struct DependencyBreakerTests {
    struct Failure: Error {}
    struct Refused: Error {}

    /// Admits one call and records `outcome` for it; false when it was refused.
    @discardableResult
    static func call(_ breaker: DependencyBreaker, _ outcome: DependencyOutcome, _ kind: DependencyCall = .first) -> Bool {
        guard let ticket = try? breaker.admit(kind) else { return false }
        breaker.record(outcome, for: ticket)
        return true
    }

    static func refusal(_ breaker: DependencyBreaker) -> DependencyRefusal? {
        do {
            let ticket = try breaker.admit()
            breaker.abandon(ticket)
            return nil
        } catch {
            return error
        }
    }

    @Test func refusesWhileFailingAndReportsEachChangeOnce() {
        let clock = ManualResilienceClock()
        let changes = BreakerChanges(clock: clock)
        // A draw of 0.5: refused whenever the reject probability is above one half.
        let breaker = DependencyBreaker(name: "wechat", now: clock.source, random: { 0.5 }, onChange: changes.sink)
        for _ in 0..<5 {
            #expect(Self.call(breaker, .failed))
        }
        // Five failures and no accept: 5 / 6.
        #expect(Self.refusal(breaker) == DependencyRefusal(dependency: "wechat", rejectProbability: 5.0 / 6.0))
        for _ in 0..<50 { #expect(Self.refusal(breaker) != nil) }
        #expect(changes.all == [.startedRefusing(.init(dependency: "wechat", rejectProbability: 5.0 / 6.0, requests: 5, accepts: 0))])
        var snapshot = breaker.snapshot()
        #expect(snapshot.requests == 5 && snapshot.accepts == 0 && snapshot.refusals == 51)
        #expect(snapshot.isRefusing && snapshot.totals.failures == 5 && snapshot.totals.refusals == 51)

        // The failures leave the window: the next call goes through and the end is reported once.
        clock.advance(by: .seconds(11))
        #expect(Self.call(breaker, .accepted))
        #expect(Self.refusal(breaker) == nil)
        #expect(changes.all.count == 2)
        #expect(changes.all.last == .stoppedRefusing(.init(dependency: "wechat", refusedFor: .seconds(11), refusals: 51)))
        snapshot = breaker.snapshot()
        #expect(!snapshot.isRefusing && snapshot.rejectProbability == 0 && snapshot.requests == 1 && snapshot.inFlight == 0)
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
        #expect(snapshot.requests == 0 && snapshot.rejectProbability == 0 && snapshot.inFlight == 0)
    }

    @Test func retriesStayWithinATenthOfFirstCalls() {
        let clock = ManualResilienceClock()
        let breaker = DependencyBreaker(
            name: "wechat", configuration: .init(retryBudget: .init(minimumPerSecond: 0)), now: clock.source, random: { 0.99 })
        for _ in 0..<200 {
            #expect(Self.call(breaker, .accepted))
        }
        var granted = 0
        for _ in 0..<100 where breaker.grantRetry() {
            granted += 1
            // A retry goes through the throttle but earns no budget of its own.
            #expect(Self.call(breaker, .accepted, .retry))
        }
        #expect(granted == 20)
        let snapshot = breaker.snapshot()
        #expect(snapshot.retryBudget == RetryBudgetState(calls: 200, retries: 20, allowance: 20))
        #expect(snapshot.totals.retries == 20 && snapshot.totals.retriesDenied == 80)
        // Refused first calls are not calls either: they earn nothing.
        let refusing = DependencyBreaker(
            name: "wechat", configuration: .init(retryBudget: .init(minimumPerSecond: 0)), now: clock.source, random: { 0 })
        for _ in 0..<10 { Self.call(refusing, .failed) }
        for _ in 0..<100 { _ = Self.refusal(refusing) }
        #expect(refusing.snapshot().retryBudget.calls == 5, "the five admitted before it refused")
    }

    @Test func callsWaitingPastTheOverdueLimitCountBeforeTheyTimeOut() {
        let clock = ManualResilienceClock()
        let changes = BreakerChanges(clock: clock)
        let breaker = DependencyBreaker(name: "wechatpay", now: clock.source, random: { 0.4 }, onChange: changes.sink)
        // A healthy window: 20 answered calls.
        for _ in 0..<20 { Self.call(breaker, .accepted) }
        // Then the dependency hangs: 60 calls are admitted and none answers.
        var hanging: [DependencyTicket] = []
        for _ in 0..<60 {
            clock.advance(by: .milliseconds(10))
            if let ticket = try? breaker.admit() { hanging.append(ticket) }
        }
        #expect(hanging.count == 60, "calls waiting less than the limit count for nothing yet")
        #expect(breaker.snapshot().inFlight == 60 && breaker.snapshot().overdue == 0)

        // Past the limit they count as requests not accepted, (20 + 60 − 2 × 20) / 81,
        // and calls are refused although no timeout has fired.
        clock.advance(by: .milliseconds(2_100))
        let snapshot = breaker.snapshot()
        #expect(snapshot.overdue == 60 && snapshot.totals.failures == 0)
        #expect(abs(snapshot.rejectProbability - 40.0 / 81.0) < 1e-9)
        #expect(Self.refusal(breaker) != nil)
        #expect(changes.all.count == 1)

        // The hanging calls end (their timeouts): their failures take their place.
        for ticket in hanging { breaker.record(.failed, for: ticket) }
        let after = breaker.snapshot()
        #expect(after.requests == 80 && after.accepts == 20 && after.inFlight == 0 && after.overdue == 0)
        #expect(abs(after.rejectProbability - 40.0 / 81.0) < 1e-9)
    }

    @Test func eachKeyHasItsOwnBreakerAndTheTableStaysBounded() {
        let clock = ManualResilienceClock()
        let changes = BreakerChanges(clock: clock)
        let map = DependencyBreakerMap(prefix: "webhook", capacity: 8, now: clock.source, random: { 0.5 }, onChange: changes.sink)
        let failing = map.breaker(for: "wh_ep_down")
        for _ in 0..<10 { Self.call(failing, .failed) }
        #expect(Self.refusal(map.breaker(for: "wh_ep_down")) != nil)
        #expect(Self.refusal(map.breaker(for: "wh_ep_up")) == nil, "another endpoint is not throttled")
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
