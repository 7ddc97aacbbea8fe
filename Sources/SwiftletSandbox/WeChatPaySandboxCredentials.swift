import Crypto
import CryptoExtras
import Foundation
import SwiftletCore
import X509

/// Everything a merchant and the WeChat Pay sandbox share: the merchant's key pair (and a
/// certificate whose serial is `merchantSerialNumber`), the "platform" key pair the sandbox
/// signs with (usable as a WeChat Pay public key with `publicKeyID`, or through the
/// self-signed platform certificate in certificate mode), and the APIv3 key.
///
/// Generated on first start and kept in one file (mode 0600) so a development server keeps
/// the same merchant identity across restarts.
public struct WeChatPaySandboxCredentials: Sendable, Codable, Equatable {
    /// The mchid the sandbox answers to.
    public static let sandboxMchID = "1900000109"
    /// The file `loadOrCreate` keeps the credentials in.
    public static let fileName = "wechatpay-sandbox.json"

    public var appID: String
    public var mchID: String
    /// The merchant API certificate serial: 40 uppercase hex characters (`serial_no`).
    public var merchantSerialNumber: String
    /// PKCS#8 (`BEGIN PRIVATE KEY`), like WeChat's `apiclient_key.pem`.
    public var merchantPrivateKeyPEM: String
    public var merchantPublicKeyPEM: String
    /// A self-signed merchant certificate (`apiclient_cert.pem`) with serial `merchantSerialNumber`.
    public var merchantCertificatePEM: String
    public var platformPrivateKeyPEM: String
    /// The WeChat Pay public key (`pub_key.pem`) identified by `publicKeyID`.
    public var platformPublicKeyPEM: String
    /// The platform certificate (certificate mode) wrapping the same key.
    public var platformCertificatePEM: String
    /// Its serial: 40 uppercase hex characters.
    public var platformCertificateSerialNumber: String
    /// `PUB_KEY_ID_` + 32 digits.
    public var publicKeyID: String
    /// 32 ASCII alphanumerics.
    public var apiV3Key: String

    /// Fresh credentials (two RSA-2048 key pairs), for tests.
    public static func generate(appID: String) throws -> WeChatPaySandboxCredentials {
        let merchantKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let platformKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let merchantSerial = serialNumber()
        let platformSerial = serialNumber()
        return WeChatPaySandboxCredentials(
            appID: appID,
            mchID: sandboxMchID,
            merchantSerialNumber: merchantSerial,
            merchantPrivateKeyPEM: merchantKey.pkcs8PEMRepresentation,
            merchantPublicKeyPEM: merchantKey.publicKey.pemRepresentation,
            merchantCertificatePEM: try certificate(
                key: merchantKey, serial: merchantSerial, commonName: sandboxMchID, organization: "Swiftlet sandbox merchant"),
            platformPrivateKeyPEM: platformKey.pkcs8PEMRepresentation,
            platformPublicKeyPEM: platformKey.publicKey.pemRepresentation,
            platformCertificatePEM: try certificate(
                key: platformKey, serial: platformSerial, commonName: "Tenpay.com sandbox", organization: "Swiftlet WeChat Pay sandbox"),
            platformCertificateSerialNumber: platformSerial,
            publicKeyID: "PUB_KEY_ID_" + WeChatPayWire.digits(32),
            apiV3Key: WeChatPayWire.alphanumeric(32))
    }

    /// Reads `<directory>/wechatpay-sandbox.json`, or generates and writes it (directory 0700,
    /// file 0600). A different `appID` than the stored one is adopted; the keys stay.
    public static func loadOrCreate(directory: String, appID: String) throws -> WeChatPaySandboxCredentials {
        let path = directory + "/" + fileName
        if let data = FileManager.default.contents(atPath: path) {
            var stored = try JSONDecoder().decode(WeChatPaySandboxCredentials.self, from: data)
            if stored.appID != appID {
                stored.appID = appID
                try stored.write(to: path)
            }
            return stored
        }
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let created = try generate(appID: appID)
        try created.write(to: path)
        return created
    }

    /// Writes atomically (temporary file, then rename) with mode 0600.
    private func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = path + ".tmp-" + RandomID.base32(byteCount: 8)
        guard FileManager.default.createFile(
            atPath: temporary, contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        if rename(temporary, path) != 0 {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// 20 random bytes as 40 uppercase hex characters; the first byte stays in 0x10...0x7F so
    /// the DER INTEGER keeps all 20 bytes and the certificate's serial prints identically.
    static func serialNumber() -> String {
        var bytes = RandomID.randomBytes(20)
        bytes[0] = 0x10 + bytes[0] % 0x70
        return WeChatPayWire.hex(bytes, uppercase: true)
    }

    static func certificate(key: _RSA.Signing.PrivateKey, serial: String, commonName: String, organization: String) throws -> String {
        let serialBytes = stride(from: 0, to: serial.count, by: 2).map { offset -> UInt8 in
            let start = serial.index(serial.startIndex, offsetBy: offset)
            return UInt8(serial[start..<serial.index(start, offsetBy: 2)], radix: 16) ?? 0
        }
        let name = try DistinguishedName {
            CountryName("CN")
            OrganizationName(organization)
            CommonName(commonName)
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(bytes: serialBytes),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(5 * 365 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: Certificate.Extensions(),
            issuerPrivateKey: Certificate.PrivateKey(key))
        return try certificate.serializeAsPEM().pemString
    }
}

/// The parsed keys, made once per sandbox.
struct WeChatPaySandboxKeys: Sendable {
    let merchantPublicKey: _RSA.Signing.PublicKey
    let platformPrivateKey: _RSA.Signing.PrivateKey
    let platformCertificate: Certificate

    init(_ credentials: WeChatPaySandboxCredentials) throws {
        merchantPublicKey = try _RSA.Signing.PublicKey(pemRepresentation: credentials.merchantPublicKeyPEM)
        platformPrivateKey = try _RSA.Signing.PrivateKey(pemRepresentation: credentials.platformPrivateKeyPEM)
        platformCertificate = try Certificate(pemEncoded: credentials.platformCertificatePEM)
    }
}
