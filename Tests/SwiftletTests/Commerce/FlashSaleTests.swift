import Foundation
import HummingbirdTesting
import SwiftletCore
import Testing

/// Where a flash sale runs: the database alone (either engine), or PostgreSQL with the
/// units gated in Redis first.
enum FlashSaleSetup: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres, postgresRedis

    var testDescription: String { rawValue }
    var engine: EngineKind { self == .sqlite ? .sqlite : .postgres }

    static var available: [FlashSaleSetup] {
        allCases.filter { EngineKind.available.contains($0.engine) && ($0 != .postgresRedis || TestRedisServer.isAvailable) }
    }

    /// Runs `body` on a fresh application of this setup with a clock the test moves and
    /// no job worker (the test runs due jobs itself).
    func run(clock: MutableClock, _ body: @escaping @Sendable (CommerceHarness) async throws -> Void) async throws {
        let redis = self == .postgresRedis ? try await TestRedisServer.start() : nil
        defer { redis?.stop() }
        let config = CommerceHarness.config { config in
            config.redis.url = redis?.url
        }
        try await CommerceHarness.run(engine, config: config, runsJobWorker: false, clock: clock.clock, body)
    }
}

@Suite("Flash sale")
struct FlashSaleTests {
    @Test("1,000 buyers, 20 units: exactly 20 orders, every other buyer told sold out; after the unpaid timeout, paid + released = 20",
          arguments: FlashSaleSetup.available)
    func thousandBuyersTwentyUnits(_ setup: FlashSaleSetup) async throws {
        let clock = MutableClock(Date())
        try await setup.run(clock: clock) { app in
            let (productID, sku) = try await app.flashSaleProduct(stock: 20)
            try await app.loadFlashSales(expecting: sku)
            let tokens = try await app.buyers(1_000)

            let replies = try await withThrowingTaskGroup(of: (token: String, status: UInt, body: String).self) { group in
                for token in tokens {
                    group.addTask {
                        let reply = try await StockConcurrencyTests.order(port: app.port, token: token, sku: sku, key: RandomID.base32(byteCount: 10))
                        return (token, reply.status, reply.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let won = replies.filter { $0.status == 201 }
            let soldOut = replies.filter { $0.status == 409 && $0.body.contains("\"order.sold_out\"") }
            #expect(won.count == 20, "\(Dictionary(grouping: replies.map(\.status), by: { $0 }).mapValues(\.count))")
            #expect(soldOut.count == 980, "every loser is told sold out: \(Set(replies.filter { $0.status != 201 }.map(\.body)).prefix(3))")
            #expect(try await app.stock(of: productID) == 0, "0 oversold")
            let orders = try await app.storage.orders.list(OrderFilter(status: .pendingPayment), limit: 100, cursor: nil).items
            #expect(orders.count == 20 && Set(orders.map(\.userID)).count == 20, "one order per buyer")

            // Five winners pay; the other fifteen let the unpaid timeout pass.
            for winner in won.prefix(5) {
                let order = try JSONDecoder().decode(OrderBody.self, from: Data(winner.body.utf8))
                let paid = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: winner.token)
                let prepayID = String(try paid.decode(PaymentBody.self).payment.package.dropFirst("prepay_id=".count))
                try app.sandbox.pay(prepayID: prepayID)
            }
            #expect(try await app.eventually {
                try await app.storage.orders.list(OrderFilter(status: .paid), limit: 100, cursor: nil).items.count == 5
            })
            clock.advance(CommerceHarness.config().commerce.unpaidTimeoutSeconds + 1)
            while try await app.jobWorker.runDueJobs() > 0 {}
            let cancelled = try await app.storage.orders.list(OrderFilter(status: .cancelled), limit: 100, cursor: nil).items
            #expect(cancelled.count == 15 && cancelled.allSatisfy { $0.cancelReason == .timeout })
            #expect(try await app.stock(of: productID) == 15, "paid 5 + released 15 = 20")
            if let reconciler = app.flashSaleReconciler {
                // The releases reached Redis as they happened: nothing to repair.
                #expect(try await reconciler.reconcileOnce()[SKUID(rawValue: sku)] == .agreed)
            }

            // Released units sell again, to a buyer without a live order; a buyer who paid
            // still holds theirs.
            let loser = try await StockConcurrencyTests.order(port: app.port, token: soldOut[0].token, sku: sku, key: "again")
            #expect(loser.status == 201, "\(loser.body)")
            let payer = try await StockConcurrencyTests.order(port: app.port, token: won[0].token, sku: sku, key: "again")
            #expect(payer.status == 409 && payer.body.contains("order.flash_sale_limit"), "\(payer.body)")
            #expect(try await app.stock(of: productID) == 14)
        }
    }

    @Test("one unit per order, one live order per buyer; a retry gets its order back", arguments: FlashSaleSetup.available)
    func oneOrderPerBuyer(_ setup: FlashSaleSetup) async throws {
        let clock = MutableClock(Date())
        try await setup.run(clock: clock) { app in
            let (productID, sku) = try await app.flashSaleProduct(stock: 5)
            let (_, plain) = try await app.product(stock: 5)
            try await app.loadFlashSales(expecting: sku)
            let token = try await app.client.login("flash-one:\(RandomID.base32(byteCount: 6))").accessToken

            let two = try await app.placeOrder(token, sku: sku, quantity: 2)
            #expect(two.status == .badRequest && two.body.contains("order.flash_sale_one_unit"), "\(two.body)")
            let mixed = try await app.client.send(
                .post, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1},{"skuId":"\#(plain)","quantity":1}]}"#,
                headers: [.authorization: "Bearer \(token)", .init("Idempotency-Key")!: "mixed"])
            #expect(mixed.status == .badRequest && mixed.body.contains("order.flash_sale_one_unit"), "\(mixed.body)")

            let first = try await app.placeOrder(token, sku: sku, key: "first")
            #expect(first.status == .created, "\(first.body)")
            let retry = try await app.placeOrder(token, sku: sku, key: "first")
            let firstID = try first.decode(OrderBody.self).id
            #expect(retry.status == .ok)
            #expect(try retry.decode(OrderBody.self).id == firstID)
            let again = try await app.placeOrder(token, sku: sku, key: "second")
            #expect(again.status == .conflict && again.body.contains("order.flash_sale_limit"), "\(again.body)")
            #expect(try await app.stock(of: productID) == 4)

            // Cancelled, the hold is gone: the buyer may order again.
            let id = try first.decode(OrderBody.self).id
            let cancel = try await app.client.call(.post, "/api/v1/orders/\(id)/cancel", bearer: token)
            #expect(cancel.status == .ok, "\(cancel.body)")
            #expect(try await app.stock(of: productID) == 5)
            let afterCancel = try await app.placeOrder(token, sku: sku, key: "third")
            #expect(afterCancel.status == .created, "\(afterCancel.body)")
            #expect(try await app.stock(of: productID) == 4)
        }
    }
}

extension CommerceHarness {
    /// An on-shelf product whose one SKU is sold in a flash sale.
    func flashSaleProduct(stock: Int) async throws -> (productID: String, skuID: String) {
        let reply = try await admin(.post, "/admin/v1/products", json: """
            {"title":"Flash \(stock)","skus":[{"title":"One","priceFen":990,"stock":\(stock),"flashSale":true}]}
            """)
        guard reply.status == .created, reply.body.contains("\"flashSale\":true") else {
            throw TestSetupError("flash-sale product: \(reply.status) \(reply.body)")
        }
        let product = try reply.decode(ProductBody.self)
        return (product.id, product.skus[0].id)
    }

    /// With Redis, one reconciliation round loads the new SKU into the gate (the running
    /// service does the same every few seconds).
    func loadFlashSales(expecting sku: String) async throws {
        guard let flashSaleReconciler else { return }
        let result = try await flashSaleReconciler.reconcileOnce()
        guard result[SKUID(rawValue: sku)] == .loaded else { throw TestSetupError("not loaded: \(result)") }
    }

    /// `count` signed-in buyers' access tokens, signed in 50 at a time.
    func buyers(_ count: Int) async throws -> [String] {
        var tokens: [String] = []
        for batch in stride(from: 0, to: count, by: 50) {
            tokens += try await withThrowingTaskGroup(of: String.self) { group in
                for index in batch..<min(batch + 50, count) {
                    group.addTask { try await client.login("flash\(index):\(RandomID.base32(byteCount: 6))").accessToken }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
        }
        return tokens
    }
}
