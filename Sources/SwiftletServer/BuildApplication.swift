import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletHTTP
import SwiftletRealtime
import SwiftletSandbox
import SwiftletTransport
import SwiftletWebhookDelivery

/// Extension points for teams using Swiftlet as a library.
public struct SwiftletCustomization: Sendable {
    /// Adds the team's own routes; they get the same request ids, error mapping and
    /// access log as Swiftlet's.
    public var routes: @Sendable (Router<SwiftletRequestContext>, any StorageEngine) -> Void
    /// Adds inline answers for some of those routes: I/O-free GETs answered on the event
    /// loop (see `InlineRouteTable`). Each must answer exactly what its router copy does.
    public var inlineRoutes: @Sendable (inout InlineRouteTable) -> Void = { _ in }
    /// Called with the bound address once the server listens (port 0 gets a real port).
    public var onServerRunning: @Sendable (_ host: String, _ port: Int) async -> Void
    /// Observers and guards on the request seam, after the access log: each sees every
    /// request exactly once, whether the router or the inline lane answers it.
    public var observers: [any RequestObserver] = []
    /// Where services get the time from (tests move it by hand).
    public var clock: SwiftletClock
    /// Whether the application closes the storage engine at shutdown. Turn off when the
    /// caller owns an engine shared with something else.
    public var closesStorageOnShutdown: Bool = true
    /// Whether this node polls the job table (order timeouts, refund follow-ups).
    public var runsJobWorker: Bool = true
    /// Where the process writes JSON log lines, when it logs through `JSONLogHandler`; the
    /// access log then writes its lines there directly. Nil: the access log uses `Logger`.
    public var logOutput: LogOutput?
    /// Whether this node delivers webhooks (also needs `webhooks.deliver`). Tests that
    /// drive delivery by hand (`SwiftletComponents.webhookWorker`) turn it off.
    public var runsWebhookWorker: Bool = true
    /// Sends webhook requests; nil: HTTP (`HTTPWebhookTransport`).
    public var webhookTransport: (any WebhookTransport)?
    /// What this node shares with the other nodes (bus, keys, counters). Nil: chosen from
    /// configuration (`ClusterComposition`). Inject one to share it between applications
    /// in one process or to use an implementation of your own.
    public var clusterState: (any ClusterState)?
    /// Decides whether a user may join a room they were not added to (a paid live room, a
    /// company's groups). The default follows the room's policy: `open` yes, `invite` no.
    public var roomJoinDecider: RoomJoinDecider = RoomService.defaultJoinDecider
    /// Called once the application is wired, with the parts tests and embedders need.
    public var onComponents: @Sendable (SwiftletComponents) -> Void = { _ in }

    public init(
        routes: @escaping @Sendable (Router<SwiftletRequestContext>, any StorageEngine) -> Void = { _, _ in },
        onServerRunning: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in },
        clock: SwiftletClock = .system
    ) {
        self.routes = routes
        self.onServerRunning = onServerRunning
        self.clock = clock
    }
}

/// The one composition root: opens the configured storage and wires every layer.
/// The `swiftlet serve` command and the tests both start here.
public func buildApplication(
    _ config: SwiftletConfiguration, logger: Logger, customization: SwiftletCustomization = .init()
) async throws -> SwiftletApplication {
    let storage = try await StorageFactory.openForServing(config, clock: customization.clock, logger: logger)
    do {
        return try await buildApplication(config, storage: storage, logger: logger, customization: customization)
    } catch {
        try? await storage.shutdown()
        throw error
    }
}

/// Wires the application around an already open engine (which it will close at shutdown).
public func buildApplication(
    _ config: SwiftletConfiguration, storage: any StorageEngine, logger: Logger,
    customization: SwiftletCustomization = .init()
) async throws -> SwiftletApplication {
    let clock = customization.clock
    let sandboxAddress = SandboxAddress()
    let codec = try await IdentityComposition.tokenCodec(config)
    let cluster = try await ClusterComposition.clusterState(config, customization: customization, logger: logger)
    let breakers = OutboundBreakers(logger: logger)
    let telemetry = TelemetryComposition(config)
    let wechatClient = IdentityComposition.wechatClient(
        config, sandboxAddress: sandboxAddress, cluster: cluster, clock: clock, logger: logger, breaker: breakers.wechat,
        telemetry: telemetry)
    let wechat = WeChatIdentityAdapter(client: wechatClient, logger: logger)
    let revocations = RevocationList()
    let revocationFeed = RevocationFeed(cluster: cluster, sessions: storage.sessions, list: revocations, clock: clock, logger: logger)
    let userFeed = ClusterCacheFeed.users(cluster: cluster, logger: logger)
    let users = CachedUserRepository(
        storage.users, lifetime: config.cache.userLifetimeSeconds, clock: clock, onWrite: { userFeed.announce($0.rawValue) })
    let auth = AuthService(
        users: users, sessions: storage.sessions, wechat: wechat, tokens: codec, revocations: revocations,
        clock: clock,
        policy: AuthPolicy(
            accessTokenLifetime: TimeInterval(config.auth.accessTokenLifetimeSeconds),
            refreshTokenLifetime: TimeInterval(config.auth.refreshTokenLifetimeSeconds),
            refreshReuseGrace: TimeInterval(config.auth.refreshReuseGraceSeconds)),
        revocationFeed: revocationFeed)
    try await storage.sessions.pruneRevocations(before: clock.now)
    let loaded = try await auth.loadRevocations()
    logger.debug("revocations loaded", metadata: ["count": .stringConvertible(loaded)])

    let realtime = RealtimeComposition(
        config, storage: storage, cluster: cluster, auth: auth, revocations: revocations, clock: clock, logger: logger,
        decideJoin: customization.roomJoinDecider)
    let webhooks = try WebhookComposition(config, storage: storage, clock: clock, logger: logger,
                                          transport: customization.webhookTransport, breakers: breakers.webhooks,
                                          telemetry: telemetry)
    let subscribe = try SubscribeComposition(
        config, storage: storage, wechat: wechatClient, presence: realtime.userPresence, clock: clock, logger: logger)
    let catalogueFeed = ClusterCacheFeed.catalogue(cluster: cluster, logger: logger)
    let catalogueCache = CatalogCache(
        lifetime: config.cache.catalogueLifetimeSeconds, clock: clock, announce: { catalogueFeed.announce($0) })
    let commerce = try CommerceComposition(
        config, storage: storage, sandboxAddress: sandboxAddress, clock: clock, logger: logger, payBreaker: breakers.wechatPay,
        telemetry: telemetry, catalogueCache: catalogueCache,
        flashSaleGate: cluster.isShared ? cluster as? any FlashSaleGate : nil,
        moreJobs: WebhookMaintenance.handlers(
            webhooks: storage.webhooks, events: storage.events, retention: config.webhooks.retentionSeconds, clock: clock,
            logger: logger).merging(subscribe.jobs) { first, _ in first })
    try await MaintenanceJobs.schedule(jobs: storage.jobs, clock: clock)
    try await WebhookMaintenance.schedule(jobs: storage.jobs, clock: clock)
    if config.commerce.demoCatalogue {
        try await commerce.seedDemoCatalogue(storage: storage, logger: logger)
    }

    let router = Router(context: SwiftletRequestContext.self)
    let routes = SwiftletRoutes(router: router)
    router.add(middleware: HTTPErrorEscapeMiddleware())
    let tls = try tlsTermination(config.http.tls)
    if tls?.verifiesClientCertificates == true, config.http.tls.requireClientCertificateForAdmin {
        router.add(middleware: OperatorCertificateMiddleware())
    }
    HealthRoutes(engineName: storage.name, readiness: { try await storage.ping() }).register(on: routes)
    IdentityRoutes(auth: auth, profile: ProfileService(users: users, wechat: wechat)).register(on: routes)
    AdminRoutes(storage: storage, clock: clock).register(on: router)
    let admin = router.group("/admin/v1").add(middleware: AdminKeyMiddleware(keys: storage.adminKeys, clock: clock))
    let buyer = router.group("/api/v1").add(middleware: BearerAuthMiddleware(auth: auth))
    CatalogRoutes(catalog: commerce.catalog, loopReads: SQLCatalogLoopReads.of(storage)).register(on: routes, admin: admin)
    OrderRoutes(orders: commerce.orders, payments: commerce.payments, refunds: commerce.refunds).register(buyer: buyer, admin: admin)
    RealtimeRoutes(inbox: storage.inbox, messages: realtime.messages, clock: clock).register(buyer: buyer, router: router)
    RoomRoutes(rooms: realtime.rooms, presence: realtime.presence).register(buyer: buyer)
    WebhookRoutes(webhooks: webhooks.service).register(admin: admin)
    let signing = SigningComposition(config, storage: storage, cluster: cluster, clock: clock)
    SigningKeyRoutes(keys: signing.service).register(admin: admin)
    SubscriptionRoutes(subscriptions: subscribe.service).register(buyer: buyer)
    if let verifier = commerce.verifier {
        PaymentNotifyRoute(verifier: verifier, payments: commerce.payments, logger: logger,
                           counted: telemetry.notificationCounter).register(on: router)
    }
    commerce.paySandbox?.register(on: router)
    JWKSRoute(document: codec.jwks()).register(on: router)
    OpenAPIRoute().register(on: router)
    let wechatSandbox = config.wechat.sandbox
        ? WeChatSandbox(appID: config.wechat.appID, appSecret: config.wechat.effectiveAppSecret ?? "") : nil
    wechatSandbox?.register(on: router)
    if let metrics = telemetry.metrics {
        MetricsRoutes.register(on: router, metrics: metrics, admin: AdminKeyMiddleware(keys: storage.adminKeys, clock: clock))
    }
    if config.benchEndpoints {
        BenchmarkRoutes().register(on: routes)
    }
    customization.routes(router, storage)
    routes.addInline(customization.inlineRoutes)

    let requestIDs = RequestIDs()
    let accessLogObservers: [any RequestObserver] = accessLog(config, logger: logger, customization: customization)
        .map { [$0] } ?? []
    let rateLimits = RateLimitComposition.guardFor(config, cluster: cluster, tokens: codec, clock: clock, logger: logger)
    let shedder = config.shedding.enabled
        ? LoadShedder(.init(initial: Double(min(64, config.shedding.maxLimit)), minimum: Double(config.shedding.minLimit),
                            maximum: Double(config.shedding.maxLimit)), logger: logger)
        : nil
    telemetry.watch(.init(
        storage: storage, breakers: breakers, shedder: shedder, rateLimits: rateLimits, logOutput: customization.logOutput,
        realtime: realtime.registry, jobKinds: commerce.jobKinds, clock: clock))
    // First on the seam: a request a guard refuses is still counted, with its status.
    let metricsObservers: [any RequestObserver] = telemetry.metrics
        .map { [HTTPMetricsObserver(metrics: $0, scheme: tls == nil ? "http" : "https")] } ?? []
    let seam = RequestSeam(
        observers: metricsObservers + accessLogObservers + (shedder.map { [$0] } ?? []) + signing.guards + (rateLimits.map { [$0] } ?? [])
            + customization.observers)
    let legacyProxy = config.proxy.legacyUpstream.map { upstream in
        LegacyProxy(upstream: upstream, timeout: .milliseconds(Int64(config.proxy.timeoutSeconds * 1000)),
                    maxBodyBytes: config.http.maxBodyBytes, maxResponseBytes: config.proxy.maxResponseBytes,
                    canaryRoutes: Set(config.proxy.canaryRoutes), canaryPercent: config.proxy.canaryPercent)
    }
    let requestTracing = RequestTracing(
        enabled: telemetry.traces, scheme: tls == nil ? "http" : "https", sampleRatio: config.tracing.sampleRatio)
    let responder = SwiftletResponder(
        inner: router.buildResponder(),
        methodIndex: RouteMethodIndex(routes: router.routes.map { ($0.method, $0.path.description) }),
        maxBodyBytes: config.http.maxBodyBytes,
        requestIDs: requestIDs,
        logger: logger,
        seam: seam,
        mountedAPIs: (wechatSandbox == nil ? [] : [WeChatSandbox.routeMissShape()])
            + (commerce.paySandbox.map { [$0.routeMissShape()] } ?? []),
        upstream: legacyProxy,
        tracing: requestTracing)
    let serverName = "swiftlet"
    let date = HTTPDateHeader()
    let upgradeLane = UpgradeLane(upgraders: [realtime.upgrader], requestIDs: requestIDs, seam: seam,
                                  serverName: serverName, date: date)
    // A route the legacy proxy may send upstream (a canary) is the router's to decide.
    let inlineRoutes = routes.inlineRoutes.filter { legacyProxy?.canaryRoutes.contains("GET " + $0) != true }
    let inlineLane = config.http.inlineRoutes
        ? InlineLane(routes: inlineRoutes, requestIDs: requestIDs, seam: seam, serverName: serverName, date: date,
                     tracing: requestTracing, logger: logger)
        : nil
    customization.onComponents(SwiftletComponents(
        storage: storage, paySandbox: commerce.paySandbox, jobWorker: commerce.jobWorker, webhooks: webhooks.service,
        webhookWorker: webhooks.worker, subscribeMessages: subscribe.service, wechatSandbox: wechatSandbox,
        inlineLane: inlineLane, loadShedder: shedder, breakers: breakers,
        routes: router.routes.map { ($0.method.rawValue, $0.path.description) },
        flashSaleReconciler: commerce.flashSaleReconciler))

    let http = config.http
    let timeouts = ConnectionTimeouts(
        idle: .milliseconds(Int64(http.idleTimeoutSeconds * 1000)),
        header: .milliseconds(Int64(http.headerTimeoutSeconds * 1000)),
        body: .milliseconds(Int64(http.bodyTimeoutSeconds * 1000)))

    return SwiftletApplication(
        responder: responder,
        server: .swiftletHTTP1(timeouts: timeouts, inline: inlineLane, upgrades: upgradeLane, tls: tls, logger: logger),
        configuration: .init(address: .hostname(http.host, port: http.port), serverName: serverName, backlog: http.backlog),
        date: date,
        services: (customization.closesStorageOnShutdown ? [StorageLifecycleService(storage: storage)] : [])
            // Services stop in reverse order: the Redis client closes after the feeds using it.
            + ClusterComposition.lifecycleServices(cluster)
            + [ClusterFeedService(revocations: revocationFeed, caches: [(userFeed, users), (catalogueFeed, catalogueCache)]), realtime.service]
            + (customization.runsWebhookWorker ? webhooks.lifecycleServices : [WebhookTransportService(transport: webhooks.transport)])
            + (customization.runsJobWorker
                ? [SubscribeDispatchService(service: subscribe.service, interval: subscribe.pollInterval, logger: logger)] : [])
            + (customization.runsJobWorker ? [JobWorkerService(worker: commerce.jobWorker)] : [])
            + (commerce.flashSaleReconciler.map {
                [FlashSaleReconcilerService(reconciler: $0, interval: config.commerce.flashSaleReconcileSeconds)]
            } ?? [])
            + (commerce.paySandbox.map { [PaySandboxLifecycleService(sandbox: $0)] } ?? [])
            + (legacyProxy.map { [LegacyProxyService(proxy: $0)] } ?? [])
            + metricsListener(config, telemetry: telemetry, logger: logger),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? http.port
            sandboxAddress.set(host: http.host, port: port)
            logger.notice("listening", metadata: [
                "host": .string(http.host), "port": .stringConvertible(port), "storage": .string(storage.name),
                "wechatSandbox": .stringConvertible(config.wechat.sandbox), "tls": .stringConvertible(tls != nil),
            ])
            await customization.onServerRunning(http.host, port)
        },
        logger: logger)
}

/// The keyless metrics listener, when configured.
private func metricsListener(_ config: SwiftletConfiguration, telemetry: TelemetryComposition, logger: Logger) -> [any Service] {
    guard let metrics = telemetry.metrics, let listen = config.metrics.listen else { return [] }
    return [MetricsRoutes.listener(listen, metrics: metrics, logger: logger)]
}

/// The TLS listener settings, when a certificate is configured.
private func tlsTermination(_ tls: SwiftletConfiguration.TLS) throws -> TLSTermination? {
    guard let certificateFile = tls.certificateFile, let keyFile = tls.keyFile else { return nil }
    return try TLSTermination(
        certificateFile: certificateFile, keyFile: keyFile, minimumVersion: tls.minimumVersion == .v1_3 ? .tls13 : .tls12,
        clientCAFile: tls.clientCAFile)
}

/// The access log for this configuration: direct JSON lines when the process logs JSON
/// through `LogOutput`, swift-log otherwise; none when turned off or below the level.
private func accessLog(_ config: SwiftletConfiguration, logger: Logger, customization: SwiftletCustomization) -> (any AccessLog)? {
    guard config.log.accessLog, logger.logLevel <= .info else { return nil }
    if let output = customization.logOutput, config.log.format == .json {
        return JSONAccessLog(output: output, traceID: config.tracing.enabled ? SwiftletTracing.currentTraceID : nil)
    }
    return LoggerAccessLog(logger: logger)
}
