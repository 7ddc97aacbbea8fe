import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// Enforces `ConnectionDeadlines` on a channel: closes the connection when the current
/// deadline passes. Per request it only updates the state machine; the event loop's
/// `DeadlineSweeper` looks at the deadline a few times a second.
///
/// It sits after the HTTP decoder (it needs to know where heads and bodies end) and
/// installs a tiny observer at the front of the pipeline to learn when raw bytes
/// arrive, which is how it tells an idle connection from a slowly sent head.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var state: ConnectionDeadlines
    private let sweepInterval: TimeAmount
    private var sweeper: DeadlineSweeper?
    private var started = false
    /// The response being written said `Connection: close`.
    private var closeAfterResponse = false
    private let logger: Logger

    init(timeouts: ConnectionTimeouts, logger: Logger) {
        self.state = ConnectionDeadlines(timeouts: timeouts)
        self.sweepInterval = DeadlineSweeper.interval(for: timeouts)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let observer = InboundBytesObserver(owner: self, context: context)
        try? context.pipeline.syncOperations.addHandler(observer, position: .first)
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        _ = state.connectionOpened(now: .now())
        let sweeper = DeadlineSweeper.on(context.eventLoop, interval: sweepInterval)
        sweeper.add(self, context)
        self.sweeper = sweeper
    }

    private func stop() {
        sweeper?.remove(self)
        sweeper = nil
    }

    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        _ = state.bytesReceived(now: .now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: _ = state.headReceived(now: .now())
        case .body: break
        case .end: _ = state.requestEnded(now: .now())
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closeAfterResponse = head.headerFields[.connection]?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            _ = state.responseEnded(now: .now())
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            // The server chose to end the connection (e.g. 413 before reading a huge body):
            // send the response, half-close so the client sees it, then close fully after
            // a short linger instead of reading the unwanted body to its end.
            let written = promise ?? context.eventLoop.makePromise()
            context.writeAndFlush(data, promise: written)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                let context = loopBound.value
                context.close(mode: .output, promise: nil)
                context.eventLoop.scheduleTask(in: Self.lingerAfterClose) {
                    loopBound.value.close(promise: nil)
                }
            }
        }
    }

    /// How long a connection we are closing keeps draining input after our response, so
    /// a client still uploading receives the response instead of a reset.
    static let lingerAfterClose: TimeAmount = .milliseconds(500)

    /// Called by the sweeper on this channel's event loop.
    func check(now: NIODeadline, _ context: ChannelHandlerContext) {
        guard state.isExpired(now: now) else { return }
        logger.debug("closing connection: \(state.phase) deadline passed")
        stop()
        context.close(promise: nil)
    }
}

/// Passes raw bytes through untouched, telling the deadline handler that some arrived.
private final class InboundBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private weak var owner: ConnectionDeadlineHandler?
    private let ownerContext: ChannelHandlerContext

    init(owner: ConnectionDeadlineHandler, context: ChannelHandlerContext) {
        self.owner = owner
        self.ownerContext = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner?.bytesArrived(ownerContext)
        context.fireChannelRead(data)
    }
}
