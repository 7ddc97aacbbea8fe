import Crypto
import Foundation

/// Request signing by client apps, defined exactly in docs/security.md ("Signed requests").
///
/// The string to sign is six lines joined by `\n` (no trailing newline):
///
///     SWIFTLET-HMAC-SHA256
///     <METHOD>                     uppercase
///     <path>                       as sent, percent-encoding untouched
///     <canonical query>            see `canonicalQuery`; empty line when there is none
///     <key id>:<timestamp>:<nonce> the three headers
///     <hex SHA-256 of the body>    the raw bytes as received; of nothing for no body
///
/// and `X-Swiftlet-Signature` is the lowercase hex HMAC-SHA256 of it under the key's
/// secret (its UTF-8 bytes). The key id is signed so a signature cannot be moved to
/// another key; the body is hashed as received, so no re-serialisation can break it.
public enum RequestSignature {
    public static let keyHeader = "X-Swiftlet-Key"
    public static let timestampHeader = "X-Swiftlet-Timestamp"
    public static let nonceHeader = "X-Swiftlet-Nonce"
    public static let signatureHeader = "X-Swiftlet-Signature"
    public static let scheme = "SWIFTLET-HMAC-SHA256"

    /// The query as signed: `name=value` pairs as sent (still percent-encoded), split at
    /// the first `=` (a pair without one has an empty value), empty pairs dropped, sorted
    /// by name then value comparing bytes, joined by `&`. A client need not send its
    /// parameters in any order, and nothing is decoded, so encodings cannot disagree.
    public static func canonicalQuery(_ raw: Substring?) -> String {
        guard let raw, !raw.isEmpty else { return "" }
        let pairs = raw.split(separator: "&", omittingEmptySubsequences: true).map { pair -> (Substring, Substring) in
            guard let equals = pair.firstIndex(of: "=") else { return (pair, "") }
            return (pair[..<equals], pair[pair.index(after: equals)...])
        }
        return pairs
            .sorted { lhs, rhs in
                lhs.0 == rhs.0 ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8) : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    public static func stringToSign(
        method: String, path: String, query: Substring?, keyID: String, timestamp: String, nonce: String, bodySHA256: String
    ) -> String {
        [scheme, method.uppercased(), path, canonicalQuery(query), "\(keyID):\(timestamp):\(nonce)", bodySHA256]
            .joined(separator: "\n")
    }

    /// Lowercase hex SHA-256 of `body`.
    public static func bodySHA256<Bytes: Sequence>(_ body: Bytes) -> String where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(data: Array(body))
        return hex(hasher.finalize())
    }

    /// Lowercase hex HMAC-SHA256 of `message` under `secret`.
    public static func signature(_ message: String, secret: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(secret.utf8))))
    }

    /// Whether `provided` is `expected`, in time that does not depend on where they differ.
    public static func matches(_ provided: String, _ expected: String) -> Bool {
        let lhs = Array(provided.utf8)
        let rhs = Array(expected.utf8)
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
