import Foundation

/// The domain events of an order change. Pure; the order repository writes what this
/// returns in the same transaction as the change.
///
/// A status change is told by the type named after the new status, with two rules that
/// matter to receivers:
/// - an unpaid order that ends is `order.closed` when it timed out and `order.cancelled`
///   when the buyer or an admin cancelled it;
/// - an order returning from `refunding` to where it was (a partial refund succeeded, or
///   a refund failed) is not paid, shipped or completed again: that change is told by
///   `refund.succeeded` or `refund.failed`, whose payloads carry the order's status.
///
/// Every order event has the same payload: the order as it is after the change
/// (docs/events.md). Amounts are in fen, times RFC 3339 UTC; the buyer appears only as
/// their opaque user id, never by openid, phone or nickname.
public enum OrderDomainEvents {
    public static let version = 1

    /// `before` is nil when the order was just created.
    public static func events(before: Order?, after: Order) -> [DomainEvent] {
        guard let before else {
            return [event(DomainEventTypes.orderCreated, after, previous: nil, at: after.createdAt)]
        }
        guard before.status != after.status, let type = type(from: before.status, to: after) else { return [] }
        return [event(type, after, previous: before.status, at: after.updatedAt)]
    }

    /// The events of one `OrderRepository.update`: the refund's first (it is why the order
    /// moved), then the order's. `refunds` are the order's refunds as they were before.
    public static func events(of mutation: OrderMutation, before: Order, refunds: [Refund]) -> [DomainEvent] {
        var events: [DomainEvent] = []
        if let refund = mutation.refund {
            events += RefundDomainEvents.events(
                before: refunds.first { $0.id == refund.id }, after: refund, order: mutation.order)
        }
        return events + self.events(before: before, after: mutation.order)
    }

    static func type(from previous: OrderStatus, to order: Order) -> String? {
        if previous == .refunding, [.paid, .shipped, .completed].contains(order.status) { return nil }
        switch order.status {
        case .paid: return DomainEventTypes.orderPaid
        case .shipped: return DomainEventTypes.orderShipped
        case .completed: return DomainEventTypes.orderCompleted
        case .cancelled: return order.cancelReason == .timeout ? DomainEventTypes.orderClosed : DomainEventTypes.orderCancelled
        case .refunding: return DomainEventTypes.orderRefunding
        case .refunded: return DomainEventTypes.orderRefunded
        case .pendingPayment: return nil
        }
    }

    static func event(_ type: String, _ order: Order, previous: OrderStatus?, at date: Date) -> DomainEvent {
        var payload = JSONObjectWriter()
        payload.field("version", version)
        payload.field("orderId", order.id.rawValue)
        payload.field("outTradeNo", order.outTradeNo.rawValue)
        payload.field("userId", order.userID.rawValue)
        payload.field("status", order.status.rawValue)
        payload.field("previousStatus", previous?.rawValue)
        payload.field("totalFen", order.totalFen)
        payload.field("refundedFen", order.refundedFen)
        payload.field("createdAt", RFC3339.string(order.createdAt))
        payload.field("expiresAt", order.status == .pendingPayment ? RFC3339.string(order.expiresAt) : nil)
        payload.field("paidAt", order.paidAt.map(RFC3339.string))
        payload.field("cancelledAt", order.status == .cancelled ? order.cancelledAt.map(RFC3339.string) : nil)
        payload.field("cancelReason", order.status == .cancelled ? order.cancelReason?.rawValue : nil)
        payload.field("shippedAt", order.shippedAt.map(RFC3339.string))
        payload.field("trackingNumber", order.trackingNumber)
        payload.field("completedAt", order.completedAt.map(RFC3339.string))
        return DomainEvent(type: type, version: version, aggregateType: DomainEventTypes.Aggregate.order,
                           aggregateID: order.id.rawValue, payload: payload.finish(), occurredAt: date)
    }
}
