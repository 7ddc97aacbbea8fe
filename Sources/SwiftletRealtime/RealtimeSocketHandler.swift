import Foundation
import Logging
import NIOCore
import NIOWebSocket
import SwiftletCore

/// One realtime connection after the upgrade: turns WebSocket frames, ticks and inbox
/// news into events for `RealtimeConnectionState` and carries out its actions. Database
/// and token work runs in tasks whose answers come back on this event loop.
///
/// Outbound bytes are counted from write to socket: a client that stops reading sees
/// its count pass `maxQueuedBytes` and is closed as a slow consumer (it resumes with
/// `since`; its inbox is durable), so it costs at most that much memory.
final class RealtimeSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private var state: RealtimeConnectionState
    private let environment: RealtimeEnvironment
    private let device: String
    /// A principal checked on the upgrade, applied once the handler is in the pipeline.
    private let initialPrincipal: Principal?
    private var context: ChannelHandlerContext?
    private var handle: RealtimeConnectionHandle?
    private var registeredUser: UserID?
    private var queuedBytes = 0
    private var needsFlush = false
    private var admitted = true
    /// The upgrade reserved a place for `initialPrincipal`'s user; taken by the registration.
    private var reservationUsed = false
    /// The client asked to resume (`since` > 0); counted once, as exact or reset.
    private var resumeToCount: Bool

    init(environment: RealtimeEnvironment, principal: Principal?, since: Int64, device: String, connectionID: String) {
        self.environment = environment
        self.device = device
        self.initialPrincipal = principal
        self.resumeToCount = since > 0
        self.state = RealtimeConnectionState(
            settings: environment.settings, connectionID: connectionID, since: since, now: environment.clock.now)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        handle = RealtimeConnectionHandle(self, eventLoop: context.eventLoop)
        RealtimeTicker.on(context.eventLoop).add(self)
        if let initialPrincipal {
            // After the rest of the installation: the frame encoder may not be in place yet.
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let clock = environment.clock
            context.eventLoop.execute {
                let handler = bound.value
                handler.perform(handler.state.authenticated(initialPrincipal, now: clock.now))
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.closedByPeer()
        finish()
        context.fireChannelInactive()
    }

    /// Leaves the registry and the ticker, and gives back the node slot; once.
    private func finish() {
        guard let context else { return }
        RealtimeTicker.on(context.eventLoop).remove(self)
        if let handle {
            for (room, subscription) in state.rooms where subscription.following {
                environment.registry.unfollow(room, handle)
            }
        }
        if let registeredUser, let handle {
            environment.registry.detach(handle, as: registeredUser)
        } else if let reservedUser = initialPrincipal?.userID, !reservationUsed {
            environment.registry.cancelReservation(reservedUser)
        }
        reservationUsed = true
        registeredUser = nil
        if admitted {
            admitted = false
            environment.registry.release()
        }
        self.context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let now = environment.clock.now
        guard frame.maskKey != nil else {
            // Clients must mask every frame (RFC 6455 §5.1).
            perform(state.close(.badFrame))
            return
        }
        switch frame.opcode {
        case .text:
            let text = String(buffer: frame.unmaskedData)
            guard let parsed = ClientFrame.parse(text) else {
                perform(state.close(.badFrame))
                return
            }
            perform(state.received(parsed, now: now))
        case .ping:
            state.heard(now: now)
            write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
            flushIfNeeded()
        case .pong:
            state.heard(now: now)
        case .connectionClose:
            state.closedByPeer()
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1000
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.writeInteger(code)
            let closeFrame = WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(closeFrame)).whenComplete { _ in bound.value.close(promise: nil) }
        default:
            perform(state.close(.badFrame))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge,
             NIOWebSocketFrameAggregator.Error.tooManyFragments:
            perform(state.close(.frameTooLarge))
        default:
            perform(state.close(.badFrame))
        }
    }

    /// A server shutting down (Hummingbird's quiescing) asks every connection to go.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            perform(state.close(.serverShutdown))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    // MARK: From the registry and the ticker

    func live(_ messages: [InboxMessage]) {
        perform(state.live(messages))
    }

    func headMoved(to seq: Int64) {
        perform(state.headMoved(to: seq))
    }

    func roomLive(_ messages: [RoomMessage]) {
        perform(state.roomLive(messages))
    }

    func roomHeadMoved(_ room: RoomID, to offset: Int64) {
        perform(state.roomHeadMoved(room, to: offset))
    }

    func roomDeparted(_ room: RoomID) {
        perform(state.roomDeparted(room))
    }

    func close(_ reason: RealtimeClose) {
        perform(state.close(reason))
    }

    func tick() {
        let now = environment.clock.now
        let revoked = state.principal.map { environment.isRevoked($0, now) } ?? false
        perform(state.tick(now: now, sessionRevoked: revoked))
    }

    // MARK: Actions

    private func perform(_ actions: [RealtimeConnectionState.Action]) {
        guard !actions.isEmpty else { return }
        for action in actions {
            execute(action)
        }
        flushIfNeeded()
    }

    private func execute(_ action: RealtimeConnectionState.Action) {
        guard let context else { return }
        switch action {
        case .send(let frame):
            count(frame)
            var buffer = context.channel.allocator.buffer(capacity: 64)
            buffer.writeString(frame.text)
            write(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        case .ping:
            write(WebSocketFrame(fin: true, opcode: .ping, data: context.channel.allocator.buffer(capacity: 0)))
        case .close(let reason):
            if reason == .slowConsumer { environment.registry.counters.closedSlowConsumer() }
            sendClose(reason, context: context)
        case .register(let principal):
            guard let handle else { return }
            let reserved = !reservationUsed && initialPrincipal?.userID == principal.userID
            reservationUsed = true
            guard reserved || environment.registry.reserve(principal.userID) else {
                if let initialPrincipal, !reserved { environment.registry.cancelReservation(initialPrincipal.userID) }
                perform(state.close(.tooManyConnections))
                return
            }
            environment.registry.attach(handle, as: principal.userID)
            registeredUser = principal.userID
        case .fetch(let after):
            guard let user = state.userID else { return }
            let inbox = environment.inbox
            let limit = environment.settings.catchUpBatch
            let logger = environment.logger
            answer(on: context.eventLoop) {
                do {
                    let page = try await inbox.messages(of: user, after: after, limit: limit)
                    return { $0.state.fetched(page, queuedBytes: $0.queuedBytes) }
                } catch {
                    logger.warning("realtime catch-up failed; closing so the client resumes",
                                   metadata: ["error": .string(ErrorLog.describe(error))])
                    return { $0.state.fetchFailed() }
                }
            }
        case .verify(let token):
            let verify = environment.verify
            let clock = environment.clock
            answer(on: context.eventLoop) {
                do {
                    let principal = try await verify(token)
                    return { $0.state.authenticated(principal, now: clock.now) }
                } catch {
                    let refusal = error as? SwiftletError
                        ?? AuthErrors.tokenInvalid
                    return { $0.state.authenticationFailed(refusal) }
                }
            }
        case .acknowledge(let seq):
            guard let user = state.userID else { return }
            let inbox = environment.inbox
            let device = self.device
            let clock = environment.clock
            answer(on: context.eventLoop) {
                do {
                    let cursor = try await inbox.acknowledge(userID: user, device: device, seq: seq, now: clock.now)
                    return { $0.state.acknowledged(cursor) }
                } catch {
                    return { $0.state.requestFailed(Self.visible(error), clientMessageID: nil) }
                }
            }
        case .joinRoom, .leaveRoom, .followRoom, .unfollowRoom, .fetchRoom, .postToRoom:
            executeRoom(action, context: context)
        case .sendDirectMessage(let submission):
            guard let user = state.userID else { return }
            let messages = environment.messages
            answer(on: context.eventLoop) {
                do {
                    let receipt = try await messages.send(from: user, submission)
                    return { $0.state.directMessageSent(receipt, clientMessageID: submission.clientMessageID) }
                } catch {
                    return { $0.state.requestFailed(Self.visible(error), clientMessageID: submission.clientMessageID) }
                }
            }
        }
    }

    private func executeRoom(_ action: RealtimeConnectionState.Action, context: ChannelHandlerContext) {
        guard let user = state.userID, let handle else { return }
        let rooms = environment.rooms
        switch action {
        case .joinRoom(let room):
            let presence = environment.presence
            answer(on: context.eventLoop) {
                do {
                    let joined = try await rooms.join(room, user: user)
                    let online = Set(presence.users(in: room)).union([user]).count
                    return { $0.state.roomJoined(joined, online: online) }
                } catch {
                    return { $0.state.roomJoinFailed(room, Self.visible(error)) }
                }
            }
        case .leaveRoom(let room):
            Task {
                try? await rooms.leave(room, user: user)
            }
        case .followRoom(let room):
            environment.registry.follow(room, handle, as: user)
        case .unfollowRoom(let room):
            environment.registry.unfollow(room, handle)
        case .fetchRoom(let room, let after):
            let limit = environment.settings.catchUpBatch
            let logger = environment.logger
            answer(on: context.eventLoop) {
                do {
                    let page = try await rooms.history(of: room, asker: user, after: after, limit: limit)
                    return { $0.state.roomFetched(room, page, queuedBytes: $0.queuedBytes) }
                } catch let error as SwiftletError where error.kind != .unavailable && error.kind != .timeout {
                    return { $0.state.roomJoinFailed(room, error) }
                } catch {
                    logger.warning("realtime room catch-up failed; closing so the client resumes",
                                   metadata: ["error": .string(ErrorLog.describe(error))])
                    return { $0.state.fetchFailed() }
                }
            }
        case .postToRoom(let room, let submission):
            answer(on: context.eventLoop) {
                do {
                    let receipt = try await rooms.post(to: room, from: user, submission)
                    return { $0.state.roomPosted(room, receipt, clientMessageID: submission.clientMessageID) }
                } catch {
                    return { $0.state.roomRequestFailed(room, Self.visible(error), clientMessageID: submission.clientMessageID) }
                }
            }
        default:
            return
        }
    }

    /// Runs `work` off the loop, then applies what it returns to this connection on its loop.
    private func answer(
        on eventLoop: any EventLoop,
        _ work: @escaping @Sendable () async -> @Sendable (RealtimeSocketHandler) -> [RealtimeConnectionState.Action]
    ) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        Task {
            let apply = await work()
            eventLoop.execute {
                let handler = bound.value
                handler.perform(apply(handler))
            }
        }
    }

    /// An error as the client may see it: our own errors as they are, anything else as a
    /// generic failure (its detail stays in the log).
    static func visible(_ error: any Error) -> SwiftletError {
        if let error = error as? SwiftletError { return error }
        return SwiftletError(.internalFailure, code: "realtime.failed", message: "The request could not be completed.")
    }

    private func write(_ frame: WebSocketFrame) {
        guard let context else { return }
        let size = frame.data.readableBytes + 10
        queuedBytes += size
        let promise = context.eventLoop.makePromise(of: Void.self)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { _ in bound.value.written(size) }
        context.write(wrapOutboundOut(frame), promise: promise)
        needsFlush = true
        let actions = state.queued(bytes: queuedBytes)
        if !actions.isEmpty {
            for action in actions { execute(action) }
        }
    }

    private func count(_ frame: ServerFrame) {
        let counters = environment.registry.counters
        switch frame {
        case .message, .roomMessage:
            counters.messageDelivered()
        case .reset where resumeToCount:
            resumeToCount = false
            counters.resumed(exact: false)
        case .caughtUp where resumeToCount:
            resumeToCount = false
            counters.resumed(exact: true)
        default:
            break
        }
    }

    /// A frame left for the socket; a paused catch-up goes on once most of the queue has.
    private func written(_ size: Int) {
        queuedBytes -= size
        if state.isPaused, queuedBytes <= environment.settings.maxQueuedBytes / 4 {
            perform(state.drained())
        }
    }

    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    private func sendClose(_ reason: RealtimeClose, context: ChannelHandlerContext) {
        var data = context.channel.allocator.buffer(capacity: 2 + reason.reason.utf8.count)
        data.writeInteger(reason.code)
        data.writeString(reason.reason)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .whenComplete { _ in channel.close(promise: nil) }
        // A client that never takes the close frame (a slow consumer's waits behind its
        // full queue) is dropped anyway; nothing more is written meanwhile.
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}
