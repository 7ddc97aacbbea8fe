import Foundation

/// Applies an event to an order value: the state machine decides, this records the
/// timestamps and fields that go with the move. Pure.
public enum OrderTransitions {
    public static func invalidTransition(_ status: OrderStatus, _ action: String) -> SwiftletError {
        SwiftletError.conflict("order.invalid_transition", "An order that is \(status.rawValue) cannot be \(action).")
    }

    /// The new order, or nil when the event was already applied.
    public static func apply(_ event: OrderEvent, to order: Order, now: Date, action: String) throws -> Order? {
        switch OrderStateMachine.apply(event, to: order.status) {
        case .invalid:
            throw invalidTransition(order.status, action)
        case .alreadyApplied:
            return nil
        case .moved(let status):
            var next = order
            next.status = status
            next.updatedAt = now
            switch event {
            case .paymentConfirmed:
                next.paidAt = next.paidAt ?? now
            case .cancel(let reason):
                next.cancelledAt = now
                next.cancelReason = reason
            case .ship:
                next.shippedAt = now
            case .complete:
                next.completedAt = now
            case .refundRequested:
                next.statusBeforeRefund = order.status
            case .refundSucceeded, .refundFailed:
                next.statusBeforeRefund = nil
            }
            return next
        }
    }
}
