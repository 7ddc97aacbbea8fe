import Foundation

/// A refund of part or all of an order. Its id is WeChat's `out_refund_no`, so retrying
/// the same refund can never pay out twice.
public struct Refund: Sendable, Equatable {
    public var id: RefundID
    public var orderID: OrderID
    public var amountFen: Int
    public var reason: String?
    public var status: RefundStatus
    /// WeChat's refund id, once known.
    public var gatewayRefundID: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: RefundID, orderID: OrderID, amountFen: Int, reason: String?, status: RefundStatus,
                gatewayRefundID: String? = nil, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.orderID = orderID
        self.amountFen = amountFen
        self.reason = reason
        self.status = status
        self.gatewayRefundID = gatewayRefundID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public enum RefundStatus: String, Sendable, Equatable, CaseIterable {
    case processing, succeeded, closed
    /// WeChat could not pay the refund out (e.g. the buyer's card was closed). Not final:
    /// the merchant settles it at WeChat, which then reports SUCCESS (or CLOSED).
    case abnormal

    /// Whether WeChat may still report a final outcome.
    public var isOpen: Bool { self == .processing || self == .abnormal }
}

/// Payment state as WeChat Pay reports it, reduced to what the order logic needs.
public enum PaymentState: String, Sendable, Equatable {
    /// SUCCESS: the money was taken.
    case paid
    /// REFUND: paid, then (partly) refunded.
    case refunded
    /// NOTPAY, or the order is unknown to WeChat.
    case notPaid
    case closed
    /// USERPAYING / ACCEPT: decide later.
    case inProgress
    /// PAYERROR / REVOKED: the attempt failed.
    case failed
}

/// A payment as seen by the gateway (query result or verified notify).
public struct GatewayTransaction: Sendable, Equatable {
    public var outTradeNo: String
    public var transactionID: String?
    public var state: PaymentState
    /// The raw state text (e.g. `SUCCESS`), kept for the ledger.
    public var rawState: String
    public var amountFen: Int?
    public var appID: String?
    public var mchID: String?
    public var payerOpenID: String?

    public init(outTradeNo: String, transactionID: String?, state: PaymentState, rawState: String, amountFen: Int?,
                appID: String?, mchID: String?, payerOpenID: String? = nil) {
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.state = state
        self.rawState = rawState
        self.amountFen = amountFen
        self.appID = appID
        self.mchID = mchID
        self.payerOpenID = payerOpenID
    }
}

/// A refund as seen by the gateway (refund answer, query or verified notify).
public struct GatewayRefund: Sendable, Equatable {
    public var refundID: RefundID
    public var outTradeNo: String?
    public var gatewayRefundID: String?
    public var status: RefundStatus
    public var rawStatus: String
    /// The refunded amount.
    public var amountFen: Int?
    /// The merchant and the original order's total, as a refund notify states them (checked
    /// against ours before the notify may settle anything).
    public var mchID: String?
    public var totalFen: Int?

    public init(refundID: RefundID, outTradeNo: String?, gatewayRefundID: String?, status: RefundStatus,
                rawStatus: String, amountFen: Int?, mchID: String? = nil, totalFen: Int? = nil) {
        self.refundID = refundID
        self.outTradeNo = outTradeNo
        self.gatewayRefundID = gatewayRefundID
        self.status = status
        self.rawStatus = rawStatus
        self.amountFen = amountFen
        self.mchID = mchID
        self.totalFen = totalFen
    }
}

/// A verified, decrypted payment notification.
public enum PaymentNotification: Sendable, Equatable {
    case transaction(eventID: String, eventType: String, GatewayTransaction)
    case refund(eventID: String, eventType: String, GatewayRefund)
}

/// The values `wx.requestPayment` needs.
public struct PaymentParameters: Sendable, Equatable, Codable {
    public var timeStamp: String
    public var nonceStr: String
    public var package: String
    public var signType: String
    public var paySign: String
    public init(timeStamp: String, nonceStr: String, package: String, signType: String, paySign: String) {
        self.timeStamp = timeStamp
        self.nonceStr = nonceStr
        self.package = package
        self.signType = signType
        self.paySign = paySign
    }
}

/// What the gateway needs to create a prepay order.
public struct PrepayRequest: Sendable, Equatable {
    public var outTradeNo: String
    public var description: String
    public var amountFen: Int
    public var payerOpenID: String
    /// The order's payment deadline (WeChat's `time_expire`).
    public var expiresAt: Date
    public init(outTradeNo: String, description: String, amountFen: Int, payerOpenID: String, expiresAt: Date) {
        self.outTradeNo = outTradeNo
        self.description = description
        self.amountFen = amountFen
        self.payerOpenID = payerOpenID
        self.expiresAt = expiresAt
    }
}

/// What the gateway needs to refund.
public struct GatewayRefundRequest: Sendable, Equatable {
    public var refundID: RefundID
    public var outTradeNo: String
    public var amountFen: Int
    public var totalFen: Int
    public var reason: String?
    public init(refundID: RefundID, outTradeNo: String, amountFen: Int, totalFen: Int, reason: String?) {
        self.refundID = refundID
        self.outTradeNo = outTradeNo
        self.amountFen = amountFen
        self.totalFen = totalFen
        self.reason = reason
    }
}

/// How a close request ended at the gateway.
public enum CloseOutcome: Sendable, Equatable {
    case closed
    /// The order was paid in the meantime and cannot be closed.
    case alreadyPaid
}

/// One line of the append-only payment ledger: every notify, query, close and refund
/// outcome, kept for reconciliation with WeChat's bills.
public struct PaymentLedgerEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case prepay, notify, query, close, refund, refundNotify = "refund_notify", refundQuery = "refund_query"
    }

    public var orderID: OrderID?
    public var outTradeNo: String
    public var kind: Kind
    /// Event id, transaction id or refund id, depending on the kind.
    public var reference: String?
    /// The gateway's state text (`SUCCESS`, `NOTPAY`, `PROCESSING`, …).
    public var gatewayState: String?
    public var amountFen: Int?
    /// What Swiftlet did with it (`applied`, `duplicate`, `amount_mismatch`, …).
    public var outcome: String
    public var createdAt: Date

    public init(orderID: OrderID?, outTradeNo: String, kind: Kind, reference: String?, gatewayState: String?,
                amountFen: Int?, outcome: String, createdAt: Date) {
        self.orderID = orderID
        self.outTradeNo = outTradeNo
        self.kind = kind
        self.reference = reference
        self.gatewayState = gatewayState
        self.amountFen = amountFen
        self.outcome = outcome
        self.createdAt = createdAt
    }
}
