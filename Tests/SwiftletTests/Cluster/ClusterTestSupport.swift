import Foundation
import SwiftletCore
import Synchronization
import Testing

/// A `ClusterState` over another one that a test can take down and bring back, like a
/// Redis that goes away: while down, publishes throw, subscribers are told `.interrupted`
/// and hear nothing; when it comes back they are told `.subscribed` again. Keys and
/// counters pass through.
final class SwitchableClusterState: ClusterState {
    struct Down: Error {}

    private struct State {
        var down: Bool
        var subscribers: [UInt64: AsyncStream<ClusterBusEvent>.Continuation] = [:]
        var next: UInt64 = 0
    }

    let base: any ClusterState
    private let state: Mutex<State>
    /// Publishes refused while down.
    let refusedPublishes = Atomic<Int>(0)

    init(base: any ClusterState, down: Bool = false) {
        self.base = base
        state = Mutex(State(down: down))
    }

    var isShared: Bool { base.isShared }

    var isDown: Bool { state.withLock { $0.down } }

    func setDown(_ down: Bool) {
        let targets = state.withLock { state -> [AsyncStream<ClusterBusEvent>.Continuation] in
            guard state.down != down else { return [] }
            state.down = down
            return Array(state.subscribers.values)
        }
        for continuation in targets { continuation.yield(down ? .interrupted : .subscribed) }
    }

    func publish(_ payload: String, on channel: String) async throws {
        if isDown {
            refusedPublishes.add(1, ordering: .relaxed)
            throw Down()
        }
        try await base.publish(payload, on: channel)
    }

    func subscribe(to channels: [String]) -> AsyncStream<ClusterBusEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: ClusterBusEvent.self)
        let upstream = base.subscribe(to: channels)
        let id = state.withLock { state -> UInt64 in
            let id = state.next
            state.next += 1
            state.subscribers[id] = continuation
            return id
        }
        let forwarding = Task { [weak self] in
            for await event in upstream {
                guard let self else { return }
                switch event {
                case .message:
                    if !self.isDown { continuation.yield(event) }
                case .subscribed:
                    continuation.yield(self.isDown ? .interrupted : .subscribed)
                case .interrupted:
                    continuation.yield(.interrupted)
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { [weak self] _ in
            forwarding.cancel()
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func increment(_ key: String, by amount: Int64, window: TimeInterval) async throws -> Int64 {
        try await base.increment(key, by: amount, window: window)
    }

    func setIfAbsent(_ key: String, to value: String, expiresIn: TimeInterval) async throws -> Bool {
        try await base.setIfAbsent(key, to: value, expiresIn: expiresIn)
    }

    func set(_ key: String, to value: String, expiresIn: TimeInterval) async throws {
        try await base.set(key, to: value, expiresIn: expiresIn)
    }

    func value(at key: String) async throws -> String? {
        try await base.value(at: key)
    }

    func delete(_ key: String, ifValue value: String) async throws -> Bool {
        try await base.delete(key, ifValue: value)
    }
}

/// Stands in for "wait one interval": every `pause()` waits until the test calls
/// `advance()`, so polling and retries are driven by hand instead of by sleeping.
final class ManualTicker: Sendable {
    private struct State {
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())

    var waiting: Int { state.withLock { $0.waiters.count } }

    var pause: @Sendable () async throws -> Void {
        { [self] in try await wait() }
    }

    private func wait() async throws {
        let id = state.withLock { state -> UInt64 in
            defer { state.next += 1 }
            return state.next
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Waits until at least `count` loops are parked in `pause()`.
    func waitForWaiters(_ count: Int) async throws {
        // Generous: the loops park as soon as they get a thread, which a loaded machine delays.
        try await waitUntil("\(count) paused loops", within: .seconds(30)) { self.waiting >= count }
    }

    /// Ends the current interval for every parked loop, then waits until `parked` loops
    /// (by default as many as were released) are parked again, so whatever they did
    /// between two pauses has been done.
    func advance(thenWaitFor parked: Int? = nil) async throws {
        let released = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for continuation in released { continuation.resume() }
        try await waitForWaiters(parked ?? released.count)
    }
}

/// Waits for something another task does, checking often, failing after `limit`.
func waitUntil(
    _ what: String, within limit: Duration = .seconds(5), _ condition: @Sendable () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw TestSetupError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(2))
    }
}
