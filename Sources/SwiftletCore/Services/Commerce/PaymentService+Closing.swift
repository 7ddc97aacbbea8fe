import Foundation

/// Ending unpaid orders: by the buyer, an admin, or the unpaid timeout.
///
/// WeChat is asked first, because the buyer may have paid a moment ago: if WeChat says
/// paid, the order becomes paid; otherwise the order is closed at WeChat (so it can no
/// longer be paid there) and only then cancelled here, releasing its stock.
extension PaymentService {
    public enum CloseResult: Sendable, Equatable {
        case cancelled(Order)
        /// WeChat had the payment; the order is paid now.
        case paid(Order)
        /// Nothing to do: the order had already left `pending_payment`.
        case unchanged(Order)
        /// The buyer is paying right now; try again shortly.
        case paymentInProgress
        case orderMissing
    }

    /// The buyer cancels their own unpaid order.
    public func cancel(_ id: OrderID, by userID: UserID) async throws -> Order {
        guard let order = try await orders.find(id), order.userID == userID else { throw OrderService.notFound }
        return try await cancelOrThrow(order, reason: .user)
    }

    /// An admin cancels an unpaid order.
    public func adminCancel(_ id: OrderID) async throws -> Order {
        guard let order = try await orders.find(id) else { throw OrderService.notFound }
        return try await cancelOrThrow(order, reason: .admin)
    }

    private func cancelOrThrow(_ order: Order, reason: CancelReason) async throws -> Order {
        switch try await closeUnpaid(order, reason: reason) {
        case .cancelled(let order):
            return order
        case .unchanged(let order) where order.status == .cancelled:
            return order
        case .paid(let order), .unchanged(let order):
            throw OrderTransitions.invalidTransition(order.status, "cancelled")
        case .orderMissing:
            throw OrderService.notFound
        case .paymentInProgress:
            throw SwiftletError.conflict("order.payment_in_progress", "The buyer is paying this order right now; try again in a minute.")
        }
    }

    /// What the unpaid-timeout job does for one order.
    public func closeExpired(_ id: OrderID) async throws -> CloseResult {
        guard let order = try await orders.find(id) else { return .orderMissing }
        return try await closeUnpaid(order, reason: .timeout)
    }

    func closeUnpaid(_ order: Order, reason: CancelReason) async throws -> CloseResult {
        guard order.status == .pendingPayment else { return .unchanged(order) }
        var closedAtGateway = false
        if let gateway {
            let outTradeNo = order.outTradeNo.rawValue
            let transaction = try await gateway.query(outTradeNo: outTradeNo)
            switch transaction.state {
            case .paid, .refunded:
                return .paid(try await confirmed(transaction, kind: .query, fallback: order))
            case .inProgress:
                try await orders.appendLedger([Self.entry(order.id, transaction, .query, nil, "payment_in_progress", clock.now)])
                return .paymentInProgress
            case .notPaid, .failed, .closed:
                try await orders.appendLedger([Self.entry(order.id, transaction, .query, nil, "not_paid", clock.now)])
                if transaction.state != .closed {
                    if try await gateway.close(outTradeNo: outTradeNo) == .alreadyPaid {
                        // Paid between the query and the close: WeChat's word wins.
                        let again = try await gateway.query(outTradeNo: outTradeNo)
                        return .paid(try await confirmed(again, kind: .query, fallback: order))
                    }
                }
                closedAtGateway = true
            }
        }
        let now = clock.now
        let closed = closedAtGateway
        let stored = try await orders.update(order.id) { current, _ in
            guard current.status == .pendingPayment,
                  var next = try OrderTransitions.apply(.cancel(reason), to: current, now: now, action: "cancelled")
            else { return OrderMutation(order: current) }
            next.stockHeld = false
            let ledger = closed ? [PaymentLedgerEntry(
                orderID: current.id, outTradeNo: current.outTradeNo.rawValue, kind: .close, reference: reason.rawValue,
                gatewayState: "CLOSED", amountFen: current.totalFen, outcome: "cancelled", createdAt: now)] : []
            return OrderMutation(order: next, stock: current.stockHeld ? .release : .none, ledger: ledger)
        }
        return stored.status == .cancelled && order.status == .pendingPayment ? .cancelled(stored) : .unchanged(stored)
    }

    private func confirmed(_ transaction: GatewayTransaction, kind: PaymentLedgerEntry.Kind, fallback: Order) async throws -> Order {
        try await applyTransaction(transaction, kind: kind, reference: nil) ?? fallback
    }

}
