import Foundation
import Logging

/// Admin-initiated refunds, full or partial, settled by WeChat's answer, its refund
/// notify, or a durable follow-up query — whichever comes first; the rest are no-ops.
///
/// Stock policy: a full refund of an order that never shipped puts its units back on
/// sale; partial refunds and refunds after shipping leave stock alone (the goods are
/// no longer in the warehouse, or only some of them are; an admin adjusts stock).
public struct RefundService: Sendable {
    let orders: any OrderRepository
    let gateway: (any PaymentGateway)?
    let clock: SwiftletClock
    let logger: Logger

    public static let queryJobKind = "refund.query"
    /// WeChat settles most refunds within seconds to minutes; ask after this long.
    static let followUpDelay: TimeInterval = 60

    public init(orders: any OrderRepository, gateway: (any PaymentGateway)?, clock: SwiftletClock, logger: Logger) {
        self.orders = orders
        self.gateway = gateway
        self.clock = clock
        self.logger = logger
    }

    public func refund(_ id: OrderID, amountFen: Int?, reason: String?) async throws -> (order: Order, refund: Refund) {
        guard let gateway else {
            throw SwiftletError.unavailable("pay.not_configured", "WeChat Pay is not configured on this server.")
        }
        let reason = try reason.map { text -> String in
            guard text.unicodeScalars.count <= 80, !Validation.containsControlCharacters(text),
                  text.unicodeScalars.allSatisfy({ $0.value <= 0xFFFF }) else {
                throw SwiftletError.invalid("refund.invalid_reason",
                                            "The reason must be at most 80 printable characters, without emoji (WeChat Pay refuses them).")
            }
            return text
        }
        let refundID = RefundID.generate()
        let now = clock.now
        let started = try await orders.update(id) { order, refunds in
            if refunds.contains(where: { $0.status == .processing || $0.status == .abnormal }) {
                throw SwiftletError.conflict("refund.in_progress", "A refund of this order is still being processed.")
            }
            let amount = amountFen ?? order.refundableFen
            guard amount >= 1 else {
                throw SwiftletError.invalid("refund.invalid_amount", "The refund amount is in integer fen, at least 1.")
            }
            guard amount <= order.refundableFen else {
                throw SwiftletError.conflict("refund.exceeds_paid", "At most \(order.refundableFen) fen can still be refunded.")
            }
            guard let next = try OrderTransitions.apply(.refundRequested, to: order, now: now, action: "refunded") else {
                throw SwiftletError.conflict("refund.in_progress", "A refund of this order is still being processed.")
            }
            let refund = Refund(id: refundID, orderID: order.id, amountFen: amount, reason: reason, status: .processing,
                                createdAt: now, updatedAt: now)
            return OrderMutation(
                order: next,
                ledger: [PaymentLedgerEntry(orderID: order.id, outTradeNo: order.outTradeNo.rawValue, kind: .refund,
                                            reference: refundID.rawValue, gatewayState: nil, amountFen: amount,
                                            outcome: "requested", createdAt: now)],
                refund: refund,
                jobs: [JobRequest(kind: Self.queryJobKind, key: refundID.rawValue, payload: refundID.rawValue,
                                  runAt: now.addingTimeInterval(Self.followUpDelay))])
        }
        guard let refund = try await orders.findRefund(refundID) else { throw OrderService.notFound }
        do {
            let answer = try await gateway.refund(GatewayRefundRequest(
                refundID: refundID, outTradeNo: started.outTradeNo.rawValue, amountFen: refund.amountFen,
                totalFen: started.totalFen, reason: reason))
            try await Self.resolve(answer, kind: .refund, reference: answer.gatewayRefundID, orders: orders, clock: clock, logger: logger)
        } catch let error as SwiftletError where error.kind == .conflict || error.kind == .invalidInput {
            // WeChat refused the refund outright: put the order back and say why.
            let refused = GatewayRefund(refundID: refundID, outTradeNo: started.outTradeNo.rawValue, gatewayRefundID: nil,
                                        status: .closed, rawStatus: error.code, amountFen: refund.amountFen)
            try await Self.resolve(refused, kind: .refund, reference: nil, orders: orders, clock: clock, logger: logger)
            throw error
        } catch {
            // Unknown outcome (timeout, WeChat busy): the follow-up job asks WeChat and
            // resubmits with the same out_refund_no, which can only refund once.
            logger.warning("refund outcome unknown; will follow up", metadata: [
                "refundId": .string(refundID.rawValue), "error": .string(ErrorLog.describe(error)),
            ])
        }
        let order = try await orders.find(id) ?? started
        return (order, try await orders.findRefund(refundID) ?? refund)
    }

    /// The follow-up job: settles a refund WeChat has not finished. Returns when to ask
    /// again, or nil when the refund is settled.
    public func followUp(_ refundID: RefundID) async throws -> TimeInterval? {
        guard let gateway, let refund = try await orders.findRefund(refundID), refund.status.isOpen,
              let order = try await orders.find(refund.orderID)
        else { return nil }
        let answer: GatewayRefund
        do {
            answer = try await gateway.queryRefund(refundID)
        } catch let error as SwiftletError where error.kind == .notFound {
            // Our request never reached WeChat: send it again (same out_refund_no).
            answer = try await gateway.refund(GatewayRefundRequest(
                refundID: refundID, outTradeNo: order.outTradeNo.rawValue, amountFen: refund.amountFen,
                totalFen: order.totalFen, reason: refund.reason))
        }
        try await Self.resolve(answer, kind: .refundQuery, reference: answer.gatewayRefundID, orders: orders, clock: clock, logger: logger)
        switch answer.status {
        case .processing: return 60
        case .abnormal: return 3600
        case .succeeded, .closed: return nil
        }
    }

    /// Applies a verified refund notify only if it matches the refund and order it names
    /// exactly (`RefundNotifyMismatch`). A mismatch changes nothing but a ledger line and
    /// an error log; the refund stays open and the follow-up query settles it from
    /// WeChat's own record.
    static func applyNotify(_ notified: GatewayRefund, eventID: String, mchID: String, orders: any OrderRepository,
                            clock: SwiftletClock, logger: Logger) async throws {
        if let refund = try await orders.findRefund(notified.refundID), let order = try await orders.find(refund.orderID),
           let mismatch = RefundNotifyMismatch.check(notified, refund: refund, order: order, mchID: mchID) {
            try await orders.appendLedger([PaymentLedgerEntry(
                orderID: order.id, outTradeNo: order.outTradeNo.rawValue, kind: .refundNotify, reference: eventID,
                gatewayState: notified.rawStatus, amountFen: notified.amountFen, outcome: mismatch.rawValue, createdAt: clock.now)])
            logger.error("refund notify rejected, refund left open for the follow-up query", metadata: [
                "reason": .string(mismatch.rawValue), "refundId": .string(refund.id.rawValue),
                "orderId": .string(order.id.rawValue), "eventId": .string(eventID),
                "notifiedAmountFen": .stringConvertible(notified.amountFen ?? -1),
                "refundAmountFen": .stringConvertible(refund.amountFen),
                "notifiedTotalFen": .stringConvertible(notified.totalFen ?? -1),
                "orderTotalFen": .stringConvertible(order.totalFen),
            ])
            return
        }
        try await resolve(notified, kind: .refundNotify, reference: eventID, orders: orders, clock: clock, logger: logger)
    }

    /// Applies WeChat's word on a refund exactly once; repeats only add a ledger line.
    static func resolve(_ answer: GatewayRefund, kind: PaymentLedgerEntry.Kind, reference: String?,
                        orders: any OrderRepository, clock: SwiftletClock, logger: Logger) async throws {
        let now = clock.now
        guard let refund = try await orders.findRefund(answer.refundID) else {
            logger.error("refund notification for an unknown refund", metadata: ["refundId": .string(answer.refundID.rawValue)])
            try await orders.appendLedger([PaymentLedgerEntry(
                orderID: nil, outTradeNo: answer.outTradeNo ?? "", kind: kind, reference: answer.refundID.rawValue,
                gatewayState: answer.rawStatus, amountFen: answer.amountFen, outcome: "unknown_refund", createdAt: now)])
            return
        }
        _ = try await orders.update(refund.orderID) { order, refunds in
            var ledger = PaymentLedgerEntry(
                orderID: order.id, outTradeNo: order.outTradeNo.rawValue, kind: kind, reference: reference ?? refund.id.rawValue,
                gatewayState: answer.rawStatus, amountFen: answer.amountFen ?? refund.amountFen, outcome: "duplicate", createdAt: now)
            guard var current = refunds.first(where: { $0.id == refund.id }), current.status.isOpen,
                  answer.status != current.status
            else {
                if answer.status.isOpen { ledger.outcome = answer.status.rawValue }
                return OrderMutation(order: order, ledger: [ledger])
            }
            current.status = answer.status
            current.gatewayRefundID = answer.gatewayRefundID ?? current.gatewayRefundID
            current.updatedAt = now
            var next = order
            var stock = StockEffect.none
            let restoreTo = order.statusBeforeRefund ?? .paid
            if answer.status == .abnormal {
                // The money could not reach the buyer (e.g. a closed card); the merchant
                // settles it at WeChat, which then reports SUCCESS. The order waits.
                ledger.outcome = "refund_abnormal"
                return OrderMutation(order: order, ledger: [ledger], refund: current)
            } else if answer.status == .processing {
                ledger.outcome = "processing"
                return OrderMutation(order: order, ledger: [ledger], refund: current)
            } else if answer.status == .succeeded {
                next.refundedFen += current.amountFen
                next = try OrderTransitions.apply(
                    .refundSucceeded(remainingFen: next.totalFen - next.refundedFen, restoreTo: restoreTo),
                    to: next, now: now, action: "refunded") ?? next
                if next.status == .refunded, next.shippedAt == nil, next.stockHeld {
                    stock = .release
                    next.stockHeld = false
                }
                ledger.outcome = "refunded"
            } else {
                next = try OrderTransitions.apply(.refundFailed(restoreTo: restoreTo), to: next, now: now, action: "restored") ?? next
                ledger.outcome = "refund_failed"
            }
            return OrderMutation(order: next, stock: stock, ledger: [ledger], refund: current)
        }
        if answer.status == .abnormal {
            logger.error("refund abnormal: settle it in the WeChat Pay merchant platform", metadata: [
                "refundId": .string(refund.id.rawValue), "orderId": .string(refund.orderID.rawValue),
            ])
        }
    }
}
