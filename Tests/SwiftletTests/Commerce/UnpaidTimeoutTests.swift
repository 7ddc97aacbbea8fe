import Foundation
import HummingbirdTesting
import SwiftletCore
import SwiftletSandbox
import Testing

@Suite("Unpaid-order timeout job")
struct UnpaidTimeoutTests {
    /// Long enough that a loaded machine places the orders and checks the reserved stock
    /// before the timeout job may run; short enough to wait for.
    static let timeoutSeconds = 3.0
    static let config = CommerceHarness.config { $0.commerce.unpaidTimeoutSeconds = timeoutSeconds }
    /// Until the orders placed at the start of a test are due.
    static let untilDue = Duration.milliseconds(Int64(timeoutSeconds * 1000) + 100)

    @Test("unpaid: WeChat is asked, the order closed there, cancelled here, stock released", arguments: EngineKind.available)
    func unpaidOrdersAreClosed(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config) { app in
            let (productID, sku) = try await app.product(stock: 5)
            let (_, order, _) = try await app.orderAndPrepay(buyer: "henry", sku: sku)
            let token = try await app.client.login("ivan:\(RandomID.base32(byteCount: 6))").accessToken
            let neverPrepaid = try await app.placeOrder(token, sku: sku, quantity: 2).decode(OrderBody.self)
            #expect(try await app.stock(of: productID) == 2)

            // Cancelled here first, the stock released after WeChat confirmed the close.
            #expect(try await app.eventually {
                let first = try await app.order(order.id).status
                let second = try await app.order(neverPrepaid.id).status
                let stock = try await app.stock(of: productID)
                return first == "cancelled" && second == "cancelled" && stock == 5
            })
            let cancelled = try await app.order(order.id)
            #expect(cancelled.cancelReason == "timeout")
            #expect(app.sandbox.transaction(outTradeNo: order.outTradeNo)?.tradeState == .closed, "closed at WeChat first")
            #expect(app.sandbox.apiCalls.query >= 2, "WeChat was asked before closing")
            #expect(try await app.stock(of: productID) == 5, "all reserved stock released, once")
            let kinds = try await app.ledger(order.id).map { "\($0.kind):\($0.outcome)" }
            #expect(kinds == ["prepay:prepay_created", "query:not_paid", "close:cancelled"])
            // The worker records a job done after its handler has cancelled the order: a moment later.
            #expect(try await app.eventually { try await app.storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 0 })
        }
    }

    @Test("paid at WeChat but no notify arrived: the job finds the payment and never closes", arguments: EngineKind.available)
    func paidOrdersAreNeverClosed(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config) { app in
            let (productID, sku) = try await app.product(stock: 5)
            let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "judy", sku: sku)
            try app.sandbox.pay(prepayID: prepayID, notify: false)
            #expect(try await app.eventually { try await app.order(order.id).status == "paid" })
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await app.order(order.id).status == "paid")
            #expect(app.sandbox.apiCalls.close == 0)
            #expect(app.sandbox.transaction(outTradeNo: order.outTradeNo)?.tradeState == .success)
            #expect(try await app.ledger(order.id).contains { $0.kind == "query" && $0.outcome == "applied" })
            #expect(try await app.stock(of: productID) == 4)
        }
    }

    @Test("close fails after the local cancel: stock stays held until WeChat confirms, then is released once", arguments: EngineKind.available)
    func closeFailureKeepsStockUntilRetried(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config, runsJobWorker: false) { app in
            let (productID, sku) = try await app.product(stock: 5)
            let (token, order, _) = try await app.orderAndPrepay(buyer: "rita", sku: sku)
            try await Task.sleep(for: Self.untilDue)
            app.sandbox.failNext(.close)
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.order(order.id).status == "cancelled", "cancelled here first: no new payment can start")
            #expect(try await app.stock(of: productID) == 4, "but the stock waits for WeChat's close")
            let pay = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: token)
            #expect(pay.status == .conflict)
            try await Task.sleep(for: .milliseconds(2100))  // the retry's backoff
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.stock(of: productID) == 5)
            #expect(app.sandbox.transaction(outTradeNo: order.outTradeNo)?.tradeState == .closed)
            #expect(try await app.ledger(order.id).filter { $0.kind == "close" }.count == 1)
            #expect(try await app.storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 0)
        }
    }

    @Test("WeChat busy: the job retries later instead of guessing", arguments: EngineKind.available)
    func busyWeChatIsRetried(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind, config: Self.config, runsJobWorker: false) { app in
            let (_, sku) = try await app.product(stock: 5)
            let (_, order, _) = try await app.orderAndPrepay(buyer: "kate", sku: sku)
            try await Task.sleep(for: Self.untilDue)
            app.sandbox.failNext(.query)
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.order(order.id).status == "pending_payment", "no answer from WeChat, no decision")
            #expect(try await app.storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 1, "kept for a retry")
        }
    }
}
