import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletCore
import SwiftletSandbox
import Testing

@Suite("Payment notifications")
struct PaymentNotifyTests {
    /// A genuine TRANSACTION.SUCCESS notify for an order the sandbox has marked paid
    /// (without sending anything itself).
    static func genuineNotify(_ app: CommerceHarness, _ outTradeNo: String, edit: (inout [String: Any]) -> Void = { _ in })
        throws -> (headers: [(String, String)], body: [UInt8]) {
        let resource = try #require(app.sandbox.transactionResource(outTradeNo: outTradeNo))
        var object = try #require(try JSONSerialization.jsonObject(with: Data(resource)) as? [String: Any])
        edit(&object)
        return try app.sandbox.signedNotification(
            eventType: "TRANSACTION.SUCCESS", resource: Array(try JSONSerialization.data(withJSONObject: object)),
            originalType: "transaction", associatedData: "transaction")
    }

    @Test("the same notify 5 times at once, with the timeout job and a cancel: one transition", arguments: EngineKind.available)
    func duplicatesRaceTimeoutAndCancel(_ kind: EngineKind) async throws {
        // On a clock the test moves, so the order passes its deadline only when the test says.
        let config = CommerceHarness.config { $0.commerce.unpaidTimeoutSeconds = 3 }
        let clock = MutableClock(Date())
        try await CommerceHarness.run(kind, config: config, runsJobWorker: false, clock: clock.clock) { app in
            let (productID, sku) = try await app.product(stock: 3)
            let (token, order, prepayID) = try await app.orderAndPrepay(buyer: "erin", sku: sku)
            try app.sandbox.pay(prepayID: prepayID, notify: false)
            let notify = try Self.genuineNotify(app, order.outTradeNo)
            clock.advance(3.1)  // the order is now past its payment deadline

            let replies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<5 {
                    group.addTask { "\(try await app.deliver(headers: notify.headers, body: notify.body).status.code)" }
                }
                group.addTask { "job:\(try await app.jobWorker.runDueJobs())" }
                group.addTask { "cancel:\(try await app.client.call(.post, "/api/v1/orders/\(order.id)/cancel", bearer: token).status.code)" }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(replies.filter { $0 == "204" }.count == 5, "\(replies)")
            #expect(replies.contains("cancel:409"), "the cancel loses: WeChat says paid (\(replies))")

            let stored = try await app.order(order.id)
            #expect(stored.status == "paid")
            let ledger = try await app.ledger(order.id)
            let notifies = ledger.filter { $0.kind == "notify" }
            #expect(notifies.count == 5, "every delivery is recorded")
            let applied = ledger.filter { $0.outcome == "applied" }
            #expect(applied.count == 1, "exactly one transition: \(ledger.map { "\($0.kind):\($0.outcome)" })")
            #expect(notifies.filter { $0.outcome == "duplicate" }.count >= 4)
            #expect(!ledger.contains { $0.kind == "close" }, "a paid order is never closed")
            #expect(app.sandbox.apiCalls.close == 0)
            #expect(try await app.stock(of: productID) == 2, "stock stays taken by the paid order")
        }
    }

    @Test("tampered body, signature, timestamp or serial → 4xx FAIL and the order unchanged", arguments: EngineKind.available)
    func tamperedNotifiesAreRejected(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (_, sku) = try await app.product(stock: 3)
            let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "frank", sku: sku)
            try app.sandbox.pay(prepayID: prepayID, notify: false)
            let genuine = try Self.genuineNotify(app, order.outTradeNo)

            func header(_ name: String, _ transform: (String) -> String) -> [(String, String)] {
                genuine.headers.map { $0.0.lowercased() == name.lowercased() ? ($0.0, transform($0.1)) : $0 }
            }
            var body = genuine.body
            if let index = body.firstIndex(of: UInt8(ascii: "E")) { body[index] = UInt8(ascii: "F") }
            let stale = String(Int(Date().timeIntervalSince1970) - 600)
            let attempts: [(String, [(String, String)], [UInt8])] = [
                ("body", genuine.headers, body),
                ("signature", header("Wechatpay-Signature") { "WECHATPAY/SIGNTEST/" + $0.dropFirst(19) }, genuine.body),
                ("timestamp", header("Wechatpay-Timestamp") { _ in stale }, genuine.body),
                ("serial", header("Wechatpay-Serial") { _ in "PUB_KEY_ID_0000000000000000000000000000000" }, genuine.body),
                ("headers missing", [], genuine.body),
            ]
            for (what, headers, body) in attempts {
                let reply = try await app.deliver(headers: headers, body: body)
                #expect((400..<500).contains(reply.status.code), "\(what): \(reply.status)")
                #expect(reply.body.contains(#""code":"FAIL""#), "\(what): \(reply.body)")
            }
            let encrypted = try app.sandbox.signedNotification(
                eventType: "TRANSACTION.SUCCESS", resource: Array("not json".utf8), originalType: "transaction",
                associatedData: "transaction")
            let undecodable = try await app.deliver(headers: encrypted.headers, body: encrypted.body)
            #expect(undecodable.status == .badRequest && undecodable.body.contains("FAIL"))

            #expect(try await app.order(order.id).status == "pending_payment")
            #expect(try await app.ledger(order.id).allSatisfy { $0.kind != "notify" }, "rejected notifies change nothing")

            let accepted = try await app.deliver(headers: genuine.headers, body: genuine.body)
            #expect(accepted.status == .noContent)
            #expect(try await app.order(order.id).status == "paid")
        }
    }

    @Test("an amount or merchant mismatch never marks the order paid", arguments: EngineKind.available)
    func mismatchesAreRecordedNotApplied(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (_, sku) = try await app.product(priceFen: 5000, stock: 3)
            let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "grace", sku: sku)
            try app.sandbox.pay(prepayID: prepayID, notify: false)
            let cheap = try Self.genuineNotify(app, order.outTradeNo) { object in
                object["amount"] = ["total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY"]
            }
            #expect(try await app.deliver(headers: cheap.headers, body: cheap.body).status == .noContent)
            let foreign = try Self.genuineNotify(app, order.outTradeNo) { $0["mchid"] = "1234567890" }
            #expect(try await app.deliver(headers: foreign.headers, body: foreign.body).status == .noContent)
            #expect(try await app.order(order.id).status == "pending_payment")
            let outcomes = try await app.ledger(order.id).filter { $0.kind == "notify" }.map(\.outcome)
            #expect(outcomes == ["amount_mismatch", "merchant_mismatch"])
        }
    }
}
