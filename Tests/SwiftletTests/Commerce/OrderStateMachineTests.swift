import Foundation
import SwiftletCore
import Testing

@Suite("Order state machine")
struct OrderStateMachineTests {
    typealias Outcome = OrderStateMachine.Outcome

    /// Every event against every status. Anything not listed must be `.invalid`.
    static let table: [(OrderEvent, OrderStatus, Outcome)] = [
        (.paymentConfirmed, .pendingPayment, .moved(to: .paid)),
        (.paymentConfirmed, .paid, .alreadyApplied),
        (.paymentConfirmed, .shipped, .alreadyApplied),
        (.paymentConfirmed, .completed, .alreadyApplied),
        (.paymentConfirmed, .refunding, .alreadyApplied),
        (.paymentConfirmed, .refunded, .alreadyApplied),
        (.paymentConfirmed, .cancelled, .moved(to: .paid)),
        (.cancel(.user), .pendingPayment, .moved(to: .cancelled)),
        (.cancel(.timeout), .pendingPayment, .moved(to: .cancelled)),
        (.cancel(.admin), .pendingPayment, .moved(to: .cancelled)),
        (.cancel(.user), .cancelled, .alreadyApplied),
        (.cancel(.timeout), .cancelled, .alreadyApplied),
        (.cancel(.admin), .cancelled, .alreadyApplied),
        (.ship, .paid, .moved(to: .shipped)),
        (.ship, .shipped, .alreadyApplied),
        (.ship, .completed, .alreadyApplied),
        (.complete, .shipped, .moved(to: .completed)),
        (.complete, .completed, .alreadyApplied),
        (.refundRequested, .paid, .moved(to: .refunding)),
        (.refundRequested, .shipped, .moved(to: .refunding)),
        (.refundRequested, .completed, .moved(to: .refunding)),
        (.refundRequested, .refunding, .alreadyApplied),
        (.refundSucceeded(remainingFen: 0, restoreTo: .paid), .refunding, .moved(to: .refunded)),
        (.refundSucceeded(remainingFen: 100, restoreTo: .shipped), .refunding, .moved(to: .shipped)),
        (.refundSucceeded(remainingFen: 0, restoreTo: .paid), .refunded, .alreadyApplied),
        (.refundSucceeded(remainingFen: 100, restoreTo: .shipped), .refunded, .alreadyApplied),
        (.refundFailed(restoreTo: .paid), .refunding, .moved(to: .paid)),
        (.refundFailed(restoreTo: .paid), .paid, .alreadyApplied),
        (.refundFailed(restoreTo: .paid), .shipped, .alreadyApplied),
        (.refundFailed(restoreTo: .paid), .completed, .alreadyApplied),
        (.refundFailed(restoreTo: .paid), .refunded, .alreadyApplied),
    ]

    static let events: [OrderEvent] = [
        .paymentConfirmed, .cancel(.user), .cancel(.timeout), .cancel(.admin), .ship, .complete, .refundRequested,
        .refundSucceeded(remainingFen: 0, restoreTo: .paid), .refundSucceeded(remainingFen: 100, restoreTo: .shipped),
        .refundFailed(restoreTo: .paid),
    ]

    @Test(arguments: OrderStatus.allCases)
    func everyEventFromEveryStatus(_ status: OrderStatus) {
        for event in Self.events {
            let expected = Self.table.first { $0.0 == event && $0.1 == status }?.2 ?? .invalid
            #expect(OrderStateMachine.apply(event, to: status) == expected, "\(event) from \(status)")
        }
    }

    @Test func aDuplicatedPaymentNeverMovesAShippedOrderBack() {
        #expect(OrderStateMachine.apply(.paymentConfirmed, to: .shipped) == .alreadyApplied)
        #expect(OrderStateMachine.apply(.paymentConfirmed, to: .completed) == .alreadyApplied)
    }

    @Test func illegalMovesAreConflictsWithAStableCode() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let order = Order(id: .generate(), userID: UserID(rawValue: "u"), outTradeNo: .generate(), status: .pendingPayment,
                          items: [], totalFen: 100, expiresAt: now, createdAt: now, updatedAt: now)
        #expect(throws: SwiftletError.conflict("order.invalid_transition", "An order that is pending_payment cannot be shipped.")) {
            _ = try OrderTransitions.apply(.ship, to: order, now: now, action: "shipped")
        }
        let paid = try #require(try OrderTransitions.apply(.paymentConfirmed, to: order, now: now, action: "paid"))
        #expect(paid.status == .paid && paid.paidAt == now)
        #expect(try OrderTransitions.apply(.paymentConfirmed, to: paid, now: now, action: "paid") == nil, "idempotent: no change")
    }

    @Test func outTradeNumbersFollowWeChatRules() {
        for _ in 0..<100 {
            #expect(OutTradeNo.isValid(OutTradeNo.generate().rawValue))
        }
        #expect(!OutTradeNo.isValid("12345"))
        #expect(!OutTradeNo.isValid(String(repeating: "a", count: 33)))
        #expect(!OutTradeNo.isValid("abc def"))
        #expect(OutTradeNo.isValid("a-b_c|d*e"))
    }
}
