import Synchronization
import SwiftletResilience

/// A time source for breakers that moves only when a test moves it, so outages and
/// recoveries of seconds or minutes run in milliseconds and never sleep.
final class ManualResilienceClock: Sendable {
    private let current = Mutex(ContinuousClock.now)

    var now: ResilienceInstant { current.withLock { $0 } }

    /// The closure breakers take.
    var source: @Sendable () -> ResilienceInstant { { self.now } }

    func advance(by duration: Duration) {
        current.withLock { $0 += duration }
    }
}

/// Uniform draws in `0..<1` from a seeded SplitMix64, shareable between tasks, so the
/// admission decisions of a breaker repeat exactly from run to run.
final class SeededDraws: Sendable {
    private let state: Mutex<UInt64>

    init(seed: UInt64) {
        state = Mutex(seed)
    }

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

    /// The closure breakers take.
    var source: @Sendable () -> Double { { self.next() } }
}

/// Collects a breaker's state changes, in order.
final class BreakerChanges: Sendable {
    private let changes = Mutex<[(at: ResilienceInstant, change: DependencyBreakerChange)]>([])
    private let clock: ManualResilienceClock

    init(clock: ManualResilienceClock) {
        self.clock = clock
    }

    var all: [DependencyBreakerChange] { changes.withLock { $0.map(\.change) } }

    /// The instants of the changes, with them.
    var timed: [(at: ResilienceInstant, change: DependencyBreakerChange)] { changes.withLock { $0 } }

    var sink: @Sendable (DependencyBreakerChange) -> Void {
        { change in
            let at = self.clock.now
            self.changes.withLock { $0.append((at, change)) }
        }
    }
}
