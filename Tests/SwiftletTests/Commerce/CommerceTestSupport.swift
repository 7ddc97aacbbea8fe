import AsyncHTTPClient
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import SwiftletConfig
import SwiftletCore
import SwiftletSandbox
import SwiftletServer
import Testing

struct ProductBody: Decodable {
    struct SKUBody: Decodable {
        let id: String
        let title: String
        let priceFen: Int
        let stock: Int
    }
    let id: String
    let title: String
    let onShelf: Bool
    let skus: [SKUBody]
}

struct OrderBody: Decodable {
    struct Item: Decodable {
        let skuId: String
        let quantity: Int
        let unitPriceFen: Int
    }
    let id: String
    let outTradeNo: String
    let status: String
    let items: [Item]
    let totalFen: Int
    let refundedFen: Int
    let cancelReason: String?
}

struct PageBody<Item: Decodable>: Decodable {
    let items: [Item]
    let nextCursor: String?
}

struct PaymentBody: Decodable {
    struct Parameters: Decodable {
        let timeStamp: String
        let nonceStr: String
        let package: String
        let signType: String
        let paySign: String
    }
    let order: OrderBody
    let payment: Parameters
}

/// A live application on a fresh database with the WeChat Pay sandbox, an admin key,
/// and helpers for the commerce flow.
struct CommerceHarness: Sendable {
    let client: any TestClientProtocol
    let storage: any StorageEngine
    let sandbox: WeChatPaySandbox
    let jobWorker: JobWorker
    let adminKey: String
    /// The WeChat sandbox serving this application (subscribe messages, tokens).
    let wechat: WeChatSandbox?
    /// With Redis: the flash-sale reconciler, for tests to run a round by hand.
    let flashSaleReconciler: FlashSaleReconciler?

    var port: Int { client.port ?? 0 }

    /// Fast notify retries and polling so tests do not wait on WeChat's real schedule.
    static func config(_ adjust: (inout SwiftletConfiguration) -> Void = { _ in }) -> SwiftletConfiguration {
        TestApp.config { config in
            config.wechatPay.sandboxRetrySchedule = [0.05, 0.1, 0.2]
            config.jobs.pollIntervalSeconds = 0.1
            config.commerce.demoCatalogue = false
            adjust(&config)
        }
    }

    static func run(
        _ kind: EngineKind, config: SwiftletConfiguration = CommerceHarness.config(), runsJobWorker: Bool = true,
        clock: SwiftletClock = .system, logger: Logger = TestStorage.logger,
        _ body: @escaping @Sendable (CommerceHarness) async throws -> Void
    ) async throws {
        try await TestStorage.withStorage(kind, clock: clock) { storage in
            let adminKey = "swk_" + RandomID.base32(byteCount: 20)
            _ = try await storage.adminKeys.create(name: "test-admin", keyHash: SecretToken.hash(adminKey), now: Date())
            let components = Mutex<SwiftletComponents?>(nil)
            var customization = SwiftletCustomization()
            customization.runsJobWorker = runsJobWorker
            customization.clock = clock
            customization.onComponents = { parts in components.withLock { $0 = parts } }
            let app = try await buildApplication(config, storage: storage, logger: logger, customization: customization)
            guard let parts = components.withLock({ $0 }), let sandbox = parts.paySandbox else {
                throw TestSetupError("the pay sandbox was not wired")
            }
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                try await body(CommerceHarness(client: client, storage: storage, sandbox: sandbox, jobWorker: parts.jobWorker,
                                          adminKey: adminKey, wechat: parts.wechatSandbox,
                                          flashSaleReconciler: parts.flashSaleReconciler))
                await sandbox.waitUntilIdle()
            }
        }
    }

    func admin(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil) async throws -> Reply {
        try await client.call(method, uri, json: json, bearer: adminKey)
    }

    /// Creates an on-shelf product with one SKU; returns the SKU id.
    func product(title: String = "Tea", priceFen: Int = 1999, stock: Int = 10) async throws -> (productID: String, skuID: String) {
        let reply = try await admin(.post, "/admin/v1/products", json: """
            {"title":"\(title)","description":"test","skus":[{"title":"Default","priceFen":\(priceFen),"stock":\(stock)}]}
            """)
        guard reply.status == .created else { throw TestSetupError("product create: \(reply.status) \(reply.body)") }
        let product = try reply.decode(ProductBody.self)
        return (product.id, product.skus[0].id)
    }

    func stock(of productID: String) async throws -> Int {
        try await admin(.get, "/admin/v1/products/\(productID)").decode(ProductBody.self).skus[0].stock
    }

    func placeOrder(_ token: String, sku: String, quantity: Int = 1, key: String = RandomID.base32(byteCount: 10)) async throws -> Reply {
        try await client.send(.post, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":\#(quantity)}]}"#,
                              headers: [.authorization: "Bearer \(token)", HTTPField.Name("Idempotency-Key")!: key])
    }

    /// login → order → pay; returns the order and the prepay id.
    func orderAndPrepay(buyer: String, sku: String) async throws -> (token: String, order: OrderBody, prepayID: String) {
        let token = try await client.login("\(buyer):\(RandomID.base32(byteCount: 6))").accessToken
        let placed = try await placeOrder(token, sku: sku)
        guard placed.status == .created else { throw TestSetupError("order: \(placed.status) \(placed.body)") }
        let order = try placed.decode(OrderBody.self)
        let paid = try await client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: token)
        guard paid.status == .ok else { throw TestSetupError("pay: \(paid.status) \(paid.body)") }
        let prepayID = String(try paid.decode(PaymentBody.self).payment.package.dropFirst("prepay_id=".count))
        return (token, order, prepayID)
    }

    func order(_ id: String) async throws -> OrderBody {
        try await admin(.get, "/admin/v1/orders/\(id)").decode(AdminOrderBody.self).order
    }

    func ledger(_ id: String) async throws -> [AdminOrderBody.Entry] {
        try await admin(.get, "/admin/v1/orders/\(id)").decode(AdminOrderBody.self).ledger
    }

    /// Polls until `condition` holds or `timeout` passes.
    func eventually(timeout: Duration = .seconds(10), _ condition: @Sendable () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// Posts a raw notification (headers and body exactly as given) to the notify route.
    func deliver(headers: [(String, String)], body: [UInt8]) async throws -> Reply {
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return try await client.execute(uri: "/api/v1/pay/wechat/notify", method: .post, headers: fields,
                                        body: ByteBuffer(bytes: body)) { response in
            Reply(status: response.status, body: String(buffer: response.body))
        }
    }
}

struct AdminOrderBody: Decodable {
    struct Entry: Decodable {
        let kind: String
        let reference: String?
        let gatewayState: String?
        let outcome: String
    }
    struct RefundBody: Decodable {
        let id: String
        let amountFen: Int
        let status: String
    }
    let order: OrderBody
    let refunds: [RefundBody]
    let ledger: [Entry]
}

extension TestClientProtocol {
    func send(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields) async throws -> Reply {
        var all = headers
        if json != nil { all[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: all, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, body: String(buffer: response.body))
        }
    }
}
