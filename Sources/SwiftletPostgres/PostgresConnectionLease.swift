import PostgresNIO
import Synchronization

/// Leases a pooled connection, giving up after a deadline.
///
/// `PostgresClient` queues a request while every connection is busy or while it cannot
/// connect at all, and only fails it once its circuit breaker trips (a minute after the
/// first failed attempt). A request waiting that long is worse than a quick
/// `storage.unavailable`, so the wait for a connection (never the work done with it) is
/// bounded here.
///
/// The lease runs in a task of its own and the caller waits on whichever comes first,
/// the connection or the deadline, without waiting for the other: the pool's own
/// cancellation of a queued request can lose a race with the request's enqueueing, and a
/// structured child left waiting in the queue would hold the caller until the database
/// came back. A lease that arrives after the deadline is handed back unused. The
/// deadline is watched by the storage's one `LeaseDeadlines`, not a timer per lease.
///
/// The same watcher then keeps an eye on the leased connection: a statement written to a
/// connection that closed under it (a database restart, a cut network) can wait forever
/// in PostgresNIO, so work whose connection has been closed for the grace is abandoned
/// and its caller told the database is out of reach.
enum PostgresConnectionLease {
    /// Thrown when no connection was handed out in time, or the pool refused to lease.
    struct NotLeased: Error {}

    /// Thrown when the leased connection closed and the work on it did not return.
    struct ConnectionLost: Error {}

    static func with<T: Sendable>(
        _ client: PostgresClient, timeout: Duration, deadlines: LeaseDeadlines,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let state = LeaseState()
        let outcome = LeaseOutcome<T>()
        let id = deadlines.reserveID()
        let lease = Task {
            do {
                let value = try await client.withConnection { connection in
                    guard state.claim(.leased) else { throw NotLeased() }
                    deadlines.hold(id, isClosed: { connection.isClosed }, lost: { outcome.resume(.failure(ConnectionLost())) })
                    return try await body(connection)
                }
                outcome.resume(.success(value))
            } catch {
                outcome.resume(.failure(error))
            }
        }
        deadlines.add(id, until: .now.advanced(by: timeout)) {
            if state.claim(.gaveUp) {
                lease.cancel()
                outcome.resume(.failure(NotLeased()))
            }
        }
        defer { deadlines.remove(id) }
        do {
            return try await withTaskCancellationHandler {
                try await outcome.value()
            } onCancel: {
                // A caller cancelled while still waiting for a connection stops waiting; once
                // leased, the work runs to completion (a transaction is never cut halfway).
                if state.claim(.gaveUp) {
                    lease.cancel()
                    outcome.resume(.failure(CancellationError()))
                }
            }
        } catch {
            // Whatever stopped the lease (deadline, pool shut down, breaker open) means
            // the database is out of reach for now; errors from the body are its own.
            // A caller that was cancelled (a stopped job, shutdown) is told so, not that the
            // database is down.
            if !state.isLeased {
                if Task.isCancelled { throw CancellationError() }
                throw NotLeased()
            }
            throw error
        }
    }
}

/// Waiting, leased (the body runs to completion), or given up (the lease, if it still
/// comes, is returned unused). Shared by the lease, the deadline and the caller.
private final class LeaseState: Sendable {
    enum Outcome: UInt8 {
        case leased = 1
        case gaveUp = 2
    }

    private let value = Atomic<UInt8>(0)

    /// Moves from waiting to `outcome`; false if something else decided first.
    func claim(_ outcome: Outcome) -> Bool {
        value.compareExchange(expected: 0, desired: outcome.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    var isLeased: Bool { value.load(ordering: .acquiring) == Outcome.leased.rawValue }
}

/// The result the caller waits for, set once by whichever side decides.
private final class LeaseOutcome<T: Sendable>: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<T, any Error>)
        case done(Result<T, any Error>)
    }

    private let state = Mutex<State>(.pending)

    func resume(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            switch state {
            case .pending:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .done(result)
                return continuation
            case .done:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLock { state in
                switch state {
                case .pending:
                    state = .waiting(continuation)
                    return nil
                case .done(let result):
                    return result
                case .waiting:
                    preconditionFailure("one caller waits for a lease")
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
