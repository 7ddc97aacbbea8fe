/// A fixed set of resources handed out one task at a time, FIFO.
///
/// SQLite allows one writer at a time, and a connection must not be shared by two
/// transactions, so connections are leased rather than used concurrently. Waiters are
/// served in arrival order so a burst of writes cannot starve an early caller.
actor ResourcePool<Resource: Sendable> {
    private var idle: [Resource]
    private var waiters: [CheckedContinuation<Resource, Never>] = []
    private var waiterHead = 0

    init(_ resources: [Resource]) {
        precondition(!resources.isEmpty, "a pool needs at least one resource")
        self.idle = resources
    }

    nonisolated func withResource<T: Sendable>(_ body: (Resource) async throws -> T) async throws -> T {
        let resource = await checkout()
        do {
            let result = try await body(resource)
            await checkin(resource)
            return result
        } catch {
            await checkin(resource)
            throw error
        }
    }

    private func checkout() async -> Resource {
        if let resource = idle.popLast() {
            return resource
        }
        return await withCheckedContinuation { continuation in
            waiters.append(continuation)
        }
    }

    private func checkin(_ resource: Resource) {
        if waiterHead < waiters.count {
            let next = waiters[waiterHead]
            waiterHead += 1
            if waiterHead > 64, waiterHead * 2 > waiters.count {
                waiters.removeFirst(waiterHead)
                waiterHead = 0
            }
            next.resume(returning: resource)
        } else {
            idle.append(resource)
        }
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
