import Synchronization
import Testing

/// The slots that ration PostgreSQL test databases: order, re-entrance, and a bounded wait
/// that names who holds them.
@Suite("Test slots", .timeLimit(.minutes(1)))
struct TestSlotsTests {
    @Test("a slot is re-entrant within a task; waiters are served in arrival order")
    func reentrantAndInOrder() async throws {
        let slots = TestSlots(count: 1, waitLimit: .seconds(60))
        let order = Order()
        var waiters: [Task<Void, any Error>] = []
        try await slots.withSlot {
            try await slots.withSlot { order.append(0) }
            for index in 1...3 {
                waiters.append(Task.detached { try await slots.withSlot { order.append(index) } })
                // Each waiter is queued before the next one starts.
                while slots.waitingCount < index { try await Task.sleep(for: .milliseconds(1)) }
            }
            #expect(order.values == [0], "the held slot is not handed out")
        }
        for waiter in waiters { try await waiter.value }
        #expect(order.values == [0, 1, 2, 3])
    }

    @Test("a wait past its limit fails and names the test holding the slot")
    func boundedWaitNamesTheHolder() async throws {
        let slots = TestSlots(count: 1, waitLimit: .milliseconds(200))
        let message = try await slots.withSlot {
            try await Task.detached { () -> String in
                do {
                    try await slots.withSlot { () }
                    return "the held slot was handed out"
                } catch let error as TestSetupError {
                    return error.description
                }
            }.value
        }
        #expect(message.contains(#""a wait past its limit fails and names the test holding the slot""#), "\(message)")
        #expect(slots.waitingCount == 0)
        try await slots.withSlot { () }
    }

    /// What the waiters did, in order, shared with the detached tasks.
    final class Order: Sendable {
        private let recorded = Mutex<[Int]>([])
        var values: [Int] { recorded.withLock { $0 } }
        func append(_ value: Int) { recorded.withLock { $0.append(value) } }
    }
}
