import Foundation

/// What a JSAPI / mini-program prepay needs; appid and mchid come from the configuration.
public struct JSAPIPrepayRequest: Sendable {
    /// Shown in the payer's bill (≤ 127 characters).
    public var description: String
    /// 6–32 characters of `[0-9A-Za-z_-|*]`, unique per merchant.
    public var outTradeNo: String
    /// Amount in fen (≥ 1).
    public var amountTotal: Int
    /// The payer's openid under this mini-program's appid.
    public var payerOpenID: String
    /// https, no query string.
    public var notifyURL: String
    /// Deadline for paying; sent as RFC 3339 in `+08:00`.
    public var timeExpire: Date?
    /// Echoed back in queries and notifies (≤ 128 characters).
    public var attach: String?

    public init(
        description: String, outTradeNo: String, amountTotal: Int, payerOpenID: String, notifyURL: String,
        timeExpire: Date? = nil, attach: String? = nil
    ) {
        self.description = description
        self.outTradeNo = outTradeNo
        self.amountTotal = amountTotal
        self.payerOpenID = payerOpenID
        self.notifyURL = notifyURL
        self.timeExpire = timeExpire
        self.attach = attach
    }
}

/// A refund of (part of) a paid order, by merchant order number.
public struct WeChatPayRefundRequest: Sendable {
    public var outTradeNo: String
    /// Idempotency key: retry a failed refund with the same value.
    public var outRefundNo: String
    public var reason: String?
    /// Amount to refund, in fen.
    public var refundAmount: Int
    /// Amount of the original order, in fen.
    public var totalAmount: Int
    public var notifyURL: String?

    public init(
        outTradeNo: String, outRefundNo: String, reason: String? = nil, refundAmount: Int, totalAmount: Int,
        notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.outRefundNo = outRefundNo
        self.reason = reason
        self.refundAmount = refundAmount
        self.totalAmount = totalAmount
        self.notifyURL = notifyURL
    }
}

/// The five values `wx.requestPayment` takes, named as the mini-program API names them,
/// so the JSON can be handed to the client unchanged.
public struct RequestPaymentParameters: Sendable, Equatable, Codable {
    public var timeStamp: String
    public var nonceStr: String
    /// `prepay_id=<prepay_id>`.
    public var package: String
    /// Always `RSA` for API v3.
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
