import Foundation

/// The domain events of a refund's change. Pure; written in the order change's
/// transaction with the refund row.
///
/// Only a final outcome is an event: `succeeded` is `refund.succeeded`, `closed` is
/// `refund.failed`. A refund being requested is told by `order.refunding`; `abnormal`
/// (WeChat could not pay out, the merchant settles it) is not final and waits for one of
/// the two.
public enum RefundDomainEvents {
    public static let version = 1

    /// `before` is nil for a refund not stored yet; `order` is the order as it is after the
    /// change, whose status and refunded total the payload carries (after a partial refund
    /// this event is the only one that tells the order went back to where it was).
    public static func events(before: Refund?, after: Refund, order: Order) -> [DomainEvent] {
        guard before?.status != after.status, before?.status.isOpen ?? true else { return [] }
        let type: String
        switch after.status {
        case .succeeded: type = DomainEventTypes.refundSucceeded
        case .closed: type = DomainEventTypes.refundFailed
        case .processing, .abnormal: return []
        }
        var payload = JSONObjectWriter()
        payload.field("version", version)
        payload.field("refundId", after.id.rawValue)
        payload.field("orderId", after.orderID.rawValue)
        payload.field("outTradeNo", order.outTradeNo.rawValue)
        payload.field("status", after.status.rawValue)
        payload.field("amountFen", after.amountFen)
        payload.field("gatewayRefundId", after.gatewayRefundID)
        payload.field("orderStatus", order.status.rawValue)
        payload.field("orderTotalFen", order.totalFen)
        payload.field("orderRefundedFen", order.refundedFen)
        payload.field("createdAt", RFC3339.string(after.createdAt))
        payload.field("settledAt", RFC3339.string(after.updatedAt))
        return [DomainEvent(type: type, version: version, aggregateType: DomainEventTypes.Aggregate.refund,
                            aggregateID: after.id.rawValue, payload: payload.finish(), occurredAt: after.updatedAt)]
    }
}
