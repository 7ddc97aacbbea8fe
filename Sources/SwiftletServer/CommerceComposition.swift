import Foundation
import Logging
import ServiceLifecycle
import SwiftletConfig
import SwiftletCore
import SwiftletWebhookDelivery
import SwiftletHTTP
import SwiftletResilience
import SwiftletSandbox
import SwiftletTransport
import SwiftletWeChatPay

/// Parts of a running application that tests and embedding code may need to reach.
public struct SwiftletComponents: Sendable {
    public let storage: any StorageEngine
    /// The WeChat Pay sandbox, when it serves this application.
    public let paySandbox: WeChatPaySandbox?
    public let jobWorker: JobWorker
    /// Webhook endpoints, messages and replay (what the admin API calls).
    public let webhooks: WebhookService
    /// This node's webhook delivery, unless `webhooks.deliver` is off.
    public let webhookWorker: WebhookDeliveryWorker?
    /// Subscribe messages: quotas, dispatch (tests drive `dispatchOnce` by hand when the
    /// job worker is off) and the send job.
    public let subscribeMessages: SubscribeMessageService
    /// The WeChat sandbox, when it serves this application.
    public let wechatSandbox: WeChatSandbox?
    /// The inline lane, unless `http.inlineRoutes` turned it off.
    public let inlineLane: InlineLane?
    /// Adaptive load shedding, when `shedding.enabled`.
    public let loadShedder: LoadShedder?
    /// The breakers of this node's calls to WeChat, WeChat Pay and webhook receivers.
    public let breakers: OutboundBreakers
    /// Every route on the router as (method, path template), e.g. `("GET", "/api/v1/orders/{id}")`:
    /// what the API contract test compares with the OpenAPI document.
    public var routes: [(method: String, path: String)] = []
    /// With Redis: what keeps the flash-sale gate in step with the database.
    public var flashSaleReconciler: FlashSaleReconciler?
}

/// Builds the commerce services and WeChat Pay from configuration.
struct CommerceComposition {
    let payments: PaymentService
    let orders: OrderService
    let refunds: RefundService
    let catalog: CatalogService
    let verifier: (any PaymentNotificationVerifier)?
    let paySandbox: WeChatPaySandbox?
    let jobWorker: JobWorker
    /// Keeps the flash-sale gate in step with the database (with Redis only).
    let flashSaleReconciler: FlashSaleReconciler?
    /// The job kinds this node runs (metrics show each, due or not).
    var jobKinds: [String] { jobWorker.kinds }

    init(_ config: SwiftletConfiguration, storage: any StorageEngine, sandboxAddress: SandboxAddress,
         clock: SwiftletClock, logger: Logger, payBreaker: DependencyBreaker, telemetry: TelemetryComposition,
         catalogueCache: CatalogCache, flashSaleGate: (any FlashSaleGate)?, moreJobs: [String: JobHandler] = [:]) throws {
        let pay = config.wechatPay
        let notifyURL: @Sendable () -> String = {
            pay.notifyURL ?? sandboxAddress.baseURL + PaymentNotifyRoute.path
        }
        var gateway: WeChatPayGateway?
        var merchant = MerchantIdentity(appID: config.wechat.appID, mchID: pay.mchID ?? "")
        if pay.isConfigured {
            var configuration = try Self.merchantConfiguration(config)
            configuration.telemetry = telemetry.outbound("wechatpay", errorLabel: "code")
            let client = try WeChatPayClient(configuration: configuration, breaker: payBreaker)
            gateway = WeChatPayGateway(client: client, notifyURL: notifyURL)
            paySandbox = nil
        } else if config.wechat.sandbox {
            let credentials = try WeChatPaySandboxCredentials.loadOrCreate(
                directory: config.dataDirectory + "/secrets", appID: config.wechat.appID)
            let sandbox = try WeChatPaySandbox(
                credentials: credentials,
                notifyRetrySchedule: pay.sandboxRetrySchedule.map { .milliseconds(Int64($0 * 1000)) },
                keyMode: Self.sandboxKeyMode(pay))
            let base = pay.baseURL
            // The embedded client verifies as a merchant in that mode would: with the
            // certificate, the public key, or both while migrating.
            let usesPublicKey = pay.sandboxKeyMode != .certificate
            let usesCertificate = pay.sandboxKeyMode != .publicKey
            var configuration = try WeChatPayConfiguration(
                appID: credentials.appID, mchID: credentials.mchID, merchantSerialNumber: credentials.merchantSerialNumber,
                merchantPrivateKeyPEM: credentials.merchantPrivateKeyPEM, apiV3Key: credentials.apiV3Key,
                publicKeyID: usesPublicKey ? credentials.publicKeyID : nil,
                publicKeyPEM: usesPublicKey ? credentials.platformPublicKeyPEM : nil,
                platformCertificatePEMs: usesCertificate ? [credentials.platformCertificatePEM] : [],
                baseURL: { base ?? sandboxAddress.baseURL + WeChatPaySandbox.pathPrefix },
                timeout: .milliseconds(Int64(pay.timeoutSeconds * 1000)))
            configuration.telemetry = telemetry.outbound("wechatpay", errorLabel: "code")
            let client = try WeChatPayClient(configuration: configuration, breaker: payBreaker)
            gateway = WeChatPayGateway(client: client, notifyURL: notifyURL)
            merchant = MerchantIdentity(appID: credentials.appID, mchID: credentials.mchID)
            paySandbox = sandbox
        } else {
            logger.warning("WeChat Pay is not configured (wechatpay.mchId); paying for orders answers 503 pay.not_configured")
            paySandbox = nil
        }
        verifier = gateway
        // With Redis, flash-sale units are gated there before the database is asked; on
        // their own the database's guards give the same answers (docs/commerce.md).
        let orderStore: any OrderRepository
        // Made in every setup, so the counters are exported (at 0 without Redis) and the
        // alert on them evaluates everywhere.
        let flashSaleTelemetry = FlashSaleTelemetry(factory: telemetry.metrics)
        if let flashSaleGate {
            let skus = FlashSaleSKUs()
            orderStore = FlashSaleOrders(storage.orders, gate: flashSaleGate, skus: skus, clock: clock,
                                         telemetry: flashSaleTelemetry, logger: logger)
            flashSaleReconciler = FlashSaleReconciler(
                catalog: storage.catalog, gate: flashSaleGate, skus: skus, clock: clock,
                grace: config.commerce.flashSaleReservationGraceSeconds, telemetry: flashSaleTelemetry, logger: logger)
        } else {
            orderStore = storage.orders
            flashSaleReconciler = nil
        }
        payments = PaymentService(orders: orderStore, users: storage.users, gateway: gateway, merchant: merchant,
                                  clock: clock, logger: logger)
        refunds = RefundService(orders: orderStore, gateway: gateway, clock: clock, logger: logger)
        orders = OrderService(orders: orderStore, clock: clock, policy: OrderPolicy(
            unpaidTimeout: config.commerce.unpaidTimeoutSeconds, maxQuantityPerItem: config.commerce.maxQuantityPerItem))
        catalog = CatalogService(catalog: storage.catalog, clock: clock, cache: catalogueCache)
        var jobWorker = JobWorker(
            jobs: storage.jobs,
            handlers: CommerceJobs.handlers(payments: payments, refunds: refunds).merging(
                MaintenanceJobs.handlers(jobs: storage.jobs, sessions: storage.sessions, clock: clock, logger: logger)) { first, _ in first }
                .merging(moreJobs) { first, _ in first },
            clock: clock,
            policy: JobWorker.Policy(pollInterval: config.jobs.pollIntervalSeconds, lease: config.jobs.leaseSeconds),
            logger: logger)
        jobWorker.telemetry = JobTelemetry(factory: telemetry.metrics, traces: telemetry.traces)
        self.jobWorker = jobWorker
    }

    static func sandboxKeyMode(_ pay: SwiftletConfiguration.WeChatPay) -> WeChatPaySandbox.KeyMode {
        switch pay.sandboxKeyMode {
        case .certificate: .certificate
        case .publicKey: .publicKey
        case .migrating: .migrating(window: .milliseconds(Int64(pay.sandboxMigrationSeconds * 1000)))
        }
    }

    /// A real merchant's credentials, read from the configured files.
    static func merchantConfiguration(_ config: SwiftletConfiguration) throws -> WeChatPayConfiguration {
        let pay = config.wechatPay
        func read(_ path: String?, _ key: String) throws -> String {
            guard let path else { throw SwiftletError.invalid("config.missing", "\(key) is required") }
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw SwiftletError.invalid("config.unreadable_file", "\(key): cannot read \(path)")
            }
        }
        return try WeChatPayConfiguration(
            appID: config.wechat.appID, mchID: pay.mchID ?? "", merchantSerialNumber: pay.merchantSerialNumber ?? "",
            merchantPrivateKeyPEM: try read(pay.merchantPrivateKeyFile, "wechatpay.merchantPrivateKeyFile"),
            apiV3Key: pay.apiV3Key ?? "", publicKeyID: pay.publicKeyID,
            publicKeyPEM: try pay.publicKeyFile.map { try read($0, "wechatpay.publicKeyFile") },
            platformCertificatePEMs: try pay.platformCertificateFiles.map { try read($0, "wechatpay.platformCertificateFiles") },
            baseURL: { [base = pay.baseURL ?? SwiftletConfiguration.WeChatPay.productionBaseURL] in base },
            timeout: .milliseconds(Int64(pay.timeoutSeconds * 1000)))
    }

    /// Seeds a few products so a new developer sees a catalogue at once.
    func seedDemoCatalogue(storage: any StorageEngine, logger: Logger) async throws {
        guard try await storage.catalog.count() == 0 else { return }
        for draft in DemoCatalogue.products {
            _ = try await catalog.create(draft)
        }
        logger.notice("seeded the demo catalogue", metadata: ["products": .stringConvertible(DemoCatalogue.products.count)])
    }
}

/// Runs the job worker for as long as the application runs.
struct JobWorkerService: Service {
    let worker: JobWorker

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await worker.run()
        }
    }
}

/// Reconciles the flash-sale gate with the database for as long as the application runs.
struct FlashSaleReconcilerService: Service {
    let reconciler: FlashSaleReconciler
    let interval: TimeInterval

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await reconciler.run(every: interval)
        }
    }
}

/// Stops the sandbox's pending notify retries (up to a day on WeChat's schedule) with
/// the application.
struct PaySandboxLifecycleService: Service {
    let sandbox: WeChatPaySandbox

    func run() async throws {
        try? await gracefulShutdown()
        await sandbox.shutdown()
    }
}

/// The development profile's starter catalogue.
enum DemoCatalogue {
    static let products: [ProductDraft] = [
        ProductDraft(title: "Yunnan Pu'er Tea", description: "Aged raw pu'er, pressed cake.", skus: [
            SKUDraft(title: "100 g", priceFen: 6800, stock: 100),
            SKUDraft(title: "357 g cake", priceFen: 19800, stock: 40),
        ]),
        ProductDraft(title: "Ceramic Tea Cup", description: "Hand-thrown celadon cup, 80 ml.", skus: [
            SKUDraft(title: "Celadon", priceFen: 4500, stock: 60),
            SKUDraft(title: "White", priceFen: 4200, stock: 60),
        ]),
        ProductDraft(title: "Mooncake Gift Box", description: "Six lotus-seed mooncakes.", skus: [
            SKUDraft(title: "Box of 6", priceFen: 12800, stock: 50),
        ]),
    ]
}
