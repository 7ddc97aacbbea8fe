import Crypto
import CryptoExtras
import Foundation
import X509

/// A WeChat Pay platform certificate: the key that signs answers and notifies in
/// certificate mode, identified by its serial.
public struct WeChatPayPlatformCertificate: Sendable {
    /// Uppercase hex serial, as WeChat Pay sends it in `Wechatpay-Serial`.
    public let serialNumber: String
    public let pem: String
    /// RFC 3339 strings as `/v3/certificates` lists them (informative: expired
    /// certificates are not refused, WeChat rotates them with overlap).
    public let effectiveTime: String
    public let expireTime: String
    public let publicKey: _RSA.Signing.PublicKey

    public init(serialNumber: String, pem: String, effectiveTime: String, expireTime: String, publicKey: _RSA.Signing.PublicKey) {
        self.serialNumber = serialNumber
        self.pem = pem
        self.effectiveTime = effectiveTime
        self.expireTime = expireTime
        self.publicKey = publicKey
    }

    /// Parses a PEM certificate and returns its serial (uppercase hex, no leading zeros,
    /// as the SDKs print it) and RSA public key.
    public static func parse(pem: String) throws -> (serial: String, publicKey: _RSA.Signing.PublicKey) {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw WeChatPayError.badResponse("certificate is not PEM X.509")
        }
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw WeChatPayError.badResponse("certificate key is not RSA")
        }
        let hex = certificate.serialNumber.bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        return (WeChatPayVerifier.normalize(hex), key)
    }
}

/// Turns a `GET /v3/certificates` body into certificates, without any IO, so the client's
/// processing can be tested on the SDK's recorded answer.
public enum WeChatPayCertificateDownload {
    struct Body: Decodable {
        struct Item: Decodable {
            let serial_no: String
            let effective_time: String?
            let expire_time: String?
            let encrypt_certificate: WeChatPayEncryptedResource
        }
        let data: [Item]
    }

    /// Decrypts every `encrypt_certificate` with the APIv3 key, parses the PEM and checks
    /// that its serial equals the listed `serial_no` (a mismatch means a swapped entry).
    public static func process(body: [UInt8], apiV3Key: String) throws -> [WeChatPayPlatformCertificate] {
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body)) else {
            throw WeChatPayError.badResponse("certificates answer is not the documented JSON")
        }
        guard !decoded.data.isEmpty else {
            throw WeChatPayError.badResponse("certificates answer lists no certificate")
        }
        return try decoded.data.map { item in
            let pem = String(decoding: try item.encrypt_certificate.decrypt(apiV3Key: apiV3Key), as: UTF8.self)
            let parsed = try WeChatPayPlatformCertificate.parse(pem: pem)
            guard parsed.serial == WeChatPayVerifier.normalize(item.serial_no) else {
                throw WeChatPayError.badResponse("certificate serial does not match serial_no \(item.serial_no)")
            }
            return WeChatPayPlatformCertificate(
                serialNumber: item.serial_no.uppercased(), pem: pem, effectiveTime: item.effective_time ?? "",
                expireTime: item.expire_time ?? "", publicKey: parsed.publicKey)
        }
    }
}

/// The `resource` / `encrypt_certificate` object: an AEAD_AES_256_GCM ciphertext.
struct WeChatPayEncryptedResource: Decodable, Sendable {
    static let algorithm = "AEAD_AES_256_GCM"

    let algorithm: String
    let ciphertext: String
    let associated_data: String?
    let nonce: String
    let original_type: String?

    func decrypt(apiV3Key: String) throws -> [UInt8] {
        guard algorithm == Self.algorithm else { throw WeChatPayError.decryptionFailed }
        return try AEADAES256GCM.decrypt(
            ciphertextBase64: ciphertext, key: apiV3Key, nonce: nonce, associatedData: associated_data ?? "")
    }
}
