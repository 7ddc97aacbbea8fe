import Foundation

/// The four signing headers of one request, checked for shape and freshness before any
/// key is looked up or nonce stored: what can be refused without IO is refused first.
public struct SignedRequestHeaders: Sendable, Equatable {
    public let keyID: String
    public let timestamp: String
    public let nonce: String
    public let signature: String

    /// Reads the headers: nil when none is present (an unsigned request), the checked
    /// headers when all four are, `signature.missing` when only some are and
    /// `signature.invalid` when one is malformed.
    public static func read(key: String?, timestamp: String?, nonce: String?, signature: String?) throws(SwiftletError) -> SignedRequestHeaders? {
        if key == nil, timestamp == nil, nonce == nil, signature == nil { return nil }
        guard let key, let timestamp, let nonce, let signature else {
            let absent = [(key, RequestSignature.keyHeader), (timestamp, RequestSignature.timestampHeader),
                          (nonce, RequestSignature.nonceHeader), (signature, RequestSignature.signatureHeader)]
                .filter { $0.0 == nil }.map(\.1).joined(separator: ", ")
            throw SignatureFailure.missing("Missing \(absent).")
        }
        guard (1...64).contains(key.utf8.count), key.utf8.allSatisfy(Self.isTokenByte) else {
            throw SignatureFailure.unknownKey
        }
        guard (1...12).contains(timestamp.utf8.count), timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw SignatureFailure.invalid("\(RequestSignature.timestampHeader) must be Unix seconds.")
        }
        guard (16...64).contains(nonce.utf8.count), nonce.utf8.allSatisfy(Self.isTokenByte) else {
            throw SignatureFailure.invalid("\(RequestSignature.nonceHeader) must be 16 to 64 characters of A–Z, a–z, 0–9, '-' and '_'.")
        }
        guard signature.utf8.count == 64, signature.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw SignatureFailure.invalid("\(RequestSignature.signatureHeader) must be 64 lowercase hex digits.")
        }
        return SignedRequestHeaders(keyID: key, timestamp: timestamp, nonce: nonce, signature: signature)
    }

    /// Refuses a timestamp more than `window` seconds from `now`, either way.
    public func checkFresh(now: Date, window: TimeInterval) throws(SwiftletError) {
        guard let seconds = Double(timestamp), abs(now.timeIntervalSince1970 - seconds) <= window else {
            throw SignatureFailure.expired(window: window)
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}

/// The five ways a signed request is refused, all 401.
public enum SignatureFailure {
    public static func missing(_ detail: String) -> SwiftletError {
        SwiftletError(.unauthenticated, code: "signature.missing", message: "This route requires a signed request. " + detail)
    }

    public static func invalid(_ detail: String = "The signature does not match the request.") -> SwiftletError {
        SwiftletError(.unauthenticated, code: "signature.invalid", message: detail)
    }

    public static func expired(window: TimeInterval) -> SwiftletError {
        SwiftletError(.unauthenticated, code: "signature.expired",
                      message: "\(RequestSignature.timestampHeader) is more than \(Int(window)) s from the server's time.")
    }

    public static let replayed = SwiftletError(
        .unauthenticated, code: "signature.replayed", message: "This nonce was already used: a request is signed once and sent once.")

    public static let unknownKey = SwiftletError(
        .unauthenticated, code: "signature.unknown_key", message: "\(RequestSignature.keyHeader) names no active signing key.")
}
