import Crypto
import Foundation

/// Signs deliveries the Standard Webhooks way, so receivers can check them with any of
/// that spec's libraries (or Svix's, which sign the same way):
/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
///
/// The id and the timestamp are inside the signed text so that a captured delivery cannot
/// be replayed later (the receiver refuses an old timestamp) nor passed off as another
/// message (the receiver dedupes on the id). During a rotation the endpoint has two
/// secrets and every delivery carries both signatures, space-separated, so a receiver
/// holding either secret accepts it and can switch at its own pace.
public struct StandardWebhookSigner: Sendable {
    /// The secrets that sign, current first.
    public let secrets: [WebhookSecret]

    /// A signer with every secret currently valid for the endpoint (one, or two during a
    /// rotation's overlap), the newest first.
    public init(secrets: [WebhookSecret]) {
        precondition(!secrets.isEmpty, "a webhook signer needs at least one secret")
        self.secrets = secrets
    }

    public init(secret: WebhookSecret) {
        self.init(secrets: [secret])
    }

    /// The `webhook-signature` value: one `v1,<base64>` per secret, space-separated.
    ///
    /// `body` must be the exact bytes sent: the receiver hashes what it received, so a
    /// body re-encoded after signing (other key order, other spacing) does not verify.
    public func signature(id: String, timestamp: Int64, body: some DataProtocol) -> String {
        secrets.map { Self.signature(secret: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }

    /// The three headers of a delivery, in the order they are sent.
    public func headers(id: String, timestamp: Int64, body: some DataProtocol) -> StandardWebhookHeaders {
        StandardWebhookHeaders(id: id, timestamp: timestamp, signature: signature(id: id, timestamp: timestamp, body: body))
    }

    /// One `v1,<base64>` signature with one secret.
    public static func signature(secret: WebhookSecret, id: String, timestamp: Int64, body: some DataProtocol) -> String {
        "v1," + Data(authenticationCode(key: secret.key, id: id, timestamp: timestamp, body: body)).base64EncodedString()
    }

    /// HMAC-SHA256 over `{id}.{timestamp}.{body}`, streamed so the body is never copied.
    static func authenticationCode(key: SymmetricKey, id: String, timestamp: Int64, body: some DataProtocol) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Array("\(id).\(timestamp).".utf8))
        hmac.update(data: body)
        return Array(hmac.finalize())
    }
}

/// The headers of a Standard Webhooks delivery.
public struct StandardWebhookHeaders: Sendable, Hashable {
    public static let idName = "webhook-id"
    public static let timestampName = "webhook-timestamp"
    public static let signatureName = "webhook-signature"

    /// The message id: the same on every retry of a message, so receivers dedupe on it.
    public var id: String
    /// Seconds since 1970 when this attempt was signed (each attempt signs afresh, so a
    /// retry hours later is not refused as stale).
    public var timestamp: Int64
    /// One `v1,<base64>` per signing secret, space-separated.
    public var signature: String

    public init(id: String, timestamp: Int64, signature: String) {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
    }

    /// Name and value of each header, in the order they are sent.
    public var fields: [(name: String, value: String)] {
        [(Self.idName, id), (Self.timestampName, String(timestamp)), (Self.signatureName, signature)]
    }

    /// The `webhook-timestamp` for an attempt made at `date`: whole seconds, rounded down
    /// as the reference libraries do.
    public static func timestamp(for date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}
