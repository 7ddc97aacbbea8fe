import Crypto
import Foundation

/// Checks a Standard Webhooks delivery: the receiving side of `StandardWebhookSigner`,
/// for an application that embeds Swiftlet as a receiver, and for the tests.
///
/// Accepted when the timestamp is within `tolerance` of now (either side: a clock ahead
/// and a clock behind are both skew) and any `v1` signature in the header matches any of
/// the receiver's secrets. Several secrets let a receiver go through a rotation; several
/// signatures let a sender do the same. Signatures of other versions (`v1a`, Ed25519)
/// are skipped, not refused, as the spec asks, so a sender adding one breaks nobody.
public struct StandardWebhookVerifier: Sendable {
    /// The spec's and the reference libraries' window: 5 minutes.
    public static let defaultTolerance: Int64 = 300

    public let secrets: [WebhookSecret]
    /// Seconds the timestamp may be from now; exactly `tolerance` away is still accepted.
    public let tolerance: Int64

    public init(secrets: [WebhookSecret], tolerance: Int64 = defaultTolerance) {
        precondition(!secrets.isEmpty, "a webhook verifier needs at least one secret")
        precondition(tolerance >= 0, "the timestamp tolerance cannot be negative")
        self.secrets = secrets
        self.tolerance = tolerance
    }

    public init(secret: WebhookSecret, tolerance: Int64 = defaultTolerance) {
        self.init(secrets: [secret], tolerance: tolerance)
    }

    /// Verifies the three header values against `body`, the exact bytes received.
    ///
    /// The timestamp is checked first, so a replayed delivery is refused without any
    /// hashing, and its error says which way the clock is off.
    public func verify(
        id: String, timestamp: String, signature: String, body: some DataProtocol, now: Date
    ) throws(StandardWebhookVerificationError) {
        guard !id.isEmpty else { throw .missingHeader(StandardWebhookHeaders.idName) }
        guard !timestamp.isEmpty else { throw .missingHeader(StandardWebhookHeaders.timestampName) }
        guard !signature.isEmpty else { throw .missingHeader(StandardWebhookHeaders.signatureName) }
        guard let seconds = Self.parseTimestamp(timestamp) else { throw .invalidTimestamp }
        let current = StandardWebhookHeaders.timestamp(for: now)
        if seconds < current - tolerance { throw .timestampTooOld }
        if seconds > current + tolerance { throw .timestampTooNew }

        let candidates = Self.versionOneSignatures(in: signature)
        guard !candidates.isEmpty else { throw .noMatchingSignature }
        var matched = false
        for secret in secrets {
            let expected = StandardWebhookSigner.authenticationCode(key: secret.key, id: id, timestamp: seconds, body: body)
            for candidate in candidates where Self.constantTimeEqual(expected, candidate) {
                matched = true
            }
        }
        guard matched else { throw .noMatchingSignature }
    }

    /// Verifies a delivery given its header fields (names in any case); a header that
    /// appears twice counts once, the first time.
    public func verify(
        headers: some Sequence<(name: String, value: String)>, body: some DataProtocol, now: Date
    ) throws(StandardWebhookVerificationError) {
        var values: [String: String] = [:]
        for (name, value) in headers where values[name.lowercased()] == nil {
            values[name.lowercased()] = value
        }
        try verify(
            id: values[StandardWebhookHeaders.idName] ?? "",
            timestamp: values[StandardWebhookHeaders.timestampName] ?? "",
            signature: values[StandardWebhookHeaders.signatureName] ?? "",
            body: body, now: now
        )
    }

    /// Decimal seconds, digits only: a sign, a fraction or an exponent are refused, since
    /// the spec sends integers and a lenient parse is one more way to disagree with the
    /// signer over what was signed.
    static func parseTimestamp(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return Int64(text)
    }

    /// The decoded bytes of each `v1,<base64>` entry; other versions and malformed
    /// entries are skipped.
    static func versionOneSignatures(in header: String) -> [[UInt8]] {
        header.split(separator: " ").compactMap { entry in
            guard entry.hasPrefix("v1,"), let bytes = Data(base64Encoded: String(entry.dropFirst(3))) else { return nil }
            return Array(bytes)
        }
    }

    /// Compares every byte whatever the first difference, so the time taken does not tell
    /// an attacker how much of a forged signature is right.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }
}

/// Why a delivery was refused. Kept apart so a receiver can log "clock skew" differently
/// from "forgery"; no case carries a signature or the body.
public enum StandardWebhookVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The named header is absent or empty.
    case missingHeader(String)
    /// `webhook-timestamp` is not whole seconds.
    case invalidTimestamp
    /// The timestamp is further in the past than the tolerance: a replay, or a receiver
    /// clock far ahead.
    case timestampTooOld
    /// The timestamp is further in the future than the tolerance: a sender clock ahead.
    case timestampTooNew
    /// No `v1` signature matches any secret.
    case noMatchingSignature

    public var description: String {
        switch self {
        case .missingHeader(let name): "webhook delivery without the \(name) header"
        case .invalidTimestamp: "webhook-timestamp is not whole seconds since 1970"
        case .timestampTooOld: "webhook-timestamp is older than the tolerance"
        case .timestampTooNew: "webhook-timestamp is further in the future than the tolerance"
        case .noMatchingSignature: "no webhook signature matches"
        }
    }
}
