import NIOCore

/// Matches replies to requests in order: Redis answers the commands of one connection
/// in the order it received them, so the oldest request waiting is always the one a
/// reply belongs to. Many requests can be in flight at once (pipelining).
///
/// The connection calls `send` on the event loop directly (not through the pipeline, so
/// a request is not boxed to travel it), and each request's caller waits on a
/// continuation resumed here.
///
/// A request not answered within its timeout fails, and the connection is closed with
/// every other request on it: its reply may still come, and it would then be taken as
/// the answer to the next command. One timer serves all requests (it is set for the
/// oldest request's deadline and moved on when it fires), so a request costs no timer
/// of its own. Out-of-band values (RESP3 pushes, and everything on a subscriber
/// connection, where RESP2 sends messages as plain arrays) go to `onPush`.
///
/// It also decodes: bytes in, `RESPParser` values out, handed straight to the matching
/// request.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias Reply = CheckedContinuation<[RESPValue], any Error>

    private struct Waiting {
        let replyCount: Int
        let reply: Reply
        let deadline: NIODeadline?
    }

    private var waiting = CircularBuffer<Waiting>(initialCapacity: 16)
    /// Replies gathered so far for the oldest waiting request.
    private var replies: [RESPValue] = []
    private var timer: Scheduled<Void>?
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private var subscriberMode = false
    private var closed = false
    private var context: ChannelHandlerContext?
    private let parser: RESPParser
    /// Bytes of a reply that has not fully arrived.
    private var partial: ByteBuffer?

    init(parser: RESPParser = RESPParser(), onPush: (@Sendable (RESPValue) -> Void)?) {
        self.parser = parser
        self.onPush = onPush
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        closed = true
        failPending(RedisError(.connectionClosed, "the connection closed before the reply arrived"))
    }

    /// Writes encoded commands; `reply` is resumed with `replyCount` replies (at once with
    /// none for 0). `entersSubscriberMode`: from then on every value goes to `onPush`.
    func send(_ bytes: ByteBuffer, replyCount: Int, timeout: TimeAmount?, entersSubscriberMode: Bool, reply: Reply) {
        guard !closed, let context else {
            reply.resume(throwing: RedisError(.connectionClosed, "the connection is closed"))
            return
        }
        if entersSubscriberMode { subscriberMode = true }
        if replyCount == 0 {
            reply.resume(returning: [])
        } else {
            let deadline = timeout.map { NIODeadline.now() + $0 }
            waiting.append(Waiting(replyCount: replyCount, reply: reply, deadline: deadline))
            if let deadline, timer == nil { armTimer(at: deadline, context: context) }
        }
        context.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var earlier = partial.take() {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        do {
            while !closed, let value = try parser.parse(&bytes) {
                received(value, context: context)
            }
        } catch {
            failAll(error, context: context)
            return
        }
        if bytes.readableBytes > 0, !closed {
            bytes.discardReadBytes()
            partial = bytes
        }
    }

    private func received(_ value: RESPValue, context: ChannelHandlerContext) {
        if subscriberMode {
            onPush?(value)
            return
        }
        if case .push = value {
            onPush?(value)
            return
        }
        guard let head = waiting.first else {
            failAll(RedisError(.protocolViolation, "a reply arrived with no command waiting for it"), context: context)
            return
        }
        if replies.isEmpty { replies.reserveCapacity(head.replyCount) }
        replies.append(value)
        if replies.count == head.replyCount {
            waiting.removeFirst()
            let done = replies
            replies = []
            head.reply.resume(returning: done)
        }
    }

    private func armTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired(context: context)
        }
    }

    /// Fails the connection if the oldest request is overdue; otherwise waits for the
    /// oldest request's deadline (requests are answered in order, so only it matters).
    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        guard let head = waiting.first(where: { $0.deadline != nil }), let deadline = head.deadline else { return }
        if deadline <= .now() {
            waiting.removeFirst()
            replies = []
            head.reply.resume(throwing: RedisError(.timeout, "no reply within the command timeout"))
            failAll(RedisError(.connectionClosed, "the connection was closed after another command timed out"), context: context)
        } else {
            armTimer(at: deadline, context: context)
        }
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
        timer?.cancel()
        timer = nil
        replies = []
        partial = nil
        while let entry = waiting.popFirst() {
            entry.reply.resume(throwing: error)
        }
    }
}
