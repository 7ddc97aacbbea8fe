import NIOCore
import NIOSSL
import Synchronization

/// What a subscription reports.
public enum RedisSubscriptionEvent: Sendable, Equatable {
    /// Every channel and pattern is subscribed (again, after a reconnect): messages sent
    /// while the subscription was down were missed.
    case subscribed
    /// A message; `pattern` is set for pattern subscriptions.
    case message(channel: String, payload: ByteBuffer, pattern: String?)
    /// The connection was lost (or could not be made at all yet); the subscription is
    /// being re-established.
    case interrupted
}

/// A pub/sub subscription on a dedicated connection that re-subscribes by itself.
///
/// A background task connects, subscribes, reports `.subscribed` once the server has
/// confirmed every channel and pattern, and forwards messages. When the connection
/// drops it reports `.interrupted`, waits its back-off and starts again. Events are
/// buffered up to `bufferLimit`; a consumer that falls that far behind gets the
/// connection dropped (so `.interrupted` then `.subscribed`: "re-sync") rather than
/// silently losing messages or growing memory without bound.
public final class RedisSubscription: Sendable {
    public let events: AsyncStream<RedisSubscriptionEvent>
    private let task: Task<Void, Never>

    public static let bufferLimit = 10_000

    init(configuration: RedisConfiguration, tls: NIOSSLContext?, group: any EventLoopGroup, channels: [String], patterns: [String]) {
        let (events, continuation) = AsyncStream.makeStream(of: RedisSubscriptionEvent.self,
                                                            bufferingPolicy: .bufferingOldest(Self.bufferLimit))
        self.events = events
        task = Task {
            let backoff = RedisBackoff(base: configuration.backoffBase, cap: configuration.backoffCap)
            var failures = 0
            // Reported once per outage, including one that begins before the first
            // subscription ever succeeded (Redis down at start), so consumers never
            // mistake "not yet subscribed" for "nothing happened".
            var reportedDown = false
            while !Task.isCancelled {
                let attempt = Attempt(continuation: continuation, expected: channels.count + patterns.count)
                do {
                    let connection = try await RedisConnection.connect(configuration, tls: tls, on: group.any()) { value in
                        attempt.received(value)
                    }
                    attempt.connection.withLock { $0 = connection }
                    if !channels.isEmpty { try await connection.subscribe(RedisCommand("SUBSCRIBE", channels)) }
                    if !patterns.isEmpty { try await connection.subscribe(RedisCommand("PSUBSCRIBE", patterns)) }
                    failures = 0
                    reportedDown = false
                    try await withTaskCancellationHandler {
                        try await connection.closeFuture.get()
                    } onCancel: {
                        connection.channel.close(promise: nil)
                    }
                } catch {}
                if attempt.wasSubscribed || !reportedDown {
                    continuation.yield(.interrupted)
                    reportedDown = true
                }
                if Task.isCancelled { break }
                failures += 1
                let delay = backoff.delay(afterFailures: failures, jitter: Double.random(in: 0..<1))
                try? await Task.sleep(for: .nanoseconds(delay.nanoseconds))
            }
            continuation.finish()
        }
        continuation.onTermination = { [task] _ in task.cancel() }
    }

    /// Stops the subscription and closes its connection.
    public func cancel() {
        task.cancel()
    }

    /// One connection's worth of subscription state, fed from the event loop.
    private final class Attempt: Sendable {
        let continuation: AsyncStream<RedisSubscriptionEvent>.Continuation
        let expected: Int
        let confirmed = Mutex(0)
        let connection = Mutex<RedisConnection?>(nil)

        init(continuation: AsyncStream<RedisSubscriptionEvent>.Continuation, expected: Int) {
            self.continuation = continuation
            self.expected = expected
        }

        var wasSubscribed: Bool { confirmed.withLock { $0 >= expected } }

        func received(_ value: RESPValue) {
            guard let parts = value.elements, let kind = parts.first?.string?.lowercased() else { return }
            switch kind {
            case "subscribe", "psubscribe":
                let done = confirmed.withLock { count -> Bool in
                    count += 1
                    return count == expected
                }
                if done { deliver(.subscribed) }
            case "message" where parts.count == 3:
                guard let channel = parts[1].string, case .bulkString(let payload) = parts[2] else { return }
                deliver(.message(channel: channel, payload: payload, pattern: nil))
            case "pmessage" where parts.count == 4:
                guard let channel = parts[2].string, case .bulkString(let payload) = parts[3] else { return }
                deliver(.message(channel: channel, payload: payload, pattern: parts[1].string))
            default:
                break
            }
        }

        private func deliver(_ event: RedisSubscriptionEvent) {
            if case .dropped = continuation.yield(event) {
                // The consumer is too far behind: drop the connection so it sees
                // `.interrupted` and re-syncs, instead of missing messages unknowingly.
                connection.withLock { $0?.channel.close(promise: nil) }
            }
        }
    }
}
