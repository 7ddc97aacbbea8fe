import Synchronization
import SwiftletResilience

// swiftlet-breaker-bench (bench/breaker.sh): how long a breaker takes to stop calling a
// dead dependency and to resume once it is back, measured on the real `DependencyBreaker`
// in a deterministic simulation — virtual time, seeded draws, calls at a steady rate — so
// the figures repeat exactly and do not depend on this machine's load. Beside it, the
// same throttle counting its own refusals as failed requests (the SRE book's formula as
// go-zero's googlebreaker applies it, K = 1.5), whose slow recovery is go-zero #4101.

/// Virtual time for the breakers: moves only when the simulation moves it.
final class VirtualClock: Sendable {
    let origin = ContinuousClock.now
    private let offset = Mutex(Duration.zero)

    var elapsed: Duration { offset.withLock { $0 } }
    var now: ResilienceInstant { origin + elapsed }

    func set(_ elapsed: Duration) {
        offset.withLock { $0 = elapsed }
    }
}

/// SplitMix64 draws in `0..<1`.
final class Draws: Sendable {
    private let state: Mutex<UInt64>

    init(seed: UInt64) { state = Mutex(seed) }

    func next() -> Double {
        state.withLock { state in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476C_E484_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(UInt64(1) << 53)
        }
    }
}

/// How the dependency fails during the outage.
enum Failure {
    /// At once: connection refused, WeChat -1, a 5xx.
    case fast
    /// After the caller's timeout: no answer.
    case hanging(timeout: Duration)
}

/// One guard under test: admit, then record the outcome at the call's end.
protocol Guard {
    associatedtype Ticket
    mutating func admit(at now: Duration) -> Ticket?
    mutating func record(success: Bool, for ticket: Ticket, at now: Duration)
    /// Whether nothing would be refused now.
    func isOpen(at now: Duration) -> Bool
}

/// Swiftlet's `DependencyBreaker`.
struct SwiftletGuard: Guard {
    let clock: VirtualClock
    let breaker: DependencyBreaker

    init(configuration: DependencyBreaker.Configuration, seed: UInt64) {
        let clock = VirtualClock()
        let draws = Draws(seed: seed)
        self.clock = clock
        breaker = DependencyBreaker(
            name: "bench", configuration: configuration, now: { clock.now }, random: { draws.next() })
    }

    mutating func admit(at now: Duration) -> DependencyTicket? {
        clock.set(now)
        return try? breaker.admit()
    }

    mutating func record(success: Bool, for ticket: DependencyTicket, at now: Duration) {
        clock.set(now)
        breaker.record(success ? .accepted : .failed, for: ticket)
    }

    func isOpen(at now: Duration) -> Bool {
        clock.set(now)
        return breaker.snapshot().rejectProbability == 0
    }
}

/// The same throttle with every refusal counted as a failed request.
struct RefusalsCountedGuard: Guard {
    let origin = ContinuousClock.now
    var throttle = AdaptiveThrottle(.init(multiplier: 1.5))
    let draws: Draws

    init(seed: UInt64) { draws = Draws(seed: seed) }

    mutating func admit(at now: Duration) -> Void? {
        let instant = origin + now
        guard throttle.shouldAttempt(now: instant, random: draws.next()) else {
            throttle.record(success: false, now: instant)
            return nil
        }
        return ()
    }

    mutating func record(success: Bool, for ticket: Void, at now: Duration) {
        throttle.record(success: success, now: origin + now)
    }

    func isOpen(at now: Duration) -> Bool {
        throttle.state(now: origin + now).rejectProbability == 0
    }
}

struct Scenario {
    var rate: Int
    var outage: Duration
    var failure: Failure
    /// Healthy traffic before the outage, so the window is full of successes.
    var warmUp: Duration = .seconds(20)
    /// How long to follow the recovery.
    var followUp: Duration = .seconds(600)
}

struct Result {
    /// From the outage's start to the first instant when ≥ 90 % of the last second's calls were refused.
    var stop: Duration?
    /// Calls reaching the dead dependency per second over the outage's second half, and their share of the offered calls.
    var probesPerSecond: Double
    var probeShare: Double
    /// Calls in flight at most during the outage (they each wait the timeout when it hangs).
    var peakInFlight: Int
    /// From the recovery to the first instant when nothing is refused any more.
    var resume: Duration?
}

func simulate<G: Guard>(_ scenario: Scenario, guard initial: G) -> Result {
    var guardUnderTest = initial
    let interval = Duration.nanoseconds(1_000_000_000 / Int64(scenario.rate))
    let outageStart = scenario.warmUp
    let outageEnd = outageStart + scenario.outage
    let end = outageEnd + scenario.followUp
    let healthyLatency = Duration.milliseconds(20)
    // Calls in flight, as (end, success, ticket); with one latency per phase they end in order.
    var inFlight: [(end: Duration, success: Bool, ticket: G.Ticket)] = []
    var inFlightHead = 0
    var lastSecond: [(at: Duration, refused: Bool)] = []
    var lastSecondHead = 0
    var refusedInLastSecond = 0
    var result = Result(stop: nil, probesPerSecond: 0, probeShare: 0, peakInFlight: 0, resume: nil)
    var probes = 0
    var offeredInSecondHalf = 0
    let secondHalf = outageStart + scenario.outage / 2

    var now = Duration.zero
    while now < end {
        while inFlightHead < inFlight.count, inFlight[inFlightHead].end <= now {
            let ending = inFlight[inFlightHead]
            guardUnderTest.record(success: ending.success, for: ending.ticket, at: ending.end)
            inFlightHead += 1
        }
        if inFlightHead > 4_096 {
            inFlight.removeFirst(inFlightHead)
            inFlightHead = 0
        }
        let down = now >= outageStart && now < outageEnd
        let ticket = guardUnderTest.admit(at: now)
        let admitted = ticket != nil
        if let ticket {
            switch (down, scenario.failure) {
            case (false, _): inFlight.append((now + healthyLatency, true, ticket))
            case (true, .fast): inFlight.append((now + .milliseconds(1), false, ticket))
            case (true, .hanging(let timeout)): inFlight.append((now + timeout, false, ticket))
            }
        }
        if down {
            result.peakInFlight = max(result.peakInFlight, inFlight.count - inFlightHead)
            if now >= secondHalf {
                offeredInSecondHalf += 1
                if admitted { probes += 1 }
            }
            lastSecond.append((now, !admitted))
            if !admitted { refusedInLastSecond += 1 }
            while lastSecond[lastSecondHead].at <= now - .seconds(1) {
                if lastSecond[lastSecondHead].refused { refusedInLastSecond -= 1 }
                lastSecondHead += 1
            }
            let counted = lastSecond.count - lastSecondHead
            if result.stop == nil, now - outageStart >= .seconds(1), Double(refusedInLastSecond) >= 0.9 * Double(counted) {
                result.stop = now - outageStart
            }
        } else if now >= outageEnd, result.resume == nil, guardUnderTest.isOpen(at: now) {
            result.resume = now - outageEnd
        }
        now += interval
    }
    let secondHalfSeconds = Double((scenario.outage / 2).components.seconds)
    result.probesPerSecond = Double(probes) / secondHalfSeconds
    result.probeShare = Double(probes) / Double(max(1, offeredInSecondHalf))
    return result
}

func seconds(_ duration: Duration?) -> String {
    guard let duration else { return "not within the run" }
    let (whole, attoseconds) = duration.components
    let value = Double(whole) + Double(attoseconds) / 1e18
    return value < 10 ? String(format1(value)) : String(Int(value.rounded()))
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}

func percent(_ share: Double) -> String {
    let tenths = Int((share * 1000).rounded())
    return "\(tenths / 10).\(tenths % 10) %"
}

// `WeChatClient.breakerConfiguration` and `WebhookEndpointBreakers.configuration`, repeated
// so the bench builds on the resilience module alone.
let wechat = DependencyBreaker.Configuration(retryBudget: .init(minimumPerSecond: 3))
let webhook = DependencyBreaker.Configuration(throttle: .init(minimumRequests: 10))
// Each scenario: 20 s of healthy traffic (the window full of answers), the outage, then 600 s.

print("### Dead dependency (fails at once): Swiftlet's breaker beside the throttle counting its refusals as failures")
print("")
print("| calls/s | outage | Swiftlet: 90 % refused after (s) | probes reaching it /s (share) | back to no refusal after (s) | refusals counted, K 1.5: 90 % refused after (s) | back to no refusal after (s) |")
print("|---|---|---|---|---|---|---|")
for rate in [10, 100, 1_000] {
    for outage in [Duration.seconds(30), .seconds(300)] {
        let scenario = Scenario(rate: rate, outage: outage, failure: .fast)
        let ours = simulate(scenario, guard: SwiftletGuard(configuration: wechat, seed: 42))
        let counted = simulate(scenario, guard: RefusalsCountedGuard(seed: 42))
        print("| \(rate) | \(seconds(outage)) s | \(seconds(ours.stop)) | \(format1(ours.probesPerSecond)) (\(percent(ours.probeShare))) | \(seconds(ours.resume)) | \(seconds(counted.stop)) | \(seconds(counted.resume)) |")
    }
}

print("")
print("### Hanging dependency (no answer until the caller's timeout), 60 s outage")
print("")
print("| calls/s | timeout | breaker | 90 % refused after (s) | most calls waiting at once | probes reaching it /s (share) | back to no refusal after (s) |")
print("|---|---|---|---|---|---|---|")
let notCountingWaiting = DependencyBreaker.Configuration(retryBudget: .init(minimumPerSecond: 3), overdueAfter: .seconds(3_600))
for (rate, timeout) in [(10, Duration.seconds(5)), (100, .seconds(5)), (100, .seconds(15))] {
    let scenario = Scenario(rate: rate, outage: .seconds(60), failure: .hanging(timeout: timeout))
    let breakers = [
        ("WeChat's", wechat), ("a webhook endpoint's", webhook), ("calls waiting not counted", notCountingWaiting),
    ]
    for (name, configuration) in breakers {
        let result = simulate(scenario, guard: SwiftletGuard(configuration: configuration, seed: 42))
        print("| \(rate) | \(seconds(timeout)) s | \(name) | \(seconds(result.stop)) | \(result.peakInFlight) | \(format1(result.probesPerSecond)) (\(percent(result.probeShare))) | \(seconds(result.resume)) |")
    }
}

print("")
print("### Retry budget: every call answered with a stale token (40001) wants one immediate retry, for 60 s")
print("")
print("| calls/s | budget | retries granted per call |")
print("|---|---|---|")
for rate in [10, 100, 1_000] {
    for (name, configuration) in [("10 % + 3/s (WeChat)", wechat), ("10 % + 1/s (default)", DependencyBreaker.Configuration())] {
        let clock = VirtualClock()
        let breaker = DependencyBreaker(name: "bench", configuration: configuration, now: { clock.now }, random: { 0.5 })
        let calls = rate * 60
        var retries = 0
        for index in 0..<calls {
            clock.set(.nanoseconds(Int64(index) * 1_000_000_000 / Int64(rate)))
            guard let first = try? breaker.admit() else { continue }
            breaker.record(.accepted, for: first)
            if breaker.grantRetry(), let retry = try? breaker.admit(.retry) {
                breaker.record(.accepted, for: retry)
                retries += 1
            }
        }
        print("| \(rate) | \(name) | \(percent(Double(retries) / Double(calls))) |")
    }
}
