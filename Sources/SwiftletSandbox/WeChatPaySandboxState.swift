import Foundation

extension WeChatPaySandbox {
    /// `trade_state` values the sandbox produces.
    public enum TradeState: String, Sendable {
        case notPaid = "NOTPAY"
        case success = "SUCCESS"
        case closed = "CLOSED"
        case refund = "REFUND"

        var description: String {
            switch self {
            case .notPaid: "订单未支付"
            case .success: "支付成功"
            case .closed: "订单已关闭"
            case .refund: "订单发生过退款"
            }
        }
    }

    /// A snapshot of one order (JSAPI transaction).
    public struct Order: Sendable {
        public internal(set) var appID: String
        public internal(set) var mchID: String
        public internal(set) var outTradeNo: String
        public internal(set) var description: String
        public internal(set) var attach: String?
        public internal(set) var notifyURL: String
        public internal(set) var total: Int
        public internal(set) var currency: String
        public internal(set) var openid: String
        public internal(set) var tradeState: TradeState
        public internal(set) var createdAt: Date
        /// After this the order cannot be paid (`time_expire`, clamped; 7 days by default).
        public internal(set) var payDeadline: Date
        public internal(set) var prepayID: String
        public internal(set) var prepayExpiresAt: Date
        public internal(set) var transactionID: String?
        public internal(set) var successTime: Date?
        /// The prepay body's canonical form, for the "identical parameters" rule.
        var fingerprint: [UInt8]

        /// The transaction object of query answers and the TRANSACTION.SUCCESS resource.
        func json() -> [String: Any] {
            var object: [String: Any] = [
                "appid": appID, "mchid": mchID, "out_trade_no": outTradeNo,
                "trade_state": tradeState.rawValue, "trade_state_desc": tradeState.description,
                "promotion_detail": [Any](),
            ]
            if let attach { object["attach"] = attach }
            var amount: [String: Any] = ["total": total, "currency": currency, "payer_currency": currency]
            if let transactionID, let successTime {
                object["transaction_id"] = transactionID
                object["success_time"] = WeChatPayWire.rfc3339(successTime)
                object["trade_type"] = "JSAPI"
                object["bank_type"] = "OTHERS"
                object["payer"] = ["openid": openid]
                amount["payer_total"] = total
            }
            object["amount"] = amount
            return object
        }
    }

    /// `status` values of a refund.
    public enum RefundStatus: String, Sendable {
        case processing = "PROCESSING"
        case success = "SUCCESS"
    }

    /// A snapshot of one refund.
    public struct Refund: Sendable {
        public internal(set) var refundID: String
        public internal(set) var outRefundNo: String
        public internal(set) var outTradeNo: String
        public internal(set) var transactionID: String
        public internal(set) var refund: Int
        public internal(set) var total: Int
        public internal(set) var currency: String
        public internal(set) var reason: String?
        public internal(set) var fundsAccount: String
        /// The refund's own `notify_url`, else the order's.
        public internal(set) var notifyURL: String
        public internal(set) var status: RefundStatus
        public internal(set) var createdAt: Date
        public internal(set) var successTime: Date?

        /// The Refund object of create/query answers.
        func json() -> [String: Any] {
            var object: [String: Any] = [
                "refund_id": refundID, "out_refund_no": outRefundNo, "transaction_id": transactionID,
                "out_trade_no": outTradeNo, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
                "create_time": WeChatPayWire.rfc3339(createdAt), "status": status.rawValue,
                "funds_account": fundsAccount, "promotion_detail": [Any](),
                "amount": [
                    "total": total, "refund": refund, "from": [Any](), "payer_total": total, "payer_refund": refund,
                    "settlement_refund": refund, "settlement_total": total, "discount_refund": 0,
                    "currency": currency, "refund_fee": 0,
                ] as [String: Any],
            ]
            if let successTime { object["success_time"] = WeChatPayWire.rfc3339(successTime) }
            return object
        }

        /// The decrypted REFUND.* notify resource.
        func notifyJSON(mchID: String) -> [String: Any] {
            var object: [String: Any] = [
                "mchid": mchID, "transaction_id": transactionID, "out_trade_no": outTradeNo, "refund_id": refundID,
                "out_refund_no": outRefundNo, "refund_status": status.rawValue, "user_received_account": "支付用户零钱",
                "amount": ["total": total, "refund": refund, "payer_total": total, "payer_refund": refund] as [String: Any],
            ]
            if let successTime { object["success_time"] = WeChatPayWire.rfc3339(successTime) }
            return object
        }
    }

    /// One attempt to deliver a notify to the merchant.
    public struct NotifyDelivery: Sendable {
        /// The envelope `id` (the same for every retry of one event).
        public var eventID: String
        public var eventType: String
        public var outTradeNo: String
        public var outRefundNo: String?
        public var url: String
        /// 1 for the first try, then 2, 3, … for the retries.
        public var attempt: Int
        /// The merchant's HTTP status, nil when the request failed (see `error`).
        public var status: Int?
        public var error: String?
        /// Whether WeChat would count it as received (200 or 204).
        public var acknowledged: Bool
        /// A deliberately wrong `WECHATPAY/SIGNTEST/` signature that must be refused.
        public var isSignatureProbe: Bool
        /// The `Wechatpay-Serial` it was signed under (the merchant's key mode decides).
        public var serial: String
        public var at: Date
    }

    /// How many authenticated requests each API received.
    public struct APICallCounts: Sendable, Equatable {
        public var prepay = 0
        public var query = 0
        public var close = 0
        public var refund = 0
        public var refundQuery = 0
        public var certificates = 0
    }

    /// The API an authenticated request is for (counters and injected failures).
    public enum APIKind: Sendable, Hashable {
        case prepay, query, close, refund, refundQuery, certificates
    }

    struct State {
        var orders: [String: Order] = [:]
        var prepayIndex: [String: String] = [:]
        var transactionIndex: [String: String] = [:]
        var refunds: [String: Refund] = [:]
        var calls = APICallCounts()
        var clockOffset: TimeInterval = 0
        /// Migration: the notifies owed to the public key so far, less those sent (see `notifySerial`).
        var publicKeyNotifyCredit: Double = 0
        var injectedFailures: [APIKind: [PayAPIError]] = [:]
        var deliveries: [NotifyDelivery] = []
        var tasks: [Int: Task<Void, Never>] = [:]
        var nextTaskID = 0
        var isShutDown = false

        mutating func count(_ kind: APIKind) {
            switch kind {
            case .prepay: calls.prepay += 1
            case .query: calls.query += 1
            case .close: calls.close += 1
            case .refund: calls.refund += 1
            case .refundQuery: calls.refundQuery += 1
            case .certificates: calls.certificates += 1
            }
        }

        func refunded(outTradeNo: String) -> Int {
            refunds.values.filter { $0.outTradeNo == outTradeNo }.reduce(0) { $0 + $1.refund }
        }
    }
}
