import Foundation
import SwiftletClusterRedis
import SwiftletCore
import SwiftletRedis
import Testing

/// The flash-sale gate on Redis against what can make it disagree with the database, and
/// reconciliation bringing it back.
@Suite("Flash-sale reconciliation", .enabled(if: TestRedisServer.isAvailable && EngineKind.available.contains(.postgres)))
struct FlashSaleReconciliationTests {
    @Test("a node stopped between reserving and persisting, an admin's stock change, Redis down and back: repaired from the database")
    func reconciliationRepairsDrift() async throws {
        let clock = MutableClock(Date())
        let redis = try await TestRedisServer.start()
        defer { redis.stop() }
        let config = CommerceHarness.config { $0.redis.url = redis.url }
        try await CommerceHarness.run(.postgres, config: config, runsJobWorker: false, clock: clock.clock) { app in
            let reconciler = try #require(app.flashSaleReconciler)
            let gate = RedisClusterState(client: try RedisClient(configuration: RedisClientTests.patient(redis.url)))
            defer { Task { await gate.client.shutdown() } }
            let (productID, sku) = try await app.flashSaleProduct(stock: 10)
            try await app.loadFlashSales(expecting: sku)
            let id = SKUID(rawValue: sku)
            @Sendable func unitsInRedis() async throws -> Int? {
                try await gate.client.send("HGET", RedisClusterState.keys(id)[0], "stock").string.flatMap { Int($0) }
            }

            // A node takes a unit in Redis and stops before persisting its order.
            #expect(try await gate.reserve(sku: id, user: UserID(rawValue: "u_stopped_node"), now: clock.now) == .reserved)
            let buyer = try await app.client.login("drift-1:\(RandomID.base32(byteCount: 6))").accessToken
            #expect(try await app.placeOrder(buyer, sku: sku).status == .created)
            #expect(try await app.stock(of: productID) == 9)
            #expect(try await unitsInRedis() == 8)
            // Within the grace it may still be persisted: counted as in flight, not repaired.
            #expect(try await reconciler.reconcileOnce()[id] == .agreed)
            clock.advance(config.commerce.flashSaleReservationGraceSeconds + 1)
            #expect(try await reconciler.reconcileOnce()[id]
                    == .repaired(stockBefore: 8, stockAfter: 9, holdersChanged: 1, lostReservations: 1))
            #expect(try await unitsInRedis() == 9)

            // An admin adds units: the gate follows at the next round.
            #expect(try await app.admin(.post, "/admin/v1/skus/\(sku)/stock", json: #"{"delta":5}"#).status == .ok)
            #expect(try await reconciler.reconcileOnce()[id]
                    == .repaired(stockBefore: 9, stockAfter: 14, holdersChanged: 0, lostReservations: 0))

            // Redis down: orders go to the database alone, with the same guarantees.
            await redis.kill()
            let second = try await app.client.login("drift-2:\(RandomID.base32(byteCount: 6))").accessToken
            let placed = try await app.placeOrder(second, sku: sku, key: "while-down")
            #expect(placed.status == .created, "\(placed.body)")
            #expect(try await app.placeOrder(second, sku: sku, key: "while-down-2").body.contains("order.flash_sale_limit"))
            #expect(try await app.stock(of: productID) == 13)

            // Redis back, empty: the next round loads the database's count.
            try await redis.start()
            #expect(try await app.eventually { (try? await reconciler.reconcileOnce()[id]) == .loaded })
            #expect(try await unitsInRedis() == 13)
            #expect(try await gate.reserve(sku: id, user: UserID(rawValue: "u_drift_2_again"), now: clock.now) == .reserved)

            // What operators see (the background round may add to these, never take away).
            let metrics = try await MetricsEndpointTests.scrape(app.client, key: app.adminKey)
            func count(_ series: String) -> Double { MetricsEndpointTests.sample(metrics, series) ?? 0 }
            #expect(count(#"swiftlet_flash_sale_reservations_total{outcome="reserved"}"#) >= 1, "\(metrics)")
            #expect(count(#"swiftlet_flash_sale_reservations_total{outcome="unreachable"}"#) >= 2)
            #expect(count(#"swiftlet_flash_sale_reconciliations_total{outcome="loaded"}"#) >= 2)
            #expect(count(#"swiftlet_flash_sale_reconciliations_total{outcome="repaired"}"#) >= 2)
        }
    }
}
