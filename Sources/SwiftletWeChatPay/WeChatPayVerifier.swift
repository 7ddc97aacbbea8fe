import Crypto
import CryptoExtras
import Foundation
import Synchronization
import X509

/// Verifies what WeChat Pay signs: API answers and notifies.
///
/// Keys are held by serial: the public-key id maps to the WeChat Pay public key, each
/// platform certificate serial to its certificate's key, so both modes work at once during
/// a migration. Certificates can be added while requests are in flight (a `Mutex` guards
/// the store), which is how refreshed certificates become usable.
public final class WeChatPayVerifier: Sendable {
    /// WeChat Pay's window: `|now − timestamp| ≥ 300 s` is refused (Go SDK `FiveMinute`).
    public static let window: Int64 = 300
    /// Prefix of WeChat's deliberately wrong probe signatures; they must never verify.
    public static let probePrefix = "WECHATPAY/SIGNTEST/"

    private let keys: Mutex<[String: _RSA.Signing.PublicKey]>

    public init() {
        keys = Mutex([:])
    }

    /// A store with the configured public key and/or platform certificates.
    public convenience init(publicKeyID: String?, publicKeyPEM: String?, certificatePEMs: [String]) throws {
        self.init()
        if let publicKeyID, let publicKeyPEM {
            do {
                add(serial: publicKeyID, publicKey: try _RSA.Signing.PublicKey(pemRepresentation: publicKeyPEM))
            } catch {
                throw WeChatPayError.invalidConfiguration("publicKeyPEM is not an RSA public key of at least 2048 bits")
            }
        }
        for pem in certificatePEMs {
            do {
                _ = try add(certificatePEM: pem)
            } catch {
                throw WeChatPayError.invalidConfiguration("a platform certificate is not a PEM X.509 certificate with an RSA key")
            }
        }
    }

    /// Makes `publicKey` the key for `serial` (a public-key id or a certificate serial).
    public func add(serial: String, publicKey: _RSA.Signing.PublicKey) {
        keys.withLock { $0[Self.normalize(serial)] = publicKey }
    }

    /// Adds a platform certificate under its own serial; returns that serial (uppercase hex).
    @discardableResult
    public func add(certificatePEM: String) throws -> String {
        let parsed = try WeChatPayPlatformCertificate.parse(pem: certificatePEM)
        add(serial: parsed.serial, publicKey: parsed.publicKey)
        return parsed.serial
    }

    /// Adds downloaded certificates.
    public func add(_ certificates: [WeChatPayPlatformCertificate]) {
        for certificate in certificates {
            add(serial: certificate.serialNumber, publicKey: certificate.publicKey)
        }
    }

    /// True when no key at all is held yet.
    public var isEmpty: Bool {
        keys.withLock { $0.isEmpty }
    }

    /// True when `serial` has a key.
    public func contains(serial: String) -> Bool {
        keys.withLock { $0[Self.normalize(serial)] != nil }
    }

    /// Checks `timestamp\nnonce\nbody\n` against `signature` with the key named by `serial`.
    ///
    /// Order as in the Go SDK: clock window first, then key lookup, then RSA. `body` must
    /// be the raw bytes received: re-encoded JSON does not verify.
    public func verify(
        timestamp: String, nonce: String, body: [UInt8], signature: String, serial: String, now: Date
    ) throws {
        try verify(timestamp: timestamp, nonce: nonce, body: body, signature: signature, serial: serial,
                   now: now, extraKeys: [:])
    }

    /// `verify`, also trying `extraKeys` (normalized serial → key) for serials not in the store:
    /// a certificate download is checked with the certificates it just delivered.
    func verify(
        timestamp: String, nonce: String, body: [UInt8], signature: String, serial: String, now: Date,
        extraKeys: [String: _RSA.Signing.PublicKey]
    ) throws {
        guard !nonce.isEmpty, !signature.isEmpty, let seconds = Int64(timestamp) else {
            throw WeChatPayError.signatureInvalid
        }
        let (difference, overflow) = Int64(now.timeIntervalSince1970.rounded(.down)).subtractingReportingOverflow(seconds)
        guard !overflow, difference.magnitude < Self.window.magnitude else {
            throw WeChatPayError.timestampOutOfWindow
        }
        let name = Self.normalize(serial)
        guard let key = keys.withLock({ $0[name] }) ?? extraKeys[name] else {
            throw WeChatPayError.unknownSerial(serial)
        }
        guard Self.isValidSignature(signature, for: Self.verificationMessage(timestamp: timestamp, nonce: nonce, body: body), publicKey: key) else {
            throw WeChatPayError.signatureInvalid
        }
    }

    /// `TIMESTAMP\nNONCE\nBODY\n`: what WeChat Pay signs (an empty body still gets its `\n`).
    public static func verificationMessage(timestamp: String, nonce: String, body: [UInt8]) -> [UInt8] {
        var message = Array("\(timestamp)\n\(nonce)\n".utf8)
        message.append(contentsOf: body)
        message.append(0x0A)
        return message
    }

    /// SHA256withRSA (PKCS#1 v1.5) check of a base64 signature over raw `message` bytes.
    /// Probe signatures (`WECHATPAY/SIGNTEST/…`) and non-base64 text are simply invalid.
    public static func isValidSignature(_ signatureBase64: String, for message: some DataProtocol, publicKey: _RSA.Signing.PublicKey) -> Bool {
        guard !signatureBase64.hasPrefix(probePrefix), let raw = Data(base64Encoded: signatureBase64) else { return false }
        return publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: message, padding: .insecurePKCS1v1_5)
    }

    /// Verifies with the four headers of an answer or notify.
    public func verify(headers: WeChatPayNotifyHeaders, body: [UInt8], now: Date) throws {
        try verify(timestamp: headers.timestamp, nonce: headers.nonce, body: body,
                   signature: headers.signature, serial: headers.serial, now: now)
    }

    /// Serials compare as uppercase hex without leading zeros (X.509 and the SDKs disagree
    /// on padding); public-key ids are only uppercased.
    static func normalize(_ serial: String) -> String {
        let upper = serial.uppercased()
        let trimmed = upper.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }
}
