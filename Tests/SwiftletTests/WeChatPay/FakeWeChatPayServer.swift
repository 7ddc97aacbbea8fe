import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftletWeChatPay
import Synchronization
import X509

/// A few WeChat Pay v3 routes, just enough to drive the real client over real HTTP:
/// requests are checked against the merchant key (over the request target exactly as
/// received), answers are signed with a platform key. Not the project's sandbox.
final class FakeWeChatPayServer: Sendable {
    static let prefix = "/fakepay"

    struct Received: Sendable {
        let method: String
        let target: String
        let headers: [String: String]
    }

    let merchantPublicKey: _RSA.Signing.PublicKey
    let platform: WeChatPaySigner
    let platformPublicKeyPEM: String
    let certificatePEM: String
    let certificateSerial: String
    let apiV3Key: String
    let received = Mutex<[Received]>([])

    init(merchantPublicKey: _RSA.Signing.PublicKey, signingSerial: String?, apiV3Key: String) async throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("Tenpay.com sign") }
        let serialBytes: [UInt8] = [0x5D, 0xEA, 0x10, 0xEF, 0x55, 0x87, 0x7E, 0x3C]
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serialBytes), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: Date(timeIntervalSinceNow: -3600), notValidAfter: Date(timeIntervalSinceNow: 3600), issuer: name,
            subject: name, signatureAlgorithm: .sha256WithRSAEncryption, extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key))
        certificatePEM = try certificate.serializeAsPEM().pemString
        certificateSerial = "5DEA10EF55877E3C"
        platformPublicKeyPEM = key.publicKey.pemRepresentation
        platform = WeChatPaySigner(mchID: "wechatpay", serialNumber: signingSerial ?? certificateSerial, privateKey: key)
        self.merchantPublicKey = merchantPublicKey
        self.apiV3Key = apiV3Key
    }

    var certificateDownloads: Int {
        received.withLock { $0.filter { $0.target.hasSuffix("/v3/certificates") }.count }
    }

    func register(on router: Router<BasicRequestContext>) {
        let base = "\(Self.prefix)/v3"
        router.post("\(base)/pay/transactions/jsapi") { request, _ in
            try await self.answer(request) { _ in (.ok, #"{"prepay_id":"wx201410272009395522657a690389285100"}"#) }
        }
        router.get("\(base)/pay/transactions/out-trade-no/:no") { request, context in
            let number = context.parameters.get("no")?.removingPercentEncoding ?? ""
            return try await self.answer(request) { _ in
                switch number {
                case "missing": (.notFound, #"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#)
                case "tampered": (.ok, "TAMPER")
                default: (.ok, #"{"appid":"wx4f4bc4dec97d474b","mchid":"1230000109","out_trade_no":"\#(number)","trade_state":"NOTPAY","amount":{"total":100}}"#)
                }
            }
        }
        router.post("\(base)/pay/transactions/out-trade-no/:no/close") { request, _ in
            try await self.answer(request) { _ in (.noContent, "") }
        }
        router.post("\(base)/refund/domestic/refunds") { request, _ in
            try await self.answer(request) { body in
                let sent = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
                let number = sent?["out_refund_no"] as? String ?? ""
                return (.ok, #"{"refund_id":"5000","out_refund_no":"\#(number)","out_trade_no":"T1","status":"PROCESSING","amount":{"refund":50,"total":100}}"#)
            }
        }
        router.get("\(base)/refund/domestic/refunds/:no") { request, context in
            let number = context.parameters.get("no")?.removingPercentEncoding ?? ""
            return try await self.answer(request) { _ in
                (.ok, #"{"refund_id":"5000","out_refund_no":"\#(number)","status":"SUCCESS","amount":{"refund":50,"total":100}}"#)
            }
        }
        router.get("\(base)/certificates") { request, _ in
            try await self.answer(request) { _ in
                let sealed = try AEADAES256GCM.encrypt(plaintext: Array(self.certificatePEM.utf8), key: self.apiV3Key,
                                                       nonce: "14b16c03dc1b", associatedData: "certificate")
                return (.ok, #"{"data":[{"serial_no":"\#(self.certificateSerial)","effective_time":"2023-09-19T23:15:58+08:00","expire_time":"2028-09-17T23:15:58+08:00","encrypt_certificate":{"algorithm":"AEAD_AES_256_GCM","associated_data":"certificate","nonce":"14b16c03dc1b","ciphertext":"\#(sealed)"}}]}"#)
            }
        }
    }

    /// Checks the merchant's Authorization, runs `handler`, signs its answer.
    private func answer(
        _ request: Request, _ handler: ([UInt8]) throws -> (HTTPResponse.Status, String)
    ) async throws -> Response {
        var request = request
        let body = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        received.withLock { $0.append(Received(method: request.method.rawValue, target: request.uri.string, headers: headers)) }

        let parameters = Self.authorizationParameters(headers["authorization"] ?? "")
        let message = WeChatPaySigner.signingMessage(
            method: request.method.rawValue, canonicalURL: request.uri.string, timestamp: parameters["timestamp"] ?? "",
            nonce: parameters["nonce_str"] ?? "", body: body)
        guard parameters["mchid"] == "1230000109",
              WeChatPayVerifier.isValidSignature(parameters["signature"] ?? "", for: message, publicKey: merchantPublicKey)
        else {
            return Self.response(.unauthorized, #"{"code":"SIGN_ERROR","message":"签名错误，请检查后再试"}"#, signed: nil)
        }
        let (status, text) = try handler(body)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let nonce = WeChatPayNonce.generate()
        let signature = try platform.sign(WeChatPayVerifier.verificationMessage(timestamp: timestamp, nonce: nonce, body: Array(text.utf8)))
        let sent = text == "TAMPER" ? #"{"tampered":true}"# : text
        return Self.response(status, sent, signed: (timestamp, nonce, signature, platform.serialNumber))
    }

    static func authorizationParameters(_ header: String) -> [String: String] {
        let scheme = WeChatPaySigner.authorizationScheme + " "
        guard header.hasPrefix(scheme) else { return [:] }
        var result: [String: String] = [:]
        for pair in header.dropFirst(scheme.count).split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            result[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return result
    }

    static func response(_ status: HTTPResponse.Status, _ text: String, signed: (String, String, String, String)?) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        if let (timestamp, nonce, signature, serial) = signed {
            for (name, value) in [("Wechatpay-Timestamp", timestamp), ("Wechatpay-Nonce", nonce),
                                  ("Wechatpay-Signature", signature), ("Wechatpay-Serial", serial)] {
                if let field = HTTPField.Name(name) { fields[field] = value }
            }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
