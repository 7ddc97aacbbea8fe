import NIOCore

/// What the connection asks its handler to write: encoded commands and how many replies
/// complete them.
struct RedisRequest: Sendable {
    let bytes: ByteBuffer
    /// Replies that answer this request (a pipeline of n commands waits for n).
    let replyCount: Int
    let promise: EventLoopPromise<[RESPValue]>?
    let timeout: TimeAmount?
    /// After this request every inbound value goes to `onPush` (SUBSCRIBE).
    var entersSubscriberMode = false
}

/// Matches replies to requests in order: Redis answers the commands of one connection
/// in the order it received them, so the oldest request waiting is always the one a
/// reply belongs to. Many requests can be in flight at once (pipelining).
///
/// A request not answered within its timeout fails, and the connection is closed with
/// every other request on it: its reply may still come, and it would then be taken as
/// the answer to the next command. Out-of-band values (RESP3 pushes, and everything on a
/// subscriber connection, where RESP2 sends messages as plain arrays) go to `onPush`.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var remaining: Int
        var replies: [RESPValue]
        let promise: EventLoopPromise<[RESPValue]>
        var timer: Scheduled<Void>?
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private var subscriberMode = false
    private var closed = false

    init(onPush: (@Sendable (RESPValue) -> Void)?) {
        self.onPush = onPush
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if subscriberMode {
            onPush?(value)
            return
        }
        if case .push = value {
            onPush?(value)
            return
        }
        guard !waiting.isEmpty else {
            failAll(RedisError(.protocolViolation, "a reply arrived with no command waiting for it"), context: context)
            return
        }
        let index = waiting.startIndex
        waiting[index].replies.append(value)
        waiting[index].remaining -= 1
        if waiting[index].remaining == 0 {
            let done = waiting.removeFirst()
            done.timer?.cancel()
            done.promise.succeed(done.replies)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if closed {
            request.promise?.fail(RedisError(.connectionClosed, "the connection is closed"))
            promise?.fail(RedisError(.connectionClosed, "the connection is closed"))
            return
        }
        if request.entersSubscriberMode { subscriberMode = true }
        if let replyPromise = request.promise {
            if request.replyCount == 0 {
                replyPromise.succeed([])
            } else {
                var entry = Waiting(remaining: request.replyCount, replies: [], promise: replyPromise, timer: nil)
                entry.replies.reserveCapacity(request.replyCount)
                if let timeout = request.timeout {
                    let loop = context.eventLoop.assumeIsolated()
                    entry.timer = loop.scheduleTask(in: timeout) { [weak self] in
                        self?.timedOut(replyPromise, context: context)
                    }
                }
                waiting.append(entry)
            }
        }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    private func timedOut(_ promise: EventLoopPromise<[RESPValue]>, context: ChannelHandlerContext) {
        guard waiting.contains(where: { $0.promise.futureResult === promise.futureResult }) else { return }
        promise.fail(RedisError(.timeout, "no reply within the command timeout"))
        failAll(RedisError(.connectionClosed, "the connection was closed after another command timed out"), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        failPending(RedisError(.connectionClosed, "the connection closed before the reply arrived"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = error as? RedisError ?? RedisError(.connectionClosed, "connection error: \(error)")
        failAll(failure, context: context)
    }

    private func failAll(_ error: RedisError, context: ChannelHandlerContext) {
        closed = true
        failPending(error)
        context.close(promise: nil)
    }

    private func failPending(_ error: RedisError) {
        while let entry = waiting.popFirst() {
            entry.timer?.cancel()
            entry.promise.fail(error)
        }
    }
}
