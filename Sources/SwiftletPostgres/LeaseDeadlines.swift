import Synchronization

/// The deadlines of the leases waiting for a pooled connection, and the connections the
/// leased ones hold, watched by one task.
///
/// A timer per lease (a `Task.sleep` armed and cancelled around every query) cost a
/// dispatch timer and a wake of its manager thread per request, about a tenth of a
/// catalogue page's CPU, to guard against a wait that almost never happens. Here a lease
/// only records its deadline under a lock; one watcher looks every `tick` and gives up
/// the leases whose deadline has passed, so a deadline fires at most one tick late.
///
/// Once leased, the entry watches the connection instead. PostgresNIO hands a statement
/// written to a connection whose channel has already closed to nobody, and the caller
/// waits for its answer forever; a connection closed under work that has not returned
/// within `closedConnectionGrace` is declared lost and its caller answered at once
/// (work still talking to a closing connection fails on its own well inside that).
final class LeaseDeadlines: Sendable {
    /// How often the watcher looks. A lease gives up at most this much after its deadline.
    static let tick: Duration = .milliseconds(50)

    private enum Entry {
        /// Waiting for a connection; `giveUp` runs once if `deadline` passes first.
        case waiting(deadline: ContinuousClock.Instant, giveUp: @Sendable () -> Void)
        /// Working with a connection; `lost` runs once if it stays closed for the grace.
        case holding(isClosed: @Sendable () -> Bool, closedSince: ContinuousClock.Instant?, lost: @Sendable () -> Void)
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }

    private let state = Mutex(State())
    let closedConnectionGrace: Duration

    init(closedConnectionGrace: Duration = .seconds(2)) {
        self.closedConnectionGrace = closedConnectionGrace
    }

    /// An identifier for `add` and `hold`, which may come in either order.
    func reserveID() -> UInt64 {
        state.withLock { state in
            state.nextID &+= 1
            return state.nextID
        }
    }

    /// Records a lease waiting until `deadline`; `giveUp` runs once if it passes first.
    /// Nothing changes if the lease already holds its connection.
    func add(_ id: UInt64, until deadline: ContinuousClock.Instant, giveUp: @escaping @Sendable () -> Void) {
        state.withLock { state in
            if state.entries[id] == nil { state.entries[id] = .waiting(deadline: deadline, giveUp: giveUp) }
        }
    }

    /// The lease `id` got its connection: from now on its deadline no longer counts, and
    /// `lost` runs once if `isClosed` stays true for `closedConnectionGrace`.
    func hold(_ id: UInt64, isClosed: @escaping @Sendable () -> Bool, lost: @escaping @Sendable () -> Void) {
        state.withLock { $0.entries[id] = .holding(isClosed: isClosed, closedSince: nil, lost: lost) }
    }

    /// The lease with `id` is over (its caller has its answer).
    func remove(_ id: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Gives up every waiting lease whose deadline is at or before `now`, and declares
    /// lost every held connection closed for the grace; returns how many.
    @discardableResult
    func expire(now: ContinuousClock.Instant) -> Int {
        let due: [@Sendable () -> Void] = state.withLock { state in
            guard !state.entries.isEmpty else { return [] }
            var due: [@Sendable () -> Void] = []
            for (id, entry) in state.entries {
                switch entry {
                case .waiting(let deadline, let giveUp):
                    guard deadline <= now else { continue }
                    due.append(giveUp)
                    state.entries[id] = nil
                case .holding(let isClosed, let closedSince, let lost):
                    guard isClosed() else {
                        if closedSince != nil { state.entries[id] = .holding(isClosed: isClosed, closedSince: nil, lost: lost) }
                        continue
                    }
                    guard let closedSince else {
                        state.entries[id] = .holding(isClosed: isClosed, closedSince: now, lost: lost)
                        continue
                    }
                    guard closedSince.duration(to: now) >= closedConnectionGrace else { continue }
                    due.append(lost)
                    state.entries[id] = nil
                }
            }
            return due
        }
        for action in due { action() }
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
