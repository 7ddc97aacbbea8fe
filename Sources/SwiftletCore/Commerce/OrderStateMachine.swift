/// Where an order is in its life.
public enum OrderStatus: String, Sendable, Equatable, CaseIterable, Codable {
    case pendingPayment = "pending_payment"
    case paid
    case shipped
    case completed
    case cancelled
    case refunding
    case refunded
}

/// Something that happens to an order.
public enum OrderEvent: Sendable, Equatable {
    /// WeChat Pay confirmed the payment (notify or query).
    case paymentConfirmed
    case cancel(CancelReason)
    case ship
    /// The buyer confirmed receipt (or an admin completed the order).
    case complete
    case refundRequested
    /// A refund succeeded. With nothing left to refund the order is `refunded`; after a
    /// partial refund it returns to `restoreTo` (it may still ship or be refunded again).
    case refundSucceeded(remainingFen: Int, restoreTo: OrderStatus)
    /// A refund failed or was closed; the order returns to `restoreTo`.
    case refundFailed(restoreTo: OrderStatus)
}

/// The order state machine as a pure transition table.
///
/// `pending_payment → paid → shipped → completed`; `pending_payment → cancelled`;
/// `paid | shipped | completed → refunding → refunded`; a partial refund returns the
/// order from `refunding` to where it was, with `refundedFen` raised. Every event is idempotent: replaying one
/// whose effect is already in place answers `.alreadyApplied` and changes nothing, so a
/// duplicated notify can never move a shipped order back to paid.
public enum OrderStateMachine {
    public enum Outcome: Sendable, Equatable {
        case moved(to: OrderStatus)
        case alreadyApplied
        case invalid
    }

    /// Statuses an order can only have reached after its payment was confirmed.
    static let paymentConfirmedStatuses: Set<OrderStatus> = [.paid, .shipped, .completed, .refunding, .refunded]

    public static func apply(_ event: OrderEvent, to status: OrderStatus) -> Outcome {
        switch (event, status) {
        case (.paymentConfirmed, .pendingPayment):
            return .moved(to: .paid)
        case (.paymentConfirmed, let current) where paymentConfirmedStatuses.contains(current):
            return .alreadyApplied
        case (.paymentConfirmed, .cancelled):
            // WeChat took the money for an order we had cancelled (the buyer paid while
            // it was being closed). A confirmed payment is never dropped: revive it.
            return .moved(to: .paid)

        case (.cancel, .pendingPayment):
            return .moved(to: .cancelled)
        case (.cancel, .cancelled):
            return .alreadyApplied

        case (.ship, .paid):
            return .moved(to: .shipped)
        case (.ship, .shipped), (.ship, .completed):
            return .alreadyApplied

        case (.complete, .shipped):
            return .moved(to: .completed)
        case (.complete, .completed):
            return .alreadyApplied

        case (.refundRequested, .paid), (.refundRequested, .shipped), (.refundRequested, .completed):
            return .moved(to: .refunding)
        case (.refundRequested, .refunding):
            return .alreadyApplied

        case (.refundSucceeded(let remaining, let restoreTo), .refunding):
            return .moved(to: remaining <= 0 ? .refunded : restoreTo)
        case (.refundSucceeded, .refunded):
            return .alreadyApplied

        case (.refundFailed(let restoreTo), .refunding):
            return .moved(to: restoreTo)
        case (.refundFailed, let current) where paymentConfirmedStatuses.contains(current):
            return .alreadyApplied

        default:
            return .invalid
        }
    }
}
