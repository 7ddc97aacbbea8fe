import Foundation
import Logging

/// The merchant identity a payment must belong to.
public struct MerchantIdentity: Sendable, Equatable {
    public var appID: String
    public var mchID: String
    public init(appID: String, mchID: String) {
        self.appID = appID
        self.mchID = mchID
    }
}

/// Paying for orders with WeChat Pay: prepay, notifications, and closing unpaid orders.
///
/// The rule it keeps: a payment WeChat reports as paid is never lost and never closed.
/// Every path that ends an unpaid order asks WeChat first, and every outcome lands in
/// the append-only ledger.
public struct PaymentService: Sendable {
    let orders: any OrderRepository
    let users: any UserRepository
    let gateway: (any PaymentGateway)?
    let merchant: MerchantIdentity
    let clock: SwiftletClock
    let logger: Logger

    /// A prepay id is valid for 2 hours at WeChat; reuse it only with margin to spare.
    static let prepayLifetime: TimeInterval = 2 * 3600 - 300

    public init(orders: any OrderRepository, users: any UserRepository, gateway: (any PaymentGateway)?,
                merchant: MerchantIdentity, clock: SwiftletClock, logger: Logger) {
        self.orders = orders
        self.users = users
        self.gateway = gateway
        self.merchant = merchant
        self.clock = clock
        self.logger = logger
    }

    func requireGateway() throws -> any PaymentGateway {
        guard let gateway else {
            throw SwiftletError.unavailable("pay.not_configured", "WeChat Pay is not configured on this server.")
        }
        return gateway
    }

    /// Creates (or reuses) the prepay order and returns the `wx.requestPayment` values.
    public func pay(_ id: OrderID, by userID: UserID) async throws -> (order: Order, parameters: PaymentParameters) {
        let gateway = try requireGateway()
        guard let order = try await orders.find(id), order.userID == userID else { throw OrderService.notFound }
        let now = clock.now
        try Self.ensurePayable(order, now: now)
        if let prepayID = order.prepayID, let validUntil = order.prepayExpiresAt, validUntil > now {
            return (order, try gateway.paymentParameters(prepayID: prepayID))
        }
        guard let user = try await users.find(id: userID) else { throw OrderService.notFound }
        let prepayID = try await gateway.prepay(PrepayRequest(
            outTradeNo: order.outTradeNo.rawValue, description: order.paymentDescription, amountFen: order.totalFen,
            payerOpenID: user.openid, expiresAt: order.expiresAt))
        let updated = try await orders.update(id) { current, _ in
            try Self.ensurePayable(current, now: now)
            var next = current
            next.prepayID = prepayID
            next.prepayExpiresAt = now.addingTimeInterval(Self.prepayLifetime)
            next.updatedAt = now
            return OrderMutation(order: next, ledger: [PaymentLedgerEntry(
                orderID: id, outTradeNo: current.outTradeNo.rawValue, kind: .prepay, reference: prepayID,
                gatewayState: nil, amountFen: current.totalFen, outcome: "prepay_created", createdAt: now)])
        }
        return (updated, try gateway.paymentParameters(prepayID: prepayID))
    }

    static func ensurePayable(_ order: Order, now: Date) throws {
        switch order.status {
        case .pendingPayment:
            guard now < order.expiresAt else {
                throw SwiftletError.conflict("order.payment_expired", "The time to pay for this order has passed.")
            }
        case .paid, .shipped, .completed, .refunding, .refunded:
            throw SwiftletError.conflict("order.already_paid", "This order is already paid.")
        case .cancelled:
            throw OrderTransitions.invalidTransition(order.status, "paid")
        }
    }

    // MARK: Notifications

    /// Applies a verified notification. Business mismatches (unknown order or refund, wrong
    /// amount, total, order or merchant) change nothing, are logged as errors and recorded in the ledger; the
    /// notification is still acknowledged, since WeChat's retries cannot fix them.
    public func handle(_ notification: PaymentNotification) async throws {
        switch notification {
        case .transaction(let eventID, _, let transaction):
            try await applyTransaction(transaction, kind: .notify, reference: eventID)
        case .refund(let eventID, _, let refund):
            try await RefundService.applyNotify(refund, eventID: eventID, mchID: merchant.mchID, orders: orders, clock: clock, logger: logger)
        }
    }

    /// Records what WeChat says about a payment and moves the order to paid if (and only
    /// if) it checks out. Returns the order as stored afterwards.
    @discardableResult
    func applyTransaction(_ transaction: GatewayTransaction, kind: PaymentLedgerEntry.Kind, reference: String?) async throws -> Order? {
        let now = clock.now
        guard let order = try await orders.find(outTradeNo: transaction.outTradeNo) else {
            logger.error("payment for an unknown order", metadata: ["outTradeNo": .string(transaction.outTradeNo)])
            try await orders.appendLedger([Self.entry(nil, transaction, kind, reference, "unknown_order", now)])
            return nil
        }
        let merchantMatches = transaction.appID == merchant.appID && transaction.mchID == merchant.mchID
        let claimsPaid = transaction.state == .paid || transaction.state == .refunded
        let stored = try await orders.update(order.id) { current, _ in
            let outcome: String
            var mutation = OrderMutation(order: current)
            if !merchantMatches {
                outcome = "merchant_mismatch"
            } else if !claimsPaid {
                outcome = "not_paid"
            } else if transaction.amountFen != current.totalFen {
                outcome = "amount_mismatch"
            } else if let next = try OrderTransitions.apply(.paymentConfirmed, to: current, now: now, action: "paid") {
                mutation.order = next
                mutation.order.transactionID = transaction.transactionID
                if current.status == .cancelled {
                    // Its stock may still be held (cancelled, close not finished) or gone.
                    mutation.stock = current.stockHeld ? .none : .reserveIfAvailable
                    outcome = "applied_after_cancel"
                } else {
                    outcome = "applied"
                }
            } else {
                outcome = "duplicate"
            }
            mutation.ledger = [Self.entry(current.id, transaction, kind, reference, outcome, now)]
            return mutation
        }
        if !merchantMatches || (claimsPaid && transaction.amountFen != order.totalFen) {
            // Never marked paid; a person has to look at it (possible fraud or misconfiguration).
            logger.error("payment rejected, needs follow-up", metadata: [
                "orderId": .string(order.id.rawValue), "outTradeNo": .string(transaction.outTradeNo),
                "reason": .string(merchantMatches ? "amount_mismatch" : "merchant_mismatch"),
                "notifiedAmountFen": .stringConvertible(transaction.amountFen ?? -1),
                "orderAmountFen": .stringConvertible(order.totalFen),
            ])
        } else if stored.status == .paid, order.status == .cancelled {
            logger.error("payment arrived for a cancelled order; order revived", metadata: ["orderId": .string(order.id.rawValue)])
        }
        return stored
    }

    static func entry(_ id: OrderID?, _ transaction: GatewayTransaction, _ kind: PaymentLedgerEntry.Kind,
                      _ reference: String?, _ outcome: String, _ now: Date) -> PaymentLedgerEntry {
        PaymentLedgerEntry(orderID: id, outTradeNo: transaction.outTradeNo, kind: kind,
                           reference: reference ?? transaction.transactionID, gatewayState: transaction.rawState,
                           amountFen: transaction.amountFen, outcome: outcome, createdAt: now)
    }
}
