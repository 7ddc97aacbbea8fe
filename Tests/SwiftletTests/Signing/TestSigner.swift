import Crypto
import Foundation
import HTTPTypes

/// A client app signing its requests as docs/security.md describes, written here apart
/// from `RequestSignature` so a mistake in either shows.
struct TestSigner: Sendable {
    let keyID: String
    let secret: String

    func headers(_ method: String, _ path: String, query: String = "", body: String = "", timestamp: Date,
                 nonce: String = "n" + UUID().uuidString.replacingOccurrences(of: "-", with: "")) -> HTTPFields {
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }.sorted { $0.0 == $1.0 ? Array($0.1.utf8).lexicographicallyPrecedes(Array($1.1.utf8)) : Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let bodyHash = SHA256.hash(data: Data(body.utf8)).map { String(format: "%02x", $0) }.joined()
        let time = String(Int(timestamp.timeIntervalSince1970))
        let message = "SWIFTLET-HMAC-SHA256\n\(method)\n\(path)\n\(pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&"))\n"
            + "\(keyID):\(time):\(nonce)\n\(bodyHash)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return [
            HTTPField.Name("X-Swiftlet-Key")!: keyID,
            HTTPField.Name("X-Swiftlet-Timestamp")!: time,
            HTTPField.Name("X-Swiftlet-Nonce")!: nonce,
            HTTPField.Name("X-Swiftlet-Signature")!: mac.map { String(format: "%02x", $0) }.joined(),
        ]
    }
}
