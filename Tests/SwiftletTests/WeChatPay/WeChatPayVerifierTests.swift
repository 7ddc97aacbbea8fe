import CryptoExtras
import Foundation
import SwiftletWeChatPay
import Testing

/// Answer/notify signature verification: vectors 02 and 05.
@Suite("WeChat Pay verifier")
struct WeChatPayVerifierTests {
    @Test func vector02CertificateVerifiesPublicKeyDoesNot() throws {
        let vector = try WeChatPayVectors.CertVsKey02.load()
        let message = Array(vector.message.utf8)
        let certificate = try WeChatPayPlatformCertificate.parse(pem: vector.merchant_certificate_pem)
        #expect(certificate.serial == vector.merchant_certificate_serial)
        #expect(WeChatPayVerifier.isValidSignature(vector.signature_base64, for: message, publicKey: certificate.publicKey))

        let otherKey = try _RSA.Signing.PublicKey(pemRepresentation: vector.wechatpay_public_key_pem)
        #expect(!WeChatPayVerifier.isValidSignature(vector.signature_base64, for: message, publicKey: otherKey))
        #expect(try WeChatPayPlatformCertificate.parse(pem: vector.wechatpay_certificate_pem).serial == vector.wechatpay_certificate_serial)
    }

    @Test func vector02KeysAreChosenBySerial() throws {
        let vector = try WeChatPayVectors.CertVsKey02.load()
        // Both modes at once: the public key under its id, certificates under their serials.
        let verifier = try WeChatPayVerifier(publicKeyID: "PUB_KEY_ID_01", publicKeyPEM: vector.wechatpay_public_key_pem,
                                             certificatePEMs: [vector.merchant_certificate_pem])
        #expect(verifier.contains(serial: vector.merchant_certificate_serial))
        #expect(verifier.contains(serial: vector.merchant_certificate_serial.lowercased()))
        #expect(verifier.contains(serial: "PUB_KEY_ID_01"))
        #expect(!verifier.contains(serial: vector.wechatpay_certificate_serial))
        #expect(try verifier.add(certificatePEM: vector.wechatpay_certificate_pem) == vector.wechatpay_certificate_serial)
        #expect(verifier.contains(serial: vector.wechatpay_certificate_serial))
    }

    static func verifier05(_ vector: WeChatPayVectors.Notify05) throws -> WeChatPayVerifier {
        try WeChatPayVerifier(publicKeyID: nil, publicKeyPEM: nil, certificatePEMs: [vector.platform_certificate_pem])
    }

    static func headers05(_ vector: WeChatPayVectors.Notify05) throws -> WeChatPayNotifyHeaders {
        // The vector spells the names in mixed case; the lookup must not care.
        let lowercased = Dictionary(uniqueKeysWithValues: vector.headers.map { ($0.key.lowercased(), $0.value) })
        return try #require(WeChatPayNotifyHeaders(lowercased))
    }

    @Test func vector05ValidAtNowUnix() throws {
        let vector = try WeChatPayVectors.Notify05.load()
        let headers = try Self.headers05(vector)
        #expect(headers.serial == "D7CE59D1F522D701")
        let message = WeChatPayVerifier.verificationMessage(timestamp: headers.timestamp, nonce: headers.nonce, body: Array(vector.body.utf8))
        #expect(message == Array(vector.expected_signed_message.utf8))
        #expect(vector.expect_signature_valid)
        try Self.verifier05(vector).verify(headers: headers, body: Array(vector.body.utf8), now: vector.now)
    }

    @Test func vector05NegativesAreInvalid() throws {
        let vector = try WeChatPayVectors.Notify05.load()
        let verifier = try Self.verifier05(vector)
        #expect(vector.negative_cases.count == 4)
        for negative in vector.negative_cases {
            var headers = try Self.headers05(vector)
            headers.timestamp = negative.timestamp ?? headers.timestamp
            headers.nonce = negative.nonce ?? headers.nonce
            headers.signature = negative.signature ?? headers.signature
            let body = Array((negative.body ?? vector.body).utf8)
            #expect(!negative.must_verify)
            #expect(throws: WeChatPayError.signatureInvalid, "\(negative.what)") {
                try verifier.verify(headers: headers, body: body, now: vector.now)
            }
        }
    }

    @Test func vector05ClockWindow() throws {
        let vector = try WeChatPayVectors.Notify05.load()
        let verifier = try Self.verifier05(vector)
        let headers = try Self.headers05(vector)
        let body = Array(vector.body.utf8)
        try verifier.verify(headers: headers, body: body, now: vector.now.addingTimeInterval(299))
        try verifier.verify(headers: headers, body: body, now: vector.now.addingTimeInterval(-299))
        #expect(throws: WeChatPayError.timestampOutOfWindow) {
            try verifier.verify(headers: headers, body: body, now: vector.now.addingTimeInterval(300))
        }
        #expect(throws: WeChatPayError.timestampOutOfWindow) {
            try verifier.verify(headers: headers, body: body, now: vector.now.addingTimeInterval(-300))
        }
    }

    @Test func vector05UnknownSerial() throws {
        let vector = try WeChatPayVectors.Notify05.load()
        var headers = try Self.headers05(vector)
        headers.serial = "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"
        #expect(throws: WeChatPayError.unknownSerial("5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC")) {
            try Self.verifier05(vector).verify(headers: headers, body: Array(vector.body.utf8), now: vector.now)
        }
        #expect(throws: WeChatPayError.unknownSerial("D7CE59D1F522D701")) {
            try WeChatPayVerifier().verify(headers: try Self.headers05(vector), body: Array(vector.body.utf8), now: vector.now)
        }
    }

    @Test func malformedHeaderValuesAreInvalid() throws {
        let vector = try WeChatPayVectors.Notify05.load()
        var headers = try Self.headers05(vector)
        headers.timestamp = "yesterday"
        #expect(throws: WeChatPayError.signatureInvalid) {
            try Self.verifier05(vector).verify(headers: headers, body: Array(vector.body.utf8), now: vector.now)
        }
    }

    @Test func headersLookup() {
        let all = ["wechatpay-timestamp": "1", "WECHATPAY-NONCE": "n", "Wechatpay-Signature": " s ", "wechatpay-serial": "x"]
        #expect(WeChatPayNotifyHeaders(all) == WeChatPayNotifyHeaders(timestamp: "1", nonce: "n", signature: "s", serial: "x"))
        var missing = all
        missing["wechatpay-serial"] = ""
        #expect(WeChatPayNotifyHeaders(missing) == nil)
        #expect(WeChatPayNotifyHeaders(lookup: { _ in nil }) == nil)
    }
}
