import Foundation
import HTTPTypes
import HummingbirdTesting
import SwiftletCore
import Testing

@Suite("Commerce flow over real HTTP")
struct CommerceFlowTests {
    @Test("login → order → pay → sandbox pays → notify → paid", arguments: EngineKind.available)
    func wholeFlow(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(priceFen: 2500, stock: 5)
            let (token, order, prepayID) = try await app.orderAndPrepay(buyer: "alice", sku: sku)
            #expect(order.status == "pending_payment" && order.totalFen == 2500)
            #expect(try await app.stock(of: productID) == 4, "stock reserved with the order")

            let again = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: token)
            #expect(try again.decode(PaymentBody.self).payment.package == "prepay_id=\(prepayID)", "a valid prepay id is reused")
            #expect(app.sandbox.apiCalls.prepay == 1)

            try app.sandbox.pay(prepayID: prepayID)
            #expect(try await app.eventually { try await app.order(order.id).status == "paid" })
            let mine = try await app.client.call(.get, "/api/v1/orders/\(order.id)", bearer: token).decode(OrderBody.self)
            #expect(mine.status == "paid")
            #expect(try await app.ledger(order.id).map(\.outcome).contains("applied"))
            // Acknowledged when the answer reaches the sandbox, a moment after the order is paid.
            #expect(try await app.eventually { app.sandbox.deliveries.contains { $0.outTradeNo == order.outTradeNo && $0.acknowledged } })

            let payAgain = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: token)
            #expect(payAgain.status == .conflict && payAgain.errorCode == "order.already_paid")

            let shipped = try await app.admin(.post, "/admin/v1/orders/\(order.id)/ship", json: #"{"trackingNumber":"SF123"}"#)
            #expect(try shipped.decode(OrderBody.self).status == "shipped")
            let done = try await app.client.call(.post, "/api/v1/orders/\(order.id)/confirm-receipt", bearer: token)
            #expect(try done.decode(OrderBody.self).status == "completed")
        }
    }

    @Test("titles with emoji still pay: the bill description keeps only what WeChat Pay accepts", arguments: EngineKind.available)
    func emojiTitles(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (_, sku) = try await app.product(title: "🍵 Tea", stock: 2)
            let (_, order, prepayID) = try await app.orderAndPrepay(buyer: "pia", sku: sku)
            #expect(!prepayID.isEmpty)
            #expect(app.sandbox.transaction(outTradeNo: order.outTradeNo) != nil)
        }
    }

    @Test("Idempotency-Key: same body replays, other body conflicts", arguments: EngineKind.available)
    func idempotentCreation(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(stock: 10)
            let token = try await app.client.login("bob:\(RandomID.base32(byteCount: 6))").accessToken
            let first = try await app.placeOrder(token, sku: sku, quantity: 2, key: "key-1")
            let replay = try await app.placeOrder(token, sku: sku, quantity: 2, key: "key-1")
            #expect(first.status == .created && replay.status == .ok)
            #expect(try first.decode(OrderBody.self).id == replay.decode(OrderBody.self).id)
            let other = try await app.placeOrder(token, sku: sku, quantity: 3, key: "key-1")
            #expect(other.status == .conflict && other.errorCode == "order.idempotency_conflict")
            #expect(try await app.stock(of: productID) == 8, "the replay reserved nothing more")

            let missing = try await app.client.send(.post, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#,
                                                    headers: [.authorization: "Bearer \(token)"])
            #expect(missing.status == .badRequest && missing.errorCode == "order.idempotency_key_required")
        }
    }

    @Test("bad order input is a 4xx with a clear code and changes nothing", arguments: EngineKind.available)
    func validation(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(stock: 3)
            let token = try await app.client.login("carol:\(RandomID.base32(byteCount: 6))").accessToken
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"items":[]}"#, .badRequest, "order.invalid_items"),
                (#"{"items":[{"skuId":"\#(sku)","quantity":0}]}"#, .badRequest, "order.invalid_quantity"),
                (#"{"items":[{"skuId":"\#(sku)","quantity":100}]}"#, .badRequest, "order.invalid_quantity"),
                (#"{"items":[{"skuId":"\#(sku)","quantity":1},{"skuId":"\#(sku)","quantity":1}]}"#, .badRequest, "order.duplicate_item"),
                (#"{"items":[{"skuId":"k_nope","quantity":1}]}"#, .badRequest, "order.unknown_sku"),
                (#"{"items":[{"skuId":"\#(sku)","quantity":4}]}"#, .conflict, "order.out_of_stock"),
                (#"{"items":[{"skuId":"\#(sku)","quantity":"two"}]}"#, .badRequest, "request.invalid_type"),
                // Foundation's decoder reports a fractional integer as invalid JSON, without a path.
                (#"{"items":[{"skuId":"\#(sku)","quantity":1.5}]}"#, .badRequest, "request.malformed_json"),
                (#"{"items":"#, .badRequest, "request.malformed_json"),
            ]
            for (body, status, code) in cases {
                let reply = try await app.client.send(.post, "/api/v1/orders", json: body, headers: [
                    .authorization: "Bearer \(token)", HTTPField.Name("Idempotency-Key")!: RandomID.base32(byteCount: 8),
                ])
                #expect(reply.status == status && reply.errorCode == code, "\(body) → \(reply.status) \(reply.body)")
            }
            #expect(try await app.stock(of: productID) == 3)

            _ = try await app.admin(.patch, "/admin/v1/products/\(productID)", json: #"{"onShelf":false}"#)
            let offShelf = try await app.placeOrder(token, sku: sku)
            #expect(offShelf.status == .conflict && offShelf.errorCode == "order.off_shelf")
            #expect(try await app.client.call(.get, "/api/v1/products/\(productID)").status == .notFound)
        }
    }

    @Test("another user's order is a 404; cancel releases stock", arguments: EngineKind.available)
    func ownershipAndCancel(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(stock: 2)
            let alice = try await app.client.login("alice:\(RandomID.base32(byteCount: 6))").accessToken
            let mallory = try await app.client.login("mallory:\(RandomID.base32(byteCount: 6))").accessToken
            let order = try await app.placeOrder(alice, sku: sku, quantity: 2).decode(OrderBody.self)
            #expect(try await app.client.call(.get, "/api/v1/orders/\(order.id)", bearer: mallory).status == .notFound)
            #expect(try await app.client.call(.post, "/api/v1/orders/\(order.id)/cancel", bearer: mallory).status == .notFound)
            #expect(try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: mallory).status == .notFound)
            #expect(try await app.stock(of: productID) == 0)

            let cancelled = try await app.client.call(.post, "/api/v1/orders/\(order.id)/cancel", bearer: alice)
            #expect(try cancelled.decode(OrderBody.self).status == "cancelled")
            #expect(try await app.stock(of: productID) == 2, "stock released")
            let twice = try await app.client.call(.post, "/api/v1/orders/\(order.id)/cancel", bearer: alice)
            #expect(twice.status == .ok, "cancel is idempotent")
            #expect(try await app.stock(of: productID) == 2, "released once")
            let pay = try await app.client.call(.post, "/api/v1/orders/\(order.id)/pay", bearer: alice)
            #expect(pay.status == .conflict && pay.errorCode == "order.invalid_transition")
            let ship = try await app.admin(.post, "/admin/v1/orders/\(order.id)/ship")
            #expect(ship.status == .conflict && ship.errorCode == "order.invalid_transition")

            let list = try await app.client.call(.get, "/api/v1/orders?limit=10", bearer: alice).decode(PageBody<OrderBody>.self)
            #expect(list.items.map(\.id) == [order.id])
            #expect(try await app.client.call(.get, "/api/v1/orders", bearer: mallory).decode(PageBody<OrderBody>.self).items.isEmpty)
        }
    }

    @Test("catalogue: cursor pagination and admin-only writes", arguments: EngineKind.available)
    func catalogue(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            for index in 0..<5 {
                _ = try await app.product(title: "P\(index)")
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/v1/products?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await app.client.call(.get, uri).decode(PageBody<ProductBody>.self)
                seen += page.items.map(\.title)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ["P4", "P3", "P2", "P1", "P0"], "newest first, every product once")
            #expect(try await app.client.call(.get, "/api/v1/products?cursor=!!").errorCode == "request.invalid_cursor")
            #expect(try await app.client.call(.get, "/api/v1/products?limit=0").errorCode == "request.invalid_limit")
            let token = try await app.client.login("dave:\(RandomID.base32(byteCount: 6))").accessToken
            let forbidden = try await app.client.call(.post, "/admin/v1/products", json: #"{"title":"x","skus":[]}"#, bearer: token)
            #expect(forbidden.status == .unauthorized || forbidden.status == .forbidden)
            let badPrice = try await app.admin(.post, "/admin/v1/products", json: #"{"title":"x","skus":[{"title":"a","priceFen":0,"stock":1}]}"#)
            #expect(badPrice.status == .badRequest && badPrice.errorCode == "catalog.invalid_price")
            let (_, sku) = try await app.product(title: "Adjust", stock: 1)
            let minimum = try await app.admin(.post, "/admin/v1/skus/\(sku)/stock", json: #"{"delta":-9223372036854775808}"#)
            #expect(minimum.status == .badRequest && minimum.errorCode == "catalog.invalid_stock_delta")
            let negative = try await app.admin(.post, "/admin/v1/skus/\(sku)/stock", json: #"{"delta":-2}"#)
            #expect(negative.status == .conflict && negative.errorCode == "catalog.stock_negative")
            let nul = try await app.admin(.post, "/admin/v1/products", json: #"{"title":"x","description":"a\u0000b","skus":[{"title":"a","priceFen":1,"stock":1}]}"#)
            #expect(nul.status == .badRequest && nul.errorCode == "catalog.invalid_description")
            // Odd bytes in identifiers are refused before they reach the database.
            #expect(try await app.client.call(.get, "/api/v1/products?cursor=MToA").errorCode == "request.invalid_cursor")
            #expect(try await app.admin(.get, "/admin/v1/orders?userId=%00").errorCode == "request.invalid_userId")
            #expect(try await app.admin(.get, "/admin/v1/orders?outTradeNo=a%00").errorCode == "request.invalid_outTradeNo")
            let nulSKU = try await app.placeOrder(token, sku: "\\u0000")
            #expect(nulSKU.status == .badRequest && nulSKU.errorCode == "order.invalid_sku")
        }
    }
}
