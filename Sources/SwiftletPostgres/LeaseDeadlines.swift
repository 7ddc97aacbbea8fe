import Synchronization

/// The deadlines of the leases waiting for a pooled connection, watched by one task.
///
/// A timer per lease (a `Task.sleep` armed and cancelled around every query) cost a
/// dispatch timer and a wake of its manager thread per request, about a tenth of a
/// catalogue page's CPU, to guard against a wait that almost never happens. Here a lease
/// only records its deadline under a lock; one watcher looks every `tick` and gives up
/// the leases whose deadline has passed, so a deadline fires at most one tick late.
final class LeaseDeadlines: Sendable {
    /// How often the watcher looks. A lease gives up at most this much after its deadline.
    static let tick: Duration = .milliseconds(50)

    private struct Waiting {
        var deadline: ContinuousClock.Instant
        var giveUp: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var waiting: [UInt64: Waiting] = [:]
    }

    private let state = Mutex(State())

    /// Records a lease waiting until `deadline`; `giveUp` runs once if it passes first.
    func add(until deadline: ContinuousClock.Instant, giveUp: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLock { state in
            state.nextID &+= 1
            state.waiting[state.nextID] = Waiting(deadline: deadline, giveUp: giveUp)
            return state.nextID
        }
    }

    /// The lease with `id` no longer waits (it got its connection, or gave up).
    func remove(_ id: UInt64) {
        _ = state.withLock { $0.waiting.removeValue(forKey: id) }
    }

    /// Gives up every lease whose deadline is at or before `now`; returns how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant) -> Int {
        let due: [Waiting] = state.withLock { state in
            guard !state.waiting.isEmpty else { return [] }
            var due: [Waiting] = []
            state.waiting = state.waiting.filter { _, waiting in
                guard waiting.deadline <= now else { return true }
                due.append(waiting)
                return false
            }
            return due
        }
        for waiting in due { waiting.giveUp() }
        return due.count
    }

    /// Looks every `tick` until cancelled (the storage's shutdown).
    func watch() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.tick)
            expire(now: .now)
        }
    }
}
