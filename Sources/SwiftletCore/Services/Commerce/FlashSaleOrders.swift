import Foundation
import Logging
import Synchronization

/// Orders through a flash-sale gate (Redis): a buyer of a flash-sale SKU first takes a
/// unit in the gate, and only then is the order persisted by the database, which still
/// checks the stock and the buyer's one hold as it always does.
///
/// - Sold out in the gate: answered `order.sold_out` at once, without the database. In a
///   sale of 100 units and 10,000 buyers that is 9,900 answers the database never sees.
/// - Reserved: the order is persisted before the buyer hears 201. Whatever keeps it from
///   being persisted (refused, timed out, the node failing) gives the unit back, so the
///   gate never keeps a unit no order holds for longer than the reservation grace.
/// - The gate unreachable, or not yet tracking the SKU: the database decides alone, with
///   the same guarantees (it is what the embedded default does every time).
///
/// Every other call goes straight to the wrapped repository; an order change that gives
/// stock back also gives the unit back in the gate.
public struct FlashSaleOrders: OrderRepository {
    let inner: any OrderRepository
    let gate: any FlashSaleGate
    let skus: FlashSaleSKUs
    let clock: SwiftletClock
    let telemetry: FlashSaleTelemetry
    let logger: Logger

    public init(_ inner: any OrderRepository, gate: any FlashSaleGate, skus: FlashSaleSKUs, clock: SwiftletClock,
                telemetry: FlashSaleTelemetry = .off, logger: Logger) {
        self.inner = inner
        self.gate = gate
        self.skus = skus
        self.clock = clock
        self.telemetry = telemetry
        self.logger = logger
    }

    public func create(userID: UserID, _ new: NewOrder) async throws -> OrderCreation {
        // Flash-sale orders are one unit on their own (`OrderService.build`): anything else
        // is either not one or refused by the database.
        guard new.lines.count == 1, new.lines[0].quantity == 1, skus.contains(new.lines[0].skuID) else {
            return try await inner.create(userID: userID, new)
        }
        let sku = new.lines[0].skuID
        let reservation: FlashSaleReservation
        do {
            reservation = try await gate.reserve(sku: sku, user: userID, now: clock.now)
        } catch {
            telemetry.count(.unreachable)
            logger.warning("flash-sale gate unreachable; the database decides alone", metadata: ["error": "\(error)"])
            return try await inner.create(userID: userID, new)
        }
        telemetry.count(reservation)
        switch reservation {
        case .soldOut:
            throw OrderService.soldOut
        case .alreadyHeld, .notLoaded:
            // A retry of the buyer's own order (answered with it) or a second order
            // (refused by their hold): the database tells which.
            return try await inner.create(userID: userID, new)
        case .reserved:
            let created: OrderCreation
            do {
                created = try await inner.create(userID: userID, new)
            } catch {
                await settle(sku: sku, user: userID, persisted: false)
                throw error
            }
            let persisted = if case .created = created { true } else { false }
            await settle(sku: sku, user: userID, persisted: persisted)
            return created
        }
    }

    /// Ends a reservation. A failure here is left to reconciliation, which drops the
    /// reservation once it is older than the grace and counts the database's holders.
    private func settle(sku: SKUID, user: UserID, persisted: Bool) async {
        do {
            if persisted {
                try await gate.confirm(sku: sku, user: user)
            } else {
                telemetry.count(.givenBack)
                try await gate.giveBack(sku: sku, user: user)
            }
        } catch {
            logger.warning("flash-sale reservation left to reconciliation", metadata: ["error": "\(error)"])
        }
    }

    public func update(_ id: OrderID, _ decide: @escaping @Sendable (Order, [Refund]) throws -> OrderMutation) async throws -> Order {
        let released = Mutex(false)
        let order = try await inner.update(id) { order, refunds in
            let mutation = try decide(order, refunds)
            released.withLock { $0 = mutation.stock == .release }
            return mutation
        }
        if released.withLock({ $0 }) {
            for item in order.items where skus.contains(item.skuID) {
                do {
                    try await gate.release(sku: item.skuID, user: order.userID)
                } catch {
                    logger.warning("flash-sale unit release left to reconciliation", metadata: ["error": "\(error)"])
                }
            }
        }
        return order
    }

    public func find(_ id: OrderID) async throws -> Order? { try await inner.find(id) }
    public func find(outTradeNo: String) async throws -> Order? { try await inner.find(outTradeNo: outTradeNo) }
    public func list(_ filter: OrderFilter, limit: Int, cursor: String?) async throws -> Page<Order> {
        try await inner.list(filter, limit: limit, cursor: cursor)
    }
    public func refunds(of id: OrderID) async throws -> [Refund] { try await inner.refunds(of: id) }
    public func findRefund(_ id: RefundID) async throws -> Refund? { try await inner.findRefund(id) }
    public func appendLedger(_ entries: [PaymentLedgerEntry]) async throws { try await inner.appendLedger(entries) }
    public func ledger(outTradeNo: String) async throws -> [PaymentLedgerEntry] { try await inner.ledger(outTradeNo: outTradeNo) }
}

/// The flash-sale SKUs this node knows of, as the last reconciliation found them: a set
/// read on every order, so an ordinary order costs no round trip to the gate.
public final class FlashSaleSKUs: Sendable {
    private let ids = Mutex<Set<SKUID>>([])

    public init() {}

    public func contains(_ id: SKUID) -> Bool { ids.withLock { $0.contains(id) } }
    public func replace(with new: Set<SKUID>) { ids.withLock { $0 = new } }
}
