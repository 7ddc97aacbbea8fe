import Foundation

/// The inbox message a buyer gets when their order reaches a state they care about:
/// paid, shipped, refunded, closed. Pure; the order repository writes what this returns
/// in the same transaction as the order change (an outbox), so a crash can neither lose
/// an event for a change that happened nor invent one for a change that did not.
public enum OrderInboxEvents {
    public static func drafts(before: Order, after: Order) -> [InboxDraft] {
        guard before.status != after.status, let kind = kind(for: after.status) else { return [] }
        var payload = JSONObjectWriter()
        payload.field("orderId", after.id.rawValue)
        payload.field("outTradeNo", after.outTradeNo.rawValue)
        payload.field("status", after.status.rawValue)
        payload.field("totalFen", after.totalFen)
        payload.field("refundedFen", after.refundedFen)
        payload.field("trackingNumber", after.trackingNumber)
        payload.field("cancelReason", after.status == .cancelled ? after.cancelReason?.rawValue : nil)
        payload.field("at", RFC3339.string(after.updatedAt))
        return [InboxDraft(userID: after.userID, kind: kind, payload: payload.finish())]
    }

    static func kind(for status: OrderStatus) -> String? {
        switch status {
        case .paid: InboxKind.orderPaid
        case .shipped: InboxKind.orderShipped
        case .refunded: InboxKind.orderRefunded
        case .cancelled: InboxKind.orderClosed
        case .pendingPayment, .completed, .refunding: nil
        }
    }
}
