/// A payment order as WeChat Pay reports it: query answers and decrypted payment notifies
/// share this shape.
///
/// Flattened from the snake_case wire form (`payer.openid`, `amount.total`, …); fields a
/// merchant must check on a notify (appid, mchid, out_trade_no, amount, trade_state) are
/// all here. Unknown fields are ignored.
public struct WeChatPayTransaction: Sendable, Equatable, Decodable {
    public var appID: String
    public var mchID: String
    public var outTradeNo: String
    public var transactionID: String?
    /// SUCCESS, REFUND, NOTPAY, CLOSED, REVOKED, USERPAYING, PAYERROR, ACCEPT.
    public var tradeState: String
    public var tradeStateDesc: String?
    /// RFC 3339, present once paid.
    public var successTime: String?
    public var payerOpenID: String?
    /// Order amount in fen.
    public var amountTotal: Int?
    /// What the payer actually paid, in fen (after discounts).
    public var payerTotal: Int?
    public var currency: String?
    public var attach: String?

    public init(
        appID: String, mchID: String, outTradeNo: String, transactionID: String? = nil, tradeState: String,
        tradeStateDesc: String? = nil, successTime: String? = nil, payerOpenID: String? = nil,
        amountTotal: Int? = nil, payerTotal: Int? = nil, currency: String? = nil, attach: String? = nil
    ) {
        self.appID = appID
        self.mchID = mchID
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.tradeState = tradeState
        self.tradeStateDesc = tradeStateDesc
        self.successTime = successTime
        self.payerOpenID = payerOpenID
        self.amountTotal = amountTotal
        self.payerTotal = payerTotal
        self.currency = currency
        self.attach = attach
    }

    enum CodingKeys: String, CodingKey {
        case appid, mchid, out_trade_no, transaction_id, trade_state, trade_state_desc, success_time, payer, amount, attach
    }

    struct Payer: Decodable {
        let openid: String?
    }

    struct Amount: Decodable {
        let total: Int?
        let payer_total: Int?
        let currency: String?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        appID = try c.decode(String.self, forKey: .appid)
        mchID = try c.decode(String.self, forKey: .mchid)
        outTradeNo = try c.decode(String.self, forKey: .out_trade_no)
        transactionID = try c.decodeIfPresent(String.self, forKey: .transaction_id).flatMap { $0.isEmpty ? nil : $0 }
        tradeState = try c.decode(String.self, forKey: .trade_state)
        tradeStateDesc = try c.decodeIfPresent(String.self, forKey: .trade_state_desc)
        successTime = try c.decodeIfPresent(String.self, forKey: .success_time)
        payerOpenID = try c.decodeIfPresent(Payer.self, forKey: .payer)?.openid
        let amount = try c.decodeIfPresent(Amount.self, forKey: .amount)
        amountTotal = amount?.total
        payerTotal = amount?.payer_total
        currency = amount?.currency
        attach = try c.decodeIfPresent(String.self, forKey: .attach)
    }
}
