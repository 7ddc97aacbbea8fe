import Foundation

/// The JSON bodies sent to WeChat Pay. Each is encoded once; the client signs and sends
/// exactly those bytes (the signature covers the body byte for byte).
enum WeChatPayJSON {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw WeChatPayError.invalidConfiguration("request body cannot be encoded as JSON")
        }
    }
}

extension JSAPIPrepayRequest {
    struct Wire: Encodable {
        struct Amount: Encodable {
            let total: Int
            let currency: String
        }
        struct Payer: Encodable {
            let openid: String
        }
        let appid: String
        let mchid: String
        let description: String
        let out_trade_no: String
        let time_expire: String?
        let attach: String?
        let notify_url: String
        let amount: Amount
        let payer: Payer
    }

    /// The `POST /v3/pay/transactions/jsapi` body for this merchant and mini-program.
    public func jsonBody(appID: String, mchID: String) throws -> [UInt8] {
        try WeChatPayJSON.encode(Wire(
            appid: appID, mchid: mchID, description: description, out_trade_no: outTradeNo,
            time_expire: timeExpire.map(WeChatPayTime.rfc3339Beijing), attach: attach, notify_url: notifyURL,
            amount: .init(total: amountTotal, currency: "CNY"), payer: .init(openid: payerOpenID)))
    }
}

extension WeChatPayRefundRequest {
    struct Wire: Encodable {
        struct Amount: Encodable {
            let refund: Int
            let total: Int
            let currency: String
        }
        let out_trade_no: String
        let out_refund_no: String
        let reason: String?
        let notify_url: String?
        let amount: Amount
    }

    /// The `POST /v3/refund/domestic/refunds` body.
    public func jsonBody() throws -> [UInt8] {
        try WeChatPayJSON.encode(Wire(
            out_trade_no: outTradeNo, out_refund_no: outRefundNo, reason: reason, notify_url: notifyURL,
            amount: .init(refund: refundAmount, total: totalAmount, currency: "CNY")))
    }
}

/// `{"mchid":"…"}`, the close-order body.
struct CloseOrderBody: Encodable {
    let mchid: String
}
