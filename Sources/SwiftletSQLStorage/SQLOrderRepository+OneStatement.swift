import Foundation
import SQLKit
import SwiftletCore

/// Order creation in one statement that writes several tables: on PostgreSQL a
/// data-modifying `WITH`, on SQLite an insert into the `order_intake` view, whose trigger
/// does the same.
///
/// The transaction (`createInTransaction`) costs a round trip per statement (on SQLite a
/// hop to the writer's thread, all of them under the write lock): BEGIN, the
/// SKU read, the stock update, the order, its items, its timeout job, the outbox head, the
/// events, COMMIT. Here the SKUs are read first, the order is built from them, and one
/// statement then does all the writes — atomic on its own, as every statement is. On
/// PostgreSQL:
///
/// - with several lines, `locked` first locks their SKU rows in id order, so two orders of the
///   same SKUs wait for each other instead of deadlocking;
/// - `taken` takes the stock with the same conditional update, and only while the SKU still
///   has the price the order was built with and its product is on sale; `checked` divides
///   by zero unless every line was taken, which aborts the whole statement (materialised,
///   and its value read, so the planner can neither inline it nor drop the division);
/// - the order, its items and its timeout job are inserted, and the outbox head moves
///   forward and the events are inserted, reading `checked`, so no head is locked before
///   the stock rows are (the lock order of the transaction: stock first, head last);
/// - a second use of the idempotency key aborts it with a unique violation.
///
/// SQLite's trigger runs once per line (one row each in the insert), checks first and raises
/// the refusal, then writes (the order, its job and its event with line 0): the statement
/// runs under the one write lock, so nothing can change between a check and its writes,
/// and a refusal of any line aborts them all.
///
/// Refused (stock, price or shelf changed since the read), the SKUs are read again and
/// the order rebuilt, which throws the refusal the transaction would have (out of stock,
/// off shelf) or is tried again. Orders of one line have a fixed text (prepared on
/// PostgreSQL); orders of several lines do not. Flash-sale orders, which also write their
/// buyer's hold, keep the transaction (`createInTransaction`); so would orders without
/// exactly one job and one event (none today).
extension SQLOrderRepository {
    /// Refused statements tried again before the order is given up as too contended.
    static let oneStatementAttempts = 4

    func createInOneStatement(userID: UserID, _ new: NewOrder) async throws -> OrderCreation {
        let ids = new.lines.map(\.skuID)
        for _ in 0..<Self.oneStatementAttempts {
            // The read of one SKU has a fixed text (prepared); of several, its text varies.
            let snapshots = ids.count == 1
                ? try Self.decodeSnapshots(try await executor.prepared(.orderSnapshot, Self.snapshotQuery(ids)))
                : try await executor.read { db in try await Self.snapshots(db, ids) }
            let order = try new.build(snapshots)
            // A flash-sale order also writes its buyer's hold (one per buyer): the
            // transaction does that; the statement below refuses flash-sale SKUs.
            if snapshots.values.contains(where: \.sku.flashSale) { return try await createInTransaction(userID: userID, new) }
            let jobs = new.jobs(order)
            let events = OrderDomainEvents.events(before: nil, after: order)
            guard jobs.count == 1, events.count == 1 else { return try await createInTransaction(userID: userID, new) }
            do {
                let statement = executor.name == "sqlite"
                    ? Self.intakeRows(order, new, job: jobs[0], event: events[0])
                    : Self.oneStatement(order, new, jobs: jobs, events: events)
                _ = try await executor.prepared(order.items.count == 1 ? .orderOneLine : .orderSeveralLines, statement)
                return .created(order)
            } catch where executor.classify(error) == .guardRefused {
                continue
            }
        }
        throw SwiftletError.unavailable("order.busy", "The stock is being changed by many requests at once; try again.")
    }

    /// SQLite: the rows whose insertion into `order_intake` runs the trigger that checks and
    /// writes everything (migration 12): one per line, the order, its job and its event
    /// written with line 0.
    static func intakeRows(_ order: Order, _ new: NewOrder, job: JobRequest, event: DomainEvent) -> SQLQueryString {
        let jobID = "j_" + RandomID.base32(byteCount: 16)
        let rows = order.items.enumerated().map { line, item -> SQLQueryString in
            """
            (\(bind: order.id.rawValue), \(bind: order.userID.rawValue), \(bind: order.outTradeNo.rawValue),
                \(bind: order.status.rawValue), \(bind: order.totalFen), \(bind: order.expiresAt.unixMilliseconds),
                \(bind: order.stockHeld), \(bind: new.idempotencyKey), \(bind: new.requestHash),
                \(bind: order.createdAt.unixMilliseconds), \(bind: order.updatedAt.unixMilliseconds), \(bind: line),
                \(bind: item.skuID.rawValue), \(bind: item.productID.rawValue), \(bind: item.title), \(bind: item.unitPriceFen),
                \(bind: item.quantity), \(bind: jobID), \(bind: job.kind), \(bind: job.key),
                \(bind: job.payload), \(bind: job.runAt.unixMilliseconds), \(bind: event.id.rawValue), \(bind: event.type),
                \(bind: event.version), \(bind: event.aggregateType), \(bind: event.aggregateID), \(bind: event.payload),
                \(bind: event.occurredAt.unixMilliseconds))
            """
        }
        return """
            INSERT INTO order_intake (order_id, user_id, out_trade_no, status, total_fen, expires_at, stock_held,
                idempotency_key, request_hash, created_at, updated_at, line, sku_id, product_id, item_title, unit_price_fen,
                quantity, job_id, job_kind, job_key, job_payload, job_run_at, event_id, event_type, event_version,
                event_aggregate_type, event_aggregate_id, event_payload, event_occurred_at)
            VALUES \(rows.joined(separator: ", "))
            """
    }

    /// PostgreSQL: the statement for an order with its timeout job and events. With several
    /// lines, `locked` first locks their SKU rows in id order (materialised, and joined by
    /// `taken`, so every lock is held before any stock moves): two orders of the same SKUs
    /// in any line order wait for each other instead of deadlocking.
    static let lockInSKUOrder = """
        locked AS MATERIALIZED (SELECT skus.id FROM skus, wanted WHERE skus.id = wanted.sku_id ORDER BY skus.id FOR UPDATE OF skus),
        """

    static func oneStatement(_ order: Order, _ new: NewOrder, jobs: [JobRequest], events: [DomainEvent]) -> SQLQueryString {
        let locking = order.items.count > 1
        let wanted = order.items.map { item -> SQLQueryString in
            "(\(bind: item.skuID.rawValue), \(bind: item.quantity), \(bind: item.unitPriceFen))"
        }
        let items = order.items.enumerated().map { line, item -> SQLQueryString in
            """
            (\(bind: order.id.rawValue), \(bind: line), \(bind: item.skuID.rawValue), \(bind: item.productID.rawValue), \
            \(bind: item.title), \(bind: item.unitPriceFen), \(bind: item.quantity))
            """
        }
        let now = order.createdAt.unixMilliseconds
        let jobRows = jobs.map { job -> SQLQueryString in
            """
            (\(bind: "j_" + RandomID.base32(byteCount: 16)), \(bind: job.kind), \(bind: job.key), \(bind: job.payload), 'pending', \
            \(bind: job.runAt.unixMilliseconds), \(bind: 0), \(bind: now), \(bind: now))
            """
        }
        let eventRows = events.enumerated().map { index, event -> SQLQueryString in
            """
            (\(bind: Int64(index + 1)), \(bind: event.id.rawValue), \(bind: event.type), \(bind: event.version), \
            \(bind: event.aggregateType), \(bind: event.aggregateID), \(bind: event.payload), \
            \(bind: event.occurredAt.unixMilliseconds))
            """
        }
        return """
            WITH wanted (sku_id, quantity, price_fen) AS (VALUES \(wanted.joined(separator: ", "))),
            \(unsafeRaw: locking ? Self.lockInSKUOrder : "")taken AS (
                UPDATE skus SET stock = skus.stock - wanted.quantity
                FROM wanted, products\(unsafeRaw: locking ? ", locked" : "")
                WHERE skus.id = wanted.sku_id\(unsafeRaw: locking ? " AND locked.id = skus.id" : "") AND skus.stock >= wanted.quantity AND skus.price_fen = wanted.price_fen
                  AND NOT skus.flash_sale AND products.id = skus.product_id AND products.on_shelf AND products.deleted_at IS NULL
                RETURNING skus.id
            ),
            checked AS MATERIALIZED (SELECT 1 / (CASE WHEN COUNT(*) = \(bind: wanted.count) THEN 1 ELSE 0 END) AS ok FROM taken),
            new_order AS (
                INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
                                    idempotency_key, request_hash, version, created_at, updated_at)
                SELECT \(bind: order.id.rawValue), \(bind: order.userID.rawValue), \(bind: order.outTradeNo.rawValue),
                       \(bind: order.status.rawValue), \(bind: order.totalFen), \(bind: order.refundedFen),
                       \(bind: order.expiresAt.unixMilliseconds), \(bind: order.stockHeld), \(bind: new.idempotencyKey),
                       \(bind: new.requestHash), \(bind: 0), \(bind: now), \(bind: order.updatedAt.unixMilliseconds)
                FROM checked WHERE checked.ok = 1
                RETURNING id
            ),
            new_items AS (
                INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
                SELECT item.* FROM new_order, (VALUES \(items.joined(separator: ", "))) AS item
            ),
            new_jobs AS (
                INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
                SELECT job.* FROM new_order, (VALUES \(jobRows.joined(separator: ", "))) AS job
                ON CONFLICT (kind, job_key) DO NOTHING
            ),
            head AS (
                INSERT INTO event_outbox_head (id, last_position)
                SELECT 1, \(bind: Int64(events.count)) FROM new_order
                ON CONFLICT (id) DO UPDATE SET last_position = event_outbox_head.last_position + excluded.last_position
                RETURNING last_position
            )
            INSERT INTO event_outbox (\(unsafeRaw: SQLEventOutboxRepository.columns))
            SELECT head.last_position - \(bind: Int64(events.count)) + event.n, event.id, event.type, event.version,
                   event.aggregate_type, event.aggregate_id, event.payload, event.occurred_at
            FROM head, (VALUES \(eventRows.joined(separator: ", "))) AS event (n, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
            """
    }
}
