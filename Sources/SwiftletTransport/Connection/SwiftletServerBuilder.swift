import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

extension HTTPServerBuilder {
    /// HTTP/1.1 with keep-alive, Swiftlet's connection deadlines (idle, header, body) in
    /// place of Hummingbird's plain idle timeout, and the inline lane in front of the router;
    /// over TLS when `tls` is given.
    public static func swiftletHTTP1(
        timeouts: ConnectionTimeouts, inline: InlineLane?, upgrades: UpgradeLane? = nil, tls: TLSTermination? = nil,
        logger: Logger
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            SwiftletHTTP1Channel(responder: responder, timeouts: timeouts, inline: inline, upgrades: upgrades, tls: tls,
                                 logger: logger)
        }
    }
}

/// Hummingbird's HTTP/1 child channel with Swiftlet's `ConnectionHandler` placed where it
/// sees every request in its HTTP/1 form:
///
///     [TLS →] HTTP/1 codec → ConnectionHandler (deadlines, inline lane) → HTTP types codec
///         → connection state → router
///
/// Requests the inline lane answers skip the conversion to HTTP types and the hop into
/// Swift concurrency.
struct SwiftletHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let timeouts: ConnectionTimeouts
    let inline: InlineLane?
    let upgrades: UpgradeLane?
    let tls: TLSTermination?
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            // One socket read per read event (NIO's default is four): what a client that
            // pipelines without reading can make us parse and answer before backpressure
            // stops us is then one read buffer's worth.
            try channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
            if let tls { try pipeline.addHandler(tls.makeHandler()) }
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldCount = 1000  // Hummingbird's default
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // ordering is kept by NIOAsyncChannel and the inline lane
                withErrorHandling: false,  // parse errors are answered by Hummingbird's connection loop
                withOutboundHeaderValidation: false,  // HTTP types validate the router's headers
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits)
            try pipeline.addHandler(ConnectionHandler(
                timeouts: timeouts, lane: inline, upgrades: upgrades, reportsClientCertificate: tls?.verifiesClientCertificates ?? false,
                logger: self.logger))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: tls != nil))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
