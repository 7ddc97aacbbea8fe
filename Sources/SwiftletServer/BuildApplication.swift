import Hummingbird
import Logging
import NIOCore
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP

/// The application type `buildApplication` produces.
public typealias SwiftletApplication = Application<SwiftletResponder<RouterResponder<SwiftletRequestContext>>>

/// Extension points for teams using Swiftlet as a library.
public struct SwiftletCustomization: Sendable {
    /// Adds the team's own routes; they get the same request ids, error mapping and
    /// access log as Swiftlet's.
    public var routes: @Sendable (Router<SwiftletRequestContext>, any StorageEngine) -> Void
    /// Called with the bound address once the server listens (port 0 gets a real port).
    public var onServerRunning: @Sendable (_ host: String, _ port: Int) async -> Void

    public init(
        routes: @escaping @Sendable (Router<SwiftletRequestContext>, any StorageEngine) -> Void = { _, _ in },
        onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
    ) {
        self.routes = routes
        self.onServerRunning = onServerRunning
    }
}

/// The one composition root: opens the configured storage and wires every layer.
/// The `swiftlet serve` command and the tests both start here.
public func buildApplication(
    _ config: SwiftletConfiguration, logger: Logger, customization: SwiftletCustomization = .init()
) async throws -> SwiftletApplication {
    let storage = try await StorageFactory.openForServing(config, logger: logger)
    return buildApplication(config, storage: storage, logger: logger, customization: customization)
}

/// Wires the application around an already open engine (which it will close at shutdown).
public func buildApplication(
    _ config: SwiftletConfiguration, storage: any StorageEngine, logger: Logger,
    customization: SwiftletCustomization = .init()
) -> SwiftletApplication {
    let router = Router(context: SwiftletRequestContext.self)
    router.add(middleware: HTTPErrorEscapeMiddleware())
    HealthRoutes(engineName: storage.name, readiness: { try await storage.ping() }).register(on: router)
    customization.routes(router, storage)

    let responder = SwiftletResponder(
        inner: router.buildResponder(),
        methodIndex: RouteMethodIndex(routes: router.routes.map { ($0.method, $0.path.description) }),
        maxBodyBytes: config.http.maxBodyBytes,
        requestIDs: RequestIDs(),
        logger: logger,
        accessLog: config.log.accessLog)

    let http = config.http
    let timeouts = ConnectionTimeouts(
        idle: .milliseconds(Int64(http.idleTimeoutSeconds * 1000)),
        header: .milliseconds(Int64(http.headerTimeoutSeconds * 1000)),
        body: .milliseconds(Int64(http.bodyTimeoutSeconds * 1000)))

    return Application(
        responder: responder,
        server: .swiftletHTTP1(timeouts: timeouts, logger: logger),
        configuration: .init(address: .hostname(http.host, port: http.port), serverName: "swiftlet"),
        services: [StorageLifecycleService(storage: storage)],
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? http.port
            logger.notice("listening", metadata: ["host": .string(http.host), "port": .stringConvertible(port), "storage": .string(storage.name)])
            await customization.onServerRunning(http.host, port)
        },
        logger: logger)
}
