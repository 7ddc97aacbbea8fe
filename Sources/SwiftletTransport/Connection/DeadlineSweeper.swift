import NIOCore
import Synchronization

/// Checks the deadlines of every connection on one event loop a few times a second.
///
/// One repeating task per event loop replaces a timer per connection that would be
/// cancelled and rescheduled three or four times per request (each a heap operation on
/// the loop's scheduled-task queue, linear in the number of connections to cancel). A
/// deadline is therefore enforced up to one `interval` late, which is nothing next to
/// timeouts of seconds. Everything here runs on its event loop, without locks.
final class DeadlineSweeper {
    private let eventLoop: any EventLoop
    private let interval: TimeAmount
    private var connections: [ObjectIdentifier: (handler: ConnectionHandler, context: ChannelHandlerContext)] = [:]
    private var task: RepeatedTask?

    private let key: Key

    private init(eventLoop: any EventLoop, interval: TimeAmount, key: Key) {
        self.eventLoop = eventLoop
        self.interval = interval
        self.key = key
    }

    /// The sweeper of `eventLoop` for this interval (created on first use).
    static func on(_ eventLoop: any EventLoop, interval: TimeAmount) -> DeadlineSweeper {
        let key = Key(loop: ObjectIdentifier(eventLoop), interval: interval.nanoseconds)
        let boxed = registry.withLock { registry in
            if let existing = registry[key] { return existing }
            let created = NIOLoopBoundBox(DeadlineSweeper(eventLoop: eventLoop, interval: interval, key: key), eventLoop: eventLoop)
            registry[key] = created
            return created
        }
        return boxed.value
    }

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let interval: Int64
    }

    private static let registry = Mutex<[Key: NIOLoopBoundBox<DeadlineSweeper>]>([:])

    /// Sweep often enough that no deadline is overshot by more than a quarter of the
    /// shortest timeout, and at least twice a second.
    static func interval(for timeouts: ConnectionTimeouts) -> TimeAmount {
        let shortest = min(timeouts.idle, timeouts.header, timeouts.body)
        return max(.milliseconds(10), min(.milliseconds(500), .nanoseconds(shortest.nanoseconds / 4)))
    }

    func add(_ handler: ConnectionHandler, _ context: ChannelHandlerContext) {
        eventLoop.preconditionInEventLoop()
        connections[ObjectIdentifier(handler)] = (handler, context)
        if task == nil {
            let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
            task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                loopBound.value.sweep()
            }
        }
    }

    func remove(_ handler: ConnectionHandler) {
        eventLoop.preconditionInEventLoop()
        connections.removeValue(forKey: ObjectIdentifier(handler))
        if connections.isEmpty {
            task?.cancel()
            task = nil
            // Forget the loop when it serves no connection, so a stopped event-loop group
            // is not kept alive by the registry.
            let key = self.key
            Self.registry.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    private func sweep() {
        let now = NIODeadline.now()
        for connection in connections.values {
            connection.handler.check(now: now, connection.context)
        }
    }
}
