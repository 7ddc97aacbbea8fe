import NIOCore
import Synchronization

/// Ticks every realtime connection of one event loop once a second (pings, silence,
/// token expiry, revocation), with one repeating task per loop instead of timers per
/// connection: 50,000 idle connections cost 50,000 cheap checks a second and no timer
/// churn. Everything here runs on its event loop, without locks.
final class RealtimeTicker {
    static let interval = TimeAmount.seconds(1)

    private let eventLoop: any EventLoop
    private var connections: [ObjectIdentifier: RealtimeSocketHandler] = [:]
    private var task: RepeatedTask?

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    private static let registry = Mutex<[ObjectIdentifier: NIOLoopBoundBox<RealtimeTicker>]>([:])

    /// The ticker of `eventLoop` (created on first use).
    static func on(_ eventLoop: any EventLoop) -> RealtimeTicker {
        let key = ObjectIdentifier(eventLoop)
        let boxed: NIOLoopBoundBox<RealtimeTicker> = registry.withLock { registry in
            if let existing = registry[key] { return existing }
            let created = NIOLoopBoundBox(RealtimeTicker(eventLoop: eventLoop), eventLoop: eventLoop)
            registry[key] = created
            return created
        }
        return boxed.value
    }

    func add(_ handler: RealtimeSocketHandler) {
        eventLoop.preconditionInEventLoop()
        connections[ObjectIdentifier(handler)] = handler
        if task == nil {
            let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
            task = eventLoop.scheduleRepeatedTask(initialDelay: Self.interval, delay: Self.interval) { _ in
                loopBound.value.tick()
            }
        }
    }

    func remove(_ handler: RealtimeSocketHandler) {
        eventLoop.preconditionInEventLoop()
        connections.removeValue(forKey: ObjectIdentifier(handler))
        if connections.isEmpty {
            task?.cancel()
            task = nil
            let key = ObjectIdentifier(eventLoop)
            Self.registry.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    private func tick() {
        for connection in Array(connections.values) {
            connection.tick()
        }
    }
}
