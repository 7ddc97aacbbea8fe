import Foundation
import HummingbirdTesting
import SwiftletCore
import SwiftletSandbox
import Testing

@Suite("Unpaid-order timeout job")
struct UnpaidTimeoutTests {
    static let timeoutSeconds = 3.0
    static let config = CommerceHarness.config { $0.commerce.unpaidTimeoutSeconds = timeoutSeconds }

    /// The application runs on a clock the test moves: orders fall due when the test says
    /// so, not when a loaded machine happens to reach the timeout mid-way through setup.
    static func run(
        _ kind: EngineKind, runsJobWorker: Bool = true, _ body: @escaping @Sendable (CommerceHarness, MutableClock) async throws -> Void
    ) async throws {
        let clock = MutableClock(Date())
        try await CommerceHarness.run(kind, config: config, runsJobWorker: runsJobWorker, clock: clock.clock) { app in
            try await body(app, clock)
        }
    }

    /// Moves the clock past the payment deadline of the orders placed so far.
    static func passTheDeadline(_ clock: MutableClock) {
        clock.advance(timeoutSeconds + 0.1)
    }

    @Test("unpaid: WeChat is asked, the order closed there, cancelled here, stock released", arguments: EngineKind.available)
    func unpaidOrdersAreClosed(_ kind: EngineKind) async throws {
        try await Self.run(kind) { app, clock in
            let (productID, sku) = try await app.product(stock: 5)
            let (_, order, _) = try await app.orderAndPrepay(buyer: "henry", sku: sku)
            let token = try await app.client.login("ivan:\(RandomID.base32(byteCount: 6))").accessToken
            let neverPrepaid = try await app.placeOrder(token, sku: sku, quantity: 2).decode(OrderBody.self)
            #expect(try await app.stock(of: productID) == 2)
            Self.passTheDeadline(clock)

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
        try await Self.run(kind) { app, clock in
            let (productID, sku) = try await app.product(stock: 5)
            let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "judy", sku: sku)
            try app.sandbox.pay(prepayID: prepayID, notify: false)
            Self.passTheDeadline(clock)
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
        try await Self.run(kind, runsJobWorker: false) { app, clock in
            let (productID, sku) = try await app.product(stock: 5)
            let (token, order, _) = try await app.orderAndPrepay(buyer: "rita", sku: sku)
            Self.passTheDeadline(clock)
            app.sandbox.failNext(.close)
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.order(order.id).status == "cancelled", "cancelled here first: no new payment can start")
            #expect(try await app.stock(of: productID) == 4, "but the stock waits for WeChat's close")
            let pay = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: token)
            #expect(pay.status == .conflict)
            #expect(try await app.jobWorker.runDueJobs() == 0, "the retry waits for its backoff")
            clock.advance(2.1)  // the retry's backoff
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.stock(of: productID) == 5)
            #expect(app.sandbox.transaction(outTradeNo: order.outTradeNo)?.tradeState == .closed)
            #expect(try await app.ledger(order.id).filter { $0.kind == "close" }.count == 1)
            #expect(try await app.storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 0)
        }
    }

    @Test("WeChat busy: the job retries later instead of guessing", arguments: EngineKind.available)
    func busyWeChatIsRetried(_ kind: EngineKind) async throws {
        try await Self.run(kind, runsJobWorker: false) { app, clock in
            let (_, sku) = try await app.product(stock: 5)
            let (_, order, _) = try await app.orderAndPrepay(buyer: "kate", sku: sku)
            Self.passTheDeadline(clock)
            app.sandbox.failNext(.query)
            #expect(try await app.jobWorker.runDueJobs() == 1)
            #expect(try await app.order(order.id).status == "pending_payment", "no answer from WeChat, no decision")
            #expect(try await app.storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 1, "kept for a retry")
        }
    }
}
