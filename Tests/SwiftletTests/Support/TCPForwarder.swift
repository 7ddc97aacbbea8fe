import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay between a client and a server (here: Swiftlet and PostgreSQL), so a test
/// can take the database away from one client, and bring it back, without stopping the
/// server others use.
///
/// The listener keeps its port for the whole test: while cut, it closes every connection
/// it accepts at once, which to the client looks like a server that went away. Closing
/// and binding the port again instead lost a race now and then: another socket on this
/// busy machine took the freed port, and the client never found its database again.
final class TCPForwarder: Sendable {
    private struct State {
        var listener: (any Channel)?
        var connections: [any Channel] = []
        var port = 0
        var isCut = false
    }

    let upstreamHost: String
    let upstreamPort: Int
    private let state = NIOLockedValueBox(State())

    init(to host: String, port: Int) {
        self.upstreamHost = host
        self.upstreamPort = port
    }

    var port: Int { state.withLockedValue { $0.port } }

    /// Listens on 127.0.0.1, on a free port.
    func start() async throws {
        let host = upstreamHost, upstreamPort = upstreamPort
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                if state.withLockedValue({ $0.isCut }) {
                    return inbound.close()
                }
                return ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: host, port: upstreamPort)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Relay(partner: outbound))
                        try outbound.pipeline.syncOperations.addHandler(Relay(partner: inbound))
                        self.track(inbound, outbound)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        state.withLockedValue {
            $0.listener = listener
            $0.port = listener.localAddress?.port ?? 0
        }
    }

    /// Drops every relayed connection, both sides, and refuses new ones until `restore`:
    /// to the client it looks like the server went away.
    func cut() async {
        let connections = state.withLockedValue { state in
            defer {
                state.isCut = true
                state.connections = []
            }
            return state.connections
        }
        for connection in connections {
            try? await connection.close()
        }
    }

    /// Relays new connections again.
    func restore() {
        state.withLockedValue { $0.isCut = false }
    }

    /// Cuts every connection and stops listening.
    func stop() async {
        await cut()
        let listener = state.withLockedValue { state in
            defer { state.listener = nil }
            return state.listener
        }
        try? await listener?.close()
    }

    /// Keeps the pair to close on a cut; a pair that finished connecting after a cut began
    /// is closed at once.
    private func track(_ channels: (any Channel)...) {
        let isCut = state.withLockedValue { state in
            if !state.isCut { state.connections += channels }
            return state.isCut
        }
        if isCut { channels.forEach { $0.close(promise: nil) } }
    }

    /// Copies bytes to the other side; when one side closes, closes the other.
    private final class Relay: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let partner: any Channel

        init(partner: any Channel) {
            self.partner = partner
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
