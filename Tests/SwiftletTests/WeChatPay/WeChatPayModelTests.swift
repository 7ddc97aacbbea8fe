import Foundation
import SwiftletWeChatPay
import Testing

/// Wire formats: request bodies, time_expire, answers, error bodies, configuration checks.
@Suite("WeChat Pay wire formats")
struct WeChatPayModelTests {
    @Test func timeExpireIsRFC3339InBeijingTime() {
        #expect(WeChatPayTime.rfc3339Beijing(Date(timeIntervalSince1970: 1_528_425_296.75)) == "2018-06-08T10:34:56+08:00")
        // 2024-02-28T16:00:00Z is already the leap day in Beijing.
        #expect(WeChatPayTime.rfc3339Beijing(Date(timeIntervalSince1970: 1_709_136_000)) == "2024-02-29T00:00:00+08:00")
        #expect(WeChatPayTime.rfc3339Beijing(Date(timeIntervalSince1970: 1_735_660_800)) == "2025-01-01T00:00:00+08:00")
        #expect(WeChatPayTime.rfc3339Beijing(Date(timeIntervalSince1970: -28_801)) == "1969-12-31T23:59:59+08:00")
    }

    @Test func jsapiBody() throws {
        let request = JSAPIPrepayRequest(
            description: "Image形象店-深圳腾大-QQ公仔", outTradeNo: "1217752501201407033233368018", amountTotal: 100,
            payerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", notifyURL: "https://www.weixin.qq.com/wxpay/pay.php",
            timeExpire: Date(timeIntervalSince1970: 1_528_425_296), attach: "自定义数据")
        let body = try request.jsonBody(appID: "wxd678efh567hg6787", mchID: "1230000109")
        #expect(String(decoding: body, as: UTF8.self) == #"{"amount":{"currency":"CNY","total":100},"appid":"wxd678efh567hg6787","attach":"自定义数据","description":"Image形象店-深圳腾大-QQ公仔","mchid":"1230000109","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","out_trade_no":"1217752501201407033233368018","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"time_expire":"2018-06-08T10:34:56+08:00"}"#)
        let minimal = JSAPIPrepayRequest(description: "d", outTradeNo: "o", amountTotal: 1, payerOpenID: "p", notifyURL: "https://n")
        let text = String(decoding: try minimal.jsonBody(appID: "a", mchID: "m"), as: UTF8.self)
        #expect(!text.contains("time_expire") && !text.contains("attach"))
    }

    @Test func refundBody() throws {
        let request = WeChatPayRefundRequest(outTradeNo: "T1", outRefundNo: "R1", reason: "商品已售完", refundAmount: 50, totalAmount: 100)
        #expect(String(decoding: try request.jsonBody(), as: UTF8.self)
            == #"{"amount":{"currency":"CNY","refund":50,"total":100},"out_refund_no":"R1","out_trade_no":"T1","reason":"商品已售完"}"#)
    }

    @Test func transactionAnswerDecodes() throws {
        let decoded = try JSONDecoder().decode(WeChatPayTransaction.self, from: Data(WeChatPayTestSupport.transactionPlaintext.utf8))
        #expect(decoded == WeChatPayTestSupport.expectedTransaction)
        let unpaid = #"{"appid":"wx1","mchid":"1","out_trade_no":"o","trade_state":"NOTPAY","trade_state_desc":"订单未支付","amount":{"total":100,"currency":"CNY"},"unknown":{"x":1}}"#
        let order = try JSONDecoder().decode(WeChatPayTransaction.self, from: Data(unpaid.utf8))
        #expect(order.tradeState == "NOTPAY" && order.transactionID == nil && order.payerOpenID == nil && order.amountTotal == 100)
    }

    @Test func refundAnswerDecodes() throws {
        let answer = #"{"refund_id":"50000000382019052709732678859","out_refund_no":"R1","transaction_id":"42","out_trade_no":"T1","channel":"ORIGINAL","status":"PROCESSING","create_time":"2020-12-01T16:18:12+08:00","amount":{"total":100,"refund":50,"payer_total":100,"payer_refund":50,"currency":"CNY","from":[]}}"#
        let refund = try JSONDecoder().decode(WeChatPayRefund.self, from: Data(answer.utf8))
        #expect(refund == WeChatPayRefund(refundID: "50000000382019052709732678859", outRefundNo: "R1", outTradeNo: "T1",
                                          transactionID: "42", status: "PROCESSING", refundAmount: 50, totalAmount: 100))
    }

    @Test func errorBodies() {
        func body(_ text: String) -> [UInt8] { Array(text.utf8) }
        #expect(WeChatPayError.fromResponse(status: 404, body: body(#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#)) == .orderNotFound)
        #expect(WeChatPayError.fromResponse(status: 404, body: body(#"{"code":"ORDERNOTEXIST","message":"订单不存在"}"#)) == .orderNotFound)
        #expect(WeChatPayError.fromResponse(status: 404, body: body(#"{"code":"RESOURCE_NOT_EXISTS","message":"x"}"#))
            == .api(status: 404, code: "RESOURCE_NOT_EXISTS", message: "x"))
        #expect(WeChatPayError.fromResponse(status: 400, body: body(#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/total","value":0,"issue":"must be ≥ 1","location":"body"}}"#))
            == .api(status: 400, code: "PARAM_ERROR", message: "参数错误"))
        let signError = #"{"code":"SIGN_ERROR","message":"签名错误，请检查后再试","detail":{"field":"signature","location":"authorization","detail":{"issue":"sign not match"},"sign_information":{"method":"POST","url":"/v3/pay/transactions/jsapi","truncated_sign_message":"POST\n/v3/pay/transactions/jsapi\n1717834061\n...\n","sign_message_length":336}}}"#
        #expect(WeChatPayError.fromResponse(status: 401, body: body(signError)) == .api(status: 401, code: "SIGN_ERROR", message: "签名错误，请检查后再试"))
        #expect(WeChatPayError.fromResponse(status: 502, body: body("<html>Bad Gateway</html>")) == .api(status: 502, code: "", message: ""))
        #expect(WeChatPayError.fromResponse(status: 500, body: []) == .api(status: 500, code: "", message: ""))
    }

    @Test func configurationIsValidated() throws {
        let key = try WeChatPayVectors.Sign01.load().private_key_pkcs8_pem
        for apiV3Key in ["", String(repeating: "a", count: 31), String(repeating: "a", count: 33), String(repeating: "é", count: 16)] {
            #expect(throws: WeChatPayError.self) { try WeChatPayTestSupport.configuration(privateKeyPEM: key, apiV3Key: apiV3Key) }
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayTestSupport.configuration(privateKeyPEM: key, publicKeyID: "PUB_KEY_ID_01")
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayTestSupport.configuration(privateKeyPEM: key, publicKeyID: "PUB_KEY_ID_01", publicKeyPEM: "not a key")
                .makeClient()
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayTestSupport.configuration(privateKeyPEM: key, certificates: ["not a certificate"]).makeClient()
        }
        #expect(throws: WeChatPayError.self) {
            try WeChatPayTestSupport.configuration(privateKeyPEM: "not a key").makeClient()
        }
        let configuration = try WeChatPayTestSupport.configuration(privateKeyPEM: key)
        #expect(configuration.usesPlatformCertificates)
        for text in [String(describing: configuration), String(reflecting: configuration), "\(try WeChatPayClient(configuration: configuration))"] {
            #expect(!text.contains(WeChatPayTestSupport.apiV3Key) && !text.contains("PRIVATE KEY"))
        }
        let error = WeChatPayError.invalidConfiguration("apiV3Key must be exactly 32 printable ASCII characters")
        #expect(!error.description.contains(WeChatPayTestSupport.apiV3Key))
    }
}

extension WeChatPayConfiguration {
    fileprivate func makeClient() throws -> WeChatPayClient {
        try WeChatPayClient(configuration: self)
    }
}
