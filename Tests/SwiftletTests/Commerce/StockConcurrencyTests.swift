import AsyncHTTPClient
import Foundation
import HummingbirdTesting
import NIOCore
import SwiftletCore
import Testing

@Suite("Stock under concurrency")
struct StockConcurrencyTests {
    @Test("the same Idempotency-Key 10 times at once for the last unit: one order, every answer is it", arguments: EngineKind.available)
    func concurrentRetriesOfOneOrder(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(stock: 1)
            let token = try await app.client.login("quinn:\(RandomID.base32(byteCount: 6))").accessToken
            let replies = try await withThrowingTaskGroup(of: (UInt, String).self) { group in
                for _ in 0..<10 {
                    group.addTask { try await Self.order(port: app.port, token: token, sku: sku, key: "retry-1") }
                }
                return try await group.reduce(into: [(UInt, String)]()) { $0.append($1) }
            }
            #expect(replies.filter { $0.0 == 201 }.count == 1, "\(replies.map(\.0))")
            #expect(replies.allSatisfy { $0.0 == 201 || $0.0 == 200 }, "\(replies)")
            let ids = Set(try replies.map { try JSONDecoder().decode(OrderBody.self, from: Data($0.1.utf8)).id })
            #expect(ids.count == 1)
            #expect(try await app.stock(of: productID) == 0)
        }
    }

    @Test("200 concurrent buyers, 50 in stock → exactly 50 orders, stock 0", arguments: EngineKind.available)
    func neverOversells(_ kind: EngineKind) async throws {
        try await CommerceHarness.run(kind) { app in
            let (productID, sku) = try await app.product(stock: 50)
            // Buyers sign in 20 at a time: the race under test is the orders below, and 200
            // simultaneous logins through the in-process WeChat sandbox only test how fast a
            // loaded test machine answers them.
            var tokens: [String] = []
            for batch in stride(from: 0, to: 200, by: 20) {
                tokens += try await withThrowingTaskGroup(of: String.self) { group in
                    for index in batch..<batch + 20 {
                        group.addTask { try await app.client.login("buyer\(index):\(RandomID.base32(byteCount: 6))").accessToken }
                    }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
            }
            // Separate connections per buyer (AsyncHTTPClient's pool), all released at once.
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for token in tokens {
                    group.addTask {
                        try await Self.order(port: app.port, token: token, sku: sku, key: RandomID.base32(byteCount: 10)).status
                    }
                }
                return try await group.reduce(into: [UInt]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 201 }.count == 50, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            #expect(statuses.filter { $0 == 409 }.count == 150)
            #expect(try await app.stock(of: productID) == 0)
            let orders = try await app.storage.orders.list(OrderFilter(status: .pendingPayment), limit: 100, cursor: nil)
            #expect(orders.items.count == 50 && orders.nextCursor == nil)
        }
    }

    /// One order over its own pooled connection (AsyncHTTPClient), so buyers really run at once.
    static func order(port: Int, token: String, sku: String, key: String) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/v1/orders")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Idempotency-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}
