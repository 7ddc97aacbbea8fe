import Crypto
import Foundation

/// The key an endpoint's deliveries are signed with, in the Standard Webhooks form
/// `whsec_<base64 of the key bytes>`.
///
/// The text is shown to an operator once (at creation and at rotation) and stored so the
/// node can sign; everything else sees `whsec_…`: `description`, `debugDescription`,
/// `dump` and string interpolation never print the key, so a secret that ends up in a log
/// line or an error message by accident gives nothing away. Only `unredacted` returns it.
public struct WebhookSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public static let prefix = "whsec_"
    /// Key bytes of a generated secret: within the spec's 24 to 64, and 256 bits, the
    /// strength of the SHA-256 the key is used with (more adds nothing).
    public static let generatedByteCount = 32
    /// Key lengths the Standard Webhooks spec allows; shorter keys are guessable, longer
    /// ones are hashed down by HMAC anyway.
    public static let allowedByteCounts = 24...64

    let key: SymmetricKey
    private let base64: String

    private init(keyBytes: [UInt8]) {
        key = SymmetricKey(data: keyBytes)
        base64 = Data(keyBytes).base64EncodedString()
    }

    /// A new secret of `generatedByteCount` bytes from the system's cryptographically
    /// secure generator (`getrandom` on Linux, `arc4random` on Apple platforms).
    public static func generate() -> WebhookSecret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<generatedByteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return WebhookSecret(keyBytes: bytes)
    }

    /// Reads `whsec_<base64>`, as generated here or by another Standard Webhooks sender.
    ///
    /// The base64 must use the standard alphabet; missing `=` padding is accepted, as the
    /// reference libraries accept it. Anything else (no prefix, another alphabet, a key
    /// outside 24–64 bytes) is refused rather than guessed at: a secret read wrongly
    /// signs every delivery with a key the receiver does not have.
    public init(parsing text: String) throws(WebhookSecretError) {
        guard text.hasPrefix(Self.prefix) else { throw .missingPrefix }
        var encoded = String(text.dropFirst(Self.prefix.count))
        guard !encoded.isEmpty else { throw .empty }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let unpadded = encoded.utf8.prefix { $0 != UInt8(ascii: "=") }
        let padding = encoded.utf8.count - unpadded.count
        guard unpadded.allSatisfy(alphabet.contains), padding <= 2,
              encoded.utf8.suffix(padding).allSatisfy({ $0 == UInt8(ascii: "=") })
        else { throw .notBase64 }
        if padding == 0, unpadded.count % 4 != 0 {
            encoded += String(repeating: "=", count: 4 - unpadded.count % 4)
        }
        guard let bytes = Data(base64Encoded: encoded) else { throw .notBase64 }
        guard Self.allowedByteCounts.contains(bytes.count) else { throw .wrongLength(bytes.count) }
        self.init(keyBytes: Array(bytes))
    }

    /// The full `whsec_…` text: for the one response that shows it and for storage.
    /// Never log it.
    public var unredacted: String { Self.prefix + base64 }

    /// Length of the key in bytes.
    public var byteCount: Int { key.bitCount / 8 }

    public var description: String { Self.prefix + "…" }
    public var debugDescription: String { "WebhookSecret(\(description))" }
    public var customMirror: Mirror { Mirror(self, children: ["secret": description]) }
}

/// Why a text is not a webhook secret. No case carries the text itself: a mistyped secret
/// is still most of a secret.
public enum WebhookSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text does not start with `whsec_`.
    case missingPrefix
    /// Nothing follows `whsec_`.
    case empty
    /// What follows `whsec_` is not standard base64.
    case notBase64
    /// The key decodes to this many bytes, outside 24–64.
    case wrongLength(Int)

    public var description: String {
        switch self {
        case .missingPrefix: "a webhook secret starts with whsec_"
        case .empty: "a webhook secret has a key after whsec_"
        case .notBase64: "a webhook secret is whsec_ followed by standard base64"
        case .wrongLength(let count):
            "a webhook secret's key is \(WebhookSecret.allowedByteCounts.lowerBound) to \(WebhookSecret.allowedByteCounts.upperBound) bytes, not \(count)"
        }
    }
}
