import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SwiftletHTTP
import SwiftletTransport

/// The application `buildApplication` produces: Hummingbird's server running Swiftlet's
/// responder, with its services.
///
/// Its own `run()` instead of Hummingbird's `Application` because the stock one adds, on
/// every request, a request id and logger copy Swiftlet does not use (it has its own ids),
/// and formats its `Date` header through Foundation's ICU calendar, which alone kept
/// about 2 MB of ICU pages resident from start-up. Here the `Date` header comes from the
/// same per-second cache the inline lane uses. Tests drive the same value through
/// HummingbirdTesting (which runs it with the stock loop); the process tests run this one.
public struct SwiftletApplication: ApplicationProtocol {
    public typealias Responder = SwiftletResponder<RouterResponder<SwiftletRequestContext>>

    private let builtResponder: Responder
    public let server: HTTPServerBuilder
    public let configuration: ApplicationConfiguration
    public let logger: Logger
    public let services: [any Service]
    private let whenRunning: @Sendable (any Channel) async -> Void
    private let date: HTTPDateHeader

    init(
        responder: Responder, server: HTTPServerBuilder, configuration: ApplicationConfiguration, date: HTTPDateHeader,
        services: [any Service], onServerRunning: @escaping @Sendable (any Channel) async -> Void, logger: Logger
    ) {
        self.builtResponder = responder
        self.server = server
        self.configuration = configuration
        self.date = date
        self.services = services
        self.whenRunning = onServerRunning
        self.logger = logger
    }

    public var responder: Responder { builtResponder }

    public func onServerRunning(_ channel: any Channel) async {
        await whenRunning(channel)
    }

    public func run() async throws {
        let responder = builtResponder
        let logger = logger
        let date = date
        let serverName = configuration.serverName
        let server = try server.buildServer(
            configuration: ServerConfiguration(
                address: configuration.address, serverName: serverName, backlog: configuration.backlog,
                reuseAddress: configuration.reuseAddress),
            eventLoopGroup: eventLoopGroup,
            logger: logger
        ) { (request, writer: consuming ResponseWriter, channel) in
            let context = SwiftletRequestContext(source: .init(channel: channel, logger: logger))
            // SwiftletResponder renders every error itself; only a parse error surfaces.
            var response = try await responder.respond(to: request, context: context)
            response.headers[.date] = date.current
            if let serverName { response.headers[.server] = serverName }
            do {
                try await writer.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                // Rethrowing a parse error here would make the connection loop answer it
                // with a second response; end the connection instead.
                throw ResponseWriteFailed()
            }
        } onServerRunning: { channel in
            await self.onServerRunning(channel)
        }
        try await ServiceGroup(configuration: .init(services: services + [server], logger: logger)).run()
    }
}

/// A response could not be written; the connection is closed.
struct ResponseWriteFailed: Error {}
