import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay between a client and a server (here: Swiftlet and PostgreSQL), so a test
/// can take the database away from one client — and bring it back on the same port —
/// without stopping the server others use.
final class TCPForwarder: Sendable {
    private struct State {
        var listener: (any Channel)?
        var connections: [any Channel] = []
        var port = 0
    }

    let upstreamHost: String
    let upstreamPort: Int
    private let state = NIOLockedValueBox(State())

    init(to host: String, port: Int) {
        self.upstreamHost = host
        self.upstreamPort = port
    }

    var port: Int { state.withLockedValue { $0.port } }

    /// Listens on 127.0.0.1 (`port` 0 picks a free one; a restart passes the old one).
    func start(port: Int = 0) async throws {
        let host = upstreamHost, upstreamPort = upstreamPort
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: host, port: upstreamPort)
                    .flatMapThrowing { outbound in
                        try inbound.pipeline.syncOperations.addHandler(Relay(partner: outbound))
                        try outbound.pipeline.syncOperations.addHandler(Relay(partner: inbound))
                        self.track(inbound, outbound)
                    }
            }
            .bind(host: "127.0.0.1", port: port).get()
        state.withLockedValue {
            $0.listener = listener
            $0.port = listener.localAddress?.port ?? 0
        }
    }

    /// Stops listening and drops every relayed connection, both sides: to the client it
    /// looks like the server went away.
    func cut() async {
        let (listener, connections) = state.withLockedValue { state in
            defer {
                state.listener = nil
                state.connections = []
            }
            return (state.listener, state.connections)
        }
        try? await listener?.close()
        for connection in connections {
            try? await connection.close()
        }
    }

    private func track(_ channels: (any Channel)...) {
        state.withLockedValue { $0.connections += channels }
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
