import Foundation
import PostgresNIO
import SwiftletClusterRedis
import SwiftletCore
import SwiftletRedis
import Testing

extension ThreeNodeRedisClusterTests {
    /// The scaled-down flash sale on three `swiftlet serve` processes sharing PostgreSQL and
    /// Redis: buyers spread over the nodes, units gated in Redis by every node at once.
    @Test("a flash sale over three nodes: 1,000 buyers, 20 units → 20 orders, 980 sold out, Redis and the database agree")
    func flashSaleAcrossNodes() async throws {
        try await Self.withCluster(environment: ["SWIFTLET_COMMERCE_FLASH_SALE_RECONCILE": "0.2"]) { cluster, redis in
            let nodes = (1...3).map { Self.node(cluster, $0) }
            let adminKey = try await cluster.createAdminKey()
            let product = try await nodes[1].json(.POST, "/admin/v1/products", json: """
                {"title":"Flash on three nodes","skus":[{"title":"One","priceFen":990,"stock":20,"flashSale":true}]}
                """, token: adminKey)
            let sku = try #require((product["skus"] as? [[String: Any]])?.first?["id"] as? String)
            let gate = RedisClusterState(client: try RedisClient(configuration: RedisClientTests.patient(redis.url)))
            let keys = RedisClusterState.keys(SKUID(rawValue: sku))
            // Each node reconciles every 0.2 s: the SKU is in Redis, then known to every node.
            try await ThreeNodeClusterTests.waitUntil("the flash-sale SKU loaded into Redis", cluster, timeout: .seconds(10)) {
                try await gate.client.send("HGET", keys[0], "stock").string == "20"
            }
            try await Task.sleep(for: .milliseconds(600))

            var tokens: [String] = []
            for batch in stride(from: 0, to: 1_000, by: 50) {
                tokens += try await withThrowingTaskGroup(of: String.self) { group in
                    for index in batch..<batch + 50 {
                        group.addTask { try await ThreeNodeClusterTests.login(nodes[index % 3], code: "flash-cluster-\(index):1") }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            let replies = try await withThrowingTaskGroup(of: (status: Int, body: String).self) { group in
                for (index, token) in tokens.enumerated() {
                    group.addTask {
                        let reply = try await nodes[index % 3].call(
                            .POST, "/api/v1/orders", json: #"{"items":[{"skuId":"\#(sku)","quantity":1}]}"#, token: token,
                            key: "flash-\(index)")
                        return (Int(reply.status), reply.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == 201 }.count == 20,
                    "\(Dictionary(grouping: replies.map(\.status), by: { $0 }).mapValues(\.count))")
            #expect(replies.filter { $0.status == 409 && $0.body.contains("\"order.sold_out\"") }.count == 980)

            let ordered = try await ThreeNodeClusterTests.count(
                cluster, "SELECT COUNT(*) FROM order_items WHERE sku_id = \(sku)")
            let holders = try await ThreeNodeClusterTests.count(
                cluster, "SELECT COUNT(DISTINCT user_id) FROM flash_sale_holds WHERE sku_id = \(sku)")
            let stock = try await ThreeNodeClusterTests.stock(of: sku, in: cluster)
            #expect(ordered == 20 && holders == 20 && stock == 0, "orders \(ordered), holders \(holders), stock \(stock)")
            #expect(try await gate.client.send("HGET", keys[0], "stock").string == "0")
            #expect(try await gate.client.send("SCARD", keys[1]).int == 20)
            #expect(try await gate.client.send("ZCARD", keys[2]).int == 0, "no reservation left in flight")
            await gate.client.shutdown()
        }
    }
}
