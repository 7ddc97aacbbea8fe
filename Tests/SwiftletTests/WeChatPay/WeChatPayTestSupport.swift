import CryptoExtras
import Foundation
import SwiftletWeChatPay

/// Shared fixtures: configurations that never reach the network, and notifies built and
/// signed here the way WeChat Pay builds them.
enum WeChatPayTestSupport {
    /// The 32-byte APIv3 key of the Java SDK fixtures (vectors 02–04).
    static let apiV3Key = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"
    static let publicKeyID = "PUB_KEY_ID_0114232204712025060600000000000001"

    static func configuration(
        privateKeyPEM: String, apiV3Key: String = apiV3Key, publicKeyID: String? = nil, publicKeyPEM: String? = nil,
        certificates: [String] = [], timeout: Duration = .seconds(2)
    ) throws -> WeChatPayConfiguration {
        // Nothing listens on loopback port 1: a refresh attempted by a test fails (AsyncHTTPClient
        // keeps retrying the connection until the deadline, so keep `timeout` short there).
        try WeChatPayConfiguration(
            appID: "wx4f4bc4dec97d474b", mchID: "1230000109", merchantSerialNumber: "5F1C72E2A8931B72A2E13AF8DEE92471EB397115",
            merchantPrivateKeyPEM: privateKeyPEM, apiV3Key: apiV3Key, publicKeyID: publicKeyID, publicKeyPEM: publicKeyPEM,
            platformCertificatePEMs: certificates, baseURL: { "http://127.0.0.1:1" }, timeout: timeout)
    }

    static func pkcs1PEM(from key: _RSA.Signing.PrivateKey) throws -> String {
        let pem = key.pemRepresentation
        guard pem.hasPrefix("-----BEGIN RSA PRIVATE KEY-----") else { throw WeChatPayError.badResponse("not PKCS#1") }
        return pem
    }

    /// A WeChat Pay stand-in: a fresh RSA key acting as the public-key-mode key, and a
    /// client configured to trust it.
    struct PublicKeyModeFixture {
        let platformSigner: WeChatPaySigner
        let client: WeChatPayClient
        let now: Date

        init(now: Date = Date(timeIntervalSince1970: 1_700_000_000)) throws {
            let platformKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            platformSigner = WeChatPaySigner(mchID: "wechatpay", serialNumber: publicKeyID, privateKey: platformKey)
            let merchant = try WeChatPayVectors.Sign01.load()
            let configuration = try WeChatPayTestSupport.configuration(
                privateKeyPEM: merchant.private_key_pkcs8_pem, publicKeyID: publicKeyID,
                publicKeyPEM: platformKey.publicKey.pemRepresentation)
            self.now = now
            client = try WeChatPayClient(configuration: configuration, now: { now })
        }

        /// A notify envelope whose resource is `plaintext` encrypted with the APIv3 key.
        func body(eventType: String, originalType: String?, plaintext: String, nonce: String = "Kj7QIyUiYx1q",
                  key: String = apiV3Key) throws -> [UInt8] {
            let associatedData = originalType ?? ""
            let ciphertext = try AEADAES256GCM.encrypt(plaintext: Array(plaintext.utf8), key: key, nonce: nonce,
                                                       associatedData: associatedData)
            let originalTypeField = originalType.map { #""original_type":"\#($0)","# } ?? ""
            let json = #"{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00","resource_type":"encrypt-resource","#
                + #""event_type":"\#(eventType)","summary":"支付成功","resource":{\#(originalTypeField)"algorithm":"AEAD_AES_256_GCM","#
                + #""ciphertext":"\#(ciphertext)","associated_data":"\#(associatedData)","nonce":"\#(nonce)"}}"#
            return Array(json.utf8)
        }

        /// The `Wechatpay-*` headers WeChat Pay would send with `body`.
        func headers(for body: [UInt8], timestamp: Date? = nil, nonce: String = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz",
                     serial: String = publicKeyID) throws -> WeChatPayNotifyHeaders {
            let ts = String(Int((timestamp ?? now).timeIntervalSince1970))
            let signature = try platformSigner.sign(WeChatPayVerifier.verificationMessage(timestamp: ts, nonce: nonce, body: body))
            return WeChatPayNotifyHeaders(timestamp: ts, nonce: nonce, signature: signature, serial: serial)
        }
    }

    static let transactionPlaintext = #"{"mchid":"1230000109","appid":"wx4f4bc4dec97d474b","out_trade_no":"1217752501201407033233368018","transaction_id":"1217752501201407033233368018","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"CMC","attach":"自定义数据","success_time":"2018-06-08T10:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}"#

    static let expectedTransaction = WeChatPayTransaction(
        appID: "wx4f4bc4dec97d474b", mchID: "1230000109", outTradeNo: "1217752501201407033233368018",
        transactionID: "1217752501201407033233368018", tradeState: "SUCCESS", tradeStateDesc: "支付成功",
        successTime: "2018-06-08T10:34:56+08:00", payerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        amountTotal: 100, payerTotal: 100, currency: "CNY", attach: "自定义数据")
}
