import Foundation
import SwiftletCore

/// Prepay, query and close (§4.3, §4.6, §4.7).
extension WeChatPaySandbox {
    func prepay(_ call: Call) throws -> Reply {
        let body = try PayRequestBody(call.body)
        let appID = try body.requiredString("/appid", maxLength: 32)
        let mchID = try body.requiredString("/mchid", maxLength: 32)
        try requireSameMerchant(mchID, call)
        let description = try body.requiredString("/description", maxLength: 127)
        let outTradeNo = try body.requiredString("/out_trade_no", maxLength: 32)
        guard PayRequestBody.isMerchantNumber(outTradeNo, length: 6...32) else {
            throw PayAPIError.param("/out_trade_no", "out_trade_no 须为6-32位数字、大小写字母或_-|*", value: outTradeNo)
        }
        let notifyURL = try body.notifyURL("/notify_url", required: true, maxLength: 255) ?? ""
        let attach = try body.string("/attach", required: false, maxLength: 128)
        _ = try body.string("/goods_tag", required: false, maxLength: 32)
        let total = try body.int("/amount/total") ?? 0
        guard total >= 1 else { throw PayAPIError.param("/amount/total", "订单金额必须大于0", value: total) }
        let currency = try body.string("/amount/currency", required: false) ?? "CNY"
        guard currency == "CNY" else { throw PayAPIError.param("/amount/currency", "仅支持 CNY", value: currency) }
        guard body.value("/payer") != nil else { throw PayAPIError.param("/payer", "缺少必填参数 /payer") }
        let openid = try body.requiredString("/payer/openid", maxLength: 128)
        var requestedDeadline: Date?
        if let text = try body.string("/time_expire", required: false) {
            guard let date = WeChatPayWire.parseRFC3339(text) else {
                throw PayAPIError.param("/time_expire", "time_expire 须为 RFC 3339 格式，如 2018-06-08T10:34:56+08:00", value: text)
            }
            requestedDeadline = date
        }
        guard appID == credentials.appID else {
            throw PayAPIError(.badRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配，请检查后再试")
        }

        let now = self.now
        let fingerprint = body.fingerprint
        let prepayID: String = try state.withLock { state in
            if var order = state.orders[outTradeNo] {
                switch order.tradeState {
                case .success, .refund:
                    throw PayAPIError(.forbidden, "OUT_TRADE_NO_USED", "商户订单号重复，该订单已支付")
                case .closed:
                    throw PayAPIError(.badRequest, "ORDER_CLOSED", "订单已关闭")
                case .notPaid:
                    guard order.fingerprint == fingerprint else {
                        throw PayAPIError.invalidRequest("请求重入时，参数与首次请求时不一致")
                    }
                    guard now < order.payDeadline else {
                        throw PayAPIError(.badRequest, "ORDER_CLOSED", "订单已超过支付截止时间，请使用新的商户订单号")
                    }
                    if now >= order.prepayExpiresAt {
                        state.prepayIndex[order.prepayID] = nil
                        order.prepayID = Self.newPrepayID(now)
                        order.prepayExpiresAt = now.addingTimeInterval(Self.prepayLifetime)
                        state.prepayIndex[order.prepayID] = outTradeNo
                        state.orders[outTradeNo] = order
                    }
                    return order.prepayID
                }
            }
            let earliest = now.addingTimeInterval(60)
            let latest = now.addingTimeInterval(90 * 86400)
            let deadline = requestedDeadline.map { min(max($0, earliest), latest) } ?? now.addingTimeInterval(7 * 86400)
            let order = Order(
                appID: appID, mchID: mchID, outTradeNo: outTradeNo, description: description, attach: attach,
                notifyURL: notifyURL, total: total, currency: currency, openid: openid, tradeState: .notPaid,
                createdAt: now, payDeadline: deadline, prepayID: Self.newPrepayID(now),
                prepayExpiresAt: now.addingTimeInterval(Self.prepayLifetime), fingerprint: fingerprint)
            state.orders[outTradeNo] = order
            state.prepayIndex[order.prepayID] = outTradeNo
            return order.prepayID
        }
        return .json(["prepay_id": prepayID])
    }

    /// `wx` + Beijing time (14 digits) + 20 hex characters, like WeChat's.
    static func newPrepayID(_ now: Date) -> String {
        "wx" + WeChatPayWire.compactBeijing(now) + WeChatPayWire.hex(RandomID.randomBytes(10))
    }

    func query(outTradeNo: String, _ call: Call) throws -> Reply {
        try requireQueryMerchant(call)
        guard let order = state.withLock({ $0.orders[outTradeNo] }) else { throw Self.orderNotFound }
        return .json(order.json())
    }

    func query(transactionID: String, _ call: Call) throws -> Reply {
        try requireQueryMerchant(call)
        let order = state.withLock { state in state.transactionIndex[transactionID].flatMap { state.orders[$0] } }
        guard let order else { throw Self.orderNotFound }
        return .json(order.json())
    }

    static let orderNotFound = PayAPIError(.notFound, "ORDER_NOT_EXIST", "订单不存在")

    private func requireQueryMerchant(_ call: Call) throws {
        guard let mchid = call.query["mchid"], !mchid.isEmpty else {
            throw PayAPIError.param("mchid", "缺少必填参数 mchid", location: "query")
        }
        try requireSameMerchant(mchid, call)
    }

    /// NOTPAY → CLOSED; closing a closed or unknown order also answers 204 (as reported of
    /// WeChat); a paid order cannot be closed.
    func close(outTradeNo: String, _ call: Call) throws -> Reply {
        let body = try PayRequestBody(call.body)
        try requireSameMerchant(try body.requiredString("/mchid", maxLength: 32), call)
        try state.withLock { state in
            guard let order = state.orders[outTradeNo] else { return }
            switch order.tradeState {
            case .notPaid: state.orders[outTradeNo]?.tradeState = .closed
            case .closed: break
            case .success, .refund: throw PayAPIError(.badRequest, "ORDER_PAID", "订单已支付，不能发起关单，请发起退款")
            }
        }
        return .noContent
    }

    /// `/v3/certificates`: the platform certificate, encrypted with the APIv3 key (§4.9).
    func certificates() throws -> Reply {
        let nonce = WeChatPayWire.alphanumeric(12)
        let ciphertext = try WeChatPayWire.encrypt(
            Array(credentials.platformCertificatePEM.utf8), apiV3Key: credentials.apiV3Key, nonce: nonce,
            associatedData: "certificate")
        return .json(["data": [[
            "serial_no": credentials.platformCertificateSerialNumber,
            "effective_time": WeChatPayWire.rfc3339(keys.platformCertificate.notValidBefore),
            "expire_time": WeChatPayWire.rfc3339(keys.platformCertificate.notValidAfter),
            "encrypt_certificate": [
                "algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate", "ciphertext": ciphertext,
            ],
        ] as [String: Any]]])
    }
}
