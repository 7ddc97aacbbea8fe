import Foundation
import SwiftletWeChatPay
import Testing

/// `parseNotification`: verification before decryption, then decoding. Vector 05 checks the
/// signature half through the client; decryption uses notifies built here with a 32-byte key.
@Suite("WeChat Pay notifications")
struct WeChatPayNotificationTests {
    typealias Fixture = WeChatPayTestSupport.PublicKeyModeFixture

    @Test func paymentNotifyVerifiesAndDecrypts() async throws {
        let fixture = try Fixture()
        let body = try fixture.body(eventType: "TRANSACTION.SUCCESS", originalType: "transaction",
                                    plaintext: WeChatPayTestSupport.transactionPlaintext)
        let notification = try await fixture.client.parseNotification(headers: try fixture.headers(for: body), body: body)
        #expect(notification == .transaction(eventID: "EV-2018022511223320873", eventType: "TRANSACTION.SUCCESS",
                                             WeChatPayTestSupport.expectedTransaction))
        #expect(notification.eventID == "EV-2018022511223320873")
    }

    @Test func refundNotifyUsesRefundStatus() async throws {
        let fixture = try Fixture()
        let plaintext = #"{"mchid":"1230000109","transaction_id":"1217752501201407033233368018","out_trade_no":"1217752501201407033233368018","refund_id":"50000000382019052709732678859","out_refund_no":"1217752501201407033233368019","refund_status":"SUCCESS","success_time":"2018-06-08T10:34:56+08:00","user_received_account":"招商银行信用卡0403","amount":{"total":999,"refund":999,"payer_total":999,"payer_refund":999}}"#
        let body = try fixture.body(eventType: "REFUND.SUCCESS", originalType: "refund", plaintext: plaintext)
        let notification = try await fixture.client.parseNotification(headers: try fixture.headers(for: body), body: body)
        let expected = WeChatPayRefund(
            refundID: "50000000382019052709732678859", mchID: "1230000109", outRefundNo: "1217752501201407033233368019",
            outTradeNo: "1217752501201407033233368018", transactionID: "1217752501201407033233368018", status: "SUCCESS",
            refundAmount: 999, totalAmount: 999, successTime: "2018-06-08T10:34:56+08:00")
        #expect(notification == .refund(eventID: "EV-2018022511223320873", eventType: "REFUND.SUCCESS", expected))
    }

    @Test func eventTypeChoosesWhenOriginalTypeIsAbsent() async throws {
        let fixture = try Fixture()
        let body = try fixture.body(eventType: "TRANSACTION.SUCCESS", originalType: nil, plaintext: WeChatPayTestSupport.transactionPlaintext)
        let notification = try await fixture.client.parseNotification(headers: try fixture.headers(for: body), body: body)
        #expect(notification.eventType == "TRANSACTION.SUCCESS")
    }

    @Test func signatureIsCheckedBeforeDecryption() async throws {
        let fixture = try Fixture()
        // Encrypted with the wrong key: if it were decrypted first the error would be decryptionFailed.
        let body = try fixture.body(eventType: "TRANSACTION.SUCCESS", originalType: "transaction",
                                    plaintext: WeChatPayTestSupport.transactionPlaintext, key: "0123456789abcdef0123456789abcdef")
        var headers = try fixture.headers(for: body)
        headers.signature = "WECHATPAY/SIGNTEST/" + headers.signature.dropFirst(19)
        await #expect(throws: WeChatPayError.signatureInvalid) {
            try await fixture.client.parseNotification(headers: headers, body: body)
        }
        await #expect(throws: WeChatPayError.decryptionFailed) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: body), body: body)
        }
        var tampered = body
        tampered[tampered.count - 2] = UInt8(ascii: " ")
        await #expect(throws: WeChatPayError.signatureInvalid) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: body), body: tampered)
        }
    }

    @Test func staleAndUnknownSerialAreRefused() async throws {
        let fixture = try Fixture()
        let body = try fixture.body(eventType: "TRANSACTION.SUCCESS", originalType: "transaction",
                                    plaintext: WeChatPayTestSupport.transactionPlaintext)
        await #expect(throws: WeChatPayError.timestampOutOfWindow) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: body, timestamp: fixture.now.addingTimeInterval(-300)), body: body)
        }
        // Public-key mode only: no certificate refresh, the unknown serial is refused at once.
        await #expect(throws: WeChatPayError.unknownSerial("PUB_KEY_ID_0000")) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: body, serial: "PUB_KEY_ID_0000"), body: body)
        }
    }

    @Test func verifiedButMalformedNotifies() async throws {
        let fixture = try Fixture()
        let payscore = try fixture.body(eventType: "PAYSCORE.USER_OPEN_SERVICE", originalType: "payscore", plaintext: "{}")
        await #expect(throws: WeChatPayError.malformedNotification("unsupported notify type PAYSCORE.USER_OPEN_SERVICE")) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: payscore), body: payscore)
        }
        let incomplete = try fixture.body(eventType: "TRANSACTION.SUCCESS", originalType: "transaction", plaintext: #"{"mchid":"1"}"#)
        await #expect(throws: WeChatPayError.self) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: incomplete), body: incomplete)
        }
        let notJSON = Array("hello".utf8)
        await #expect(throws: WeChatPayError.malformedNotification("body is not a notify envelope")) {
            try await fixture.client.parseNotification(headers: try fixture.headers(for: notJSON), body: notJSON)
        }
    }

    @Test func vector05ThroughTheClientInCertificateMode() async throws {
        let vector = try WeChatPayVectors.Notify05.load()
        let merchant = try WeChatPayVectors.Sign01.load()
        let configuration = try WeChatPayTestSupport.configuration(
            privateKeyPEM: merchant.private_key_pkcs8_pem, certificates: [vector.platform_certificate_pem], timeout: .milliseconds(300))
        let client = try WeChatPayClient(configuration: configuration, now: { vector.now })
        let headers = try WeChatPayVerifierTests.headers05(vector)
        let body = Array(vector.body.utf8)
        // The signature verifies; the SDK fixture's resource was sealed with a 16-byte key,
        // which a 32-byte APIv3 key cannot open, so the failure comes from decryption.
        await #expect(throws: WeChatPayError.decryptionFailed) {
            try await client.parseNotification(headers: headers, body: body)
        }
        for negative in vector.negative_cases {
            var changed = headers
            changed.timestamp = negative.timestamp ?? headers.timestamp
            changed.nonce = negative.nonce ?? headers.nonce
            changed.signature = negative.signature ?? headers.signature
            await #expect(throws: WeChatPayError.signatureInvalid, "\(negative.what)") {
                try await client.parseNotification(headers: changed, body: Array((negative.body ?? vector.body).utf8))
            }
        }
        // Certificate mode: an unknown serial triggers one refresh; it cannot succeed here
        // (nothing listens on the configured port), so the serial stays unknown.
        var unknown = headers
        unknown.serial = "1234ABCD"
        await #expect(throws: WeChatPayError.unknownSerial("1234ABCD")) {
            try await client.parseNotification(headers: unknown, body: body)
        }
    }

    @Test func vector05SixteenByteKeyIsNotAnAPIv3Key() throws {
        let merchant = try WeChatPayVectors.Sign01.load()
        #expect(throws: WeChatPayError.self) {
            try WeChatPayTestSupport.configuration(privateKeyPEM: merchant.private_key_pkcs8_pem, apiV3Key: "testMchAPIv3Key0")
        }
    }
}
