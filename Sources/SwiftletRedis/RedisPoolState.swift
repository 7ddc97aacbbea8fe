import NIOCore

/// The connection pool's decisions, as a value type with no IO: who gets which
/// connection, when to open one, when to fail fast. `RedisConnectionPool` performs the
/// actions; tests drive this directly with explicit times.
///
/// Rules: at most `capacity` connections (open or opening); callers beyond that wait in
/// order; after a failed connection attempt the pool backs off (`RedisBackoff`) and,
/// while it does and no connection is open, callers fail at once with `.unavailable`
/// rather than queueing behind a dead server, so users of the pool can fall back
/// quickly. The first success resets the back-off.
struct RedisPoolState {
    typealias ConnectionID = Int
    typealias WaiterID = Int

    enum LeaseAction: Equatable {
        case use(ConnectionID)
        /// Open a connection for the waiter just queued.
        case connect
        case wait
        case fail(RedisError)
    }

    enum ReleaseAction: Equatable {
        case none
        case handOver(ConnectionID, to: WaiterID)
        /// A broken connection left and a waiter needs one: open a new one.
        case connect
        /// The pool is shut down: close this connection.
        case close(ConnectionID)
    }

    let capacity: Int
    let backoff: RedisBackoff
    private(set) var idle: [ConnectionID] = []
    /// Open or opening.
    private(set) var connectionCount = 0
    private(set) var waiters: [WaiterID] = []
    private(set) var consecutiveFailures = 0
    private(set) var retryAt: NIODeadline?
    private(set) var isShutDown = false

    init(capacity: Int, backoff: RedisBackoff) {
        self.capacity = max(1, capacity)
        self.backoff = backoff
    }

    mutating func lease(_ waiter: WaiterID, now: NIODeadline) -> LeaseAction {
        if isShutDown { return .fail(RedisError(.shutDown, "the Redis client was shut down")) }
        if let connection = idle.popLast() { return .use(connection) }
        if let retryAt, now < retryAt, connectionCount == 0 {
            return .fail(RedisError(.unavailable, "Redis is unreachable; reconnecting with back-off"))
        }
        waiters.append(waiter)
        if connectionCount < capacity, retryAt.map({ now >= $0 }) ?? true {
            connectionCount += 1
            return .connect
        }
        return .wait
    }

    /// A new connection is ready.
    mutating func connected(_ connection: ConnectionID) -> ReleaseAction {
        consecutiveFailures = 0
        retryAt = nil
        return release(connection)
    }

    /// An attempt to connect failed: back off. Returns the waiters to fail (all of them
    /// when no connection is left to serve them).
    mutating func connectFailed(now: NIODeadline, jitter: Double) -> [WaiterID] {
        connectionCount -= 1
        consecutiveFailures += 1
        retryAt = now + backoff.delay(afterFailures: consecutiveFailures, jitter: jitter)
        guard connectionCount == 0 else { return [] }
        defer { waiters = [] }
        return waiters
    }

    /// A leased connection came back; `healthy` is false if it closed meanwhile.
    mutating func released(_ connection: ConnectionID, healthy: Bool, now: NIODeadline) -> ReleaseAction {
        guard healthy else {
            connectionCount -= 1
            guard !isShutDown, !waiters.isEmpty, retryAt.map({ now >= $0 }) ?? true else { return .none }
            connectionCount += 1
            return .connect
        }
        return release(connection)
    }

    private mutating func release(_ connection: ConnectionID) -> ReleaseAction {
        if isShutDown {
            connectionCount -= 1
            return .close(connection)
        }
        if !waiters.isEmpty { return .handOver(connection, to: waiters.removeFirst()) }
        idle.append(connection)
        return .none
    }

    /// The waiter's wait timeout passed; true if it was still waiting (fail it).
    mutating func waitTimedOut(_ waiter: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: waiter) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Stops the pool: idle connections to close and waiters to fail.
    mutating func shutDown() -> (close: [ConnectionID], fail: [WaiterID]) {
        isShutDown = true
        defer {
            connectionCount -= idle.count
            idle = []
            waiters = []
        }
        return (idle, waiters)
    }
}
