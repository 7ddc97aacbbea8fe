import Logging
import NIOCore
import HummingbirdCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOTLS

/// The one handler between the HTTP/1 decoder and the router, for two jobs that must see
/// every request in its HTTP/1 form:
///
/// - **Deadlines.** Closes the connection when the `ConnectionDeadlines` state machine's
///   current deadline passes. Per request it only updates the state machine; the event
///   loop's `DeadlineSweeper` looks at the deadline a few times a second. A tiny observer
///   at the front of the pipeline tells it when raw bytes arrive, which is how it tells
///   an idle connection from a slowly sent head.
/// - **The inline lane.** Answers what `InlineLane` can answer right in `channelRead`,
///   writing the encoded response straight to the socket, and passes every other request
///   on to the router untouched. Responses must leave in request order (HTTP/1.1
///   pipelining), so while a request handed to the router is unanswered, later requests
///   are handed on too; their responses' ends going out through here are counted. While
///   an inline answer waits for I/O (a deferred answer), reading stops and the parts of
///   requests already read wait here (at most one socket read's worth), to be taken in
///   order once it is written.
/// - **Backpressure.** While the socket cannot take more (the client is not reading),
///   reading stops: no further requests are parsed, answered inline or handed to the
///   router until the peer drains what was written. A client that pipelines without
///   reading therefore holds at most one read's worth of requests (one socket read per
///   read event, at most 64 KiB) and their answers above the channel's write watermark,
///   and is closed once it has not read for `idle`.
///
/// - **Upgrades.** A GET asking to switch protocols on a path an upgrader offers
///   (`UpgradeLane`) is decided off the event loop, then answered with the usual JSON
///   error and closed, or with `101`, after which the HTTP handlers (and this one) leave
///   the pipeline and the upgrader's take their place.
///
/// One handler rather than two because each handler a request crosses costs a pipeline
/// hop per event, and on the inline path those hops were most of the remaining cost.
final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var deadlines: ConnectionDeadlines
    private let sweepInterval: TimeAmount
    private var sweeper: DeadlineSweeper?
    private var started = false
    /// The router's response being written said `Connection: close`.
    private var closeAfterResponse = false
    private let logger: Logger

    private let lane: InlineLane?
    private let upgrades: UpgradeLane?
    /// An upgrade request whose end has not arrived yet.
    private var upgradeHead: (head: HTTPRequestHead, upgrader: any ConnectionUpgrader, started: NIODeadline)?
    /// The front observer's context: writes from it go straight to the socket.
    private var socketContext: ChannelHandlerContext?
    /// A request the lane may answer, held until its end arrives.
    private var held: InlineLane.Candidate?
    /// An inline answer is waiting for I/O; what arrives meanwhile waits in `waiting`.
    private var answerPending = false
    private var waiting: [HTTPServerRequestPart] = []
    /// Requests handed to the router whose responses have not ended yet.
    private var routerRequestsOpen = 0
    private var needsFlush = false
    private var allocator = ByteBufferAllocator()
    /// Whether anything went on to the router since the last read batch ended.
    private var forwardedInBatch = false
    /// A read was asked for while the socket could not take more; issued once it can.
    private var readHeldBack = false
    /// The connection's peer, read once: the seam reports it for every request.
    private var client: SocketAddress?
    /// Whether requests handed to the router carry `ClientCertificateHeader` (mTLS on).
    private let reportsClientCertificate: Bool
    /// The connection presented a client certificate that passed validation.
    private var clientCertificateVerified = false

    init(timeouts: ConnectionTimeouts, lane: InlineLane?, upgrades: UpgradeLane? = nil, reportsClientCertificate: Bool = false,
         logger: Logger) {
        self.deadlines = ConnectionDeadlines(timeouts: timeouts)
        self.sweepInterval = DeadlineSweeper.interval(for: timeouts)
        self.lane = lane
        self.upgrades = upgrades
        self.reportsClientCertificate = reportsClientCertificate
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let observer = InboundBytesObserver(owner: self)
        // Right behind TLS when there is TLS: inline answers written from the observer's
        // context must be encrypted, and only decrypted bytes say a request is coming.
        let pipeline = context.pipeline.syncOperations
        if let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) {
            try? pipeline.addHandler(observer, position: .after(tls))
        } else {
            try? pipeline.addHandler(observer, position: .first)
        }
        socketContext = try? context.pipeline.syncOperations.context(handler: observer)
        allocator = context.channel.allocator
        client = context.channel.remoteAddress
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
        socketContext = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        client = context.channel.remoteAddress
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        socketContext = nil
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        _ = deadlines.connectionOpened(now: .now())
        let sweeper = DeadlineSweeper.on(context.eventLoop, interval: sweepInterval)
        sweeper.add(self, context)
        self.sweeper = sweeper
    }

    private func stop() {
        sweeper?.remove(self)
        sweeper = nil
    }

    fileprivate func bytesArrived() {
        _ = deadlines.bytesReceived(now: .now())
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if answerPending {
            waiting.append(part)
            return
        }
        take(part, context: context)
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            let now = NIODeadline.now()
            _ = deadlines.headReceived(now: now)
            if routerRequestsOpen == 0, held == nil, let upgrades, let upgrader = upgrades.upgrader(for: head) {
                upgradeHead = (head, upgrader, now)
                return
            }
            if routerRequestsOpen == 0, held == nil, let lane,
               let candidate = lane.candidate(head, started: now) {
                held = candidate
                return
            }
            handOn(head, context: context)
        case .body:
            if upgradeHead != nil { return }  // a body on an upgrade request is not read
            if let candidate = held.take() {
                handOn(candidate.head, context: context)
            }
            forwardedInBatch = true
            context.fireChannelRead(wrapInboundOut(part))
        case .end:
            let now = NIODeadline.now()
            _ = deadlines.requestEnded(now: now)
            if let upgrade = upgradeHead.take() {
                startUpgrade(upgrade.head, upgrade.upgrader, started: upgrade.started, context: context)
                return
            }
            if let candidate = held.take() {
                if answerInline(candidate, context: context) {
                    return
                }
                handOn(candidate.head, context: context)
            }
            forwardedInBatch = true
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func answerInline(_ candidate: borrowing InlineLane.Candidate, context: ChannelHandlerContext) -> Bool {
        guard let socketContext,
              let answer = lane?.respond(candidate, client: client, eventLoop: context.eventLoop, allocator: allocator) else {
            return false
        }
        switch answer {
        case .now(let response):
            socketContext.write(NIOAny(IOData.byteBuffer(response)), promise: nil)
            needsFlush = true
            _ = deadlines.responseEnded(now: .now())
        case .later(let response):
            answerPending = true
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            response.whenSuccess { response in
                let (handler, context) = bound.value
                handler.answered(response, context: context)
            }
        }
        return true
    }

    /// A deferred inline answer is ready: written, then the requests that waited for it are
    /// taken in order (until one of them is deferred in turn), and reading resumes.
    private func answered(_ response: ByteBuffer, context: ChannelHandlerContext) {
        answerPending = false
        _ = deadlines.responseEnded(now: .now())
        // Closed meanwhile: the seam has counted the answer; nobody is left to read it.
        guard let socketContext, context.channel.isActive else {
            waiting.removeAll()
            return
        }
        socketContext.write(NIOAny(IOData.byteBuffer(response)), promise: nil)
        needsFlush = true
        while !answerPending, !waiting.isEmpty {
            take(waiting.removeFirst(), context: context)
        }
        channelReadComplete(context: context)
        if !answerPending, readHeldBack, context.channel.isWritable {
            readHeldBack = false
            context.read()
        }
    }

    // MARK: Upgrades

    private func startUpgrade(
        _ head: HTTPRequestHead, _ upgrader: any ConnectionUpgrader, started: NIODeadline, context: ChannelHandlerContext
    ) {
        guard let upgrades else { return }
        let pending = upgrades.begin(head, upgrader: upgrader, client: client, started: started)
        if let refusal = pending.passage.refusal {
            finishUpgrade(.refuse(refusal), pending, context: context)
            return
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        Task {
            let decision = await pending.upgrader.decide(pending.request)
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.finishUpgrade(decision, pending, context: context)
            }
        }
    }

    private func finishUpgrade(_ decision: UpgradeDecision, _ pending: UpgradeLane.Pending, context: ChannelHandlerContext) {
        guard let upgrades else { return }
        _ = deadlines.responseEnded(now: .now())
        guard let socketContext, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        switch decision {
        case .refuse(let error):
            let answer = upgrades.refusal(error, for: pending, allocator: allocator)
            let written = context.eventLoop.makePromise(of: Void.self)
            socketContext.writeAndFlush(NIOAny(IOData.byteBuffer(answer)), promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
        case .accept(let acceptance):
            // Written now, flushed once the new protocol is in place: the client must not
            // see `101` (and start its clocks or send frames) before the connection can
            // take its frames.
            socketContext.write(
                NIOAny(IOData.byteBuffer(upgrades.switching(acceptance, for: pending, allocator: allocator))), promise: nil)
            let channel = context.channel
            do {
                try switchProtocols(context, acceptance)
                channel.flush()
            } catch {
                logger.debug("closing connection: the upgraded protocol could not be installed (\(error))")
                context.close(promise: nil)
            }
        }
    }

    /// Takes every HTTP handler (and this one) out of the pipeline and lets the upgrader
    /// install its own behind TLS. What the pipeline's tail (the router's connection loop)
    /// waits for never comes; it ends when the connection closes.
    private func switchProtocols(_ context: ChannelHandlerContext, _ acceptance: UpgradeAcceptance) throws {
        let pipeline = context.pipeline.syncOperations
        let tls = try? pipeline.handler(type: NIOSSLServerHandler.self)
        stop()
        if let socketContext { pipeline.removeHandler(context: socketContext, promise: nil) }
        socketContext = nil
        for handlerContext in [
            try? pipeline.context(handlerType: HTTPResponseEncoder.self),
            try? pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self),
            try? pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self),
            try? pipeline.context(handlerType: HTTPConnectionStateHandler.self),
        ] {
            if let handlerContext { pipeline.removeHandler(context: handlerContext, promise: nil) }
        }
        let channel = context.channel
        pipeline.removeHandler(context: context, promise: nil)
        try acceptance.install(UpgradedChannel(channel: channel, front: tls))
        channel.read()
    }

    private func handOn(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        routerRequestsOpen += 1
        forwardedInBatch = true
        guard reportsClientCertificate else {
            context.fireChannelRead(wrapInboundOut(.head(head)))
            return
        }
        var head = head
        head.headers.remove(name: ClientCertificateHeader.name)
        if clientCertificateVerified {
            head.headers.add(name: ClientCertificateHeader.name, value: ClientCertificateHeader.verified)
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// After the TLS handshake: with optional client verification, a certificate the
    /// client presented has passed validation if the handshake completed at all.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if reportsClientCertificate, case TLSUserEvent.handshakeCompleted = event,
           let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) {
            clientCertificateVerified = tls.peerCertificate != nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// One flush per batch of reads: pipelined requests answered inline leave together.
    /// The end of a batch only matters further on when something went there.
    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            socketContext?.flush()
        }
        if forwardedInBatch || lane == nil {
            forwardedInBatch = false
            context.fireChannelReadComplete()
        }
    }

    // MARK: Backpressure

    /// Reads are requested from the pipeline's tail (NIO's auto-read, or the router's
    /// async channel when it wants more); they pass here on their way to the socket.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable, !answerPending {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    /// Unwritable also starts the stall deadline: a router response waiting for the
    /// client to read has no other deadline, and a client that never reads would hold the
    /// connection (and the handler's task) for ever.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            deadlines.writeResumed()
            if readHeldBack, !answerPending {
                readHeldBack = false
                context.read()
            }
        } else {
            deadlines.writeStalled(now: .now())
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound (the router's responses)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            closeAfterResponse = head.headers.first(name: "connection")?.lowercased() == "close"
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            if routerRequestsOpen > 0 { routerRequestsOpen -= 1 }
            _ = deadlines.responseEnded(now: .now())
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
        guard deadlines.isExpired(now: now) else { return }
        logger.debug("closing connection: \(deadlines.stallDeadline.map { _ in "write stall" } ?? "\(deadlines.phase)") deadline passed")
        stop()
        context.close(promise: nil)
    }
}

/// Passes raw bytes through untouched, telling the connection handler that some arrived.
/// Its context, at the front of the pipeline, is where inline responses are written.
private final class InboundBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Strong on purpose: a weak reference would give the owner a side table, which makes
    /// every retain and release of it take the runtime's slow path. Both live exactly as
    /// long as the pipeline, and the owner does not point back, so there is no cycle.
    private let owner: ConnectionHandler

    init(owner: ConnectionHandler) {
        self.owner = owner
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.bytesArrived()
        context.fireChannelRead(data)
    }
}
