import NIOCore
import NIOPosix
import NIOSSL
import SwiftletEventLoopExecutor
import Synchronization

/// One connection to Redis. Commands from many tasks may be in flight on it at once;
/// replies are matched in order by `RedisChannelHandler`.
public final class RedisConnection: Sendable {
    let channel: any Channel
    let commandTimeout: TimeAmount
    /// The protocol the server agreed to (3 after a successful `HELLO 3`).
    public let protocolVersion: Int

    /// Runs tasks on this connection's event loop (see `EventLoopTaskExecutor`).
    let taskExecutor: EventLoopTaskExecutor
    /// The handler, called directly on the event loop.
    private let handler: NIOLoopBound<RedisChannelHandler>

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, commandTimeout: TimeAmount, protocolVersion: Int) {
        self.channel = channel
        self.handler = handler
        taskExecutor = EventLoopTaskExecutor(channel.eventLoop)
        self.commandTimeout = commandTimeout
        self.protocolVersion = protocolVersion
    }

    public var isActive: Bool { channel.isActive }

    /// Connects, authenticates and selects the database.
    ///
    /// `onPush` receives out-of-band values: RESP3 pushes, and everything the server
    /// sends once the connection has subscribed (`subscribe(_:)`).
    public static func connect(
        _ configuration: RedisConfiguration, tls: NIOSSLContext? = nil, on eventLoop: any EventLoop,
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RedisConnection {
        let serverName = configuration.host
        let installed = HandlerSlot()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        let isAddress = (try? SocketAddress(ipAddress: serverName, port: 0)) != nil
                        try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : serverName))
                    }
                    let handler = RedisChannelHandler(onPush: onPush)
                    try sync.addHandler(handler)
                    installed.set(NIOLoopBound(handler, eventLoop: channel.eventLoop))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw RedisError(.connectionClosed, "cannot connect to Redis at \(configuration.host):\(configuration.port): \(error)")
        }
        guard let handler = installed.value else {
            try? await channel.close()
            throw RedisError(.connectionClosed, "the connection was set up without its handler")
        }
        do {
            let probe = RedisConnection(channel: channel, handler: handler, commandTimeout: configuration.commandTimeout, protocolVersion: 2)
            let version = try await handshake(probe, configuration)
            return RedisConnection(channel: channel, handler: handler, commandTimeout: configuration.commandTimeout, protocolVersion: version)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// `HELLO 3` (with `AUTH` in it; a server without RESP3 falls back to `AUTH`), or
    /// `AUTH` on RESP2, then `SELECT`.
    private static func handshake(_ probe: RedisConnection, _ configuration: RedisConfiguration) async throws -> Int {
        var version = 2
        var authenticated = configuration.password == nil
        if configuration.protocolVersion >= 3 {
            var words = ["3"]
            if let password = configuration.password {
                words += ["AUTH", configuration.username ?? "default", password]
            }
            do {
                try await probe.send(RedisCommand("HELLO", words))
                version = 3
                authenticated = true
            } catch let error as RedisError where error.serverKind == "NOPROTO" || error.message.contains("unknown command") {
                version = 2
            }
        }
        if !authenticated, let password = configuration.password {
            let words = configuration.username.map { [$0, password] } ?? [password]
            try await probe.send(RedisCommand("AUTH", words))
        }
        if configuration.database != 0 {
            try await probe.send(RedisCommand("SELECT", [String(configuration.database)]))
        }
        return version
    }

    /// Sends one command; a server error reply is thrown as `RedisError`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        let replies = try await write([command], replyCount: 1)
        if case .error(let error) = replies[0] { throw error }
        return replies[0]
    }

    /// Sends the commands together (one write, one flush) and returns one reply per
    /// command in order; server error replies are returned as `.error` values, so one
    /// failed command does not hide the others' replies.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        return try await write(commands, replyCount: commands.count)
    }

    /// Sends `SUBSCRIBE`/`PSUBSCRIBE`: from then on everything the server sends on this
    /// connection (confirmations and messages, as RESP2 arrays or RESP3 pushes) goes to
    /// `onPush`, and it takes no more ordinary commands.
    func subscribe(_ command: RedisCommand) async throws {
        _ = try await write([command], replyCount: 0, entersSubscriberMode: true)
    }

    private func write(_ commands: [RedisCommand], replyCount: Int, entersSubscriberMode: Bool = false) async throws -> [RESPValue] {
        var bytes: ByteBuffer
        if commands.count == 1 {
            bytes = commands[0].encoded
        } else {
            bytes = channel.allocator.buffer(capacity: commands.reduce(0) { $0 + $1.encoded.readableBytes })
            for command in commands { command.encode(into: &bytes) }
        }
        let timeout = commandTimeout
        let payload = bytes
        return try await withCheckedThrowingContinuation { reply in
            // On the connection's loop (a lease runs there) the handler is called at once;
            // from elsewhere the request hops over first.
            if channel.eventLoop.inEventLoop {
                handler.value.send(payload, replyCount: replyCount, timeout: timeout, entersSubscriberMode: entersSubscriberMode, reply: reply)
            } else {
                channel.eventLoop.execute { [handler] in
                    handler.value.send(payload, replyCount: replyCount, timeout: timeout, entersSubscriberMode: entersSubscriberMode, reply: reply)
                }
            }
        }
    }

    public func close() async {
        try? await channel.close()
    }

    /// Completes when the connection closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}

/// Carries the handler out of the channel initializer, which runs on the event loop.
private final class HandlerSlot: Sendable {
    private let slot = Mutex<NIOLoopBound<RedisChannelHandler>?>(nil)

    func set(_ handler: NIOLoopBound<RedisChannelHandler>) {
        slot.withLock { $0 = handler }
    }

    var value: NIOLoopBound<RedisChannelHandler>? { slot.withLock { $0 } }
}
