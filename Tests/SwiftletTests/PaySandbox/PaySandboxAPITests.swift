import Crypto
import CryptoExtras
import Foundation
import SwiftletSandbox
import Testing
import X509

/// The WeChat Pay sandbox's API over real HTTP, driven by a hand-written merchant signer.
@Suite("PaySandbox: API and authentication")
struct PaySandboxAPITests {
    @Test func signedPrepayAnswersASignedPrepayID() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            let response = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_0001"))
            #expect(response.status == 200)
            let prepayID = try #require(response.json["prepay_id"] as? String)
            #expect(prepayID.hasPrefix("wx") && prepayID.count == 36)
            #expect(response.verifies(with: merchant.platformKey))
            #expect(response.headers["wechatpay-serial"] == merchant.credentials.publicKeyID)
            #expect(response.headers["request-id"]?.isEmpty == false)
            #expect(response.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048", "as WeChat Pay sends it")
            #expect(sandbox.apiCalls.prepay == 1)
            #expect(sandbox.transaction(outTradeNo: "order_0001")?.tradeState == .notPaid)
        }
    }

    @Test("bad signatures, serials, timestamps and headers are 401 SIGN_ERROR", arguments: [
        PayMerchant.Tamper.signature, .serial, .staleTimestamp, .bodyAfterSigning, .noAuthorization,
    ])
    func refusedAuthentication(tamper: PayMerchant.Tamper) async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            let response = try await merchant.call(
                .POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_auth_1"), tamper: tamper)
            #expect(response.status == 401)
            #expect(response.code == "SIGN_ERROR")
            #expect(response.verifies(with: merchant.platformKey), "errors are signed too")
            #expect(response.headers["request-id"] != nil)
            #expect(response.headers["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048")
            #expect(sandbox.apiCalls.prepay == 0)
            #expect(sandbox.transaction(outTradeNo: "order_auth_1") == nil)
        }
    }

    @Test func signatureOverTheFullReceivedPathIsAlsoAccepted() async throws {
        try await PaySandboxHarness.run { merchant, _, _ in
            let response = try await merchant.call(
                .POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_full_1"), tamper: .fullPath)
            #expect(response.status == 200)
        }
    }

    @Test func repeatedPrepayIsIdempotentButChangedParametersAreRefused() async throws {
        try await PaySandboxHarness.run { merchant, _, _ in
            let first = try await merchant.prepay("order_repeat_1")
            #expect(try await merchant.prepay("order_repeat_1") == first)
            let changed = try await merchant.call(
                .POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_repeat_1", total: 101))
            #expect(changed.status == 400)
            #expect(changed.code == "INVALID_REQUEST")
            #expect(changed.json["message"] as? String == "请求重入时，参数与首次请求时不一致")
        }
    }

    @Test func invalidPrepayParameters() async throws {
        try await PaySandboxHarness.run { merchant, _, _ in
            func prepay(_ body: String) async throws -> PayResponse {
                try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: body)
            }
            let good = merchant.prepayBody("order_param_1")
            let zero = try await prepay(merchant.prepayBody("order_param_1", total: 0))
            #expect(zero.status == 400 && zero.code == "PARAM_ERROR")
            #expect((zero.json["detail"] as? [String: Any])?["field"] as? String == "/amount/total")
            let noOpenid = try await prepay(good.replacingOccurrences(of: #""openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o""#, with: #""x":1"#))
            #expect(noOpenid.code == "PARAM_ERROR")
            #expect((noOpenid.json["detail"] as? [String: Any])?["field"] as? String == "/payer/openid")
            let shortNo = try await prepay(merchant.prepayBody("abc"))
            #expect(shortNo.code == "PARAM_ERROR")
            let query = try await prepay(good.replacingOccurrences(of: "/merchant/notify", with: "/merchant/notify?x=1"))
            #expect(query.code == "PARAM_ERROR")
            let stringTotal = try await prepay(good.replacingOccurrences(of: #""total":100"#, with: #""total":"100""#))
            #expect(stringTotal.code == "PARAM_ERROR")
            let emoji = try await prepay(merchant.prepayBody("order_param_2", description: "咖啡☕️🍰"))
            #expect(emoji.code == "PARAM_ERROR")
            let notJSON = try await prepay("not json")
            #expect(notJSON.status == 400 && notJSON.code == "PARAM_ERROR")
            let wrongApp = try await prepay(good.replacingOccurrences(of: merchant.credentials.appID, with: "wx1111111111111111"))
            #expect(wrongApp.status == 400 && wrongApp.code == "APPID_MCHID_NOT_MATCH")
            let otherMch = try await prepay(good.replacingOccurrences(of: merchant.credentials.mchID, with: "1900000999"))
            #expect(otherMch.status == 401 && otherMch.code == "SIGN_ERROR", "body mchid differs from the Authorization mchid")
            for response in [zero, noOpenid, shortNo, query, stringTotal, emoji, notJSON, wrongApp, otherMch] {
                #expect(response.verifies(with: merchant.platformKey))
            }
        }
    }

    @Test func closeUnpaidThenQueryShowsClosed() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            let prepayID = try await merchant.prepay("order_close_1")
            let notPaid = try await merchant.query("order_close_1")
            #expect(notPaid.json["trade_state"] as? String == "NOTPAY")
            #expect(notPaid.json["transaction_id"] == nil)
            let body = #"{"mchid":"\#(merchant.credentials.mchID)"}"#
            let close = try await merchant.call(.POST, "/v3/pay/transactions/out-trade-no/order_close_1/close", body: body)
            #expect(close.status == 204)
            #expect(close.body.isEmpty)
            #expect(close.verifies(with: merchant.platformKey), "204 is signed over an empty body")
            let closed = try await merchant.query("order_close_1")
            #expect(closed.json["trade_state"] as? String == "CLOSED")
            #expect(closed.json["trade_state_desc"] as? String == "订单已关闭")
            let again = try await merchant.call(.POST, "/v3/pay/transactions/out-trade-no/order_close_1/close", body: body)
            #expect(again.status == 204)
            let unknown = try await merchant.call(.POST, "/v3/pay/transactions/out-trade-no/order_never_1/close", body: body)
            #expect(unknown.status == 204)
            let reprepay = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_close_1"))
            #expect(reprepay.status == 400 && reprepay.code == "ORDER_CLOSED")
            let pay = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            #expect(pay.status == 400 && pay.code == "ORDER_CLOSED")
            let missing = try await merchant.query("order_never_1")
            #expect(missing.status == 404 && missing.code == "ORDER_NOT_EXIST")
            #expect(sandbox.apiCalls.close == 3)
            #expect(sandbox.apiCalls.query == 3)
        }
    }

    @Test func queryNeedsTheMatchingMchid() async throws {
        try await PaySandboxHarness.run { merchant, _, _ in
            _ = try await merchant.prepay("order_mchid_1")
            let missing = try await merchant.call(.GET, "/v3/pay/transactions/out-trade-no/order_mchid_1")
            #expect(missing.status == 400 && missing.code == "PARAM_ERROR")
            let other = try await merchant.call(.GET, "/v3/pay/transactions/out-trade-no/order_mchid_1?mchid=1900000999")
            #expect(other.status == 401 && other.code == "SIGN_ERROR")
        }
    }

    @Test func expiredPrepayIDAndPaymentDeadline() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            let first = try await merchant.prepay("order_expire_1")
            sandbox.advanceClock(by: .seconds(7201))
            let stale = try await merchant.pay(#"{"prepayId":"\#(first)"}"#)
            #expect(stale.status == 400 && stale.code == "PREPAY_EXPIRED")
            let renewed = try await merchant.prepay("order_expire_1")
            #expect(renewed != first, "a repeat after two hours gets a new prepay_id")
            #expect(try await merchant.pay(#"{"prepayId":"\#(renewed)","notify":false}"#).status == 200)

            let deadline = WeChatPaySandboxTestTime.rfc3339(Date().addingTimeInterval(7200 + 600))
            let body = merchant.prepayBody("order_expire_2", extra: #","time_expire":"\#(deadline)""#)
            let response = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: body)
            let prepayID = try #require(response.json["prepay_id"] as? String)
            sandbox.advanceClock(by: .seconds(660))
            let late = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            #expect(late.status == 400 && late.code == "ORDER_EXPIRED")
            #expect(try await merchant.query("order_expire_2").json["trade_state"] as? String == "NOTPAY")
        }
    }

    @Test func certificatesDecryptToThePlatformCertificate() async throws {
        try await PaySandboxHarness.run(keyMode: .certificate) { merchant, sandbox, _ in
            let response = try await merchant.call(.GET, "/v3/certificates")
            #expect(response.status == 200)
            let item = try #require((response.json["data"] as? [[String: Any]])?.first)
            let encrypted = try #require(item["encrypt_certificate"] as? [String: Any])
            #expect(encrypted["associated_data"] as? String == "certificate")
            let nonce = try #require(encrypted["nonce"] as? String)
            let text = try #require(encrypted["ciphertext"] as? String)
            let blob = try #require(Data(base64Encoded: text))
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: Data(nonce.utf8)), ciphertext: blob.dropLast(16), tag: blob.suffix(16))
            let pem = try AES.GCM.open(box, using: SymmetricKey(data: Data(merchant.credentials.apiV3Key.utf8)),
                                       authenticating: Data("certificate".utf8))
            let certificate = try Certificate(pemEncoded: String(decoding: pem, as: UTF8.self))
            let serial = certificate.serialNumber.bytes.map { String(format: "%02X", $0) }.joined()
            #expect(serial == item["serial_no"] as? String)
            #expect(response.headers["wechatpay-serial"] == serial)
            let key = try #require(_RSA.Signing.PublicKey(certificate.publicKey))
            #expect(response.verifies(with: key))
            #expect(sandbox.apiCalls.certificates == 1)
        }
    }

    @Test func injectedFailureAnswersOnceThenRecovers() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            sandbox.failNext(.prepay)
            let failed = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_fail_1"))
            #expect(failed.status == 500 && failed.code == "SYSTEM_ERROR")
            #expect(failed.verifies(with: merchant.platformKey))
            _ = try await merchant.prepay("order_fail_1")
            #expect(sandbox.apiCalls.prepay == 2)
        }
    }
}

enum WeChatPaySandboxTestTime {
    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
