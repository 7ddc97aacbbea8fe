import Crypto
import CryptoExtras
import Foundation
import SwiftletSandbox
import Testing

/// Payment, notifies (signature, encryption, retries), refunds and credentials.
@Suite("PaySandbox: payment, notifies and refunds")
struct PaySandboxNotifyTests {
    @Test func payingSendsASignedEncryptedTransactionNotify() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_pay_1")
            let paid = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            #expect(paid.status == 200)
            let transactionID = try #require(paid.json["transactionId"] as? String)
            #expect(transactionID.hasPrefix("4200") && transactionID.count == 28)
            #expect(paid.json["outTradeNo"] as? String == "order_pay_1")

            let notify = try #require(try await inbox.wait(for: 1).first)
            #expect(notify.verified, "the notify signature verifies with the platform public key")
            #expect(notify.headers["wechatpay-serial"] == merchant.credentials.publicKeyID)
            #expect(notify.headers["content-type"] == "application/json")
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(notify.body)) as? [String: Any])
            #expect(envelope["event_type"] as? String == "TRANSACTION.SUCCESS")
            #expect(envelope["resource_type"] as? String == "encrypt-resource")
            #expect(envelope["summary"] as? String == "支付成功")
            #expect((envelope["id"] as? String)?.count == 36)
            let resource = try #require(envelope["resource"] as? [String: Any])
            #expect(resource["original_type"] as? String == "transaction")
            #expect(resource["algorithm"] as? String == "AEAD_AES_256_GCM")
            #expect(resource["associated_data"] as? String == "transaction")
            #expect((resource["nonce"] as? String)?.utf8.count == 12)
            let transaction = try PayCrypto.decrypt(resource, apiV3Key: merchant.credentials.apiV3Key)
            #expect(transaction["trade_state"] as? String == "SUCCESS")
            #expect(transaction["transaction_id"] as? String == transactionID)
            #expect(transaction["out_trade_no"] as? String == "order_pay_1")
            #expect(transaction["mchid"] as? String == merchant.credentials.mchID)
            #expect(transaction["appid"] as? String == merchant.credentials.appID)
            #expect((transaction["amount"] as? [String: Any])?["total"] as? Int == 100)
            #expect((transaction["payer"] as? [String: Any])?["openid"] as? String == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
            #expect((transaction["success_time"] as? String)?.hasSuffix("+08:00") == true)

            await sandbox.waitUntilIdle()
            #expect(sandbox.deliveries.map(\.status) == [204])
            let query = try await merchant.query("order_pay_1")
            #expect(query.json["trade_state"] as? String == "SUCCESS")
            #expect(query.json["trade_type"] as? String == "JSAPI")
            let again = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: merchant.prepayBody("order_pay_1"))
            #expect(again.status == 403 && again.code == "OUT_TRADE_NO_USED")
            let close = try await merchant.call(
                .POST, "/v3/pay/transactions/out-trade-no/order_pay_1/close", body: #"{"mchid":"\#(merchant.credentials.mchID)"}"#)
            #expect(close.status == 400 && close.code == "ORDER_PAID")
            let byID = try await merchant.call(.GET, "/v3/pay/transactions/id/\(transactionID)?mchid=\(merchant.credentials.mchID)")
            #expect(byID.json["out_trade_no"] as? String == "order_pay_1")
            let twice = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            #expect(twice.status == 400 && twice.code == "ORDER_PAID")
            let unknown = try await merchant.pay(#"{"prepayId":"wx000"}"#)
            #expect(unknown.status == 404)
        }
    }

    @Test func failedNotifiesAreRetriedOnTheSchedule() async throws {
        try await PaySandboxHarness.run(notifyScript: [500, 500, 204]) { merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_retry_1")
            _ = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            _ = try await inbox.wait(for: 3)
            await sandbox.waitUntilIdle()
            let deliveries = sandbox.deliveries
            #expect(deliveries.map(\.status) == [500, 500, 204])
            #expect(deliveries.map(\.attempt) == [1, 2, 3])
            #expect(deliveries.map(\.acknowledged) == [false, false, true])
            #expect(Set(deliveries.map(\.eventID)).count == 1, "retries resend the same event")
            #expect(inbox.received.allSatisfy { $0.verified }, "every retry is freshly and validly signed")
            #expect(inbox.received.map(\.body).allSatisfy { $0 == inbox.received[0].body })
            if deliveries.count == 3 {
                #expect(deliveries[1].at.timeIntervalSince(deliveries[0].at) >= 0.05)
                #expect(deliveries[2].at.timeIntervalSince(deliveries[1].at) >= 0.1)
            }
        }
    }

    @Test func notifyGivesUpAfterTheLastRetry() async throws {
        try await PaySandboxHarness.run(schedule: [.milliseconds(10), .milliseconds(10)], notifyScript: [500, 404, 503, 204]) {
            merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_giveup_1")
            _ = try await merchant.pay(#"{"prepayId":"\#(prepayID)"}"#)
            await sandbox.waitUntilIdle()
            #expect(sandbox.deliveries.map(\.status) == [500, 404, 503])
            #expect(inbox.received.count == 3)
        }
    }

    /// The first answer never comes in time (the merchant takes 3 s); the timeout leaves the
    /// retry's prompt answer room on a loaded machine (1 s was once too short for it).
    @Test func aMerchantSlowerThanTheTimeoutGetsARetry() async throws {
        try await PaySandboxHarness.run(notifyScript: [0, 204], notifyTimeout: .seconds(2)) { merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_slow_1")
            try sandbox.pay(prepayID: prepayID)
            await sandbox.waitUntilIdle()
            let deliveries = sandbox.deliveries
            #expect(deliveries.count == 2)
            #expect(deliveries.first?.status == nil && deliveries.first?.error != nil, "no answer within the timeout")
            #expect(deliveries.last?.status == 204 && deliveries.last?.attempt == 2)
            #expect(inbox.received.count == 2)
        }
    }

    @Test func unreachableNotifyURLIsRecordedAsAnError() async throws {
        try await PaySandboxHarness.run(schedule: [.milliseconds(10)], notifyTimeout: .milliseconds(500)) { merchant, sandbox, _ in
            let body = merchant.prepayBody("order_unreach_1").replacingOccurrences(of: merchant.notifyURL, with: "http://127.0.0.1:1/notify")
            let prepay = try await merchant.call(.POST, "/v3/pay/transactions/jsapi", body: body)
            let prepayID = try #require(prepay.json["prepay_id"] as? String)
            try sandbox.pay(prepayID: prepayID)
            await sandbox.waitUntilIdle()
            #expect(sandbox.deliveries.count == 2)
            #expect(sandbox.deliveries.allSatisfy { $0.status == nil && $0.error != nil })
        }
    }

    @Test func signatureProbeAndTamperedNotifiesAreRefusedByAVerifyingMerchant() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_probe_1")
            try sandbox.pay(prepayID: prepayID, notify: false)
            let probe = try #require(await sandbox.sendSignatureProbe(outTradeNo: "order_probe_1"))
            #expect(probe.isSignatureProbe && !probe.acknowledged && probe.status == 401)
            #expect(inbox.received.first?.headers["wechatpay-signature"]?.hasPrefix("WECHATPAY/SIGNTEST/") == true)

            let resource = try #require(sandbox.transactionResource(outTradeNo: "order_probe_1"))
            let genuine = try sandbox.signedNotification(
                eventType: "TRANSACTION.SUCCESS", resource: resource, originalType: "transaction", associatedData: "transaction")
            let headers = Dictionary(uniqueKeysWithValues: genuine.headers.map { ($0.0.lowercased(), $0.1) })
            #expect(PayCrypto.verifyWeChatPay(headers: headers, body: genuine.body, key: merchant.platformKey))
            var tampered = genuine.body
            tampered[tampered.count / 2] ^= 0x01
            #expect(!PayCrypto.verifyWeChatPay(headers: headers, body: tampered, key: merchant.platformKey))
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(genuine.body)) as? [String: Any])
            let genuineResource = try #require(envelope["resource"] as? [String: Any])
            let decrypted = try PayCrypto.decrypt(genuineResource, apiV3Key: merchant.credentials.apiV3Key)
            #expect(decrypted["trade_state"] as? String == "SUCCESS")
            #expect(throws: (any Error).self) {
                try PayCrypto.decrypt(genuineResource, apiV3Key: String(repeating: "k", count: 32))
            }
        }
    }

    @Test func requestPaymentSignatureIsVerified() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, _ in
            let prepayID = try await merchant.prepay("order_paysign_1")
            let timeStamp = String(Int(Date().timeIntervalSince1970))
            let package = "prepay_id=" + prepayID
            func body(_ paySign: String) -> String {
                #"{"timeStamp":"\#(timeStamp)","nonceStr":"n0nce","package":"\#(package)","signType":"RSA","paySign":"\#(paySign)","notify":false}"#
            }
            let wrongApp = try PayCrypto.sign("wx1111111111111111\n\(timeStamp)\nn0nce\n\(package)\n", key: merchant.key)
            let refused = try await merchant.pay(body(wrongApp))
            #expect(refused.status == 400 && refused.code == "PAY_SIGN_ERROR")
            let paySign = try PayCrypto.sign("\(merchant.credentials.appID)\n\(timeStamp)\nn0nce\n\(package)\n", key: merchant.key)
            #expect(try await merchant.pay(body(paySign)).status == 200)
            #expect(sandbox.transaction(outTradeNo: "order_paysign_1")?.tradeState == .success)
            #expect(sandbox.deliveries.isEmpty, "notify: false sends nothing")
        }
    }

    @Test func partialRefundProcessesThenSucceedsWithANotify() async throws {
        try await PaySandboxHarness.run { merchant, sandbox, inbox in
            let prepayID = try await merchant.prepay("order_refund_1")
            _ = try await merchant.pay(#"{"prepayId":"\#(prepayID)","notify":false}"#)
            func refund(_ number: String, _ amount: Int, total: Int = 100, order: String = "order_refund_1") async throws -> PayResponse {
                try await merchant.call(.POST, "/v3/refund/domestic/refunds", body: """
                    {"out_trade_no":"\(order)","out_refund_no":"\(number)","reason":"测试退款","amount":{"refund":\(amount),"total":\(total),"currency":"CNY"}}
                    """)
            }
            let accepted = try await refund("refund_1", 30)
            #expect(accepted.status == 200)
            #expect(accepted.json["status"] as? String == "PROCESSING")
            #expect(accepted.verifies(with: merchant.platformKey))
            let refundID = try #require(accepted.json["refund_id"] as? String)
            let repeated = try await refund("refund_1", 30)
            #expect(repeated.json["refund_id"] as? String == refundID, "same out_refund_no, same refund")

            let notify = try #require(try await inbox.wait(for: 1).first)
            #expect(notify.verified)
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(notify.body)) as? [String: Any])
            #expect(envelope["event_type"] as? String == "REFUND.SUCCESS")
            let resource = try #require(envelope["resource"] as? [String: Any])
            #expect(resource["original_type"] as? String == "refund")
            let decrypted = try PayCrypto.decrypt(resource, apiV3Key: merchant.credentials.apiV3Key)
            #expect(decrypted["refund_status"] as? String == "SUCCESS")
            #expect(decrypted["out_refund_no"] as? String == "refund_1")
            #expect((decrypted["amount"] as? [String: Any])?["refund"] as? Int == 30)

            let queried = try await merchant.call(.GET, "/v3/refund/domestic/refunds/refund_1")
            #expect(queried.json["status"] as? String == "SUCCESS")
            #expect(queried.json["success_time"] != nil)
            #expect(try await merchant.query("order_refund_1").json["trade_state"] as? String == "REFUND")

            let tooMuch = try await refund("refund_2", 71)
            #expect(tooMuch.status == 400 && tooMuch.code == "INVALID_REQUEST")
            let wrongTotal = try await refund("refund_3", 10, total: 99)
            #expect(wrongTotal.status == 400 && wrongTotal.code == "INVALID_REQUEST")
            let rest = try await refund("refund_4", 70)
            #expect(rest.status == 200)
            let unknown = try await refund("refund_5", 1, order: "order_nobody_1")
            #expect(unknown.status == 404)
            let missingRefund = try await merchant.call(.GET, "/v3/refund/domestic/refunds/refund_none")
            #expect(missingRefund.status == 404)
            await sandbox.waitUntilIdle()
            #expect(sandbox.refund(outRefundNo: "refund_4")?.status == .success)
            #expect(sandbox.apiCalls.refund == 6)
        }
    }

    @Test func refundOfAnUnpaidOrderIsRefused() async throws {
        try await PaySandboxHarness.run { merchant, _, _ in
            _ = try await merchant.prepay("order_refund_2")
            let response = try await merchant.call(.POST, "/v3/refund/domestic/refunds", body: """
                {"out_trade_no":"order_refund_2","out_refund_no":"refund_x","amount":{"refund":1,"total":100,"currency":"CNY"}}
                """)
            #expect(response.status == 400 && response.code == "INVALID_REQUEST")
        }
    }

    @Test func credentialsAreCreatedOnceAndReloadedUnchanged() throws {
        let directory = NSTemporaryDirectory() + "swiftlet-pay-sandbox-" + UUID().uuidString + "/secrets"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let first = try WeChatPaySandboxCredentials.loadOrCreate(directory: directory, appID: "wx00000000sandbox")
        let second = try WeChatPaySandboxCredentials.loadOrCreate(directory: directory, appID: "wx00000000sandbox")
        #expect(first == second)
        #expect(first.mchID == "1900000109")
        #expect(first.merchantSerialNumber.count == 40 && first.merchantSerialNumber == first.merchantSerialNumber.uppercased())
        #expect(first.publicKeyID.hasPrefix("PUB_KEY_ID_") && first.publicKeyID.dropFirst(11).allSatisfy(\.isNumber))
        #expect(first.publicKeyID.count == 43)
        #expect(first.apiV3Key.count == 32 && first.apiV3Key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(first.merchantPrivateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + WeChatPaySandboxCredentials.fileName)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let directoryAttributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((directoryAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: first.merchantPrivateKeyPEM)
        #expect(key.publicKey.pemRepresentation == first.merchantPublicKeyPEM)
        _ = try WeChatPaySandbox(credentials: second)
    }
}
