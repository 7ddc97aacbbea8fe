import PostgresNIO
import Synchronization

/// Leases a pooled connection, giving up after a deadline.
///
/// `PostgresClient` queues a request while every connection is busy or while it cannot
/// connect at all, and only fails it once its circuit breaker trips (a minute after the
/// first failed attempt). A request waiting that long is worse than a quick
/// `storage.unavailable`, so the wait for a connection (never the work done with it) is
/// bounded here.
enum PostgresConnectionLease {
    /// Thrown when no connection was handed out in time, or the pool refused to lease.
    struct NotLeased: Error {}

    static func with<T: Sendable>(
        _ client: PostgresClient, timeout: Duration,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let state = LeaseState()
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        guard state.value.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else {
                            throw NotLeased()
                        }
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    if state.value.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing).exchanged {
                        throw NotLeased()
                    }
                    return nil
                }
                while let next = try await group.next() {
                    if let value = next {
                        group.cancelAll()
                        return value
                    }
                }
                throw NotLeased()
            }
        } catch {
            // Whatever stopped the lease (deadline, pool shut down, breaker open) means
            // the database is out of reach for now; errors from the body are its own.
            // A caller that was cancelled (a stopped job, shutdown) is told so, not that the
            // database is down.
            if state.value.load(ordering: .acquiring) != 1 {
                if Task.isCancelled { throw CancellationError() }
                throw NotLeased()
            }
            throw error
        }
    }
}

/// 0 waiting, 1 leased (the body runs to completion), 2 timed out (the lease, if it still
/// comes, is returned unused). A class so both racing tasks share it.
private final class LeaseState: Sendable {
    let value = Atomic<UInt8>(0)
}
