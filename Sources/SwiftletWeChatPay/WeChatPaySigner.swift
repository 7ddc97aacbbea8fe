import Crypto
import CryptoExtras
import Foundation

/// Signs as the merchant: request `Authorization` headers and the mini-program `paySign`.
///
/// Both are SHA256withRSA with PKCS#1 v1.5 padding over newline-terminated lines. The
/// padding is spelled out on every call because swift-crypto's default is PSS, which
/// WeChat Pay rejects.
public struct WeChatPaySigner: Sendable {
    public static let authorizationScheme = "WECHATPAY2-SHA256-RSA2048"

    public let mchID: String
    /// The merchant API certificate serial, sent as `serial_no`.
    public let serialNumber: String
    private let privateKey: _RSA.Signing.PrivateKey

    public init(mchID: String, serialNumber: String, privateKey: _RSA.Signing.PrivateKey) {
        self.mchID = mchID
        self.serialNumber = serialNumber
        self.privateKey = privateKey
    }

    /// Parses `BEGIN PRIVATE KEY` (PKCS#8, WeChat's apiclient_key.pem) or `BEGIN RSA PRIVATE KEY`.
    public init(mchID: String, serialNumber: String, privateKeyPEM: String) throws {
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw WeChatPayError.invalidConfiguration("merchantPrivateKeyPEM is not an RSA private key of at least 2048 bits")
        }
        self.init(mchID: mchID, serialNumber: serialNumber, privateKey: key)
    }

    /// `METHOD\nCANONICAL_URL\nTIMESTAMP\nNONCE\nBODY\n` as bytes: the body goes in exactly
    /// as it is sent (empty for GET, yet still followed by `\n`).
    public static func signingMessage(
        method: String, canonicalURL: String, timestamp: String, nonce: String, body: [UInt8]
    ) -> [UInt8] {
        var message = Array("\(method.uppercased())\n\(canonicalURL)\n\(timestamp)\n\(nonce)\n".utf8)
        message.append(contentsOf: body)
        message.append(0x0A)
        return message
    }

    /// `appId\ntimeStamp\nnonceStr\npackage\n`, the string signed into `paySign`.
    public static func paySignMessage(appID: String, timeStamp: String, nonceStr: String, package: String) -> String {
        "\(appID)\n\(timeStamp)\n\(nonceStr)\n\(package)\n"
    }

    /// base64(SHA256withRSA-PKCS1v1.5(message)), standard alphabet with padding.
    public func sign(_ message: some DataProtocol) throws -> String {
        do {
            return try privateKey.signature(for: message, padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            throw WeChatPayError.invalidConfiguration("merchant private key cannot sign")
        }
    }

    /// The full `Authorization` header value for one request.
    public func authorization(
        method: String, canonicalURL: String, timestamp: String, nonce: String, body: [UInt8]
    ) throws -> String {
        let message = Self.signingMessage(
            method: method, canonicalURL: canonicalURL, timestamp: timestamp, nonce: nonce, body: body)
        let signature = try sign(message)
        return "\(Self.authorizationScheme) mchid=\"\(mchID)\",nonce_str=\"\(nonce)\","
            + "timestamp=\"\(timestamp)\",serial_no=\"\(serialNumber)\",signature=\"\(signature)\""
    }

    /// `paySign` for `wx.requestPayment`.
    public func paySign(appID: String, timeStamp: String, nonceStr: String, package: String) throws -> String {
        try sign(Array(Self.paySignMessage(appID: appID, timeStamp: timeStamp, nonceStr: nonceStr, package: package).utf8))
    }
}
