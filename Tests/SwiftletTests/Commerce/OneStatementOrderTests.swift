import Foundation
import SwiftletCore
@testable import SwiftletSQLite
import Testing

/// An order of one line is written in one statement (PostgreSQL's data-modifying WITH,
/// SQLite's `order_intake` trigger), built from SKUs read just before. These tests give it
/// orders built from a read that no longer holds, which only the statement's own guard
/// can refuse.
@Suite("Orders in one statement")
struct OneStatementOrderTests {
    static func newOrder(_ userID: UserID, sku: SKU, quantity: Int, price: Int? = nil, key: String) -> NewOrder {
        NewOrder(
            idempotencyKey: key, requestHash: "hash-\(key)", lines: [OrderLineRequest(skuID: sku.id, quantity: quantity)],
            build: { snapshots in
                // Builds whatever the read said, as a stale read would: never refuses.
                let snapshot = snapshots[sku.id]!
                let now = Date()
                let item = OrderItem(skuID: sku.id, productID: sku.productID, title: snapshot.productTitle,
                                     unitPriceFen: price ?? snapshot.sku.priceFen, quantity: quantity)
                return Order(id: .generate(), userID: userID, outTradeNo: .generate(), status: .pendingPayment, items: [item],
                             totalFen: item.subtotalFen, expiresAt: now.addingTimeInterval(900), createdAt: now, updatedAt: now)
            },
            jobs: { order in [JobRequest(kind: OrderService.timeoutJobKind, key: order.id.rawValue, payload: order.id.rawValue,
                                         runAt: order.expiresAt)] })
    }

    @Test("the statement's guard refuses more than the stock, and a price the SKU no longer has; nothing is written",
          arguments: EngineKind.available)
    func guardRefuses(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let catalog = CatalogService(catalog: storage.catalog, clock: .system)
            let product = try await catalog.create(ProductDraft(title: "Tea", skus: [SKUDraft(title: "Tin", priceFen: 1_000, stock: 3)]))
            let sku = try #require(product.skus.first)
            let user = try await storage.users.findOrCreate(openid: "o-guard-\(kind)", unionid: nil).user
            let events = try await storage.events.count()

            for (name, new) in [("more than the stock", Self.newOrder(user.id, sku: sku, quantity: 4, key: "k-stock")),
                                ("a stale price", Self.newOrder(user.id, sku: sku, quantity: 1, price: 900, key: "k-price"))] {
                await #expect(throws: SwiftletError.self, "\(name)") { _ = try await storage.orders.create(userID: user.id, new) }
            }
            #expect(try await storage.catalog.find(product.id, includeOffShelf: true)?.skus.first?.stock == 3, "no stock taken")
            #expect(try await storage.orders.list(OrderFilter(userID: user.id), limit: 10, cursor: nil).items.isEmpty)
            #expect(try await storage.events.count() == events, "no event written")

            // Within the stock and at the price: written, with everything that goes with it.
            let created = try await storage.orders.create(userID: user.id, Self.newOrder(user.id, sku: sku, quantity: 3, key: "k-ok"))
            guard case .created(let order) = created else { Issue.record("expected a new order: \(created)"); return }
            let stored = try #require(try await storage.orders.find(order.id))
            #expect(stored.items == order.items && stored.totalFen == order.totalFen && stored.stockHeld)
            #expect(try await storage.catalog.find(product.id, includeOffShelf: true)?.skus.first?.stock == 0)
            #expect(try await storage.events.count() == events + 1, "order.created")
            let again = try await storage.orders.create(userID: user.id, Self.newOrder(user.id, sku: sku, quantity: 3, key: "k-ok"))
            guard case .replayed(let replayed) = again else { Issue.record("expected the replay: \(again)"); return }
            #expect(replayed.id == order.id, "the same key answers the same order, even sold out")
        }
    }

    @Test("SQLite group commit: 60 orders at once share commits; refusals fail alone and never sell more than the stock")
    func groupCommit() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let sqlite = try #require(storage as? SQLiteStorage)
            let catalog = CatalogService(catalog: storage.catalog, clock: .system)
            let product = try await catalog.create(ProductDraft(title: "Tea", skus: [SKUDraft(title: "Tin", priceFen: 1_000, stock: 20)]))
            let sku = try #require(product.skus.first)
            let user = try await storage.users.findOrCreate(openid: "o-group-commit", unionid: nil).user
            let before = sqlite.groupCommitCounts
            // 50 at the right price (only 20 in stock), 10 at a price the SKU no longer has.
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let new = Self.newOrder(user.id, sku: sku, quantity: 1, price: index < 10 ? 900 : nil, key: "gc-\(index)")
                        do {
                            guard case .created = try await storage.orders.create(userID: user.id, new) else { return false }
                            return true
                        } catch is SwiftletError {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 20, "exactly the stock is sold")
            #expect(try await storage.catalog.find(product.id, includeOffShelf: true)?.skus.first?.stock == 0)
            let orders = try await storage.orders.list(OrderFilter(userID: user.id), limit: 100, cursor: nil)
            #expect(orders.items.count == 20 && orders.items.allSatisfy { $0.totalFen == 1_000 }, "no order at the stale price")
            let after = sqlite.groupCommitCounts
            let (batches, statements) = (after.batches - before.batches, after.statements - before.statements)
            #expect(statements >= 60)
            #expect(batches < statements, "statements waiting for the writer share a commit (\(batches) batches, \(statements) statements)")
            #expect(sqlite.groupCommitsRunDirect, "batches run on the writer's own statements, in one trip each")
        }
    }

    @Test("orders of two lines in one statement: 40 at once over the same two SKUs, lines in either order, 10 in stock → exactly 10, no deadlock",
          arguments: EngineKind.available)
    func severalLinesInOneStatement(_ kind: EngineKind) async throws {
        try await TestStorage.withStorage(kind) { storage in
            let catalog = CatalogService(catalog: storage.catalog, clock: .system)
            let product = try await catalog.create(ProductDraft(title: "Set", skus: [
                SKUDraft(title: "Cup", priceFen: 1_000, stock: 10), SKUDraft(title: "Saucer", priceFen: 500, stock: 10)]))
            let (cup, saucer) = (product.skus[0].id, product.skus[1].id)
            let orders = OrderService(orders: storage.orders, clock: .system, policy: OrderPolicy())
            var users: [UserID] = []
            for index in 0..<40 {
                users.append(try await storage.users.findOrCreate(openid: "o-lines-\(kind)-\(index)", unionid: nil).user.id)
            }
            let events = try await storage.events.count()
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        let lines = [OrderLineRequest(skuID: cup, quantity: 1), OrderLineRequest(skuID: saucer, quantity: 1)]
                        do {
                            _ = try await orders.create(userID: user, lines: index % 2 == 0 ? lines : lines.reversed(), idempotencyKey: "k")
                            return "created"
                        } catch let error as SwiftletError {
                            return error.code
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "created" }.count == 10, "\(Dictionary(grouping: outcomes, by: { $0 }).mapValues(\.count))")
            #expect(outcomes.allSatisfy { $0 == "created" || $0 == "order.out_of_stock" })
            let stored = try #require(try await storage.catalog.find(product.id, includeOffShelf: true))
            #expect(stored.skus.map(\.stock) == [0, 0])
            let placed = try await storage.orders.list(OrderFilter(), limit: 50, cursor: nil).items
            #expect(placed.count == 10 && placed.allSatisfy { $0.items.count == 2 && $0.totalFen == 1_500 })
            #expect(try await storage.events.count() == events + 10, "one order.created each")
            #expect(try await storage.jobs.pendingCount(kind: OrderService.timeoutJobKind) == 10, "one timeout job each")
        }
    }
}
