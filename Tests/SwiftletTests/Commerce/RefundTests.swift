import Foundation
import HummingbirdTesting
import SwiftletCore
import Testing

@Suite("Refunds")
struct RefundTests {
    struct RefundResult: Decodable {
        struct RefundBody: Decodable {
            let id: String
            let amountFen: Int
            let status: String
        }
        let order: OrderBody
        let refund: RefundBody
    }

    static func paidOrder(_ app: CommerceHarness, priceFen: Int, stock: Int) async throws -> (productID: String, order: OrderBody) {
        let (productID, sku) = try await app.product(priceFen: priceFen, stock: stock)
        let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "lucy", sku: sku)
        try app.sandbox.pay(prepayID: prepayID)
        guard try await app.eventually({ try await app.order(order.id).status == "paid" }) else {
            throw TestSetupError("order never paid")
        }
        return (productID, order)
    }

    @Test("full refund before shipping: refunding → notify → refunded, stock back", arguments: EngineKind.available)
    func fullRefund(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, order) = try await Self.paidOrder(app, priceFen: 3000, stock: 4)
            #expect(try await app.stock(of: productID) == 3)
            let reply = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"reason":"changed mind"}"#)
            #expect(reply.status == .created, "\(reply.body)")
            let started = try reply.decode(RefundResult.self)
            #expect(started.refund.amountFen == 3000)
            #expect(started.order.status == "refunding" || started.order.status == "refunded")
            let second = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":1}"#)
            #expect(second.status == .conflict)

            #expect(try await app.eventually { try await app.order(order.id).status == "refunded" })
            let stored = try await app.order(order.id)
            #expect(stored.refundedFen == 3000)
            #expect(try await app.stock(of: productID) == 4, "never shipped: units back on sale")
            let ledger = try await app.ledger(order.id).map { "\($0.kind):\($0.outcome)" }
            #expect(ledger.contains("refund:requested") && ledger.contains("refund_notify:refunded"), "\(ledger)")
            let detail = try await app.admin(.get, "/admin/v1/orders/\(order.id)").decode(AdminOrderBody.self)
            #expect(detail.refunds.map(\.status) == ["succeeded"])
        }
    }

    @Test("partial refund after shipping returns to shipped; stock untouched; over-refund refused", arguments: EngineKind.available)
    func partialRefund(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, order) = try await Self.paidOrder(app, priceFen: 5000, stock: 4)
            _ = try await app.admin(.post, "/admin/v1/orders/\(order.id)/ship")
            let partial = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":1200}"#)
            #expect(partial.status == .created)
            #expect(try await app.eventually {
                let current = try await app.order(order.id)
                return current.status == "shipped" && current.refundedFen == 1200
            })
            #expect(try await app.stock(of: productID) == 3)
            let tooMuch = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":3801}"#)
            #expect(tooMuch.status == .conflict && tooMuch.errorCode == "refund.exceeds_paid")
            let zero = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":0}"#)
            #expect(zero.status == .badRequest && zero.errorCode == "refund.invalid_amount")
            let rest = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":3800}"#)
            #expect(rest.status == .created)
            #expect(try await app.eventually { try await app.order(order.id).status == "refunded" })
            #expect(try await app.stock(of: productID) == 3, "shipped goods are not back in stock")
        }
    }

    @Test("an unpaid order cannot be refunded")
    func unpaidCannotBeRefunded() async throws {
        try await CommerceHarness.run(.sqlite) { app in
            let (_, sku) = try await app.product()
            let token = try await app.client.login("mia:\(RandomID.base32(byteCount: 6))").accessToken
            let order = try await app.placeOrder(token, sku: sku).decode(OrderBody.self)
            let reply = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds")
            #expect(reply.status == .conflict && reply.errorCode == "order.invalid_transition")
        }
    }
}
