import Foundation

/// Ending unpaid orders: by the buyer, an admin, or the unpaid timeout.
///
/// WeChat is asked first, because the buyer may have paid a moment ago: if WeChat says
/// paid, the order becomes paid. Otherwise the order is cancelled here (no new payment
/// can start), closed at WeChat (so it can no longer be paid there), and only then is
/// its stock released — so a payment that slips in before the close finds its stock.
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
        // Cancelled here but not yet confirmed closed at WeChat (the node stopped in
        // between): finish the close, then release the stock.
        let resuming = order.status == .cancelled && order.stockHeld
        guard order.status == .pendingPayment || resuming else { return .unchanged(order) }
        guard let gateway else { return .cancelled(try await cancelLocally(order.id, reason: reason, releasing: true)) }
        let outTradeNo = order.outTradeNo.rawValue
        var alreadyClosed = false
        if !resuming {
            let transaction = try await gateway.query(outTradeNo: outTradeNo)
            switch transaction.state {
            case .paid, .refunded:
                return .paid(try await confirmed(transaction, kind: .query, fallback: order))
            case .inProgress:
                try await orders.appendLedger([Self.entry(order.id, transaction, .query, nil, "payment_in_progress", clock.now)])
                return .paymentInProgress
            case .notPaid, .failed, .closed:
                try await orders.appendLedger([Self.entry(order.id, transaction, .query, nil, "not_paid", clock.now)])
                alreadyClosed = transaction.state == .closed
            }
            // Cancel here first, keeping the stock: from now on no new paySign is handed
            // out, so nothing can become payable behind the close below.
            let cancelled = try await cancelLocally(order.id, reason: reason, releasing: false)
            guard cancelled.status == .cancelled, cancelled.stockHeld else { return .unchanged(cancelled) }
        }
        if !alreadyClosed, try await gateway.close(outTradeNo: outTradeNo) == .alreadyPaid {
            // Paid between the query and the close: WeChat's word wins (the order still
            // holds its stock, so reviving it takes nothing from anyone).
            let again = try await gateway.query(outTradeNo: outTradeNo)
            return .paid(try await confirmed(again, kind: .query, fallback: order))
        }
        let now = clock.now
        let stored = try await orders.update(order.id) { current, _ in
            guard current.status == .cancelled, current.stockHeld else { return OrderMutation(order: current) }
            var next = current
            next.stockHeld = false
            next.updatedAt = now
            return OrderMutation(order: next, stock: .release, ledger: [PaymentLedgerEntry(
                orderID: current.id, outTradeNo: current.outTradeNo.rawValue, kind: .close,
                reference: (current.cancelReason ?? reason).rawValue, gatewayState: "CLOSED", amountFen: current.totalFen,
                outcome: "cancelled", createdAt: now)])
        }
        return stored.status == .cancelled ? .cancelled(stored) : .unchanged(stored)
    }

    /// Moves a pending order to cancelled; `releasing` also gives its stock back.
    private func cancelLocally(_ id: OrderID, reason: CancelReason, releasing: Bool) async throws -> Order {
        let now = clock.now
        return try await orders.update(id) { current, _ in
            guard current.status == .pendingPayment,
                  var next = try OrderTransitions.apply(.cancel(reason), to: current, now: now, action: "cancelled")
            else { return OrderMutation(order: current) }
            guard releasing, current.stockHeld else { return OrderMutation(order: next) }
            next.stockHeld = false
            return OrderMutation(order: next, stock: .release)
        }
    }

    private func confirmed(_ transaction: GatewayTransaction, kind: PaymentLedgerEntry.Kind, fallback: Order) async throws -> Order {
        try await applyTransaction(transaction, kind: kind, reference: nil) ?? fallback
    }

}
