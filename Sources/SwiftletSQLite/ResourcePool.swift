import Synchronization

/// A fixed set of resources handed out one task at a time, FIFO.
///
/// SQLite allows one writer at a time, and a connection must not be shared by two
/// transactions, so connections are leased rather than used concurrently. A lock, not
/// an actor: taking an idle connection is the common case and must not cost a hop to
/// another executor. Waiters are served in arrival order so a burst of writes cannot
/// starve an early caller.
final class ResourcePool<Resource: Sendable>: Sendable {
    private struct State {
        var idle: [Resource]
        var waiters: [CheckedContinuation<Resource, Never>] = []
        var waiterHead = 0
    }

    private let state: Mutex<State>

    init(_ resources: [Resource]) {
        precondition(!resources.isEmpty, "a pool needs at least one resource")
        self.state = Mutex(State(idle: resources))
    }

    func withResource<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let resource = await checkout()
        defer { checkin(resource) }
        return try await body(resource)
    }

    /// Like `withResource`, but `body` may put a different resource in its place (a
    /// connection it had to reopen); the new one is what the pool hands out next.
    func withReplaceableResource<T: Sendable>(_ body: (inout Resource) async throws -> T) async throws -> T {
        var resource = await checkout()
        defer { checkin(resource) }
        return try await body(&resource)
    }

    private func checkout() async -> Resource {
        if let resource = state.withLock({ $0.idle.popLast() }) {
            return resource
        }
        return await withCheckedContinuation { continuation in
            let available: Resource? = state.withLock { state in
                if let resource = state.idle.popLast() { return resource }
                state.waiters.append(continuation)
                return nil
            }
            if let available { continuation.resume(returning: available) }
        }
    }

    private func checkin(_ resource: Resource) {
        let waiter: CheckedContinuation<Resource, Never>? = state.withLock { state in
            guard state.waiterHead < state.waiters.count else {
                state.idle.append(resource)
                return nil
            }
            let next = state.waiters[state.waiterHead]
            state.waiterHead += 1
            if state.waiterHead == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.waiterHead = 0
            }
            return next
        }
        waiter?.resume(returning: resource)
    }

    /// Takes every resource out of circulation (waiting for leases to end); used at shutdown.
    func drain(count: Int) async -> [Resource] {
        var drained: [Resource] = []
        for _ in 0..<count {
            drained.append(await checkout())
        }
        return drained
    }
}
