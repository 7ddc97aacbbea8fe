import Foundation
import SQLKit
import SwiftletCore

/// `OrderRepository` for every SQL engine.
///
/// Two mechanisms keep orders right under concurrency on both engines alike:
/// - stock is taken with `UPDATE … SET stock = stock - n WHERE stock >= n`, so the row
///   lock (PostgreSQL) or the single writer (SQLite) serialises buyers and stock can
///   neither go negative nor be sold twice;
/// - an order row is written only if its `version` is still the one the decision was
///   based on; a lost race re-reads and decides again.
///
/// A status change the buyer cares about (paid, shipped, refunded, closed) writes its
/// inbox message in the same transaction as the order (`OrderInboxEvents`), and the
/// message is announced for live delivery once that transaction has committed.
/// Creation and every change also write their domain events to the outbox
/// (`OrderDomainEvents`), as the transaction's last statement.
public struct SQLOrderRepository: OrderRepository {
    let executor: any SQLExecutor
    let announcer: InboxAnnouncer?

    public init(executor: any SQLExecutor, announcer: InboxAnnouncer? = nil) {
        self.executor = executor
        self.announcer = announcer
    }

    public func create(userID: UserID, _ new: NewOrder) async throws -> OrderCreation {
        do {
            // A second use of the key fails on the unique index and is answered below.
            return try await createInOneStatement(userID: userID, new)
        } catch {
            // A concurrent request with the same key may have won while this one waited:
            // as a unique violation, or (PostgreSQL) as "out of stock" because the winner
            // took the last unit. Either way the answer is the winner's order.
            if let replay = try await replay(userID: userID, new) { return replay }
            throw error
        }
    }

    private func replay(userID: UserID, _ new: NewOrder) async throws -> OrderCreation? {
        try await executor.read { db in
            guard let existing = try await db.raw("""
                SELECT id, request_hash FROM orders
                WHERE user_id = \(bind: userID.rawValue) AND idempotency_key = \(bind: new.idempotencyKey)
                """).first()
            else { return nil }
            guard try existing.decode(column: "request_hash", as: String.self) == new.requestHash else {
                throw SwiftletError.conflict("order.idempotency_conflict", "This Idempotency-Key was already used for a different order.")
            }
            let id = OrderID(rawValue: try existing.decode(column: "id", as: String.self))
            return try await SQLOrderRows.find(db, id).map { .replayed($0.order) }
        }
    }


    /// Reads the SKUs, takes the stock (in SKU order) and writes the order, its items, its
    /// jobs and its events, in one transaction.
    func createInTransaction(userID: UserID, _ new: NewOrder) async throws -> OrderCreation {
        try await executor.transaction { db in
            let snapshots = try await Self.snapshots(db, new.lines.map(\.skuID))
            let order = try new.build(snapshots)
            // Fixed lock order (by SKU id) so two multi-item orders cannot deadlock.
            for item in order.items.sorted(by: { $0.skuID.rawValue < $1.skuID.rawValue }) {
                let taken = try await db.raw("""
                    UPDATE skus SET stock = stock - \(bind: item.quantity)
                    WHERE id = \(bind: item.skuID.rawValue) AND stock >= \(bind: item.quantity)
                    RETURNING id
                    """).first()
                if taken == nil, let snapshot = snapshots[item.skuID] {
                    throw OrderService.outOfStock(snapshot)
                }
            }
            try await SQLOrderRows.insert(db, order, idempotencyKey: new.idempotencyKey, requestHash: new.requestHash)
            let flashSaleItems = order.items.filter { snapshots[$0.skuID]?.sku.flashSale == true }
            guard try await Self.hold(db, flashSaleItems.map(\.skuID), for: order) else { throw OrderService.flashSaleLimit }
            for job in new.jobs(order) {
                try await SQLJobRepository.enqueue(db, job, now: order.createdAt)
            }
            try await SQLEventOutboxRepository.append(db, OrderDomainEvents.events(before: nil, after: order))
            return .created(order)
        }
    }

    static func snapshots(_ db: any SQLDatabase, _ ids: [SKUID]) async throws -> [SKUID: SKUSnapshot] {
        try decodeSnapshots(try await db.raw(snapshotQuery(ids)).all())
    }

    static func snapshotQuery(_ ids: [SKUID]) -> SQLQueryString {
        """
        SELECT s.id, s.product_id, s.title, s.price_fen, s.stock, s.flash_sale, p.title AS product_title,
               p.on_shelf AS on_shelf, p.deleted_at AS deleted_at
        FROM skus s JOIN products p ON p.id = s.product_id
        WHERE s.id IN (\(binds: ids.map(\.rawValue)))
        """
    }

    static func decodeSnapshots(_ rows: [any SQLRow]) throws -> [SKUID: SKUSnapshot] {
        var result: [SKUID: SKUSnapshot] = [:]
        for row in rows {
            let sku = try SQLCatalogRepository.decodeSKU(row)
            let live = try row.decode(column: "deleted_at", as: Int64?.self) == nil
            let onShelf = try row.decode(column: "on_shelf", as: Bool.self)
            result[sku.id] = SKUSnapshot(
                sku: sku, productTitle: try row.decode(column: "product_title", as: String.self),
                productOnShelf: live && onShelf)
        }
        return result
    }

    public func find(_ id: OrderID) async throws -> Order? {
        try await executor.read { db in try await SQLOrderRows.find(db, id)?.order }
    }

    public func find(outTradeNo: String) async throws -> Order? {
        try await executor.read { db in
            guard let row = try await db.raw("SELECT id FROM orders WHERE out_trade_no = \(bind: outTradeNo)").first() else {
                return nil
            }
            return try await SQLOrderRows.find(db, OrderID(rawValue: try row.decode(column: "id", as: String.self)))?.order
        }
    }

    public func list(_ filter: OrderFilter, limit: Int, cursor: String?) async throws -> Page<Order> {
        let after = try KeysetCursor.decode(cursor)
        return try await executor.read { db in
            try await SQLOrderRows.list(db, filter, limit: limit, after: after)
        }
    }

    public func update(_ id: OrderID, _ decide: @escaping @Sendable (Order, [Refund]) throws -> OrderMutation) async throws -> Order {
        for _ in 0..<8 {
            do {
                let (order, events) = try await executor.transaction { db in try await Self.applyOnce(db, id, decide) }
                announcer?.announce(events)
                return order
            } catch is LostRace {
                // Someone else changed the order first; decide again on fresh data.
                continue
            }
        }
        throw SwiftletError.unavailable("order.busy", "The order is being changed by many requests at once; try again.")
    }

    /// One attempt: read, decide, write. Throws `LostRace` (rolling back any stock
    /// effect) when the order row moved on since it was read.
    static func applyOnce(_ db: any SQLDatabase, _ id: OrderID,
                          _ decide: @Sendable (Order, [Refund]) throws -> OrderMutation) async throws -> (Order, [InboxMessage]) {
        guard let (order, version) = try await SQLOrderRows.find(db, id) else { throw notFound }
        let refunds = try await SQLOrderRows.refunds(db, of: id)
        var mutation = try decide(order, refunds)
        if mutation.stock == .reserveIfAvailable {
            mutation.order.stockHeld = try await reserveIfAvailable(db, mutation.order.items)
            // A revived flash-sale order takes its buyer's hold back, unless the buyer has
            // bought again meanwhile: WeChat's payment stands, so they then hold two.
            if mutation.order.stockHeld {
                _ = try await hold(db, mutation.order.items.map(\.skuID), for: mutation.order, onlyFlashSale: true)
            }
        } else if mutation.stock == .release {
            try await release(db, mutation.order.items)
            try await db.raw("DELETE FROM flash_sale_holds WHERE order_id = \(bind: order.id.rawValue)").run()
        }
        if mutation.order != order {
            guard try await SQLOrderRows.write(db, mutation.order, expectedVersion: version) else { throw LostRace() }
        }
        if let refund = mutation.refund {
            try await SQLOrderRows.upsert(db, refund)
        }
        for entry in mutation.ledger {
            try await SQLOrderRows.append(db, entry)
        }
        for job in mutation.jobs {
            try await SQLJobRepository.enqueue(db, job, now: mutation.order.updatedAt)
        }
        let events = try await SQLInboxRepository.append(
            db, OrderInboxEvents.drafts(before: order, after: mutation.order), now: mutation.order.updatedAt)
        try await SQLEventOutboxRepository.append(db, OrderDomainEvents.events(of: mutation, before: order, refunds: refunds))
        return (mutation.order, events)
    }

    static func reserveIfAvailable(_ db: any SQLDatabase, _ items: [OrderItem]) async throws -> Bool {
        var taken: [OrderItem] = []
        for item in items.sorted(by: { $0.skuID.rawValue < $1.skuID.rawValue }) {
            let row = try await db.raw("""
                UPDATE skus SET stock = stock - \(bind: item.quantity)
                WHERE id = \(bind: item.skuID.rawValue) AND stock >= \(bind: item.quantity) RETURNING id
                """).first()
            guard row != nil else {
                try await release(db, taken)
                return false
            }
            taken.append(item)
        }
        return true
    }

    /// Records that the order's buyer holds a unit of each flash-sale SKU in `skus`: false
    /// if they already hold one by another live order (the primary key refuses it).
    /// `onlyFlashSale` filters `skus` to the flash-sale ones in the same statement.
    static func hold(_ db: any SQLDatabase, _ skus: [SKUID], for order: Order, onlyFlashSale: Bool = false) async throws -> Bool {
        guard !skus.isEmpty else { return true }
        let held = try await db.raw("""
            INSERT INTO flash_sale_holds (sku_id, user_id, order_id, created_at)
            SELECT id, \(bind: order.userID.rawValue), \(bind: order.id.rawValue), \(bind: order.updatedAt.unixMilliseconds)
            FROM skus WHERE id IN (\(binds: skus.map(\.rawValue)))\(unsafeRaw: onlyFlashSale ? " AND flash_sale" : "")
            ON CONFLICT (sku_id, user_id) DO NOTHING
            RETURNING sku_id
            """).all()
        return onlyFlashSale || held.count == skus.count
    }

    static func release(_ db: any SQLDatabase, _ items: [OrderItem]) async throws {
        for item in items.sorted(by: { $0.skuID.rawValue < $1.skuID.rawValue }) {
            try await db.raw("UPDATE skus SET stock = stock + \(bind: item.quantity) WHERE id = \(bind: item.skuID.rawValue)").run()
        }
    }

    public func refunds(of id: OrderID) async throws -> [Refund] {
        try await executor.read { db in try await SQLOrderRows.refunds(db, of: id) }
    }

    public func findRefund(_ id: RefundID) async throws -> Refund? {
        try await executor.read { db in try await SQLOrderRows.refund(db, id) }
    }

    public func appendLedger(_ entries: [PaymentLedgerEntry]) async throws {
        try await executor.transaction { db in
            for entry in entries {
                try await SQLOrderRows.append(db, entry)
            }
        }
    }

    public func ledger(outTradeNo: String) async throws -> [PaymentLedgerEntry] {
        try await executor.read { db in try await SQLOrderRows.ledger(db, outTradeNo: outTradeNo) }
    }

    static let notFound = SwiftletError.notFound("order.not_found", "No such order.")
}

/// Thrown inside a transaction to roll it back when an optimistic write lost.
struct LostRace: Error {}
