import Crypto
import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwiftletCore

/// The WeChat Pay v3 wire primitives, written from the protocol (not shared with the pay
/// client, so the sandbox catches the client's mistakes instead of repeating them).
enum WeChatPayWire {
    static let authorizationScheme = "WECHATPAY2-SHA256-RSA2048"

    /// The parameters of an `Authorization: WECHATPAY2-SHA256-RSA2048 …` header.
    struct Authorization {
        var mchid: String
        var nonce: String
        var timestamp: String
        var serialNumber: String
        var signature: String
    }

    /// Parses the header; nil when the scheme or any of the five parameters is missing.
    static func parseAuthorization(_ header: String) -> Authorization? {
        guard header.hasPrefix(authorizationScheme + " ") else { return nil }
        var values: [String: String] = [:]
        for part in header.dropFirst(authorizationScheme.count + 1).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            let key = String(pair[..<equals])
            var value = pair[pair.index(after: equals)...]
            guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return nil }
            value = value.dropFirst().dropLast()
            values[key] = String(value)
        }
        guard let mchid = values["mchid"], let nonce = values["nonce_str"], let timestamp = values["timestamp"],
              let serial = values["serial_no"], let signature = values["signature"] else { return nil }
        return Authorization(mchid: mchid, nonce: nonce, timestamp: timestamp, serialNumber: serial, signature: signature)
    }

    /// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` (request signing, §4.1).
    static func requestMessage(method: String, url: String, timestamp: String, nonce: String, body: [UInt8]) -> [UInt8] {
        Array("\(method)\n\(url)\n\(timestamp)\n\(nonce)\n".utf8) + body + [0x0A]
    }

    /// `TIMESTAMP\nNONCE\nBODY\n` (responses and callbacks, §4.2).
    static func responseMessage(timestamp: String, nonce: String, body: [UInt8]) -> [UInt8] {
        Array("\(timestamp)\n\(nonce)\n".utf8) + body + [0x0A]
    }

    /// base64(RSASSA-PKCS1-v1_5(SHA-256)).
    static func sign(_ message: [UInt8], with key: _RSA.Signing.PrivateKey) throws -> String {
        try key.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
    }

    static func verify(_ signature: String, message: [UInt8], with key: _RSA.Signing.PublicKey) -> Bool {
        guard let raw = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: raw), for: message, padding: .insecurePKCS1v1_5)
    }

    /// AEAD_AES_256_GCM with the APIv3 key (§4.5): returns base64(ciphertext ‖ tag).
    static func encrypt(_ plaintext: [UInt8], apiV3Key: String, nonce: String, associatedData: String) throws -> String {
        let box = try AES.GCM.seal(
            plaintext, using: SymmetricKey(data: Data(apiV3Key.utf8)),
            nonce: AES.GCM.Nonce(data: Data(nonce.utf8)), authenticating: Data(associatedData.utf8))
        return (box.ciphertext + box.tag).base64EncodedString()
    }

    static func decrypt(_ ciphertext: String, apiV3Key: String, nonce: String, associatedData: String) throws -> [UInt8] {
        guard let blob = Data(base64Encoded: ciphertext), blob.count >= 16 else { throw CryptoKitError.incorrectParameterSize }
        let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: Data(nonce.utf8)), ciphertext: blob.dropLast(16), tag: blob.suffix(16))
        return Array(try AES.GCM.open(box, using: SymmetricKey(data: Data(apiV3Key.utf8)), authenticating: Data(associatedData.utf8)))
    }

    // MARK: - Random values

    private static let alphanumerics = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    static func alphanumeric(_ count: Int) -> String {
        String(RandomID.randomBytes(count).map { alphanumerics[Int($0) % alphanumerics.count] })
    }

    static func digits(_ count: Int) -> String {
        String(RandomID.randomBytes(count).map { Character(String($0 % 10)) })
    }

    static func hex(_ bytes: [UInt8], uppercase: Bool = false) -> String {
        bytes.map { String(format: uppercase ? "%02X" : "%02x", $0) }.joined()
    }

    // MARK: - Time (RFC 3339, Beijing time like WeChat)

    static let beijing = TimeZone(secondsFromGMT: 8 * 3600)!

    static func rfc3339(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = beijing
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d+08:00", c.year ?? 0, c.month ?? 0, c.day ?? 0,
                      c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }

    static func compactBeijing(_ date: Date) -> String {
        String(rfc3339(date).filter(\.isNumber).prefix(14))
    }

    static func parseRFC3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    // MARK: - JSON

    static func serialize(_ object: Any) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// A signed response: `Request-ID` plus the `Wechatpay-*` headers over the exact body,
    /// `Wechatpay-Signature-Type` included, as WeChat Pay sends them (SDKs refuse answers
    /// without it).
    static func signedResponse(
        status: HTTPResponse.Status, body: [UInt8], key: _RSA.Signing.PrivateKey, serial: String, requestIDSuffix: String = "0"
    ) -> Response {
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let nonce = alphanumeric(32)
        var headers: HTTPFields = [:]
        headers[HTTPField.Name("Request-ID")!] = hex(RandomID.randomBytes(24), uppercase: true) + "-" + requestIDSuffix
        headers[HTTPField.Name("Wechatpay-Timestamp")!] = timestamp
        headers[HTTPField.Name("Wechatpay-Nonce")!] = nonce
        headers[HTTPField.Name("Wechatpay-Signature")!] = (try? sign(responseMessage(timestamp: timestamp, nonce: nonce, body: body), with: key)) ?? ""
        headers[HTTPField.Name("Wechatpay-Serial")!] = serial
        headers[HTTPField.Name("Wechatpay-Signature-Type")!] = authorizationScheme
        if !body.isEmpty {
            headers[.contentType] = "application/json; charset=utf-8"
        }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// An unsigned JSON answer for the sandbox's own control endpoints.
    static func controlResponse(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: serialize(object))))
    }
}

/// A WeChat Pay v3 error answer (§5): status plus `{"code","message","detail"}`.
/// `@unchecked`: `detail` only ever holds immutable JSON values (strings, numbers, dictionaries).
struct PayAPIError: Error, @unchecked Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var detail: [String: Any]?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, detail: [String: Any]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
    }

    static func param(_ field: String, _ issue: String, value: Any? = nil, location: String = "body") -> PayAPIError {
        var detail: [String: Any] = ["field": field, "issue": issue, "location": location]
        if let value { detail["value"] = value }
        return PayAPIError(.badRequest, "PARAM_ERROR", "参数错误", detail: detail)
    }

    static func invalidRequest(_ message: String) -> PayAPIError {
        PayAPIError(.badRequest, "INVALID_REQUEST", message)
    }

    static func sign(_ message: String, detail: [String: Any]? = nil) -> PayAPIError {
        PayAPIError(.unauthorized, "SIGN_ERROR", message, detail: detail)
    }

    var body: [UInt8] {
        var object: [String: Any] = ["code": code, "message": message]
        if let detail { object["detail"] = detail }
        return WeChatPayWire.serialize(object)
    }
}
