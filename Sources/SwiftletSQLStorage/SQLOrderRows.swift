import Foundation
import SQLKit
import SwiftletCore

/// Row mapping for orders, order items, refunds and ledger lines.
enum SQLOrderRows {
    static let orderColumns = """
        id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, prepay_id, prepay_expires_at, \
        transaction_id, paid_at, cancelled_at, cancel_reason, shipped_at, tracking_number, completed_at, \
        status_before_refund, stock_held, version, created_at, updated_at
        """

    static func find(_ db: any SQLDatabase, _ id: OrderID) async throws -> (order: Order, version: Int)? {
        guard let row = try await db.raw("SELECT \(unsafeRaw: orderColumns) FROM orders WHERE id = \(bind: id.rawValue)").first() else {
            return nil
        }
        let items = try await self.items(db, of: [id])
        return (try decodeOrder(row, items: items[id] ?? []), try row.decode(column: "version", as: Int.self))
    }

    static func list(_ db: any SQLDatabase, _ filter: OrderFilter, limit: Int, after: KeysetCursor?) async throws -> Page<Order> {
        var query = SQLQueryString("SELECT \(unsafeRaw: orderColumns) FROM orders WHERE 1 = 1")
        if let userID = filter.userID {
            query.appendInterpolation(unsafeRaw: " AND user_id = ")
            query.appendInterpolation(bind: userID.rawValue)
        }
        if let status = filter.status {
            query.appendInterpolation(unsafeRaw: " AND status = ")
            query.appendInterpolation(bind: status.rawValue)
        }
        if let outTradeNo = filter.outTradeNo {
            query.appendInterpolation(unsafeRaw: " AND out_trade_no = ")
            query.appendInterpolation(bind: outTradeNo)
        }
        KeysetCursor.appendPage(after: after, limit: limit, to: &query)
        let rows = try await db.raw(query).all()
        let ids = try rows.map { OrderID(rawValue: try $0.decode(column: "id", as: String.self)) }
        let items = try await self.items(db, of: ids)
        let orders = try rows.map { row in
            try decodeOrder(row, items: items[OrderID(rawValue: try row.decode(column: "id", as: String.self))] ?? [])
        }
        return KeysetCursor.page(orders, limit: limit) { KeysetCursor(createdAt: $0.createdAt.unixMilliseconds, id: $0.id.rawValue) }
    }

    static func items(_ db: any SQLDatabase, of ids: [OrderID]) async throws -> [OrderID: [OrderItem]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.raw("""
            SELECT order_id, sku_id, product_id, title, unit_price_fen, quantity FROM order_items
            WHERE order_id IN (\(binds: ids.map(\.rawValue))) ORDER BY order_id, line
            """).all()
        var result: [OrderID: [OrderItem]] = [:]
        for row in rows {
            let id = OrderID(rawValue: try row.decode(column: "order_id", as: String.self))
            result[id, default: []].append(OrderItem(
                skuID: SKUID(rawValue: try row.decode(column: "sku_id", as: String.self)),
                productID: ProductID(rawValue: try row.decode(column: "product_id", as: String.self)),
                title: try row.decode(column: "title", as: String.self),
                unitPriceFen: try row.decode(column: "unit_price_fen", as: Int.self),
                quantity: try row.decode(column: "quantity", as: Int.self)))
        }
        return result
    }

    static func insert(_ db: any SQLDatabase, _ order: Order, idempotencyKey: String, requestHash: String) async throws {
        try await db.raw("""
            INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
                                idempotency_key, request_hash, version, created_at, updated_at)
            VALUES (\(bind: order.id.rawValue), \(bind: order.userID.rawValue), \(bind: order.outTradeNo.rawValue),
                    \(bind: order.status.rawValue), \(bind: order.totalFen), \(bind: order.refundedFen),
                    \(bind: order.expiresAt.unixMilliseconds), \(bind: order.stockHeld), \(bind: idempotencyKey),
                    \(bind: requestHash), \(bind: 0), \(bind: order.createdAt.unixMilliseconds), \(bind: order.updatedAt.unixMilliseconds))
            """).run()
        for (line, item) in order.items.enumerated() {
            try await db.raw("""
                INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
                VALUES (\(bind: order.id.rawValue), \(bind: line), \(bind: item.skuID.rawValue), \(bind: item.productID.rawValue),
                        \(bind: item.title), \(bind: item.unitPriceFen), \(bind: item.quantity))
                """).run()
        }
    }

    /// Writes the mutable fields if the row is still at `expectedVersion`.
    static func write(_ db: any SQLDatabase, _ order: Order, expectedVersion: Int) async throws -> Bool {
        try await db.raw("""
            UPDATE orders SET status = \(bind: order.status.rawValue), refunded_fen = \(bind: order.refundedFen),
                prepay_id = \(bind: order.prepayID), prepay_expires_at = \(bind: order.prepayExpiresAt?.unixMilliseconds),
                transaction_id = \(bind: order.transactionID), paid_at = \(bind: order.paidAt?.unixMilliseconds),
                cancelled_at = \(bind: order.cancelledAt?.unixMilliseconds), cancel_reason = \(bind: order.cancelReason?.rawValue),
                shipped_at = \(bind: order.shippedAt?.unixMilliseconds), tracking_number = \(bind: order.trackingNumber),
                completed_at = \(bind: order.completedAt?.unixMilliseconds),
                status_before_refund = \(bind: order.statusBeforeRefund?.rawValue), stock_held = \(bind: order.stockHeld),
                version = version + 1, updated_at = \(bind: order.updatedAt.unixMilliseconds)
            WHERE id = \(bind: order.id.rawValue) AND version = \(bind: expectedVersion)
            RETURNING id
            """).first() != nil
    }

    static func decodeOrder(_ row: any SQLRow, items: [OrderItem]) throws -> Order {
        func date(_ column: String) throws -> Date? {
            try row.decode(column: column, as: Int64?.self).map(Date.init(unixMilliseconds:))
        }
        guard let status = OrderStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw SwiftletError(.internalFailure, code: "storage.inconsistent", message: "unknown order status")
        }
        return Order(
            id: OrderID(rawValue: try row.decode(column: "id", as: String.self)),
            userID: UserID(rawValue: try row.decode(column: "user_id", as: String.self)),
            outTradeNo: OutTradeNo(rawValue: try row.decode(column: "out_trade_no", as: String.self)),
            status: status, items: items,
            totalFen: try row.decode(column: "total_fen", as: Int.self),
            refundedFen: try row.decode(column: "refunded_fen", as: Int.self),
            expiresAt: try date("expires_at") ?? .distantPast,
            prepayID: try row.decode(column: "prepay_id", as: String?.self),
            prepayExpiresAt: try date("prepay_expires_at"),
            transactionID: try row.decode(column: "transaction_id", as: String?.self),
            paidAt: try date("paid_at"), cancelledAt: try date("cancelled_at"),
            cancelReason: try row.decode(column: "cancel_reason", as: String?.self).flatMap(CancelReason.init(rawValue:)),
            shippedAt: try date("shipped_at"),
            trackingNumber: try row.decode(column: "tracking_number", as: String?.self),
            completedAt: try date("completed_at"),
            statusBeforeRefund: try row.decode(column: "status_before_refund", as: String?.self).flatMap(OrderStatus.init(rawValue:)),
            stockHeld: try row.decode(column: "stock_held", as: Bool.self),
            createdAt: try date("created_at") ?? .distantPast,
            updatedAt: try date("updated_at") ?? .distantPast)
    }

    // MARK: Refunds

    static let refundColumns = "id, order_id, amount_fen, reason, status, gateway_refund_id, created_at, updated_at"

    static func refunds(_ db: any SQLDatabase, of id: OrderID) async throws -> [Refund] {
        try await db.raw("""
            SELECT \(unsafeRaw: refundColumns) FROM refunds WHERE order_id = \(bind: id.rawValue) ORDER BY created_at, id
            """).all().map(decodeRefund)
    }

    static func refund(_ db: any SQLDatabase, _ id: RefundID) async throws -> Refund? {
        try await db.raw("SELECT \(unsafeRaw: refundColumns) FROM refunds WHERE id = \(bind: id.rawValue)").first().map(decodeRefund)
    }

    static func upsert(_ db: any SQLDatabase, _ refund: Refund) async throws {
        try await db.raw("""
            INSERT INTO refunds (id, order_id, amount_fen, reason, status, gateway_refund_id, created_at, updated_at)
            VALUES (\(bind: refund.id.rawValue), \(bind: refund.orderID.rawValue), \(bind: refund.amountFen), \(bind: refund.reason),
                    \(bind: refund.status.rawValue), \(bind: refund.gatewayRefundID), \(bind: refund.createdAt.unixMilliseconds),
                    \(bind: refund.updatedAt.unixMilliseconds))
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, gateway_refund_id = excluded.gateway_refund_id,
                                           updated_at = excluded.updated_at
            """).run()
    }

    static func decodeRefund(_ row: any SQLRow) throws -> Refund {
        Refund(
            id: RefundID(rawValue: try row.decode(column: "id", as: String.self)),
            orderID: OrderID(rawValue: try row.decode(column: "order_id", as: String.self)),
            amountFen: try row.decode(column: "amount_fen", as: Int.self),
            reason: try row.decode(column: "reason", as: String?.self),
            status: RefundStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .abnormal,
            gatewayRefundID: try row.decode(column: "gateway_refund_id", as: String?.self),
            createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Date(unixMilliseconds: try row.decode(column: "updated_at", as: Int64.self)))
    }

    // MARK: Ledger

    static func append(_ db: any SQLDatabase, _ entry: PaymentLedgerEntry) async throws {
        try await db.raw("""
            INSERT INTO payment_ledger (order_id, out_trade_no, kind, reference, gateway_state, amount_fen, outcome, created_at)
            VALUES (\(bind: entry.orderID?.rawValue), \(bind: entry.outTradeNo), \(bind: entry.kind.rawValue), \(bind: entry.reference),
                    \(bind: entry.gatewayState), \(bind: entry.amountFen), \(bind: entry.outcome), \(bind: entry.createdAt.unixMilliseconds))
            """).run()
    }

    static func ledger(_ db: any SQLDatabase, outTradeNo: String) async throws -> [PaymentLedgerEntry] {
        try await db.raw("""
            SELECT order_id, out_trade_no, kind, reference, gateway_state, amount_fen, outcome, created_at
            FROM payment_ledger WHERE out_trade_no = \(bind: outTradeNo) ORDER BY id
            """).all().map { row in
            PaymentLedgerEntry(
                orderID: try row.decode(column: "order_id", as: String?.self).map(OrderID.init(rawValue:)),
                outTradeNo: try row.decode(column: "out_trade_no", as: String.self),
                kind: PaymentLedgerEntry.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .query,
                reference: try row.decode(column: "reference", as: String?.self),
                gatewayState: try row.decode(column: "gateway_state", as: String?.self),
                amountFen: try row.decode(column: "amount_fen", as: Int?.self),
                outcome: try row.decode(column: "outcome", as: String.self),
                createdAt: Date(unixMilliseconds: try row.decode(column: "created_at", as: Int64.self)))
        }
    }
}
