import Hummingbird
import Logging
import NIOCore
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletTransport

/// `GET /metrics`: the Prometheus text exposition.
///
/// On the main listener it wants an admin key like the admin API (a node's metrics
/// name its routes, endpoints and load: not for the public). The optional metrics
/// listener (`metrics.listen`, loopback by default) serves it without a key, for a
/// scraper on the node's own network.
enum MetricsRoutes {
    static let path = "/metrics"
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func register(on router: Router<SwiftletRequestContext>, metrics: SwiftletMetrics, admin: AdminKeyMiddleware) {
        router.group(RouterPath(path)).add(middleware: admin).get { _, _ in
            await response(metrics)
        }
    }

    static func response(_ metrics: SwiftletMetrics) async -> Response {
        let bytes = await metrics.exposition()
        return Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The keyless listener on `listen`, as a service of the application.
    static func listener(_ listen: SwiftletConfiguration.Metrics.Listen, metrics: SwiftletMetrics, logger: Logger)
        -> some ApplicationProtocol {
        let router = Router()
        router.get(RouterPath(path)) { _, _ in await response(metrics) }
        return Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: listen.port), serverName: "swiftlet-metrics"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? listen.port
                let address = SwiftletConfiguration.Metrics.Listen(host: listen.host, port: port).description
                logger.notice("metrics listener started", metadata: ["address": .string(address)])
            },
            logger: logger)
    }
}
