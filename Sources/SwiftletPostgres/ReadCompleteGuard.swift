import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// Keeps PostgresNIO's row stream from a read-complete it did not ask for.
///
/// PostgresNIO 1.33.2 stops the process (`preconditionFailure` in `RowStreamStateMachine`)
/// when a read completes while a result's rows wait for the reader's demand. NIO delivers
/// exactly that when the server closes a connection in the middle of a result (a restart,
/// `pg_terminate_backend`, a cut network): it reads everything left in the socket and
/// signals read-complete whether or not a read was asked for. The driver's row buffer
/// accepts the rows themselves in that state; only the read-complete is fatal.
///
/// Placed right in front of PostgresNIO's handler (after TLS, which decrypts for it), this
/// passes a read-complete on only when PostgresNIO asked for a read since the last one.
/// Rows read meanwhile stay in the driver's buffer, and the close that follows fails the
/// query: its caller gets `storage.unavailable`, and the pool replaces the connection.
final class ReadCompleteGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Installed on a connection already in use: a read may be pending.
    private var readRequested = true

    func channelReadComplete(context: ChannelHandlerContext) {
        guard readRequested else { return }
        readRequested = false
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        readRequested = true
        context.read()
    }

    /// Adds a guard right in front of PostgresNIO's handler: after TLS when the connection
    /// has it (the guard must see the read-completes TLS passes on), else first. A pipeline
    /// that has one already is left as it is.
    static func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        guard (try? pipeline.handler(type: ReadCompleteGuard.self)) == nil else { return }
        if let tls = try? pipeline.context(handlerType: NIOSSLClientHandler.self) {
            try pipeline.addHandler(ReadCompleteGuard(), position: .after(tls.handler))
        } else {
            try pipeline.addHandler(ReadCompleteGuard(), position: .first)
        }
    }
}

/// Puts a `ReadCompleteGuard` on each pooled connection once, the first time it is leased.
///
/// `PostgresClient` makes its connections itself and offers no hook into their pipelines,
/// and `PostgresConnection` keeps its channel internal, so the channel is read by
/// reflection, once per connection. If that read ever fails (a driver whose connection has
/// changed shape), a warning is logged once and connections run without the guard.
final class ReadCompleteGuards: Sendable {
    /// Connections already given their guard.
    private let guarded = PerConnection<Bool>()
    private let warned = Atomic<Bool>(false)
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// Must run on `connection`'s event loop.
    func install(on connection: PostgresConnection) {
        guard guarded.update(connection, initial: true) else { return }
        do {
            guard let channel = Mirror(reflecting: connection).descendant("channel") as? any Channel else {
                throw ChannelNotFound()
            }
            try ReadCompleteGuard.add(to: channel.pipeline.syncOperations)
        } catch {
            if !connection.isClosed, !warned.exchange(true, ordering: .relaxed) {
                logger.warning("PostgreSQL connections run without the read-complete guard: a server that closes a connection in the middle of a result can stop the process", metadata: [
                    "error": .string(String(describing: error)),
                ])
            }
        }
    }

    private struct ChannelNotFound: Error, CustomStringConvertible {
        var description: String { "PostgresConnection has no channel to read" }
    }
}
