import NIOCore
import NIOSSL
import Synchronization

/// A bounded pool of Redis connections, run by `RedisPoolState`.
///
/// A caller leases a connection, uses it (one command, a pipeline, a transaction) and
/// gives it back; a connection that closed meanwhile (server restarted, command timed
/// out) is dropped and replaced on demand, so the pool heals by itself once Redis is back.
final class RedisConnectionPool: Sendable {
    private struct State {
        var machine: RedisPoolState
        var connections: [Int: RedisConnection] = [:]
        var waiting: [Int: CheckedContinuation<Leased, any Error>] = [:]
        var nextID = 0
    }

    private struct Leased: Sendable {
        let id: Int
        let connection: RedisConnection
    }

    private let configuration: RedisConfiguration
    private let tls: NIOSSLContext?
    private let group: any EventLoopGroup
    private let state: Mutex<State>

    init(configuration: RedisConfiguration, tls: NIOSSLContext?, group: any EventLoopGroup) {
        self.configuration = configuration
        self.tls = tls
        self.group = group
        let backoff = RedisBackoff(base: configuration.backoffBase, cap: configuration.backoffCap)
        state = Mutex(State(machine: RedisPoolState(capacity: configuration.poolSize, backoff: backoff)))
    }

    func withConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let (id, connection) = try await lease()
        defer { release(id, connection) }
        return try await withTaskExecutorPreference(connection.taskExecutor) { try await body(connection) }
    }

    private func lease() async throws -> (Int, RedisConnection) {
        while true {
            let waiter = state.withLock { state -> Int in
                state.nextID += 1
                return state.nextID
            }
            let leased: Leased = try await withCheckedThrowingContinuation { continuation in
                let action = state.withLock { state -> RedisPoolState.LeaseAction in
                    let action = state.machine.lease(waiter, now: .now())
                    if case .use = action {} else if case .fail = action {} else { state.waiting[waiter] = continuation }
                    return action
                }
                switch action {
                case .use(let id):
                    continuation.resume(returning: Leased(id: id, connection: state.withLock { $0.connections[id]! }))
                case .fail(let error):
                    continuation.resume(throwing: error)
                case .connect:
                    // This caller waits for a connection being opened: the connect timeout
                    // bounds that, on top of the usual wait.
                    scheduleWaitTimeout(waiter, plus: configuration.connectTimeout)
                    openConnection()
                case .wait:
                    scheduleWaitTimeout(waiter)
                }
            }
            // An idle connection may have died while it sat in the pool.
            if leased.connection.isActive { return (leased.id, leased.connection) }
            release(leased.id, leased.connection)
        }
    }

    private func release(_ id: Int, _ connection: RedisConnection) {
        let healthy = connection.isActive
        let action = state.withLock { state -> RedisPoolState.ReleaseAction in
            if !healthy { state.connections.removeValue(forKey: id) }
            return state.machine.released(id, healthy: healthy, now: .now())
        }
        perform(action)
    }

    private func perform(_ action: RedisPoolState.ReleaseAction) {
        switch action {
        case .none:
            break
        case .connect:
            openConnection()
        case .handOver(let id, let waiter):
            let (continuation, connection) = state.withLock { ($0.waiting.removeValue(forKey: waiter), $0.connections[id]) }
            if let continuation, let connection { continuation.resume(returning: Leased(id: id, connection: connection)) }
        case .close(let id):
            let connection = state.withLock { $0.connections.removeValue(forKey: id) }
            if let connection { Task { await connection.close() } }
        }
    }

    private func scheduleWaitTimeout(_ waiter: Int, plus extra: TimeAmount = .zero) {
        group.any().scheduleTask(in: configuration.poolWaitTimeout + extra) { [self] in
            let continuation = state.withLock { state -> CheckedContinuation<Leased, any Error>? in
                guard state.machine.waitTimedOut(waiter) else { return nil }
                return state.waiting.removeValue(forKey: waiter)
            }
            continuation?.resume(throwing: RedisError(.poolExhausted, "no Redis connection free within the pool's wait timeout"))
        }
    }

    private func openConnection() {
        let configuration = configuration, tls = tls, loop = group.any()
        Task {
            do {
                let connection = try await RedisConnection.connect(configuration, tls: tls, on: loop)
                let action = state.withLock { state -> RedisPoolState.ReleaseAction in
                    state.nextID += 1
                    state.connections[state.nextID] = connection
                    return state.machine.connected(state.nextID)
                }
                perform(action)
            } catch {
                let failed = state.withLock { state in
                    state.machine.connectFailed(now: .now(), jitter: Double.random(in: 0..<1)).compactMap {
                        state.waiting.removeValue(forKey: $0)
                    }
                }
                let failure = error as? RedisError ?? RedisError(.connectionClosed, "\(error)")
                for continuation in failed { continuation.resume(throwing: failure) }
            }
        }
    }

    func shutDown() async {
        let (connections, waiters) = state.withLock { state in
            let (close, fail) = state.machine.shutDown()
            return (close.compactMap { state.connections.removeValue(forKey: $0) }, fail.compactMap { state.waiting.removeValue(forKey: $0) })
        }
        for waiter in waiters { waiter.resume(throwing: RedisError(.shutDown, "the Redis client was shut down")) }
        for connection in connections { await connection.close() }
    }
}
