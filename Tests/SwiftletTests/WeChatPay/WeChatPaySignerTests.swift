import CryptoExtras
import Foundation
import SwiftletWeChatPay
import Testing

/// Request signing and paySign: vector 01 byte for byte, plus the string formats.
@Suite("WeChat Pay signer")
struct WeChatPaySignerTests {
    static func signer(_ vector: WeChatPayVectors.Sign01) throws -> WeChatPaySigner {
        try WeChatPaySigner(mchID: vector.mchid_used_by_sdk_test, serialNumber: vector.public_key_id,
                            privateKeyPEM: vector.private_key_pkcs8_pem)
    }

    @Test func vector01SignsByteForByte() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let signature = try Self.signer(vector).sign(Array(vector.message.utf8))
        #expect(signature == vector.expected_signature_base64)
    }

    @Test func vector01VerifiesAndRejectsNegatives() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let key = try _RSA.Signing.PublicKey(pemRepresentation: vector.public_key_spki_pem)
        #expect(WeChatPayVerifier.isValidSignature(vector.expected_signature_base64, for: Array(vector.message.utf8), publicKey: key))
        for negative in vector.negative_cases {
            let valid = WeChatPayVerifier.isValidSignature(negative.signature_base64, for: Array(negative.message.utf8), publicKey: key)
            #expect(valid == negative.must_verify, "message \(negative.message.debugDescription)")
        }
        #expect(!WeChatPayVerifier.isValidSignature("not base64!", for: Array(vector.message.utf8), publicKey: key))
    }

    @Test func vector02MerchantKeyReproducesTheSignature() throws {
        let vector = try WeChatPayVectors.CertVsKey02.load()
        let signer = try WeChatPaySigner(mchID: vector.mchid, serialNumber: vector.merchant_certificate_serial,
                                         privateKeyPEM: vector.merchant_private_key_pkcs8_pem)
        #expect(try signer.sign(Array(vector.message.utf8)) == vector.signature_base64)
    }

    @Test func signingStringIsFiveLinesWithTrailingNewline() {
        let get = WeChatPaySigner.signingMessage(
            method: "get", canonicalURL: "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109",
            timestamp: "1554208460", nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", body: [])
        #expect(String(decoding: get, as: UTF8.self) ==
            "GET\n/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n")
        #expect(get.filter { $0 == 0x0A }.count == 5)

        let body = Array(#"{"mchid":"1900007291","description":"商品"}"#.utf8)
        let post = WeChatPaySigner.signingMessage(
            method: "POST", canonicalURL: "/v3/pay/transactions/jsapi", timestamp: "1554208460", nonce: "N", body: body)
        #expect(post == Array("POST\n/v3/pay/transactions/jsapi\n1554208460\nN\n".utf8) + body + [0x0A])
    }

    @Test func authorizationHeaderShapeAndSignature() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let body = Array(#"{"a":1}"#.utf8)
        let header = try Self.signer(vector).authorization(
            method: "POST", canonicalURL: "/v3/refund/domestic/refunds", timestamp: "1554208460",
            nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", body: body)
        let prefix = #"WECHATPAY2-SHA256-RSA2048 mchid="1234567890",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="F5765756002FDD77",signature=""#
        #expect(header.hasPrefix(prefix))
        #expect(header.hasSuffix("\""))
        let signature = String(header.dropFirst(prefix.count).dropLast())
        let key = try _RSA.Signing.PublicKey(pemRepresentation: vector.public_key_spki_pem)
        let message = WeChatPaySigner.signingMessage(method: "POST", canonicalURL: "/v3/refund/domestic/refunds",
                                                     timestamp: "1554208460", nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", body: body)
        #expect(WeChatPayVerifier.isValidSignature(signature, for: message, publicKey: key))
        #expect(!header.contains("\n"))
    }

    @Test func paySignCoversTheFourLines() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let message = WeChatPaySigner.paySignMessage(
            appID: "wxd678efh567hg6787", timeStamp: "1490840662", nonceStr: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            package: "prepay_id=wx201410272009395522657a690389285100")
        #expect(message == "wxd678efh567hg6787\n1490840662\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n")
        let paySign = try Self.signer(vector).paySign(
            appID: "wxd678efh567hg6787", timeStamp: "1490840662", nonceStr: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            package: "prepay_id=wx201410272009395522657a690389285100")
        #expect(paySign == (try Self.signer(vector).sign(Array(message.utf8))))
        let key = try _RSA.Signing.PublicKey(pemRepresentation: vector.public_key_spki_pem)
        #expect(WeChatPayVerifier.isValidSignature(paySign, for: Array(message.utf8), publicKey: key))
    }

    @Test func requestPaymentParametersFromTheClient() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let client = try WeChatPayClient(configuration: WeChatPayTestSupport.configuration(privateKeyPEM: vector.private_key_pkcs8_pem),
                                         now: { Date(timeIntervalSince1970: 1_490_840_662.9) })
        let parameters = try client.requestPaymentParameters(prepayID: "wx201410272009395522657a690389285100")
        #expect(parameters.timeStamp == "1490840662")
        #expect(parameters.package == "prepay_id=wx201410272009395522657a690389285100")
        #expect(parameters.signType == "RSA")
        #expect(parameters.nonceStr.count == 32)
        let message = WeChatPaySigner.paySignMessage(appID: client.configuration.appID, timeStamp: parameters.timeStamp,
                                                     nonceStr: parameters.nonceStr, package: parameters.package)
        let key = try _RSA.Signing.PublicKey(pemRepresentation: vector.public_key_spki_pem)
        #expect(WeChatPayVerifier.isValidSignature(parameters.paySign, for: Array(message.utf8), publicKey: key))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(parameters)) as? [String: String]
        #expect(Set(json?.keys.map { $0 } ?? []) == ["timeStamp", "nonceStr", "package", "signType", "paySign"])
    }

    @Test func pkcs1PrivateKeyPEMAlsoWorks() throws {
        let vector = try WeChatPayVectors.Sign01.load()
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: vector.private_key_pkcs8_pem)
        // swift-crypto writes `BEGIN RSA PRIVATE KEY` (PKCS#1): the signature must not change.
        let pkcs1 = try WeChatPayTestSupport.pkcs1PEM(from: key)
        let signer = try WeChatPaySigner(mchID: "1", serialNumber: "S", privateKeyPEM: pkcs1)
        #expect(try signer.sign(Array(vector.message.utf8)) == vector.expected_signature_base64)
    }

    @Test func badPrivateKeyIsAConfigurationError() {
        #expect(throws: WeChatPayError.self) {
            try WeChatPaySigner(mchID: "1", serialNumber: "S", privateKeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
        }
    }

    @Test func noncesAreThirtyTwoAlphanumerics() {
        let nonces = (0..<50).map { _ in WeChatPayNonce.generate() }
        for nonce in nonces {
            #expect(nonce.count == 32)
            #expect(nonce.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        }
        #expect(Set(nonces).count == nonces.count)
    }
}
