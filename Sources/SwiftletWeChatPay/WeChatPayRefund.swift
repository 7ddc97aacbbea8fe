/// A refund as WeChat Pay reports it, from the refund call, the refund query or a
/// decrypted refund notify.
///
/// The answers call the state `status`, the notify calls it `refund_status`; both land in
/// `status`. Acceptance is not success: PROCESSING stays pending until a notify or query
/// says SUCCESS, CLOSED or ABNORMAL.
public struct WeChatPayRefund: Sendable, Equatable, Decodable {
    public var refundID: String?
    /// The merchant the refund belongs to; refund notifies carry it, API answers do not.
    public var mchID: String?
    public var outRefundNo: String
    public var outTradeNo: String?
    public var transactionID: String?
    /// SUCCESS, CLOSED, PROCESSING or ABNORMAL.
    public var status: String
    /// Refunded amount in fen.
    public var refundAmount: Int?
    /// Original order amount in fen.
    public var totalAmount: Int?
    public var successTime: String?

    public init(
        refundID: String? = nil, mchID: String? = nil, outRefundNo: String, outTradeNo: String? = nil,
        transactionID: String? = nil, status: String, refundAmount: Int? = nil, totalAmount: Int? = nil,
        successTime: String? = nil
    ) {
        self.refundID = refundID
        self.mchID = mchID
        self.outRefundNo = outRefundNo
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.status = status
        self.refundAmount = refundAmount
        self.totalAmount = totalAmount
        self.successTime = successTime
    }

    enum CodingKeys: String, CodingKey {
        case refund_id, mchid, out_refund_no, out_trade_no, transaction_id, status, refund_status, amount, success_time
    }

    struct Amount: Decodable {
        let refund: Int?
        let total: Int?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        refundID = try c.decodeIfPresent(String.self, forKey: .refund_id)
        mchID = try c.decodeIfPresent(String.self, forKey: .mchid)
        outRefundNo = try c.decode(String.self, forKey: .out_refund_no)
        outTradeNo = try c.decodeIfPresent(String.self, forKey: .out_trade_no)
        transactionID = try c.decodeIfPresent(String.self, forKey: .transaction_id)
        if let status = try c.decodeIfPresent(String.self, forKey: .status) {
            self.status = status
        } else {
            status = try c.decode(String.self, forKey: .refund_status)
        }
        let amount = try c.decodeIfPresent(Amount.self, forKey: .amount)
        refundAmount = amount?.refund
        totalAmount = amount?.total
        successTime = try c.decodeIfPresent(String.self, forKey: .success_time)
    }
}
